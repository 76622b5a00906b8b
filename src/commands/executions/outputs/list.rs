//! `kestractl executions outputs list`: the files an execution's tasks produced.

use serde::Serialize;

use super::{OutputFile, collect};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::{Output, Render};

/// The files an execution's tasks produced (kestra:// URIs in their outputs) (alias: ls)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "ls",
    after_help = "Examples:\n  kestractl executions outputs list 4Ld8mQk2sYbVtZxW1nPq7a"
)]
pub struct Args {
    /// The execution's id
    pub id: String,
    /// Only this task's files
    #[arg(long, value_name = "TASK_ID")]
    pub task: Option<String>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let files = collect(ctx, &self.id, self.task.as_deref()).await?;
        ctx.out.emit(&FileList(files))?;
        Ok(Exit::Ok)
    }
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
