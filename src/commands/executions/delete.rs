//! `kestractl executions delete`: an execution deleted with its logs and files, after a question.

use clap_complete::engine::ArgValueCompleter;

use super::{current_state, not_found};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Error, Exit, Result};
use crate::output::confirm;

/// Delete an execution with its logs and files (asks first; --yes) (alias: rm)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "rm",
    after_help = "Examples:\n  kestractl executions delete 4Ld8mQk2sYbVtZxW1nPq7a\n  kestractl executions delete 4Ld8mQk2sYbVtZxW1nPq7a --keep-logs --yes"
)]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
    /// Keep its logs
    #[arg(long)]
    pub keep_logs: bool,
    /// Delete it even though it has not ended (Kestra does not stop it first)
    #[arg(long)]
    pub force: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        delete(ctx, &self.id, self.keep_logs, self.force).await
    }
}

async fn delete(ctx: &Ctx, id: &str, keep_logs: bool, force: bool) -> Result<Exit> {
    let state = current_state(ctx, id).await?;
    // Kestra deletes a running execution without stopping it: its tasks go on, unrecorded.
    if !state.is_terminal() && !force {
        return Err(Error::usage(
            format!("execution {id} is {state}: it has not ended"),
            format!(
                "kill it first (`kestractl executions kill {id}`), or pass --force to delete it \
                 while it runs"
            ),
        ));
    }
    if !ctx.global.yes {
        confirm(
            &format!(
                "Delete execution {id} ({state}){}?",
                if keep_logs {
                    ", keeping its logs"
                } else {
                    " with its logs and files"
                }
            ),
            "deleting an execution",
            "nothing was deleted",
        )
        .await?;
    }
    ctx.kestra()
        .await?
        .executions()
        .delete(id, keep_logs)
        .await
        .map_err(|e| not_found(id, e))?;
    ctx.out.note(&format!("Deleted execution {id}"));
    Ok(Exit::Ok)
}
