//! `kestractl kv list|get|set|delete`: a namespace's KV store through Kestra's API
//! (`kestra::kv`).

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::Ctx;
use crate::cli::{KvCommand, KvKey};
use crate::error::{Error, Exit, Result};
use crate::kestra::ApiError;
use crate::kestra::kv::{self, KvDetail, KvEntry, KvMetadata, KvType};
use crate::output::{self, Output, Render, confirm};

/// A value read from a file or stdin larger than this is refused before anything is sent: the KV
/// store is for settings, not files (namespace files are).
const MAX_VALUE: u64 = 10 * 1024 * 1024;

pub async fn run(ctx: &Ctx, cmd: KvCommand) -> Result<Exit> {
    match cmd {
        KvCommand::List { namespace, quiet } => list(ctx, &namespace, quiet).await,
        KvCommand::Get(k) => get(ctx, &k).await,
        KvCommand::Set {
            key,
            value,
            kind,
            ttl,
            description,
        } => {
            let meta = KvMetadata {
                ttl: ttl.map(kv::iso_duration),
                description,
            };
            set(ctx, &key, &value, kind, meta, ttl).await
        }
        KvCommand::Delete(k) => delete(ctx, &k).await,
    }
}

fn check(k: &KvKey) -> Result<()> {
    super::namespace_arg(&k.namespace, "check the namespace")?;
    kv::check_key(&k.key).map_err(|m| Error::usage(m, "check the key"))
}

fn no_such_key(k: &KvKey) -> Error {
    Error::not_found(
        format!("there is no key {} in namespace {}", k.key, k.namespace),
        format!("`kestractl kv list {}` lists its keys", k.namespace),
    )
}

/// A 404 or 410 on one key, in the words of the key.
fn missing(k: &KvKey, e: ApiError) -> Error {
    let (ns, key) = (&k.namespace, &k.key);
    match e.status() {
        Some(404) => no_such_key(k),
        // `ResourceExpiredException`: Kestra deletes the key as it answers.
        Some(410) => Error::not_found(
            format!("key {key} of namespace {ns} has expired; Kestra has deleted it"),
            format!("set it again: `kestractl kv set {ns} {key} VALUE [--ttl DURATION]`"),
        ),
        _ => e.into(),
    }
}

/// The keys; as JSON, the list alone.
#[derive(Serialize)]
#[serde(transparent)]
struct KeyList {
    entries: Vec<KvEntry>,
    #[serde(skip)]
    namespace: String,
    #[serde(skip)]
    quiet: bool,
}

impl Render for KeyList {
    fn human(&self, out: &Output) -> Result<()> {
        if self.quiet {
            let keys: String = self
                .entries
                .iter()
                .map(|e| format!("{}\n", e.key))
                .collect();
            return out.print(&keys);
        }
        if self.entries.is_empty() {
            out.note(&format!("no keys in namespace {}", self.namespace));
            return Ok(());
        }
        let now = time::OffsetDateTime::now_utc();
        let rows: Vec<Vec<String>> = self
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.key.clone(),
                    e.description.clone().unwrap_or_default(),
                    out.time_cell(e.update_date.as_deref(), now),
                    match e.expiration_date.as_deref() {
                        Some(t) => out.time_cell(Some(t), now),
                        None => "never".into(),
                    },
                ]
            })
            .collect();
        out.table(&["KEY", "DESCRIPTION", "UPDATED", "EXPIRES"], &rows)?;
        out.note(&output::count(self.entries.len(), "key"));
        Ok(())
    }
}

async fn list(ctx: &Ctx, namespace: &str, quiet: bool) -> Result<Exit> {
    super::namespace_arg(namespace, "check the namespace")?;
    let client = ctx.kestra().await?;
    let entries = client.kv_list(namespace).await?;
    ctx.out.emit(&KeyList {
        entries,
        namespace: namespace.into(),
        quiet,
    })?;
    Ok(Exit::Ok)
}

/// One value; for people the value alone, so `$(kestractl kv get …)` is the value.
#[derive(Serialize)]
struct ValueView {
    namespace: String,
    key: String,
    #[serde(flatten)]
    detail: KvDetail,
}

impl Render for ValueView {
    fn human(&self, out: &Output) -> Result<()> {
        match &self.detail.value {
            serde_json::Value::String(s) => out.print(&format!("{s}\n")),
            other => out.print(&format!("{other}\n")),
        }
    }
}

