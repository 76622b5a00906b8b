//! `kestractl executions outputs download`: an execution's output files written into
//! DIR/<task>/<file>, streamed, never over an existing file nor through a link.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::super::not_found;
use super::{OutputFile, collect};
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::fsutil;
use crate::output::{self, Output, Render};

/// Download an execution's output files into DIR/<task>/<file>
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl executions outputs download 4Ld8mQk2sYbVtZxW1nPq7a ./out\n  kestractl executions outputs download 4Ld8mQk2sYbVtZxW1nPq7a ./out --task export"
)]
pub struct Args {
    /// The execution's id
    pub id: String,
    /// The folder to write into (created; existing files are not overwritten)
    pub dir: PathBuf,
    /// Only this task's files
    #[arg(long, value_name = "TASK_ID")]
    pub task: Option<String>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        download(ctx, &self.id, &self.dir, self.task.as_deref()).await
    }
}

/// Where each file goes: `DIR/<task>/<name>`, a second file of the same name numbered. Names
/// come from the server: each must be a plain file name, and no folder on the way a link.
fn targets(dir: &Path, files: &[OutputFile]) -> Result<Vec<PathBuf>> {
    let mut taken = std::collections::HashSet::new();
    files
        .iter()
        .map(|f| {
            let name = f.file_name();
            let mut path = fsutil::target_under(dir, &[&f.task_id, name])?;
            let mut n = 1;
            while !taken.insert(path.clone()) {
                n += 1;
                path = fsutil::target_under(dir, &[&f.task_id, &format!("{n}-{name}")])?;
            }
            Ok(path)
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Downloaded {
    file: String,
    uri: String,
    bytes: u64,
}

#[derive(Serialize)]
#[serde(transparent)]
struct DownloadReport(Vec<Downloaded>);

impl Render for DownloadReport {
    fn human(&self, out: &Output) -> Result<()> {
        let lines: String = self.0.iter().map(|d| format!("{}\n", d.file)).collect();
        out.print(&lines)?;
        let bytes: u64 = self.0.iter().map(|d| d.bytes).sum();
        out.note(&format!(
            "Downloaded {} ({bytes} bytes)",
            output::count(self.0.len(), "file")
        ));
        Ok(())
    }
}

async fn download(ctx: &Ctx, id: &str, dir: &Path, task: Option<&str>) -> Result<Exit> {
    let files = collect(ctx, id, task).await?;
    if files.is_empty() {
        ctx.out
            .note("no output files: no task output holds a kestra:// file; nothing was written");
        return Ok(Exit::Ok);
    }
    let paths = targets(dir, &files)?;
    // Nothing is overwritten: every target is checked before the first file is written.
    for p in &paths {
        if fsutil::exists_not_link(p)? {
            return Err(Error::usage(
                format!("{} exists; nothing was written", p.display()),
                "download into an empty folder, or move the file away",
            ));
        }
    }
    let client = ctx.kestra().await?;
    let mut done = Vec::new();
    for (f, path) in files.iter().zip(&paths) {
        let resp = client
            .executions()
            .file(id, &f.uri)
            .await
            .map_err(|e| not_found(id, e))?;
        let url = resp.url().to_string();
        fsutil::create_parents_under(dir, path)?;
        // Streamed to disk: a file of any size takes one chunk of memory.
        let mut file = fsutil::AtomicFile::create(path)?;
        crate::kestra::client::stream_body(resp, client.timeout(), &mut |chunk| file.write(chunk))
            .await
            .map_err(|e| e.into_error(&url, &f.uri))?;
        let bytes = file.commit()?;
        done.push(Downloaded {
            file: path.display().to_string(),
            uri: f.uri.clone(),
            bytes,
        });
    }
    ctx.out.emit(&DownloadReport(done))?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_in_the_folder_and_do_not_collide() {
        let file = |task: &str, uri: &str| OutputFile {
            task_id: task.into(),
            task_run_id: "r".into(),
            output: "uri".into(),
            uri: uri.into(),
        };
        let dir = Path::new("/out");
        let paths = targets(
            dir,
            &[
                file("t", "kestra:///x/a.txt"),
                file("t", "kestra:///y/a.txt"),
            ],
        )
        .unwrap();
        assert_eq!(paths, [dir.join("t/a.txt"), dir.join("t/2-a.txt")]);
        assert!(targets(dir, &[file("..", "kestra:///x/a.txt")]).is_err());
        assert!(targets(dir, &[file("t", "kestra:///x/..")]).is_err());
    }
}
