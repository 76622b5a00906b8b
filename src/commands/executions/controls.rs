//! `executions pause`, `resume`, `replay`, `delete` and `latest`.

use serde::Serialize;
use serde_json::Value;

use super::{load_execution, not_found, parse_execution};
use crate::cli::{FlowRef, WaitArgs};
use crate::commands::Ctx;
use crate::error::{Error, Exit, Result};
use crate::kestra::ApiError;
use crate::kestra::executions::LatestExecution;
use crate::kestra::model::is_terminal;
use crate::output::{Output, Render, confirm};

/// A refusal of one of these actions, in the words of the execution's state.
fn refused(id: &str, action: &str, state: &str, e: ApiError) -> Error {
    match e.status() {
        Some(404) => Error::not_found(
            format!("there is no execution {id}"),
            "`kestractl executions` lists recent ones",
        ),
        // 1.3 refuses a pause with 422, 2.0 with 409; a resume with 409 on both.
        Some(409 | 422) => Error::rejected(
            format!(
                "execution {id} cannot be {action}: it is {state}{}",
                e.problem()
                    .map(|p| p.summary())
                    .filter(|s| !s.is_empty())
                    .map(|s| format!(" (Kestra: {s})"))
                    .unwrap_or_default()
            ),
            match action {
                "paused" => "Kestra pauses a RUNNING execution only",
                "resumed" => "Kestra resumes a PAUSED execution only",
                _ => "`kestractl executions get ID` shows its state",
            },
            Exit::Error,
        ),
        _ => e.into(),
    }
}

async fn current_state(ctx: &Ctx, id: &str) -> Result<String> {
    Ok(load_execution(ctx, id).await?.state.current)
}

pub(super) async fn pause(ctx: &Ctx, id: &str) -> Result<Exit> {
    let state = current_state(ctx, id).await?;
    if state == "PAUSED" {
        ctx.out.note(&format!(
            "Execution {id} is already PAUSED: nothing was changed"
        ));
        return Ok(Exit::Ok);
    }
    ctx.kestra()
        .await?
        .pause_execution(id)
        .await
        .map_err(|e| refused(id, "paused", &state, e))?;
    ctx.out.note(&format!(
        "Paused execution {id}: no new task starts until `kestractl executions resume {id}`"
    ));
    Ok(Exit::Ok)
}

pub(super) async fn resume(ctx: &Ctx, id: &str) -> Result<Exit> {
    let state = current_state(ctx, id).await?;
    ctx.kestra()
        .await?
        .resume_execution(id)
        .await
        .map_err(|e| refused(id, "resumed", &state, e))?;
    ctx.out.note(&format!(
        "Resumed execution {id}; `kestractl executions watch {id}` follows it"
    ));
    Ok(Exit::Ok)
}

/// The new execution a replay started.
#[derive(Serialize)]
#[serde(transparent)]
struct Replayed(Value);

impl Render for Replayed {
    fn human(&self, out: &Output) -> Result<()> {
        let e = parse_execution(&self.0)?;
        out.print(&format!("{}\n", e.id))?;
        out.note(&format!(
            "Replayed as execution {} ({}); `kestractl executions watch {}` follows it",
            e.id, e.state.current, e.id
        ));
        Ok(())
    }
}