async fn get(ctx: &Ctx, k: &KvKey) -> Result<Exit> {
    check(k)?;
    let client = ctx.kestra().await?;
    let detail = client
        .kv_get(&k.namespace, &k.key)
        .await
        .map_err(|e| missing(k, e))?;
    ctx.out.emit(&ValueView {
        namespace: k.namespace.clone(),
        key: k.key.clone(),
        detail,
    })?;
    Ok(Exit::Ok)
}

/// `VALUE`, `@FILE` or `@-`.
fn read_value(given: &str) -> Result<String> {
    let Some(source) = given.strip_prefix('@') else {
        return Ok(given.to_string());
    };
    let too_big = |from: &str| {
        Error::rejected(
            format!("the value from {from} is larger than 10 MiB"),
            "the KV store holds settings; ship files as namespace files",
            Exit::InvalidInput,
        )
    };
    let mut bytes = Vec::new();
    if source == "-" {
        std::io::stdin()
            .take(MAX_VALUE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read the value from", "stdin", e))?;
        if bytes.len() as u64 > MAX_VALUE {
            return Err(too_big("stdin"));
        }
    } else {
        let path = Path::new(source);
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_VALUE + 1).read_to_end(&mut bytes))
            .map_err(|e| Error::io("cannot read the value from", path, e))?;
        if bytes.len() as u64 > MAX_VALUE {
            return Err(too_big(source));
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::rejected(
            format!("the value from {source} is not UTF-8 text"),
            "the KV store holds text, numbers, booleans, dates and JSON",
            Exit::InvalidInput,
        )
    })?;
    // A file's final newline is the editor's, not the value's.
    Ok(text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text)
        .to_string())
}

/// What was stored: the type Kestra reports, read back after the write.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetReport {
    namespace: String,
    key: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    revision: Option<i64>,
    /// As sent to Kestra (ISO-8601).
    ttl: Option<String>,
    /// As people read it (`7d`).
    #[serde(skip)]
    ttl_shown: Option<String>,
}

impl Render for SetReport {
    fn human(&self, out: &Output) -> Result<()> {
        let kind = self.kind.as_deref().unwrap_or("a value");
        let expiry = match &self.ttl_shown {
            Some(ttl) => format!(", expires in {ttl}"),
            None => String::new(),
        };
        out.note(&format!(
            "Set {} in namespace {} ({kind}{expiry})",
            self.key, self.namespace
        ));
        Ok(())
    }
}

async fn set(
    ctx: &Ctx,
    k: &KvKey,
    given: &str,
    asked: Option<KvType>,
    meta: KvMetadata,
    ttl: Option<std::time::Duration>,
) -> Result<Exit> {
    check(k)?;
    let value = read_value(given)?;
    let (encoded, _) = kv::encode(&value, asked).map_err(|m| {
        Error::rejected(
            m,
            "fix the value, or give the type it is (--type string stores anything as text)",
            Exit::InvalidInput,
        )
    })?;
    let client = ctx.kestra().await?;
    client.kv_set(&k.namespace, &k.key, &encoded, &meta).await?;
    // Kestra answers a write with nothing: the stored type is read back, so a value that became
    // something else than intended shows at once.
    let stored = client.kv_get(&k.namespace, &k.key).await.ok();
    ctx.out.emit(&SetReport {
        namespace: k.namespace.clone(),
        key: k.key.clone(),
        kind: stored.as_ref().and_then(|d| d.kind.clone()),
        revision: stored.and_then(|d| d.revision),
        ttl: meta.ttl,
        ttl_shown: ttl.map(crate::settings::duration::format_duration),
    })?;
    Ok(Exit::Ok)
}

async fn delete(ctx: &Ctx, k: &KvKey) -> Result<Exit> {
    check(k)?;
    let client = ctx.kestra().await?;
    // Check it exists first: a confirmation for a key that is not there would mislead.
    client
        .kv_get(&k.namespace, &k.key)
        .await
        .map_err(|e| missing(k, e))?;
    if !ctx.global.yes {
        confirm(
            &format!("Delete key {} of namespace {}?", k.key, k.namespace),
            "deleting a key",
            "nothing was deleted",
        )
        .await?;
    }
    let deleted = client.kv_delete(&k.namespace, &k.key).await?;
    if !deleted {
        // Gone between the check and the delete (expired, or deleted by someone else).
        return Err(no_such_key(k));
    }
    ctx.out.note(&format!(
        "Deleted key {} of namespace {}",
        k.key, k.namespace
    ));
    Ok(Exit::Ok)
}
