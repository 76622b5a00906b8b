//! `kestractl triggers …` (`kestra::triggers`): the triggers Kestra schedules listed, one
//! enabled, disabled or unlocked. Each command is one file here, with its arguments.

mod disable;
mod enable;
mod list;
mod unlock;

use serde::Serialize;

use crate::cli::values;
use crate::commands::{Ctx, complete, group};
use crate::error::{Error, Exit, Result};
use crate::kestra::triggers::TriggerState;
use crate::kestra::{ApiError, KestraClient};
use crate::output::{Output, Render};
use clap_complete::engine::ArgValueCompleter;

group! {
    /// Triggers: list them with their next and last dates, enable, disable, unlock
    pub enum Command {
        List(list::Args),
        Enable(enable::Args),
        Disable(disable::Args),
        Unlock(unlock::Args),
    }
}

/// A trigger named as `NAMESPACE FLOW TRIGGER` or `NAMESPACE/FLOW TRIGGER`.
#[derive(Debug, Clone, clap::Args)]
pub struct TriggerRef {
    /// The flow's namespace, or NAMESPACE/FLOW in one word
    #[arg(value_name = "NAMESPACE", index = 1, add = ArgValueCompleter::new(complete::flows))]
    pub namespace: String,
    /// The flow's id (omit it with NAMESPACE/FLOW)
    #[arg(value_name = "FLOW", index = 2)]
    pub flow: String,
    /// The trigger's id in the flow
    #[arg(value_name = "TRIGGER", index = 3)]
    pub trigger: Option<String>,
}

impl TriggerRef {
    /// (namespace, flow, trigger), from three words or `NAMESPACE/FLOW TRIGGER`.
    pub fn resolve(&self) -> crate::error::Result<(String, String, String)> {
        match &self.trigger {
            Some(t) => {
                let (ns, flow) = values::flow_ref(&self.namespace, Some(&self.flow))?;
                Ok((ns, flow, t.clone()))
            }
            None => {
                let (ns, flow) = values::flow_ref(&self.namespace, None)?;
                Ok((ns, flow, self.flow.clone()))
            }
        }
    }
}

/// The trigger as the search shows it; a clear refusal naming the flow's triggers if it is not
/// there.
async fn find(client: &KestraClient, ns: &str, flow: &str, trigger: &str) -> Result<TriggerState> {
    let of_flow: Vec<TriggerState> = client
        .triggers()
        .list(Some(ns), Some(flow))
        .await?
        .into_iter()
        .filter(|t| t.namespace == ns && t.flow_id == flow)
        .collect();
    if let Some(t) = of_flow.iter().find(|t| t.trigger_id == trigger) {
        return Ok(t.clone());
    }
    let known: Vec<&str> = of_flow.iter().map(|t| t.trigger_id.as_str()).collect();
    Err(Error::not_found(
        format!("flow {ns}/{flow} has no trigger {trigger} that Kestra schedules"),
        if known.is_empty() {
            format!(
                "`kestractl flows get {ns} {flow}` shows its triggers; Kestra schedules all but \
                 Flow and Webhook triggers"
            )
        } else {
            format!("its triggers: {}", known.join(", "))
        },
    ))
}

/// What `enable`, `disable` and `unlock` did.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Switched {
    #[serde(flatten)]
    state: TriggerState,
    changed: bool,
    #[serde(skip)]
    said: String,
}

impl Render for Switched {
    fn human(&self, out: &Output) -> Result<()> {
        out.note(&self.said);
        Ok(())
    }
}

fn refused(e: ApiError, name: &str) -> Error {
    match e.status() {
        // `updateTrigger`: a realtime trigger is an IllegalArgumentException.
        Some(422) => Error::rejected(
            format!("Kestra does not switch {name} through its API: it is a realtime trigger"),
            "set `disabled: true` on the trigger in its flow and deploy the flow",
            Exit::InvalidInput,
        ),
        Some(404) => Error::not_found(
            format!("Kestra has no trigger {name}"),
            "`kestractl triggers list` lists the triggers it schedules",
        ),
        _ => e.into(),
    }
}

/// `enable` and `disable`: the trigger found, then switched unless it already is in that state.
async fn switch(ctx: &Ctx, t: &TriggerRef, disabled: bool) -> Result<Exit> {
    let (ns, flow, trigger) = t.resolve()?;
    crate::commands::namespace_arg(&ns, "check the namespace")?;
    let client = ctx.kestra().await?;
    let current = find(client, &ns, &flow, &trigger).await?;
    let name = format!("{trigger} of {ns}/{flow}");
    let word = if disabled { "disabled" } else { "enabled" };
    if current.disabled == disabled {
        ctx.out.emit(&Switched {
            state: current,
            changed: false,
            said: format!("Trigger {name} is already {word}: nothing was changed"),
        })?;
        return Ok(Exit::Ok);
    }
    let state = client
        .triggers()
        .set_disabled(&ns, &flow, &trigger, disabled)
        .await
        .map_err(|e| refused(e, &name))?;
    let next = match &state.next_date {
        Some(d) if !disabled => format!("; next: {d}"),
        _ => String::new(),
    };
    let state = TriggerState {
        kind: current.kind,
        ..state
    };
    ctx.out.emit(&Switched {
        state,
        changed: true,
        said: format!(
            "{} trigger {name}{next}",
            if disabled { "Disabled" } else { "Enabled" }
        ),
    })?;
    Ok(Exit::Ok)
}
