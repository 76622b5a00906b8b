//! `kestractl triggers unlock`: a trigger left locked released, after showing what it waits on
//! and asking.

use super::{Switched, TriggerRef, find, refused};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::kestra::triggers::TriggerState;
use crate::output::confirm;

/// Release a trigger stuck on an execution or evaluation (asks first; --yes)
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = "Release a locked trigger. Kestra locks a trigger while it evaluates it and \
        while an execution it started runs (when the flow allows no concurrent runs); a trigger \
        left locked by a crash never fires again until it is unlocked. Unlocking one whose \
        execution still runs lets it fire alongside it, so kestractl shows the execution and asks.",
    after_help = "Examples:\n  kestractl triggers unlock company.team nightly schedule\n  kestractl triggers unlock company.team/nightly schedule --yes"
)]
pub struct Args {
    #[command(flatten)]
    pub trigger: TriggerRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        unlock(ctx, &self.trigger).await
    }
}

async fn unlock(ctx: &Ctx, t: &TriggerRef) -> Result<Exit> {
    let (ns, flow, trigger) = t.resolve()?;
    crate::commands::namespace_arg(&ns, "check the namespace")?;
    let client = ctx.kestra().await?;
    let current = find(client, &ns, &flow, &trigger).await?;
    let name = format!("{trigger} of {ns}/{flow}");
    let not_locked = |state: TriggerState| Switched {
        state,
        changed: false,
        said: format!("Trigger {name} is not locked: nothing was changed"),
    };
    if !current.locked {
        ctx.out.emit(&not_locked(current))?;
        return Ok(Exit::Ok);
    }
    if !ctx.global.yes {
        if let Some(id) = &current.execution_id {
            ctx.out.note(&format!(
                "It waits on execution {id}; if that still runs, the trigger may fire alongside \
                 it (`kestractl executions get {id}`)"
            ));
        }
        confirm(
            &format!("Unlock trigger {name}?"),
            "unlocking a trigger",
            "nothing was changed",
        )
        .await?;
    }
    match client.triggers().unlock(&ns, &flow, &trigger).await {
        Ok(state) => {
            let state = TriggerState {
                kind: current.kind,
                ..state
            };
            ctx.out.emit(&Switched {
                state,
                changed: true,
                said: format!("Unlocked trigger {name}"),
            })?;
        }
        // Unlocked meanwhile (its execution ended): what was asked for.
        Err(e) if e.status() == Some(409) => ctx.out.emit(&not_locked(current))?,
        Err(e) => return Err(refused(e, &name)),
    }
    Ok(Exit::Ok)
}
