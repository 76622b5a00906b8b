//! `kestractl executions pause`: a running execution paused (its running tasks finish; no new
//! task starts until it is resumed).

use clap_complete::engine::ArgValueCompleter;

use super::{current_state, refused};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::kestra::state::ExecutionState;

/// Pause a running execution (its running tasks finish; no new task starts until resumed)
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl executions pause 4Ld8mQk2sYbVtZxW1nPq7a")]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        pause(ctx, &self.id).await
    }
}

async fn pause(ctx: &Ctx, id: &str) -> Result<Exit> {
    let state = current_state(ctx, id).await?;
    if state == ExecutionState::Paused {
        ctx.out.note(&format!(
            "Execution {id} is already PAUSED: nothing was changed"
        ));
        return Ok(Exit::Ok);
    }
    ctx.kestra()
        .await?
        .executions()
        .pause(id)
        .await
        .map_err(|e| refused(id, "paused", &state, e))?;
    ctx.out.note(&format!(
        "Paused execution {id}: no new task starts until `kestractl executions resume {id}`"
    ));
    Ok(Exit::Ok)
}
