//! `executions outputs list|download`: the files an execution's tasks produced. Kestra has no
//! route listing them: they are the `kestra://` URIs in the task outputs (1.3: each task run's
//! `outputs`; 2.0: the `outputs/tasks/…` routes), each read through the execution's file route.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{load_execution, not_found, route_missing};
use crate::cli::OutputsCommand;
use crate::commands::Ctx;
use crate::error::{Error, Exit, Result};
use crate::fsutil;
use crate::output::{self, Output, Render};

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputFile {
    pub task_id: String,
    pub task_run_id: String,
    /// Where it sits in the task's outputs (`uri`, `files.report`).
    pub output: String,
    pub uri: String,
}

impl OutputFile {
    /// The name to write it under: the URI's last segment.
    fn file_name(&self) -> &str {
        self.uri.rsplit('/').next().unwrap_or_default()
    }
}

/// Every `kestra://` string in `value`, with its key path.
fn uris(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.starts_with("kestra://") => out.push((at.to_string(), s.clone())),
        Value::Object(m) => {
            for (k, v) in m {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                uris(v, &path, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                uris(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The files of one task run's outputs (a 2.0 value may arrive as JSON text).
pub fn files_of(task_id: &str, task_run_id: &str, outputs: &Value) -> Vec<OutputFile> {
    let parsed;
    let outputs = match outputs {
        // JSON text inside JSON: decoded with its strings cleaned, like every answer (its
        // escapes would otherwise become the very characters the first decoding removed).
        Value::String(text) => match crate::inert::decode::<Value>(text.as_bytes()) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => outputs,
        },
        other => other,
    };
    let mut found = Vec::new();
    uris(outputs, "", &mut found);
    found
        .into_iter()
        .map(|(output, uri)| OutputFile {
            task_id: task_id.to_string(),
            task_run_id: task_run_id.to_string(),
            output,
            uri,
        })
        .collect()
}

async fn collect(ctx: &Ctx, id: &str, task: Option<&str>) -> Result<Vec<OutputFile>> {
    let client = ctx.kestra().await?;
    let execution = load_execution(ctx, id).await?;
    let mut files = Vec::new();
    for run in client
        .task_outputs(id, &execution)
        .await
        .map_err(|e| route_missing(id, e))?
    {
        files.extend(files_of(&run.task_id, &run.task_run_id, &run.outputs));
    }
    if let Some(t) = task {
        let ran = execution
            .task_run_list
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|r| r.task_id == t);
        if !ran {
            return Err(Error::rejected(
                format!("execution {id} has no run of task {t}"),
                "`kestractl executions get ID` lists its task runs",
                Exit::InvalidInput,
            ));
        }
        files.retain(|f| f.task_id == t);
    }
    Ok(files)
}

#[derive(Serialize)]
#[serde(transparent)]
struct FileList(Vec<OutputFile>);

impl Render for FileList {
    fn human(&self, out: &Output) -> Result<()> {
        if self.0.is_empty() {
            out.note("no output files: no task output holds a kestra:// file");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|f| vec![f.task_id.clone(), f.output.clone(), f.uri.clone()])
            .collect();
        out.table(&["TASK", "OUTPUT", "URI"], &rows)
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
            .execution_file(id, &f.uri)
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

pub(super) async fn run(ctx: &Ctx, cmd: OutputsCommand) -> Result<Exit> {
    match cmd {
        OutputsCommand::List { id, task } => {
            let files = collect(ctx, &id, task.as_deref()).await?;
            ctx.out.emit(&FileList(files))?;
            Ok(Exit::Ok)
        }
        OutputsCommand::Download { id, dir, task } => {
            download(ctx, &id, &dir, task.as_deref()).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_kestra_uris_anywhere_in_outputs() {
        let outputs = json!({
            "uri": "kestra:///a/f/executions/e/tasks/t/r/x.ion",
            "files": {"report.csv": "kestra:///a/f/executions/e/tasks/t/r/report.csv"},
            "list": ["plain", "kestra:///a/f/executions/e/tasks/t/r/y.txt"],
            "n": 3
        });
        let files = files_of("t", "r", &outputs);
        let got: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.output.as_str(), f.file_name()))
            .collect();
        assert_eq!(
            got,
            [
                ("files.report.csv", "report.csv"),
                ("list[1]", "y.txt"),
                ("uri", "x.ion")
            ]
        );
        // 2.0 may send the outputs as JSON text.
        let text = json!(outputs.to_string());
        assert_eq!(files_of("t", "r", &text).len(), 3);
    }

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
