//! `kestractl executions kill`: a running execution killed (Kestra's kill also reaches the
//! subflow executions it started).

use clap_complete::engine::ArgValueCompleter;

use super::{action_error, load_execution};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};

/// Kill a running execution
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl executions kill 4fGpDPJmkkZ8lAfd1a2QqE")]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        kill(ctx, &self.id).await
    }
}

async fn kill(ctx: &Ctx, id: &str) -> Result<Exit> {
    let client = ctx.kestra().await?;
    // Kestra accepts a kill of an execution that has already ended (with its default
    // `isOnKillCascade=true` it still reaches the subflow executions it started): say so rather
    // than claim something was stopped.
    let state = load_execution(ctx, id).await?.state.current;
    client
        .executions()
        .kill(id)
        .await
        .map_err(|e| action_error(id, "killed", e))?;
    if state.is_terminal() {
        ctx.out.note(&format!(
            "Execution {id} had already ended ({state}); Kestra accepted the kill, which only \
             reaches subflow executions it started that still run"
        ));
    } else {
        ctx.out.note(&format!(
            "Kill requested for execution {id}; `kestractl executions watch {id}` follows it to the end"
        ));
    }
    Ok(Exit::Ok)
}
