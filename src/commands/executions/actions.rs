//! `executions kill` and `restart`.

use serde::Serialize;
use serde_json::Value;

use super::parse_execution;
use crate::commands::Ctx;
use crate::error::{Error, Exit, Result};
use crate::kestra::ApiError;
use crate::kestra::model::is_terminal;
use crate::output::{Output, Render};

// ---------------------------------------------------------------------------------------------
// kill, restart

fn action_error(id: &str, action: &str, e: ApiError) -> Error {
    match e.status() {
        Some(404) => Error::not_found(
            format!("there is no execution {id}"),
            "`kestractl executions` lists recent ones",
        ),
        Some(409 | 422) => {
            let message = format!(
                "execution {id} cannot be {action}: {}",
                e.problem()
                    .map(|p| p.summary())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "Kestra refused".into())
            );
            // Kestra's rules (`State.canBeRestarted`; the kill route with its default
            // `isOnKillCascade=true` accepts any execution).
            let hint = if action == "killed" {
                "`kestractl executions get ID` shows its state"
            } else {
                "Kestra restarts an execution that FAILED or is PAUSED (1.3 also one that ended \
                 otherwise with a failed task; never a KILLED one); `kestractl executions get ID` \
                 shows its state"
            };
            Error::rejected(message, hint, Exit::Error)
        }
        _ => e.into(),
    }
}

pub(super) async fn kill(ctx: &Ctx, id: &str) -> Result<Exit> {
    let client = ctx.kestra().await?;
    // Kestra accepts a kill of an execution that has already ended (with its default
    // `isOnKillCascade=true` it still reaches the subflow executions it started): say so rather
    // than claim something was stopped.
    let state = super::load_execution(ctx, id).await?.state.current;
    client
        .kill_execution(id)
        .await
        .map_err(|e| action_error(id, "killed", e))?;
    if is_terminal(&state) {
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

pub(super) async fn restart(ctx: &Ctx, id: &str) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let raw = client
        .restart_execution(id)
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
