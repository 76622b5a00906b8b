//! `kestractl auth import-env`: the seed's KESTRA_BASICAUTH_PASSWORD and KESTRA_DB_PASSWORD moved
//! from .env into the keyring (and, with --rewrite-env, out of .env), every keyring write undone
//! if a later step fails (`credentials::import::Undo`).

use std::path::PathBuf;

use serde::Serialize;

use super::db_entry_of;
use crate::commands::{Ctx, Run};
use crate::credentials::import::{self, BASIC_AUTH_KEY, DB_KEY, Undo, replaced_word};
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Render};
use crate::secret::Secret;
use crate::settings::stack::StackFlags;
use crate::signals::Interrupt;

/// Move KESTRA_BASICAUTH_PASSWORD and KESTRA_DB_PASSWORD from .env into the keyring
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl auth import-env\n  kestractl auth import-env --file ops/.env --rewrite-env"
)]
pub struct Args {
    /// Also rewrite the .env without the two passwords (the original is kept as .env.kestractl-backup, 0600)
    #[arg(long)]
    pub rewrite_env: bool,

    /// The .env file to read
    #[arg(long, value_name = "FILE", default_value = ".env")]
    pub file: PathBuf,
}

impl Run for Args {
    /// The keyring would hold the passwords while `.env`, not yet rewritten, still does.
    fn interrupt(&self) -> Interrupt {
        Interrupt::FinishFirst {
            warning: "interrupt received: the import finishes (or, on an error, undoes its \
                      keyring writes) first, so the keyring and .env never disagree; it stops \
                      right after",
            done: "the import had already completed; `kestractl auth status` shows where the \
                   password comes from",
        }
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        import_env(ctx, &self).await
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

async fn import_env(ctx: &Ctx, args: &Args) -> Result<Exit> {
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
