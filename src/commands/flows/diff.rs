//! `kestractl flows diff`: what a deploy of a folder would change (unified diffs), with the exit code CI gates on (8 when something would change).

use std::path::PathBuf;

use serde::Serialize;

use super::{file_sets, invalid_input, print_problems};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::flows::diff::{self, Change};
use crate::flows::plan::plan;
use crate::flows::report::show_changes;
use crate::flows::{load, remote};
use crate::output::progress::Progress;
use crate::output::{Output, Render};
use crate::output::{Style, count};
use clap_complete::engine::ArgValueCompleter;
use std::collections::BTreeSet;
use std::path::Path;

/// What a deploy of PATH would change: each update as a unified diff; exit 0 when nothing
/// would, 8 when something would (for CI gates)
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = concat!("Examples:\n  ", "kestractl flows diff flows/\n  kestractl flows diff flows/ --prune -o json\n  kestractl flows diff flows/ || echo changes pending   # exit 8"))]
pub struct Args {
    /// Folder or file of flows
    #[arg(default_value = "flows", value_hint = clap::ValueHint::AnyPath)]
    pub path: PathBuf,
    /// Compare them as if deployed into this namespace
    #[arg(long, value_name = "NS", add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: Option<String>,
    /// Also count the server's flows the folder no longer has (what deploy --prune deletes)
    #[arg(long)]
    pub prune: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        diff(ctx, &self.path, self.namespace.as_deref(), self.prune).await
    }
}

/// `flows diff`: what a deploy would change, and the exit code CI gates on.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DiffReport {
    /// How many flows and namespace files a deploy would change.
    pending: usize,
    changes: Vec<Change>,
    unchanged: usize,
    /// The namespace files of `_files/` folders a deploy would write or delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    file_changes: Vec<FileChange>,
}

/// A namespace file a deploy would change (binary content: no unified diff).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileChange {
    namespace: String,
    path: String,
    action: &'static str,
    file: Option<String>,
}

impl Render for DiffReport {
    fn human(&self, out: &Output) -> Result<()> {
        show_changes(out, &self.changes)?;
        for f in &self.file_changes {
            let style = match f.action {
                "create" => Style::Green,
                "update" => Style::Yellow,
                _ => Style::Red,
            };
            out.print(&format!(
                "{} namespace file {}:{}\n",
                out.paint(style, f.action),
                f.namespace,
                f.path
            ))?;
        }
        let by = |a: &str| self.changes.iter().filter(|c| c.action == a).count();
        let files = if self.file_changes.is_empty() {
            String::new()
        } else {
            format!(
                "; {} to write or delete",
                count(self.file_changes.len(), "namespace file")
            )
        };
        out.note(&format!(
            "{} to create, {} to update, {} to delete, {} unchanged{files}",
            by("create"),
            by("update"),
            by("delete"),
            self.unchanged
        ));
        Ok(())
    }
}

async fn diff(ctx: &Ctx, path: &Path, namespace: Option<&str>, prune: bool) -> Result<Exit> {
    let (flows, mut problems) = load(path, namespace)?;
    let file_sets = file_sets(path, &flows, namespace, &mut problems)?;
    if !problems.is_empty() {
        print_problems(ctx, &problems);
        return Err(invalid_input(problems.len(), "nothing was compared"));
    }
    let client = ctx.kestra().await?;
    let namespaces: BTreeSet<String> = flows.iter().map(|f| f.namespace.clone()).collect();
    let remote = remote::read_namespaces(client, &namespaces).await?;
    let items = plan(&flows, &remote, prune);
    let changes = diff::changes(&items, &flows, &remote);
    let progress = Progress::new();
    let mut file_changes = Vec::new();
    // The `_files/` folders a deploy would push: their plans (reads only, nothing written).
    for (ns, local) in &file_sets {
        let planned = crate::nsfiles::push::plan(client, ns, local, prune, 32, &progress).await?;
        file_changes.extend(
            planned
                .items
                .iter()
                .filter(|i| i.action.is_write())
                .map(|i| FileChange {
                    namespace: ns.clone(),
                    path: i.path.clone(),
                    action: i.action.label(),
                    file: i
                        .local
                        .and_then(|l| local.get(l))
                        .map(|f| f.relative.clone()),
                }),
        );
    }
    progress.finish();
    let report = DiffReport {
        pending: changes.len() + file_changes.len(),
        unchanged: items.len() - changes.len(),
        changes,
        file_changes,
    };
    ctx.out.emit(&report)?;
    Ok(if report.pending == 0 {
        Exit::Ok
    } else {
        Exit::ChangesPending
    })
}
