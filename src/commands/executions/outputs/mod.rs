//! `kestractl executions outputs list|download`: the files an execution's tasks produced. Kestra
//! has no route listing them: they are the `kestra://` URIs in the task outputs (1.3: each task
//! run's `outputs`; 2.0: the `outputs/tasks/…` routes), each read through the execution's file
//! route.

mod download;
mod list;

use serde::Serialize;
use serde_json::Value;

use super::{load_execution, route_missing};
use crate::commands::{Ctx, group};
use crate::error::{Error, Exit, Result};

group! {
    /// An execution's output files: list them, or download them into a folder
    pub enum Command {
        List(list::Args),
        Download(download::Args),
    }
}

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
        Value::String(text) => match crate::sanitize::decode::<Value>(text.as_bytes()) {
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

/// The output files of execution `id` (of one task's runs with `task`).
async fn collect(ctx: &Ctx, id: &str, task: Option<&str>) -> Result<Vec<OutputFile>> {
    let client = ctx.kestra().await?;
    let execution = load_execution(ctx, id).await?;
    let mut files = Vec::new();
    for run in client
        .executions()
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
}