pub(super) async fn replay(
    ctx: &Ctx,
    id: &str,
    from: Option<&str>,
    revision: Option<i64>,
    wait: bool,
) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let execution = load_execution(ctx, id).await?;
    // Kestra does not check the task run it is given: an unknown one would replay from nowhere.
    let task_run = match from {
        None => None,
        Some(task) => {
            let all = execution.task_run_list.as_deref().unwrap_or_default();
            let runs: Vec<_> = all.iter().filter(|t| t.task_id == task).collect();
            match runs.last() {
                Some(run) => Some(run.id.clone()),
                None => {
                    let mut tasks: Vec<&str> = all.iter().map(|t| t.task_id.as_str()).collect();
                    tasks.dedup();
                    return Err(Error::rejected(
                        format!("execution {id} has no run of task {task}"),
                        if tasks.is_empty() {
                            "it ran no task; replay it from the start (without --from)".into()
                        } else {
                            format!("its tasks: {}", tasks.join(", "))
                        },
                        Exit::InvalidInput,
                    ));
                }
            }
        }
    };
    let replayed = client
        .replay_execution(id, task_run.as_deref(), revision)
        .await
        .map_err(|e| match e.status() {
            Some(404) if revision.is_some() => Error::not_found(
                format!(
                    "flow {}/{} has no revision {}",
                    execution.namespace,
                    execution.flow_id,
                    revision.unwrap_or_default()
                ),
                format!(
                    "`kestractl flows revisions {} {}` lists them",
                    execution.namespace, execution.flow_id
                ),
            ),
            Some(409) => Error::rejected(
                format!("Kestra refused to replay execution {id}: its flow is disabled"),
                format!(
                    "`kestractl flows enable {} {}` enables it",
                    execution.namespace, execution.flow_id
                ),
                Exit::Error,
            ),
            _ => refused(id, "replayed", &execution.state.current, e),
        })?;
    let new_id = replayed
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    ctx.out.emit(&Replayed(replayed))?;
    if wait {
        return super::run::watch(
            ctx,
            &new_id,
            &WaitArgs {
                wait_timeout: None,
                fail_on_warning: false,
                logs: false,
            },
        )
        .await;
    }
    Ok(Exit::Ok)
}

pub(super) async fn delete(ctx: &Ctx, id: &str, keep_logs: bool, force: bool) -> Result<Exit> {
    let state = current_state(ctx, id).await?;
    // Kestra deletes a running execution without stopping it: its tasks go on, unrecorded.
    if !is_terminal(&state) && !force {
        return Err(Error::usage(
            format!("execution {id} is {state}: it has not ended"),
            format!(
                "kill it first (`kestractl executions kill {id}`), or pass --force to delete it \
                 while it runs"
            ),
        ));
    }
    if !ctx.global.yes {
        confirm(
            &format!(
                "Delete execution {id} ({state}){}?",
                if keep_logs {
                    ", keeping its logs"
                } else {
                    " with its logs and files"
                }
            ),
            "deleting an execution",
            "nothing was deleted",
        )
        .await?;
    }
    ctx.kestra()
        .await?
        .delete_execution(id, keep_logs)
        .await
        .map_err(|e| not_found(id, e))?;
    ctx.out.note(&format!("Deleted execution {id}"));
    Ok(Exit::Ok)
}

#[derive(Serialize)]
#[serde(transparent)]
struct Latest {
    execution: LatestExecution,
    #[serde(skip)]
    quiet: bool,
}

impl Render for Latest {
    fn human(&self, out: &Output) -> Result<()> {
        let e = &self.execution;
        if self.quiet {
            return out.print(&format!("{}\n", e.id));
        }
        let now = time::OffsetDateTime::now_utc();
        out.record(&[
            ("Id", e.id.clone()),
            ("Flow", format!("{}/{}", e.namespace, e.flow_id)),
            ("State", e.status.clone().unwrap_or_else(|| "-".into())),
            ("Started", out.time_cell(e.start_date.as_deref(), now)),
        ])
    }
}

pub(super) async fn latest(ctx: &Ctx, flow: &FlowRef, quiet: bool) -> Result<Exit> {
    let (namespace, id) = flow.resolve()?;
    let client = ctx.kestra().await?;
    let found = client
        .latest_executions(&[(namespace.as_str(), id.as_str())])
        .await?
        .into_iter()
        .find(|e| e.namespace == namespace && e.flow_id == id);
    let Some(execution) = found else {
        return Err(Error::not_found(
            format!("flow {namespace}/{id} has no execution"),
            format!(
                "`kestractl executions run {namespace} {id}` starts one; `kestractl flows list \
                 {namespace}` lists the namespace's flows"
            ),
        ));
    };
    ctx.out.emit(&Latest { execution, quiet })?;
    Ok(Exit::Ok)
}
