//! `auth import-env` and `auth import-kestractl`: plain-text passwords moved into the keyring,
//! with every keyring write undone if a later step fails.

use std::path::PathBuf;

use serde::Serialize;

use super::db_entry_of;
use crate::cli::{ImportEnvArgs, ImportKestractlArgs};
use crate::commands::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Render};
use crate::secret::Secret;
use crate::secrets::import::{self, BASIC_AUTH_KEY, DB_KEY};
use crate::secrets::store::{self, Keyring};
use crate::settings::config_file::{ConfigFile, Context};
use crate::settings::stack::StackFlags;

/// Entries written so far, with what they held before, to put back if a later step fails.
struct Undo<'a> {
    keyring: &'a Keyring,
    written: Vec<(String, Option<Secret>)>,
}

impl<'a> Undo<'a> {
    fn new(keyring: &'a Keyring) -> Self {
        Undo {
            keyring,
            written: Vec::new(),
        }
    }

    /// Stores `secret` in `entry`; returns what it replaced (`None`: new, `Some(same)`: unchanged).
    async fn set(&mut self, entry: &str, secret: &Secret) -> Result<Option<Secret>> {
        let previous = self.keyring.get(entry).await?;
        if previous.as_ref() != Some(secret) {
            self.keyring.set(entry, secret).await?;
            self.written.push((entry.to_string(), previous.clone()));
        }
        Ok(previous)
    }

    /// Puts every entry back as it was; the first error is returned after trying them all.
    async fn revert(self) -> Result<()> {
        let mut first = None;
        for (entry, previous) in self.written.into_iter().rev() {
            let result = match previous {
                Some(p) => self.keyring.set(&entry, &p).await,
                None => self.keyring.delete(&entry).await.map(|_| ()),
            };
            if let Err(e) = result {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// After a failure: revert, and say so in the error.
    async fn fail(self, e: Error) -> Error {
        match self.revert().await {
            Ok(()) => e,
            Err(undo) => Error::keyring(
                format!("{e}; and putting the keyring back failed too: {undo}"),
                e.hint().unwrap_or_default(),
            ),
        }
    }
}

fn replaced_word(previous: &Option<Secret>, new: &Secret) -> &'static str {
    match previous {
        None => "stored",
        Some(p) if p == new => "unchanged",
        Some(_) => "replaced",
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportedRow {
    variable: &'static str,
    entry: String,
    /// `stored`, `replaced` or `unchanged`.
    action: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportEnvReport {
    file: String,
    imported: Vec<ImportedRow>,
    rewritten: bool,
    backup: Option<String>,
    /// The keyring's description, for people.
    #[serde(skip)]
    keyring: &'static str,
}

/// `--rewrite-env` on a symbolic link would replace the link with a regular file and leave the
/// passwords in its target while saying they are gone: refused before anything changes, naming
/// the file to give instead.
fn refuse_linked_dotenv(path: &std::path::Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).ok();
    // A hard link: the other names would keep the passwords (security, second pass).
    #[cfg(unix)]
    if let Some(m) = meta.as_ref().filter(|m| m.is_file()) {
        use std::os::unix::fs::MetadataExt;
        if m.nlink() > 1 {
            return Err(Error::unsafe_(
                format!(
                    "{} has {} hard links: rewriting it would leave the passwords under the \
                     other names; nothing was changed",
                    path.display(),
                    m.nlink()
                ),
                "make it a file of its own (copy it, remove the other links), then run again",
            ));
        }
    }
    let is_link = meta.is_some_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(());
    }
    let target = std::fs::canonicalize(path).map_or_else(
        |_| "the file it points to".to_string(),
        |t| t.display().to_string(),
    );
    Err(Error::unsafe_(
        format!(
            "{} is a symbolic link: rewriting it would replace the link and leave the passwords \
             in {target}; nothing was changed",
            path.display()
        ),
        format!("name the real file: kestractl auth import-env --rewrite-env --file {target}"),
    ))
}

pub(super) async fn import_env(ctx: &Ctx, args: &ImportEnvArgs) -> Result<Exit> {
    let path = &args.file;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::settings(
                format!("there is no {}", path.display()),
                "run it where the seed's .env is, or name the file with --file",
            ));
        }
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    // Everything is checked before anything changes.
    let values = import::parse_dotenv(&text, path)?;
    let pick = |k: &str| {
        values
            .get(k)
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.clone()))
    };
    let basic = pick(BASIC_AUTH_KEY);
    let db = pick(DB_KEY);
    if basic.is_none() && db.is_none() {
        ctx.out.print(&format!(
            "Nothing to import: {} has neither {BASIC_AUTH_KEY} nor {DB_KEY}.\n",
            path.display()
        ))?;
        return Ok(Exit::Ok);
    }
    let rewritten = if args.rewrite_env {
        refuse_linked_dotenv(path)?;
        Some(import::rewrite_dotenv(
            &text,
            path,
            &[BASIC_AUTH_KEY, DB_KEY],
        )?)
    } else {
        None
    };
    let mut items = Vec::new();
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    if let Some(b) = basic {
        // The seed's password is the local stack's: it goes to the stack's own entry (the one
        // `start` reads), never over the entry of whatever server the current context names.
        items.push((BASIC_AUTH_KEY, ctx.stack_basic_auth_entry(&stack).await?, b));
    }
    if let Some(d) = db {
        items.push((DB_KEY, db_entry_of(&stack), d));
    }
    let keyring = ctx.keyring().await?.require()?;

    let mut undo = Undo::new(keyring);
    let mut rows = Vec::new();
    for (variable, entry, secret) in &items {
        match undo.set(entry, secret).await {
            Ok(previous) => rows.push(ImportedRow {
                variable,
                entry: entry.clone(),
                action: replaced_word(&previous, secret),
            }),
            Err(e) => return Err(undo.fail(e).await),
        }
    }
    let mut backup = None;
    if let Some(new_text) = &rewritten {
        let backup_path = import::backup_path(path);
        if let Err(e) = crate::fsutil::write_atomic(&backup_path, text.as_bytes(), Some(0o600)) {
            return Err(undo.fail(e).await);
        }
        if let Err(e) = crate::fsutil::write_atomic(path, new_text.as_bytes(), Some(0o600)) {
            let _ = std::fs::remove_file(&backup_path);
            return Err(undo.fail(e).await);
        }
        backup = Some(backup_path.display().to_string());
    }
    let report = ImportEnvReport {
        file: path.display().to_string(),
        imported: rows,
        rewritten: rewritten.is_some(),
        backup,
        keyring: keyring.backend().describe(),
    };
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

