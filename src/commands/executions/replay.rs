//! `kestractl executions replay`: an execution run again as a new one, from the start or from a
//! task (same inputs); with --wait, the new one followed to its end.

use clap_complete::engine::ArgValueCompleter;
use serde::Serialize;
use serde_json::Value;

use super::{load_execution, parse_execution, refused, wait};
use crate::commands::args::WaitArgs;
use crate::commands::{Ctx, Run, complete};
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Render};
use crate::signals::Interrupt;

/// Run an execution again as a new one, from the start or from a task (same inputs)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl executions replay 4Ld8mQk2sYbVtZxW1nPq7a\n  kestractl executions replay 4Ld8mQk2sYbVtZxW1nPq7a --from load --wait"
)]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
    /// Start from this task (its last run): the tasks before it keep their results
    #[arg(long, value_name = "TASK_ID")]
    pub from: Option<String>,
    /// Run this revision of the flow instead of the one the execution ran
    #[arg(long, value_name = "N")]
    pub revision: Option<i64>,
    /// Follow the new execution until it ends (exit 6 if it does not succeed)
    #[arg(long)]
    pub wait: bool,
}

impl Run for Args {
    fn interrupt(&self) -> Interrupt {
        if self.wait {
            // It stops following and says the execution goes on.
            Interrupt::Handled
        } else {
            Interrupt::STOP
        }
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        replay(
            ctx,
            &self.id,
            self.from.as_deref(),
            self.revision,
            self.wait,
        )
        .await
    }
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

async fn replay(
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
        .executions()
        .replay(id, task_run.as_deref(), revision)
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
        return wait::follow_existing(ctx, &new_id, &WaitArgs::default()).await;
    }
    Ok(Exit::Ok)
}
