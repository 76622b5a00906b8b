//! `kestractl executions restart`: a failed or killed execution restarted.

use clap_complete::engine::ArgValueCompleter;
use serde::Serialize;
use serde_json::Value;

use super::{action_error, parse_execution};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::output::{Output, Render};

/// Restart a failed or killed execution
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl executions restart 4fGpDPJmkkZ8lAfd1a2QqE")]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        restart(ctx, &self.id).await
    }
}

async fn restart(ctx: &Ctx, id: &str) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let raw = client
        .executions()
        .restart(id)
        .await
        .map_err(|e| action_error(id, "restarted", e))?;
    ctx.out.emit(&Restarted(raw))?;
    Ok(Exit::Ok)
}

/// The restarted execution as the server sent it; for people, a line on stderr.
#[derive(Serialize)]
#[serde(transparent)]
struct Restarted(Value);

impl Render for Restarted {
    fn human(&self, out: &Output) -> Result<()> {
        let e = parse_execution(&self.0)?;
        out.note(&format!(
            "Restarted execution {} ({}); `kestractl executions watch {}` follows it",
            e.id, e.state.current, e.id
        ));
        Ok(())
    }
}
