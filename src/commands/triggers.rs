//! `kestractl triggers list|enable|disable|unlock` (`kestra::triggers`).

use serde::Serialize;

use super::Ctx;
use crate::cli::{TriggerRef, TriggersCommand, values};
use crate::error::{Error, Exit, Result};
use crate::kestra::triggers::TriggerState;
use crate::kestra::{ApiError, KestraClient};
use crate::output::{self, Output, Render, Style, confirm};

pub async fn run(ctx: &Ctx, cmd: TriggersCommand) -> Result<Exit> {
    match cmd {
        TriggersCommand::List {
            namespace,
            flow,
            quiet,
        } => list(ctx, namespace.as_deref(), flow.as_deref(), quiet).await,
        TriggersCommand::Enable(t) => switch(ctx, &t, false).await,
        TriggersCommand::Disable(t) => switch(ctx, &t, true).await,
        TriggersCommand::Unlock(t) => unlock(ctx, &t).await,
    }
}

/// The last segment of a plugin type (`io.kestra.plugin.core.trigger.Schedule` → `Schedule`).
fn short_type(kind: Option<&str>) -> String {
    kind.map_or_else(
        || "-".into(),
        |k| k.rsplit('.').next().unwrap_or(k).to_string(),
    )
}

#[derive(Serialize)]
#[serde(transparent)]
struct TriggerList {
    triggers: Vec<TriggerState>,
    #[serde(skip)]
    quiet: bool,
}

impl Render for TriggerList {
    fn human(&self, out: &Output) -> Result<()> {
        if self.quiet {
            let lines: String = self
                .triggers
                .iter()
                .map(|t| format!("{}/{}/{}\n", t.namespace, t.flow_id, t.trigger_id))
                .collect();
            return out.print(&lines);
        }
        if self.triggers.is_empty() {
            out.note("no triggers: Kestra lists the triggers it schedules (not Flow or Webhook triggers)");
            return Ok(());
        }
        let now = time::OffsetDateTime::now_utc();
        let rows: Vec<Vec<String>> = self
            .triggers
            .iter()
            .map(|t| {
                vec![
                    t.namespace.clone(),
                    t.flow_id.clone(),
                    t.trigger_id.clone(),
                    short_type(t.kind.as_deref()),
                    if t.disabled {
                        out.paint(Style::Yellow, "disabled")
                    } else {
                        "enabled".into()
                    },
                    match (&t.locked, &t.execution_id) {
                        (false, _) => "-".into(),
                        (true, Some(id)) => out.paint(Style::Red, &format!("locked ({id})")),
                        (true, None) => out.paint(Style::Red, "locked"),
                    },
                    out.time_cell(t.next_date.as_deref(), now),
                    out.time_cell(t.last_date.as_deref(), now),
                ]
            })
            .collect();
        out.table(
            &[
                "NAMESPACE",
                "FLOW",
                "TRIGGER",
                "TYPE",
                "STATE",
                "LOCK",
                "NEXT",
                "LAST",
            ],
            &rows,
        )?;
        out.note(&output::count(self.triggers.len(), "trigger"));
        Ok(())
    }
}

async fn list(ctx: &Ctx, namespace: Option<&str>, flow: Option<&str>, quiet: bool) -> Result<Exit> {
    // `--flow NS/ID` stands for both filters; a bare id needs --namespace to be one flow.
    let (namespace, flow) = match (namespace, flow) {
        (ns, Some(f)) if f.contains('/') => {
            let (fns, id) = values::flow_ref(f, None)?;
            if ns.is_some_and(|n| n != fns) {
                return Err(Error::usage(
                    format!(
                        "--flow {f} is not in --namespace {}",
                        ns.unwrap_or_default()
                    ),
                    "give the flow as NAMESPACE/ID alone",
                ));
            }
            (Some(fns), Some(id))
        }
        (ns, f) => (ns.map(str::to_string), f.map(str::to_string)),
    };
    if let Some(ns) = &namespace {
        super::namespace_arg(ns, "fix --namespace")?;
    }
    let client = ctx.kestra().await?;
    let triggers = client
        .search_triggers(namespace.as_deref(), flow.as_deref())
        .await?;
    ctx.out.emit(&TriggerList { triggers, quiet })?;
    Ok(Exit::Ok)
}

/// The trigger as the search shows it; a clear refusal naming the flow's triggers if it is not
/// there.
async fn find(client: &KestraClient, ns: &str, flow: &str, trigger: &str) -> Result<TriggerState> {
    let of_flow: Vec<TriggerState> = client
        .search_triggers(Some(ns), Some(flow))
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

async fn switch(ctx: &Ctx, t: &TriggerRef, disabled: bool) -> Result<Exit> {
    let (ns, flow, trigger) = t.resolve()?;
    super::namespace_arg(&ns, "check the namespace")?;
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
        .set_trigger_disabled(&ns, &flow, &trigger, disabled)
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

async fn unlock(ctx: &Ctx, t: &TriggerRef) -> Result<Exit> {
    let (ns, flow, trigger) = t.resolve()?;
    super::namespace_arg(&ns, "check the namespace")?;
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
    match client.unlock_trigger(&ns, &flow, &trigger).await {
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
