//! `kestractl nsfiles push|list|get|delete`: a namespace's files through Kestra's API. `push` is
//! also what `flows deploy` runs for a `_files/` folder ([`push`]).

use std::io::{IsTerminal, Write};

use serde::Serialize;

use super::Ctx;
use crate::cli::{NsfilePath, NsfilesCommand, NsfilesPushArgs};
use crate::error::{Error, Exit, Result, stdout_error};
use crate::kestra::nsfiles::{RemoteFile, server_path};
use crate::kestra::{ApiError, KestraClient};
use crate::nsfiles::{self, Action, Item, LocalFile, Outcome};
use crate::output::progress::Progress;
use crate::output::{self, Output, Render, Style, confirm};

pub async fn run(ctx: &Ctx, cmd: NsfilesCommand) -> Result<Exit> {
    match cmd {
        NsfilesCommand::Push(args) => push_command(ctx, &args).await,
        NsfilesCommand::List {
            namespace,
            path,
            quiet,
        } => list(ctx, &namespace, path.as_deref(), quiet).await,
        NsfilesCommand::Get(p) => get(ctx, &p).await,
        NsfilesCommand::Delete(p) => delete(ctx, &p).await,
    }
}

/// How a push went, per file and in total.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct PushSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub failed: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRow {
    /// The local file (relative to the pushed folder); none for a deletion.
    pub file: Option<String>,
    /// Where Kestra stores it.
    pub path: String,
    pub action: Action,
    /// `planned`, `unchanged`, `done`, `failed` or `skipped`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    pub namespace: String,
    pub dry_run: bool,
    pub files: Vec<FileRow>,
    pub summary: PushSummary,
}

impl PushReport {
    pub fn failed(&self) -> bool {
        self.summary.failed > 0
    }

    /// The totals line: `3 created, 1 updated, …`.
    pub fn totals(&self) -> String {
        let s = self.summary;
        let verb = if self.dry_run { "would be " } else { "" };
        format!(
            "{}: {} {verb}created, {} {verb}updated, {} unchanged, {} {verb}deleted, {} failed{}",
            self.namespace,
            s.created,
            s.updated,
            s.unchanged,
            s.deleted,
            s.failed,
            if self.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        )
    }

    /// The table rows (FILE, PATH, ACTION), for this report and `flows deploy`'s.
    pub fn rows(&self, out: &Output) -> Vec<Vec<String>> {
        self.files
            .iter()
            .map(|f| {
                let word = match (f.result, f.action) {
                    ("failed", _) => "failed",
                    ("skipped", _) => "skipped",
                    (_, Action::Unchanged | Action::Compare) => "unchanged",
                    ("planned", a) => a.label(),
                    (_, Action::Create) => "created",
                    (_, Action::Update) => "updated",
                    (_, Action::Delete) => "deleted",
                };
                let style = match word {
                    "create" | "created" => Style::Green,
                    "update" | "updated" => Style::Yellow,
                    "delete" | "deleted" | "failed" => Style::Red,
                    _ => Style::Dim,
                };
                vec![
                    f.file.clone().unwrap_or_else(|| "-".into()),
                    f.path.clone(),
                    out.paint(style, word),
                ]
            })
            .collect()
    }

    /// Each failed write with its reason, on stderr.
    pub fn show_failures(&self, out: &Output) {
        for f in self.files.iter().filter(|f| f.result == "failed") {
            out.warn(&format!(
                "{} ({}): {}",
                f.path,
                self.namespace,
                f.error.as_deref().unwrap_or("failed")
            ));
        }
    }
}

impl Render for PushReport {
    fn human(&self, out: &Output) -> Result<()> {
        out.table(&["FILE", "PATH", "ACTION"], &self.rows(out))?;
        self.show_failures(out);
        if out.format == output::Format::Table {
            out.print(&format!("{}\n", self.totals()))
        } else {
            out.note(&self.totals());
            Ok(())
        }
    }
}

/// How a push is run.
pub struct PushOptions {
    pub prune: bool,
    pub dry_run: bool,
    pub fail_fast: bool,
    pub concurrency: usize,
    pub yes: bool,
}

