//! `kestractl executions resume`: a paused execution resumed.

use clap_complete::engine::ArgValueCompleter;

use super::{current_state, refused};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};

/// Resume a paused execution
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl executions resume 4Ld8mQk2sYbVtZxW1nPq7a")]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        resume(ctx, &self.id).await
    }
}

async fn resume(ctx: &Ctx, id: &str) -> Result<Exit> {
    let state = current_state(ctx, id).await?;
    ctx.kestra()
        .await?
        .executions()
        .resume(id)
        .await
        .map_err(|e| refused(id, "resumed", &state, e))?;
    ctx.out.note(&format!(
        "Resumed execution {id}; `kestractl executions watch {id}` follows it"
    ));
    Ok(Exit::Ok)
}
