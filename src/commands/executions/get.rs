//! `kestractl executions get`: one execution with its state history, task runs, inputs,
//! outputs, labels.

use clap_complete::engine::ArgValueCompleter;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::{UiBase, duration_cell, not_found, parse_execution, route_missing, state_style};
use super::{task_rows, ui_url, unreadable};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::kestra::executions::GetError;
use crate::output::time as otime;
use crate::output::{Output, Render};

/// One execution: state history, task runs, inputs, outputs, labels, UI link (alias: show)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "show",
    after_help = "Examples:\n  kestractl executions get 4fGpDPJmkkZ8lAfd1a2QqE\n  kestractl executions get 4fGpDPJmkkZ8lAfd1a2QqE --outputs -o json"
)]
pub struct Args {
    /// The execution's id (the first column of `kestractl executions`)
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
    /// Also fetch the task outputs (Kestra 2.0 serves them on their own route)
    #[arg(long)]
    pub outputs: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        get(ctx, &self.id, self.outputs).await
    }
}

fn compact(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::Object(m)) if m.is_empty() => "-".into(),
        Some(v) => v.to_string(),
    }
}

async fn get(ctx: &Ctx, id: &str, with_outputs: bool) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let raw = client
        .executions()
        .get_with_outputs(id, with_outputs)
        .await
        .map_err(|e| match e {
            GetError::Execution(e) => not_found(id, *e),
            GetError::Unreadable(e) => unreadable(e),
            GetError::Outputs(e) => route_missing(id, *e),
        })?;
    ctx.out.emit(&ExecutionView {
        raw,
        ui: UiBase::of(client),
    })?;
    Ok(Exit::Ok)
}

/// One execution as the server sent it (with 2.0's task outputs when asked); for people, a
/// record, its task runs and their outputs.
#[derive(Serialize)]
#[serde(transparent)]
struct ExecutionView {
    raw: Value,
    #[serde(skip)]
    ui: UiBase,
}

impl Render for ExecutionView {
    fn human(&self, out: &Output) -> Result<()> {
        let e = parse_execution(&self.raw)?;
        let now = OffsetDateTime::now_utc();
        let labels = if e.labels.0.is_empty() {
            "-".to_string()
        } else {
            e.labels
                .0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let history = e
            .state
            .histories
            .iter()
            .map(|h| {
                format!(
                    "{} {}",
                    h.state,
                    h.date
                        .as_deref()
                        .and_then(otime::parse)
                        .map(otime::local_time)
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(" → ");
        out.record(&[
            ("ID", e.id.clone()),
            (
                "Flow",
                format!(
                    "{}/{}{}",
                    e.namespace,
                    e.flow_id,
                    e.flow_revision
                        .map(|r| format!(" (revision {r})"))
                        .unwrap_or_default()
                ),
            ),
            (
                "State",
                out.paint(state_style(&e.state.current), e.state.current.as_str()),
            ),
            ("History", history),
            ("Duration", duration_cell(&e.state)),
            ("Labels", labels),
            ("Inputs", compact(e.inputs.as_ref())),
            ("Outputs", compact(e.outputs.as_ref())),
            ("UI", ui_url(&self.ui, &e)),
        ])?;
        let runs = e.task_run_list.clone().unwrap_or_default();
        if !runs.is_empty() {
            out.print("\n")?;
            out.table(
                &["TASK", "VALUE", "STATE", "STARTED", "DURATION"],
                &task_rows(out, &runs, now),
            )?;
        }
        if let Some(Value::Array(outputs)) = self.raw.get("taskOutputs")
            && !outputs.is_empty()
        {
            out.print("\n")?;
            let text = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
            let rows: Vec<Vec<String>> = outputs
                .iter()
                .map(|o| {
                    vec![
                        text(o, "taskId").unwrap_or_else(|| "-".into()),
                        text(o, "value").unwrap_or_else(|| "-".into()),
                        compact(o.get("outputs")),
                    ]
                })
                .collect();
            out.table(&["TASK", "VALUE", "OUTPUTS"], &rows)?;
        }
        Ok(())
    }
}