/// Plans `local` against the namespace's files, asks before a prune, and writes. `progress` is
/// the command's progress line.
pub async fn push(
    ctx: &Ctx,
    client: &KestraClient,
    namespace: &str,
    local: &[LocalFile],
    opts: &PushOptions,
    progress: &Progress,
) -> Result<PushReport> {
    progress.step(&format!("reading the files of {namespace}"));
    let remote: Vec<RemoteFile> = client.nsfile_tree(namespace, "/").await?;
    let mut items: Vec<Item> = nsfiles::plan(local, &remote, opts.prune);
    let compares = items.iter().filter(|i| i.action == Action::Compare).count();
    if compares > 0 {
        let show = |done: usize, total: usize| {
            progress.step(&format!(
                "comparing with {namespace}'s copies: {done}/{total}"
            ));
        };
        show(0, compares);
        nsfiles::settle(
            client,
            namespace,
            local,
            &mut items,
            opts.concurrency,
            &show,
        )
        .await?;
    }
    let deletions: Vec<&Item> = items
        .iter()
        .filter(|i| i.action == Action::Delete)
        .collect();
    if !opts.dry_run && !deletions.is_empty() && !opts.yes {
        progress.finish();
        ctx.out.note(&format!(
            "--prune would delete {} of {namespace} the folder no longer has:",
            output::count(deletions.len(), "file")
        ));
        for d in &deletions {
            ctx.out.note(&format!("  {}", d.path));
        }
        confirm(
            "Push and delete them?",
            "--prune deletes namespace files",
            "nothing was written or deleted (push without --prune to keep them)",
        )
        .await?;
    }
    let outcomes: Vec<Outcome> = if opts.dry_run {
        vec![Outcome::Planned; items.len()]
    } else {
        let writes = items.iter().filter(|i| i.action.is_write()).count();
        let show = |done: usize, total: usize| {
            progress.step(&format!("writing files of {namespace}: {done}/{total}"));
        };
        if writes > 0 {
            show(0, writes);
        }
        nsfiles::apply(
            client,
            namespace,
            local,
            &items,
            opts.concurrency,
            opts.fail_fast,
            &show,
        )
        .await
    };
    let mut summary = PushSummary::default();
    let files = items
        .iter()
        .zip(outcomes)
        .map(|(item, outcome)| {
            let (result, error) = match outcome {
                _ if item.action == Action::Unchanged => ("unchanged", None),
                Outcome::Planned => ("planned", None),
                Outcome::Done => ("done", None),
                Outcome::Unchanged => ("unchanged", None),
                Outcome::Skipped => ("skipped", None),
                Outcome::Failed { error } => ("failed", Some(error)),
            };
            match (result, item.action) {
                ("failed", _) => summary.failed += 1,
                ("skipped", _) => {}
                (_, Action::Create) => summary.created += 1,
                (_, Action::Update) => summary.updated += 1,
                (_, Action::Unchanged | Action::Compare) => summary.unchanged += 1,
                (_, Action::Delete) => summary.deleted += 1,
            }
            FileRow {
                file: item
                    .local
                    .and_then(|l| local.get(l))
                    .map(|f| f.relative.clone()),
                path: item.path.clone(),
                action: item.action,
                result,
                error,
            }
        })
        .collect();
    Ok(PushReport {
        namespace: namespace.to_string(),
        dry_run: opts.dry_run,
        files,
        summary,
    })
}

async fn push_command(ctx: &Ctx, args: &NsfilesPushArgs) -> Result<Exit> {
    super::namespace_arg(&args.namespace, "check the namespace")?;
    let local = nsfiles::discover(&args.dir)?;
    let client = ctx.kestra().await?;
    let progress = Progress::new();
    let report = push(
        ctx,
        client,
        &args.namespace,
        &local,
        &PushOptions {
            prune: args.prune,
            dry_run: args.dry_run,
            fail_fast: args.fail_fast,
            concurrency: usize::from(args.concurrency),
            yes: ctx.global.yes,
        },
        &progress,
    )
    .await?;
    progress.finish();
    ctx.out.emit(&report)?;
    Ok(if report.failed() {
        Exit::Error
    } else {
        Exit::Ok
    })
}

/// `nsfiles list`: the files under a folder.
#[derive(Serialize)]
#[serde(transparent)]
struct FileList {
    #[serde(skip)]
    namespace: String,
    files: Vec<RemoteFile>,
    #[serde(skip)]
    quiet: bool,
}

impl Render for FileList {
    fn human(&self, out: &Output) -> Result<()> {
        if self.quiet {
            let paths: String = self.files.iter().map(|f| format!("{}\n", f.path)).collect();
            return out.print(&paths);
        }
        if self.files.is_empty() {
            out.note(&format!("no files in namespace {}", self.namespace));
            return Ok(());
        }
        let now = time::OffsetDateTime::now_utc();
        let rows: Vec<Vec<String>> = self
            .files
            .iter()
            .map(|f| {
                let updated = f
                    .updated
                    .and_then(|ms| {
                        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                            .ok()
                    })
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    });
                vec![
                    f.path.clone(),
                    f.size.to_string(),
                    out.time_cell(updated.as_deref(), now),
                ]
            })
            .collect();
        out.table(&["PATH", "SIZE", "UPDATED"], &rows)?;
        let bytes: u64 = self.files.iter().map(|f| f.size).sum();
        out.note(&format!(
            "{}, {bytes} bytes",
            output::count(self.files.len(), "file")
        ));
        Ok(())
    }
}