impl Render for ImportEnvReport {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
        let mut text_out = String::new();
        for r in &report.imported {
            text_out.push_str(&format!(
                "{} → {} keyring entry `{}` ({})\n",
                r.variable, report.keyring, r.entry, r.action
            ));
        }
        match &report.backup {
            Some(b) => text_out.push_str(&format!(
                "{} no longer holds them (0600); the original is kept as {b} (0600): delete it once you are sure.\n",
                report.file
            )),
            None => text_out.push_str(&format!(
                "{} still holds them in plain text: remove those lines (or run again with --rewrite-env).\n",
                report.file
            )),
        }
        out.print(&text_out)?;
        Ok(())
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextRow {
    context: String,
    server: Option<String>,
    username: Option<String>,
    /// `created`, `replaced`, `unchanged` or `skipped`.
    action: &'static str,
    /// `stored`, `replaced`, `unchanged`, or `none` (their context had no password).
    password: &'static str,
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportKestractlReport {
    file: String,
    config_file: String,
    contexts: Vec<ContextRow>,
    current_context: Option<String>,
    source_deleted: bool,
    /// Where the passwords went, for people.
    #[serde(skip)]
    passwords_in: String,
}

fn kestractl_file(ctx: &Ctx, args: &ImportKestractlArgs) -> Result<PathBuf> {
    if let Some(f) = &args.file {
        return Ok(f.clone());
    }
    let home = ctx
        .env("HOME")
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| {
            Error::settings(
                "HOME is not set, so the official kestractl's config cannot be found",
                "name it with --file",
            )
        })?;
    let home = PathBuf::from(home);
    let current = home.join(".kestractl").join("config.yaml");
    // Older builds of the official kestractl used ~/.kestra/config.yaml.
    let older = home.join(".kestra").join("config.yaml");
    Ok(if !current.exists() && older.exists() {
        older
    } else {
        current
    })
}

pub(super) async fn import_kestractl(ctx: &Ctx, args: &ImportKestractlArgs) -> Result<Exit> {
    let path = kestractl_file(ctx, args)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::settings(
                format!(
                    "there is no official kestractl config at {}",
                    path.display()
                ),
                "name it with --file",
            ));
        }
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    let parsed = import::parse_kestractl(&text, &path)?;
    let config_path = ctx.config_path()?;
    let mut config = ConfigFile::load(&config_path)?;

    // The plan, before anything changes.
    let mut rows: Vec<ContextRow> = parsed
        .skipped
        .iter()
        .map(|s| ContextRow {
            context: s.name.clone(),
            server: None,
            username: None,
            action: "skipped",
            password: "none",
            reason: Some(s.reason.clone()),
        })
        .collect();
    let mut to_apply = Vec::new();
    for c in &parsed.contexts {
        let wanted = Context {
            server: Some(c.server.clone()),
            tenant: c.tenant.clone(),
            username: c.username.clone(),
            // The Go CLI knows no image; one pinned here stays.
            image: config.contexts.get(&c.name).and_then(|x| x.image.clone()),
        };
        let action = match config.contexts.get(&c.name) {
            None => "created",
            Some(existing) if *existing == wanted => "unchanged",
            Some(_) if args.overwrite => "replaced",
            Some(_) => {
                rows.push(ContextRow {
                    context: c.name.clone(),
                    server: Some(c.server.clone()),
                    username: c.username.clone(),
                    action: "skipped",
                    password: "none",
                    reason: Some(
                        "a context of this name exists with other settings (--overwrite replaces it)"
                            .into(),
                    ),
                });
                continue;
            }
        };
        to_apply.push((c, wanted, action));
    }
    let skipped = rows.len();
    if args.delete_source && skipped > 0 {
        return Err(Error::usage(
            format!(
                "not deleting {}: {skipped} of its contexts cannot be imported (see below); nothing was changed",
                path.display()
            ),
            "run without --delete-source to import the rest; their file keeps what could not be imported",
        ));
    }
    let needs_keyring = to_apply.iter().any(|(c, _, _)| c.password.is_some());
    let keyring = if needs_keyring {
        Some(ctx.keyring().await?.require()?)
    } else {
        None
    };

    let mut undo = keyring.map(Undo::new);
    for (c, wanted, action) in &to_apply {
        let mut password = "none";
        if let (Some(secret), Some(u), Some(username)) = (&c.password, undo.as_mut(), &c.username) {
            let entry = store::basic_auth_entry(&c.name, username, &c.server);
            match u.set(&entry, secret).await {
                Ok(previous) => password = replaced_word(&previous, secret),
                Err(e) => {
                    let e = match undo.take() {
                        Some(u) => u.fail(e).await,
                        None => e,
                    };
                    return Err(e);
                }
            }
        }
        config.contexts.insert(c.name.clone(), wanted.clone());
        rows.push(ContextRow {
            context: c.name.clone(),
            server: Some(c.server.clone()),
            username: c.username.clone(),
            action,
            password,
            reason: None,
        });
    }
    if config.current_context.is_none()
        && let Some(d) = &parsed.default_context
        && config.contexts.contains_key(d)
    {
        config.current_context = Some(d.clone());
    }
    if !to_apply.is_empty()
        && let Err(e) = config.save(&config_path)
    {
        return Err(match undo {
            Some(u) => u.fail(e).await,
            None => e,
        });
    }
    let mut source_deleted = false;
    if args.delete_source {
        match std::fs::remove_file(&path) {
            Ok(()) => source_deleted = true,
            Err(e) => ctx.out.warn(&format!(
                "everything was imported, but {} could not be deleted: {e}",
                path.display()
            )),
        }
    }
    rows.sort_by(|a, b| a.context.cmp(&b.context));
    let report = ImportKestractlReport {
        file: path.display().to_string(),
        config_file: config_path.display().to_string(),
        contexts: rows,
        current_context: config.current_context.clone(),
        source_deleted,
        passwords_in: keyring.map_or_else(
            || " (none to import)".to_string(),
            |k| format!(" are in the {}", k.backend().describe()),
        ),
    };
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

