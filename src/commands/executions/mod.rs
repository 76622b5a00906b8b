//! `kestractl executions …`: executions listed (`kestractl executions` alone lists them too),
//! read, started, followed to their end, their logs, the actions on one (kill, restart, pause,
//! resume, replay, delete), a flow's latest, and their output files. Each command is one file
//! here, with its arguments; `wait` renders an execution followed to its end (`run --wait`,
//! `replay --wait`, `watch`). The work is in `kestra::executions`.

mod delete;
mod get;
mod kill;
mod latest;
mod list;
mod logs;
mod outputs;
mod pause;
mod replay;
mod restart;
mod resume;
mod run;
mod wait;
mod watch;

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use crate::commands::{Ctx, Run, group};
use crate::error::{Error, Exit, Result};
use crate::kestra::model::{Execution, LogEntry, TaskRun};
use crate::kestra::routes::segment;
use crate::kestra::state::ExecutionState;
use crate::kestra::{ApiError, KestraClient};
use crate::output::{Format, Output, Style};
use crate::settings::duration::format_duration;
use crate::signals::Interrupt;

group! {
    /// Executions: list (the default), get, run [--wait], watch, logs [-f], kill, restart (alias: ex)
    pub enum Command {
        List(list::Args),
        Get(get::Args),
        Run(run::Args),
        Watch(watch::Args),
        Logs(logs::Args),
        Kill(kill::Args),
        Restart(restart::Args),
        Pause(pause::Args),
        Resume(resume::Args),
        Replay(replay::Args),
        Delete(delete::Args),
        Latest(latest::Args),
        /// An execution's output files: list them, or download them into a folder
        #[command(subcommand)]
        Outputs(outputs::Command),
    }
}

/// Executions: list (the default), get, run [--wait], watch, logs [-f], kill, restart (alias: ex)
// `kestractl executions` alone lists: the subcommand is optional, beside `list`'s own flags (an
// enum made by `group!` cannot carry flags, hence this struct and its hand-written `Run`).
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  kestractl executions\n  kestractl executions --namespace company.team --state FAILED --since 1d\n  kestractl executions --flow company.team/hello -q"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `kestractl executions` alone lists executions.
    #[command(flatten)]
    pub list: list::Query,
}

