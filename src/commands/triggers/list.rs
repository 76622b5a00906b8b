//! `kestractl triggers list`: the triggers Kestra schedules, with their state, lock and dates.

use serde::Serialize;

use crate::cli::values;
use crate::commands::{Ctx, Run, complete};
use crate::error::{Error, Exit, Result};
use crate::kestra::triggers::TriggerState;
use crate::output::{self, Output, Render, Style};
use clap_complete::engine::ArgValueCompleter;

/// Triggers Kestra schedules: type, enabled, locked, next and last dates (alias: ls)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "ls",
    after_help = "Examples:\n  kestractl triggers list\n  kestractl triggers list --namespace company.team\n  kestractl triggers list --flow company.team/nightly -o json"
)]
pub struct Args {
    /// Only this namespace and its children
    #[arg(long, value_name = "NS", add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: Option<String>,
    /// Only this flow (NAMESPACE/ID, or an id with --namespace)
    #[arg(long, value_name = "FLOW")]
    pub flow: Option<String>,
    /// Only NAMESPACE/FLOW/TRIGGER, one per line (for scripts)
    #[arg(short, long)]
    pub quiet: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        list(
            ctx,
            self.namespace.as_deref(),
            self.flow.as_deref(),
            self.quiet,
        )
        .await
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
        crate::commands::namespace_arg(ns, "fix --namespace")?;
    }
    let client = ctx.kestra().await?;
    let triggers = client
        .triggers()
        .list(namespace.as_deref(), flow.as_deref())
        .await?;
    ctx.out.emit(&TriggerList { triggers, quiet })?;
    Ok(Exit::Ok)
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
