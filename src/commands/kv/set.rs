//! `kestractl kv set`: a value (VALUE, @FILE or @-) checked against its type, written, and the
//! type Kestra stored read back.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::{KvKey, check};
use crate::cli::values;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::kestra::kv::{self, KvMetadata, KvType};
use crate::output::{Output, Render};

const LONG: &str = "Set a key's value in a namespace's KV store.\n\n\
VALUE is the value itself, @FILE to read it from a file, or @- to read it from standard input \
(use a file or stdin for anything sensitive: a value on the command line is visible to other \
users of the machine). Without --type the type follows the value: a JSON number, boolean, \
object or array keeps its type, an RFC 3339 date-time or a date becomes Kestra's DATETIME or DATE \
(a date-time is sent in UTC, which is how Kestra stores a DATETIME; one at exactly midnight UTC \
would be a DATE to Kestra, so --type datetime refuses it), \
an ISO-8601 duration such as PT30M is stored as text that Kestra reports as DURATION, anything \
else is text. --type string stores numbers and JSON as text. The value is checked \
against the type before anything is sent, and the type Kestra stored is read back and shown.";

/// A value read from a file or stdin larger than this is refused before anything is sent: the KV
/// store is for settings, not files (namespace files are).
const MAX_VALUE: u64 = 10 * 1024 * 1024;

/// Set a value (VALUE, @FILE or @- for stdin), its type inferred or given, with a TTL
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = LONG,
    after_help = "Examples:\n  kestractl kv set company.team retries 3\n  kestractl kv set company.team greeting 'hello world'\n  kestractl kv set company.team zip 01234 --type string\n  kestractl kv set company.team settings @settings.json --ttl 7d\n  vault read -field=token secret/x | kestractl kv set company.team token @-"
)]
pub struct Args {
    #[command(flatten)]
    pub key: KvKey,
    /// The value, @FILE to read it from a file, or @- from standard input
    #[arg(value_name = "VALUE", index = 3, allow_hyphen_values = true)]
    pub value: String,
    /// Store it as this type (checked before sending) instead of inferring one
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<KvType>,
    /// Kestra deletes the key this long after it is set (e.g. 1h, 7d)
    #[arg(long, value_name = "DURATION", value_parser = values::kv_ttl)]
    pub ttl: Option<Duration>,
    /// A description shown beside the key
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let meta = KvMetadata {
            ttl: self.ttl.map(kv::iso_duration),
            description: self.description,
        };
        set(ctx, &self.key, &self.value, self.kind, meta, self.ttl).await
    }
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
    ttl: Option<Duration>,
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
    client.kv(&k.namespace).set(&k.key, &encoded, &meta).await?;
    // Kestra answers a write with nothing: the stored type is read back, so a value that became
    // something else than intended shows at once.
    let stored = client.kv(&k.namespace).get(&k.key).await.ok();
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
