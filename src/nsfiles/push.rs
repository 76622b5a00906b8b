//! A push as library operations, for `nsfiles push` and for `flows deploy` (a `_files/` folder):
//! [`plan`] reads the namespace's files and settles what must be written (a file of the same size
//! read back and compared), the caller asks before a prune, and [`apply`] writes and reports. A
//! [`PushReport`] renders itself (`output::Render`).

use serde::Serialize;

use super::{Action, Item, LocalFile};
use crate::error::Result;
use crate::kestra::KestraClient;
use crate::kestra::nsfiles::RemoteFile;
use crate::output::progress::Progress;
use crate::output::{Format, Output, Render};
use crate::sync::{Applied, Outcome, Totals};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRow {
    /// The local file (relative to the pushed folder); none for a deletion.
    pub file: Option<String>,
    /// Where Kestra stores it.
    pub path: String,
    pub action: Action,
    /// `planned`, `unchanged`, `done`, `failed` or `skipped`.
    pub result: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    pub namespace: String,
    pub dry_run: bool,
    pub files: Vec<FileRow>,
    pub summary: Totals,
}

impl PushReport {
    pub fn failed(&self) -> bool {
        self.summary.failed > 0
    }

    /// The totals line: `3 created, 1 updated, …`.
    pub fn totals(&self) -> String {
        format!("{}: {}", self.namespace, self.summary.line(self.dry_run))
    }

    /// The table rows (FILE, PATH, ACTION), for this report and `flows deploy`'s.
    pub fn rows(&self, out: &Output) -> Vec<Vec<String>> {
        self.files
            .iter()
            .map(|f| {
                let action = f.action.sync();
                vec![
                    f.file.clone().unwrap_or_else(|| "-".into()),
                    f.path.clone(),
                    out.paint(f.result.style(action), f.result.word(action)),
                ]
            })
            .collect()
    }

    /// Each failed write with its reason, on stderr.
    pub fn show_failures(&self, out: &Output) {
        for f in self.files.iter().filter(|f| f.result == Outcome::Failed) {
            out.warn(&format!(
                "{} ({}): {}",
                f.path,
                self.namespace,
                f.error.as_deref().unwrap_or("failed")
            ));
        }
    }
}

/// For people (`nsfiles push`): the table, each failure, and the totals line (below the table;
/// on stderr in the other formats, so their stdout holds only rows). `flows deploy` shows its
/// pushes with the same parts.
impl Render for PushReport {
    fn human(&self, out: &Output) -> Result<()> {
        out.table(&["FILE", "PATH", "ACTION"], &self.rows(out))?;
        self.show_failures(out);
        if out.format == Format::Table {
            out.print(&format!("{}\n", self.totals()))
        } else {
            out.note(&self.totals());
            Ok(())
        }
    }
}

/// How a push is run.
pub struct Options {
    /// Also delete the server's files the folder no longer has (after a question).
    pub prune: bool,
    pub dry_run: bool,
    pub fail_fast: bool,
    pub concurrency: usize,
    /// Skip the question before a prune.
    pub yes: bool,
}

/// The whole push: [`plan`], a question before a prune (unless `yes` or a dry run), [`apply`].
pub async fn push(
    client: &KestraClient,
    namespace: &str,
    local: &[LocalFile],
    opts: &Options,
    progress: &Progress,
    out: &Output,
) -> Result<PushReport> {
    let plan = plan(
        client,
        namespace,
        local,
        opts.prune,
        opts.concurrency,
        progress,
    )
    .await?;
    let deletions = plan.deletions();
    if !opts.dry_run && !deletions.is_empty() && !opts.yes {
        progress.finish();
        out.note(&format!(
            "--prune would delete {} of {namespace} the folder no longer has:",
            crate::output::count(deletions.len(), "file")
        ));
        for d in &deletions {
            out.note(&format!("  {d}"));
        }
        crate::output::confirm(
            "Push and delete them?",
            "--prune deletes namespace files",
            "nothing was written or deleted (push without --prune to keep them)",
        )
        .await?;
    }
    Ok(apply(client, plan, local, opts, progress).await)
}

/// What a push will do: the namespace's plan, settled (no compare left).
pub struct Plan {
    pub namespace: String,
    pub items: Vec<Item>,
}

