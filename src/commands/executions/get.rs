//! `executions get`: one execution with its state history, task runs, inputs, outputs, labels.

use serde_json::Value;
use time::OffsetDateTime;

use super::{duration_cell, not_found, parse_execution, started_cell, state_style, ui_url};
use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::kestra::model::TaskRun;
use crate::kestra::routes::ApiVersion;
use crate::output::time as otime;

// ---------------------------------------------------------------------------------------------
// get

fn compact(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::Object(m)) if m.is_empty() => "-".into(),
        Some(v) => v.to_string(),
    }
}

pub(super) fn task_rows(ctx: &Ctx, runs: &[TaskRun], now: OffsetDateTime) -> Vec<Vec<String>> {
    runs.iter()
        .map(|t| {
            vec![
                t.task_id.clone(),
                t.value.clone().unwrap_or_else(|| "-".into()),
                ctx.out
                    .paint(state_style(&t.state.current), &t.state.current),
                started_cell(ctx, t.state.start_date.as_deref(), now),
                duration_cell(&t.state),
            ]
        })
        .collect()
}

pub(super) async fn get(ctx: &Ctx, id: &str, with_outputs: bool) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let mut raw = client
        .get_execution(id)
        .await
        .map_err(|e| not_found(id, e))?;
    let api = client.discover().await?.api;
    if with_outputs && api == ApiVersion::V2 {
        let outputs = client.execution_outputs(id).await?;
        if let Value::Object(m) = &mut raw {
            m.insert("taskOutputs".into(), outputs);
        }
    }
    if ctx.out.is_structured() {
        ctx.out.structured(&raw)?;
        return Ok(Exit::Ok);
    }
    let e = parse_execution(&raw)?;
    let now = OffsetDateTime::now_utc();
    let out = &ctx.out;
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
            out.paint(state_style(&e.state.current), &e.state.current),
        ),
        ("History", history),
        ("Duration", duration_cell(&e.state)),
        ("Labels", labels),
        ("Inputs", compact(e.inputs.as_ref())),
        ("Outputs", compact(e.outputs.as_ref())),
        ("UI", ui_url(client, &e)),
    ])?;
    let runs = e.task_run_list.clone().unwrap_or_default();
    if !runs.is_empty() {
        out.print("\n")?;
        out.table(
            &["TASK", "VALUE", "STATE", "STARTED", "DURATION"],
            &task_rows(ctx, &runs, now),
        )?;
    }
    if let Some(Value::Array(outputs)) = raw.get("taskOutputs") {
        out.print("\n")?;
        let rows: Vec<Vec<String>> = outputs
            .iter()
            .map(|o| {
                vec![
                    o.get("taskId")
                        .and_then(Value::as_str)
                        .unwrap_or("-")
                        .to_string(),
                    compact(o.get("value")),
                ]
            })
            .collect();
        out.table(&["TASK", "OUTPUTS"], &rows)?;
    } else if with_outputs {
        // 1.x: outputs are part of each task run.
        let rows: Vec<Vec<String>> = runs
            .iter()
            .filter(|t| t.outputs.is_some())
            .map(|t| vec![t.task_id.clone(), compact(t.outputs.as_ref())])
            .collect();
        if !rows.is_empty() {
            out.print("\n")?;
            out.table(&["TASK", "OUTPUTS"], &rows)?;
        }
    }
    Ok(Exit::Ok)
}
