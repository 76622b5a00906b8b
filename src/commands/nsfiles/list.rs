//! `kestractl nsfiles list`: a namespace's files, or those under a folder.

use serde::Serialize;

use super::missing;
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::kestra::nsfiles::{RemoteFile, server_path};
use crate::output::{self, Output, Render};
use clap_complete::engine::ArgValueCompleter;

/// A namespace's files (all of them, or those under PATH): size and last update (alias: ls)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "ls",
    after_help = "Examples:\n  kestractl nsfiles list company.team\n  kestractl nsfiles list company.team scripts -q"
)]
pub struct Args {
    /// The namespace whose files to list
    #[arg(value_name = "NAMESPACE", index = 1, add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: String,
    /// Only the files under this folder
    #[arg(value_name = "PATH", index = 2)]
    pub path: Option<String>,
    /// Only the paths, one per line (for scripts)
    #[arg(short, long)]
    pub quiet: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        list(ctx, &self.namespace, self.path.as_deref(), self.quiet).await
    }
}

async fn list(ctx: &Ctx, namespace: &str, under: Option<&str>, quiet: bool) -> Result<Exit> {
    crate::commands::namespace_arg(namespace, "check the namespace")?;
    let client = ctx.kestra().await?;
    let dir = under.map_or_else(|| "/".to_string(), server_path);
    let files = client
        .nsfiles(namespace)
        .tree(&dir)
        .await
        .map_err(|e| missing(namespace, &dir, e))?;
    ctx.out.emit(&FileList {
        namespace: namespace.into(),
        files,
        quiet,
    })?;
    Ok(Exit::Ok)
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
