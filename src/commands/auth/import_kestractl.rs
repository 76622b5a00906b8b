//! `kestractl auth import-kestractl`: the official kestractl's contexts imported here and their
//! passwords moved to the keyring; the plan and the writes (undone on a failure) are
//! `credentials::import`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::credentials::import::{self, KctlImport, KctlPlan};
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Render};
use crate::settings::config_file::ConfigFile;

/// Import the official kestractl's contexts (~/.kestractl/config.yaml): contexts here, passwords to the keyring
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl auth import-kestractl\n  kestractl auth import-kestractl --overwrite --delete-source"
)]
pub struct Args {
    /// The official kestractl's config [default: ~/.kestractl/config.yaml]
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Replace contexts of the same name that differ
    #[arg(long)]
    pub overwrite: bool,

    /// Delete their file once everything in it was imported (never otherwise)
    #[arg(long)]
    pub delete_source: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        import_kestractl(ctx, &self).await
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

fn kestractl_file(ctx: &Ctx, args: &Args) -> Result<PathBuf> {
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

/// Their config's text; a missing file says where it was looked for.
fn read_their_config(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::settings(
            format!(
                "there is no official kestractl config at {}",
                path.display()
            ),
            "name it with --file",
        )),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// A row for each context that cannot be imported: those their file cannot give, and those
/// whose name exists here with other settings.
fn skipped_rows(parsed: &KctlImport, plan: &KctlPlan<'_>) -> Vec<ContextRow> {
    let unusable = parsed.skipped.iter().map(|s| ContextRow {
        context: s.name.clone(),
        server: None,
        username: None,
        action: "skipped",
        password: "none",
        reason: Some(s.reason.clone()),
    });
    let conflicts = plan.conflicts.iter().map(|c| ContextRow {
        context: c.name.clone(),
        server: Some(c.server.clone()),
        username: c.username.clone(),
        action: "skipped",
        password: "none",
        reason: Some(
            "a context of this name exists with other settings (--overwrite replaces it)".into(),
        ),
    });
    unusable.chain(conflicts).collect()
}

async fn import_kestractl(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let path = kestractl_file(ctx, args)?;
    let text = read_their_config(&path)?;
    let parsed = import::parse_kestractl(&text, &path)?;
    let config_path = ctx.config_path()?;
    let mut config = ConfigFile::load(&config_path)?;

    // The plan, before anything changes.
    let plan = import::plan_kestractl(&parsed, &config, args.overwrite);
    let mut rows = skipped_rows(&parsed, &plan);
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
    let keyring = if plan.needs_keyring() {
        Some(ctx.keyring().await?.require()?)
    } else {
        None
    };
    let passwords = import::apply_kestractl(
        &plan,
        parsed.default_context.as_deref(),
        &mut config,
        &config_path,
        keyring,
    )
    .await?;
    rows.extend(
        plan.apply
            .iter()
            .zip(passwords)
            .map(|(p, password)| ContextRow {
                context: p.import.name.clone(),
                server: Some(p.import.server.clone()),
                username: p.import.username.clone(),
                action: p.action,
                password,
                reason: None,
            }),
    );
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