fn no_such(namespace: &str, path: &str) -> Error {
    Error::not_found(
        format!("there is no {path} in namespace {namespace}"),
        format!("`kestractl nsfiles list {namespace}` lists its files"),
    )
}

fn missing(namespace: &str, path: &str, e: ApiError) -> Error {
    if e.status() == Some(404) {
        no_such(namespace, path)
    } else {
        e.into()
    }
}

async fn list(ctx: &Ctx, namespace: &str, under: Option<&str>, quiet: bool) -> Result<Exit> {
    super::namespace_arg(namespace, "check the namespace")?;
    let client = ctx.kestra().await?;
    let dir = under.map_or_else(|| "/".to_string(), server_path);
    let files = client
        .nsfile_tree(namespace, &dir)
        .await
        .map_err(|e| missing(namespace, &dir, e))?;
    ctx.out.emit(&FileList {
        namespace: namespace.into(),
        files,
        quiet,
    })?;
    Ok(Exit::Ok)
}

async fn get(ctx: &Ctx, p: &NsfilePath) -> Result<Exit> {
    super::namespace_arg(&p.namespace, "check the namespace")?;
    let path = server_path(&p.path);
    let client = ctx.kestra().await?;
    let stats = client
        .nsfile_stats(&p.namespace, &path)
        .await
        .map_err(|e| missing(&p.namespace, &path, e))?;
    if stats.is_directory() {
        return Err(Error::usage(
            format!("{path} of {} is a folder", p.namespace),
            format!(
                "`kestractl nsfiles list {} {}` lists it",
                p.namespace, p.path
            ),
        ));
    }
    let resp = client
        .nsfile_open(&p.namespace, &path)
        .await
        .map_err(|e| missing(&p.namespace, &path, e))?;
    let url = resp.url().to_string();
    let what = format!("{path} of {}", p.namespace);
    let terminal = std::io::stdout().is_terminal();
    if !terminal {
        // Piped or redirected: the bytes as they are, a chunk at a time.
        let mut stdout = std::io::stdout().lock();
        crate::kestra::client::stream_body(resp, client.timeout(), &mut |chunk| {
            stdout.write_all(chunk).map_err(stdout_error)
        })
        .await
        .map_err(|e| e.into_error(&url, &what))?;
        return stdout.flush().map_err(stdout_error).map(|()| Exit::Ok);
    }
    // On a terminal: text only, and made inert (an escape sequence in a file would act on
    // the terminal); a file too large to read on screen is better redirected.
    let mut text = Vec::new();
    crate::kestra::client::stream_body(resp, client.timeout(), &mut |chunk| {
        if text.len() + chunk.len() > MAX_ON_TERMINAL {
            return Err(Error::usage(
                format!(
                    "{what} is larger than {} MiB and standard output is a terminal",
                    MAX_ON_TERMINAL >> 20
                ),
                "redirect it to a file: `kestractl nsfiles get NS PATH > FILE`",
            ));
        }
        text.extend_from_slice(chunk);
        Ok(())
    })
    .await
    .map_err(|e| e.into_error(&url, &what))?;
    let Ok(text) = String::from_utf8(text) else {
        return Err(Error::usage(
            format!("{path} is binary and standard output is a terminal"),
            "redirect it to a file: `kestractl nsfiles get NS PATH > FILE`",
        ));
    };
    ctx.out.print(&ctx.out.outside_text(&text))?;
    Ok(Exit::Ok)
}

/// The most of a namespace file shown on a terminal (piped, any size streams through).
const MAX_ON_TERMINAL: usize = 16 << 20;

async fn delete(ctx: &Ctx, p: &NsfilePath) -> Result<Exit> {
    super::namespace_arg(&p.namespace, "check the namespace")?;
    let path = server_path(&p.path);
    if path == "/" {
        return Err(Error::usage(
            "kestractl does not delete a namespace's whole file tree at once",
            "delete its folders one by one, or push an empty folder with --prune",
        ));
    }
    let client = ctx.kestra().await?;
    // Kestra answers 200 for a path that does not exist: it is checked first, so a typo says so.
    let stats = client
        .nsfile_stats(&p.namespace, &path)
        .await
        .map_err(|e| missing(&p.namespace, &path, e))?;
    let what = if stats.is_directory() {
        let inside = client.nsfile_tree(&p.namespace, &path).await?.len();
        format!(
            "folder {path} of {} and the {} under it",
            p.namespace,
            output::count(inside, "file")
        )
    } else {
        format!("{path} of {}", p.namespace)
    };
    if !ctx.global.yes {
        confirm(
            &format!("Delete {what}?"),
            "deleting namespace files",
            "nothing was deleted",
        )
        .await?;
    }
    client.nsfile_delete(&p.namespace, &path).await?;
    ctx.out.note(&format!("Deleted {what}"));
    Ok(Exit::Ok)
}