impl Run for Args {
    fn interrupt(&self) -> Interrupt {
        match &self.command {
            Some(command) => command.interrupt(),
            // Listing: stopped at once.
            None => Interrupt::STOP,
        }
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        match self.command {
            Some(command) => command.run(ctx).await,
            None => list::list(ctx, &self.list).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared by the group's commands: cells, the UI link, errors, one execution read.

fn state_style(state: &ExecutionState) -> Style {
    match state {
        ExecutionState::Success => Style::Green,
        ExecutionState::Failed | ExecutionState::Killed | ExecutionState::Cancelled => Style::Red,
        ExecutionState::Warning
        | ExecutionState::Killing
        | ExecutionState::Paused
        | ExecutionState::Retrying => Style::Yellow,
        _ => Style::Dim,
    }
}

fn started_cell(out: &Output, start: Option<&str>, now: OffsetDateTime) -> String {
    out.time_cell(start, now)
}

fn duration_cell(state: &crate::kestra::model::State) -> String {
    state
        .duration_secs()
        .filter(|s| *s >= 0.0)
        .map(|s| format_duration(Duration::from_secs_f64(s)))
        .unwrap_or_else(|| "-".into())
}

/// An execution's task runs, a row each (`get`, and the end of a followed execution).
fn task_rows(out: &Output, runs: &[TaskRun], now: OffsetDateTime) -> Vec<Vec<String>> {
    runs.iter()
        .map(|t| {
            vec![
                t.task_id.clone(),
                t.value.clone().unwrap_or_else(|| "-".into()),
                out.paint(state_style(&t.state.current), t.state.current.as_str()),
                started_cell(out, t.state.start_date.as_deref(), now),
                duration_cell(&t.state),
            ]
        })
        .collect()
}

/// A log line: coloured columns on a terminal, tab-separated otherwise (`logs`, and `--logs`
/// while waiting).
fn log_line(ctx: &Ctx, l: &LogEntry) -> String {
    let level = l.level.clone().unwrap_or_else(|| "INFO".into());
    let style = match level.as_str() {
        "ERROR" => Style::Red,
        "WARN" => Style::Yellow,
        "DEBUG" | "TRACE" => Style::Dim,
        _ => Style::Bold,
    };
    let ts = l.timestamp.clone().unwrap_or_default();
    let task = l.task_id.clone().unwrap_or_else(|| "-".into());
    let message = l.message.clone().unwrap_or_default();
    if ctx.out.format == Format::Table {
        format!(
            "{} {} {} {message}\n",
            ctx.out.paint(Style::Dim, &ts),
            ctx.out.paint(style, &format!("{level:<5}")),
            task
        )
    } else {
        format!(
            "{ts}\t{level}\t{task}\t{}\n",
            message.replace(['\t', '\n'], " ")
        )
    }
}

/// Where the server's UI is: its address and tenant.
struct UiBase {
    server: String,
    tenant: String,
}

impl UiBase {
    fn of(client: &KestraClient) -> Self {
        UiBase {
            server: crate::settings::display_url(client.server()),
            tenant: client.tenant().to_string(),
        }
    }
}

/// The execution's page in Kestra's UI.
fn ui_url(base: &UiBase, e: &Execution) -> String {
    let server = &base.server;
    match e.url.as_deref().filter(|u| !u.is_empty()) {
        // Without `kestra.url` configured, Kestra answers a path only.
        Some(u) if u.starts_with('/') => format!("{server}{u}"),
        Some(u) => u.to_string(),
        None => format!(
            "{server}/ui/{}/executions/{}/{}/{}",
            segment(&base.tenant),
            segment(&e.namespace),
            segment(&e.flow_id),
            segment(&e.id)
        ),
    }
}

fn not_found(id: &str, e: ApiError) -> Error {
    if e.status() == Some(404) {
        Error::not_found(
            format!("there is no execution {id}"),
            "`kestractl executions` lists recent ones",
        )
    } else {
        e.into()
    }
}

/// A 404 from a route about an execution that was just read: not "no such execution" (it was
/// there a moment ago) but a route this server does not serve, said with the route.
fn route_missing(id: &str, e: ApiError) -> Error {
    match e {
        ApiError::Status {
            status: 404,
            method,
            url,
            ..
        } => Error::not_found(
            format!(
                "execution {id} exists, but Kestra answered 404 for {method} {url}: this server does \
                 not serve that route"
            ),
            "`kestractl server info` shows its version; kestractl supports Kestra 1.3 and 2.0",
        ),
        other => other.into(),
    }
}

/// One execution, read and parsed; an unknown id is "there is no execution ID".
async fn load_execution(ctx: &Ctx, id: &str) -> Result<Execution> {
    let raw = ctx
        .kestra()
        .await?
        .executions()
        .get(id)
        .await
        .map_err(|e| not_found(id, e))?;
    parse_execution(&raw)
}

fn parse_execution(v: &Value) -> Result<Execution> {
    serde_json::from_value(v.clone()).map_err(unreadable)
}

/// An execution the server sent that does not parse.
fn unreadable(e: serde_json::Error) -> Error {
    Error::server(
        format!("the server sent an execution kestractl cannot read: {e}"),
        "`kestractl server info` shows the server's version",
    )
}

/// The execution's current state (`pause`, `resume`, `delete` word their answers with it).
async fn current_state(ctx: &Ctx, id: &str) -> Result<ExecutionState> {
    Ok(load_execution(ctx, id).await?.state.current)
}

/// Kestra's refusal of `kill` or `restart`.
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

/// A refusal of `pause`, `resume` or `replay`, in the words of the execution's state.
fn refused(id: &str, action: &str, state: &ExecutionState, e: ApiError) -> Error {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::commands::{Cli, Run};
    use crate::signals::Interrupt;

    fn policy(words: &str) -> Interrupt {
        let cli = Cli::try_parse_from(words.split_whitespace()).unwrap();
        cli.command.interrupt()
    }

    #[test]
    fn following_an_execution_meets_ctrl_c_itself() {
        // It stops following and says the execution goes on.
        for words in [
            "kestractl executions watch e1",
            "kestractl executions run company.team hello --wait",
            "kestractl executions replay e1 --wait",
        ] {
            assert_eq!(policy(words), Interrupt::Handled, "{words}");
        }
        for words in [
            "kestractl executions",
            "kestractl executions --state FAILED",
            "kestractl executions run company.team hello",
            "kestractl executions replay e1",
            "kestractl executions logs e1 -f",
            "kestractl executions outputs list e1",
        ] {
            assert_eq!(policy(words), Interrupt::STOP, "{words}");
        }
    }
}