impl Render for ImportKestractlReport {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
        let table: Vec<Vec<String>> = report
            .contexts
            .iter()
            .map(|r| {
                vec![
                    r.context.clone(),
                    r.server.clone().unwrap_or_default(),
                    r.username.clone().unwrap_or_default(),
                    r.action.to_string(),
                    r.password.to_string(),
                    r.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.table(
            &[
                "CONTEXT", "SERVER", "USERNAME", "ACTION", "PASSWORD", "NOTE",
            ],
            &table,
        )?;
        out.note(&format!(
            "Contexts are in {}; passwords{}. {}",
            report.config_file,
            report.passwords_in,
            if report.source_deleted {
                format!("{} was deleted.", report.file)
            } else {
                format!(
                    "{} was left as it is (it still holds the passwords in plain text; --delete-source removes it once all of it is imported).",
                    report.file
                )
            }
        ));
        Ok(())
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn undo_puts_every_entry_back_as_it_was() {
        let k = Keyring::mock();
        k.set("a", &Secret::new("old-a")).await.unwrap();
        let mut undo = Undo::new(&k);
        let prev = undo.set("a", &Secret::new("new-a")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-a")), "replaced");
        let prev = undo.set("b", &Secret::new("new-b")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-b")), "stored");
        // Writing the same value again is not a change and is not undone.
        let prev = undo.set("a", &Secret::new("new-a")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-a")), "unchanged");
        let e = undo
            .fail(Error::settings("the .env could not be written", "fix it"))
            .await;
        assert!(e.to_string().contains(".env"));
        assert_eq!(k.get("a").await.unwrap().unwrap().expose(), "old-a");
        assert!(k.get("b").await.unwrap().is_none());
    }
}
