//! `kestractl flows export`: every flow's source written to DIR/<namespace>/<id>.yml (a deploy of DIR right after finds all unchanged).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::commands::{Ctx, Run, complete};
use crate::error::{Error, Exit, Result};
use crate::flows::remote;
use crate::flows::source::{check_id_pattern, check_namespace};
use crate::fsutil;
use crate::output::{Output, Render, count};
use clap_complete::engine::ArgValueCompleter;

/// Write every flow's source to DIR/<namespace>/<id>.yml (deploy DIR right after: all unchanged)
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = concat!("Examples:\n  ", "kestractl flows export backup-flows/\n  kestractl flows export backup-flows/ --namespace company.team"))]
pub struct Args {
    /// Folder to write into (created)
    #[arg(value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
    /// Only this namespace (exactly)
    #[arg(long, value_name = "NS", add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: Option<String>,
    /// Replace files that exist with different content
    #[arg(long)]
    pub overwrite: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        export(ctx, &self.dir, self.namespace.as_deref(), self.overwrite).await
    }
}

async fn export(ctx: &Ctx, dir: &Path, namespace: Option<&str>, overwrite: bool) -> Result<Exit> {
    if let Some(ns) = namespace {
        check_namespace(ns).map_err(|m| Error::usage(m, "fix --namespace"))?;
    }
    let client = ctx.kestra().await?;
    let namespaces: Vec<String> = match namespace {
        Some(ns) => vec![ns.to_string()],
        None => client.flows().namespaces().await?,
    };
    let remote = remote::read_namespaces(client, &namespaces.iter().cloned().collect()).await?;
    // The server names the files: a namespace or id that is not one Kestra allows (`..`, a
    // slash, an absolute path) could write anywhere, so the whole export is refused before
    // anything is written.
    let unsafe_names: Vec<String> = remote
        .iter()
        .filter(|f| check_namespace(&f.namespace).is_err() || check_id_pattern(&f.id).is_err())
        .map(|f| format!("{:?}/{:?}", f.namespace, f.id))
        .collect();
    if let Some(first) = unsafe_names.first() {
        return Err(Error::unsafe_(
            format!(
                "the server answered {} whose namespace or id Kestra does not allow, e.g. {first}: as file names they could write outside {}; nothing was written",
                count(unsafe_names.len(), "flow"),
                dir.display()
            ),
            "check that --server is the Kestra you meant; a real Kestra never stores such names",
        ));
    }
    // Decide every file before writing one, so a conflict leaves the folder untouched.
    let mut writes = Vec::new();
    let mut conflicts = Vec::new();
    for flow in &remote {
        let Some(source) = &flow.source else { continue };
        let file = format!("{}.yml", flow.id);
        let path = fsutil::join_under(dir, &[flow.namespace.as_str(), file.as_str()])
            .map_err(|m| Error::unsafe_(m, "check that --server is the Kestra you meant"))?;
        // A link planted where a file goes would carry the write elsewhere.
        if let Some(parent) = path.parent() {
            fsutil::exists_not_link(parent)?;
        }
        let exists = fsutil::exists_not_link(&path)?;
        match exists.then(|| std::fs::read_to_string(&path)) {
            Some(Ok(existing)) if existing == *source => {}
            Some(Ok(_)) if !overwrite => conflicts.push(path.display().to_string()),
            _ => writes.push((path, source.clone())),
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::usage(
            format!(
                "{} with other content already {}, e.g. {}; nothing was written",
                count(conflicts.len(), "file"),
                if conflicts.len() == 1 {
                    "exists"
                } else {
                    "exist"
                },
                conflicts[0]
            ),
            "pass --overwrite to replace them, or export into an empty folder",
        ));
    }
    if !writes.is_empty() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    }
    for (path, source) in &writes {
        if let Some(parent) = path.parent() {
            fsutil::create_dir_no_link(parent)?;
        }
        // A new file renamed over the old name: an existing name is replaced, never followed.
        fsutil::write_atomic(path, source.as_bytes(), None)?;
    }
    ctx.out.emit(&ExportReport {
        directory: dir.display().to_string(),
        flows: remote.len(),
        namespaces,
        written: writes.len(),
    })?;
    Ok(Exit::Ok)
}

/// What `flows export` wrote (fields in the order `-o json` has always shown them).
#[derive(Serialize)]
struct ExportReport {
    directory: String,
    flows: usize,
    namespaces: Vec<String>,
    written: usize,
}

impl Render for ExportReport {
    fn human(&self, out: &Output) -> Result<()> {
        out.print(&format!(
            "Exported {} of {} to {} ({} written, the rest already identical)\n",
            count(self.flows, "flow"),
            count(self.namespaces.len(), "namespace"),
            self.directory,
            count(self.written, "file")
        ))
    }
}