impl Plan {
    /// The server's files a prune deletes.
    pub fn deletions(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| i.action == Action::Delete)
            .map(|i| i.path.as_str())
            .collect()
    }
}

/// Reads the namespace's files and plans `local` against them: by name and size, then, for a
/// file of the same size, by comparing it byte for byte with the server's copy. The copies come
/// in one export when there are many and the namespace is small (one request instead of one per
/// file), else one read each.
pub async fn plan(
    client: &KestraClient,
    namespace: &str,
    local: &[LocalFile],
    prune: bool,
    concurrency: usize,
    progress: &Progress,
) -> Result<Plan> {
    progress.step(&format!("reading the files of {namespace}"));
    let remote: Vec<RemoteFile> = client.nsfiles(namespace).tree("/").await?;
    let mut items: Vec<Item> = super::plan(local, &remote, prune);
    let compares = items.iter().filter(|i| i.action == Action::Compare).count();
    let remote_bytes: u64 = remote.iter().map(|r| r.size).sum();
    if compares >= EXPORT_FROM && remote_bytes <= EXPORT_CAP {
        progress.step(&format!(
            "comparing with {namespace}'s copies: reading its export"
        ));
        match client.nsfiles(namespace).export(EXPORT_CAP).await {
            Ok(copies) => {
                super::settle_from(local, &mut items, &copies.into_iter().collect())?;
            }
            // A server without the route (or one answering something unreadable): the copies
            // are read one by one, as below.
            Err(e) if export_unavailable(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let compares = items.iter().filter(|i| i.action == Action::Compare).count();
    if compares > 0 {
        let show = |done: usize, total: usize| {
            progress.step(&format!(
                "comparing with {namespace}'s copies: {done}/{total}"
            ));
        };
        show(0, compares);
        super::settle(client, namespace, local, &mut items, concurrency, &show).await?;
    }
    Ok(Plan {
        namespace: namespace.to_string(),
        items,
    })
}

/// From how many same-size files an export is worth asking for: below it, a read each costs
/// about as much as one archive.
const EXPORT_FROM: usize = 8;
/// The largest namespace (the listed files' sizes together) asked for as one export: Kestra
/// builds the archive in memory, and kestractl holds it.
const EXPORT_CAP: u64 = 32 << 20;

/// An export that cannot help (the route missing or refused, an archive too large or
/// unreadable): the plan falls back to reading each file.
fn export_unavailable(e: &crate::kestra::ApiError) -> bool {
    matches!(e, crate::kestra::ApiError::Decode { .. })
        || matches!(e.status(), Some(404 | 405 | 406 | 415 | 422 | 501))
}

/// Writes what `plan` says (nothing with `dry_run`), and reports each file and the totals.
pub async fn apply(
    client: &KestraClient,
    plan: Plan,
    local: &[LocalFile],
    opts: &Options,
    progress: &Progress,
) -> PushReport {
    let Plan { namespace, items } = plan;
    let outcomes: Option<Vec<Applied<()>>> = if opts.dry_run {
        None
    } else {
        let writes = items.iter().filter(|i| i.action.is_write()).count();
        let show = |done: usize, total: usize| {
            progress.step(&format!("writing files of {namespace}: {done}/{total}"));
        };
        if writes > 0 {
            show(0, writes);
        }
        Some(
            super::apply(
                client,
                &namespace,
                local,
                &items,
                opts.concurrency,
                opts.fail_fast,
                &show,
            )
            .await,
        )
    };
    report(namespace, opts.dry_run, &items, outcomes, local)
}

/// Each file's row and the totals, from the plan and what became of each item (none: a dry run).
fn report(
    namespace: String,
    dry_run: bool,
    items: &[Item],
    applied: Option<Vec<Applied<()>>>,
    local: &[LocalFile],
) -> PushReport {
    let mut summary = Totals::default();
    let mut applied = applied.map(Vec::into_iter);
    let files = items
        .iter()
        .map(|item| {
            let written = applied.as_mut().and_then(Iterator::next);
            let (result, error) = match written {
                _ if item.action.sync() == crate::sync::Action::Unchanged => {
                    (Outcome::Unchanged, None)
                }
                None => (Outcome::Planned, None),
                Some(w) => (w.outcome, w.error),
            };
            summary.add(item.action.sync(), result);
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
    PushReport {
        namespace,
        dry_run,
        files,
        summary,
    }
}
