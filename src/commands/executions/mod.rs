//! `kestractl executions [list|get|run|watch|logs|kill|restart|pause|resume|replay|delete|latest|
//! outputs]`.

mod actions;
mod controls;
mod get;
mod list;
mod logs;
mod outputs;
mod run;

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use super::Ctx;
use crate::cli::{ExecutionsArgs, ExecutionsCommand};
use crate::error::{Error, Exit, Result};
use crate::kestra::model::Execution;
use crate::kestra::routes::segment;
use crate::kestra::{ApiError, KestraClient};
use crate::output::{Output, Style};
use crate::settings::duration::format_duration;

pub async fn run(ctx: &Ctx, args: ExecutionsArgs) -> Result<Exit> {
    match args.command {
        None => list::list(ctx, &args.list).await,
        Some(ExecutionsCommand::List(a)) => list::list(ctx, &a).await,
        Some(ExecutionsCommand::Get { id, outputs }) => get::get(ctx, &id, outputs).await,
        Some(ExecutionsCommand::Run(a)) => run::run_flow(ctx, &a).await,
        Some(ExecutionsCommand::Watch { id, wait }) => run::watch(ctx, &id, &wait).await,
        Some(ExecutionsCommand::Logs {
            id,
            follow,
            level,
            task,
        }) => logs::logs(ctx, &id, follow, level.as_deref(), task.as_deref()).await,
        Some(ExecutionsCommand::Kill { id }) => actions::kill(ctx, &id).await,
        Some(ExecutionsCommand::Restart { id }) => actions::restart(ctx, &id).await,
        Some(ExecutionsCommand::Pause { id }) => controls::pause(ctx, &id).await,
        Some(ExecutionsCommand::Resume { id }) => controls::resume(ctx, &id).await,
        Some(ExecutionsCommand::Replay {
            id,
            from,
            revision,
            wait,
        }) => controls::replay(ctx, &id, from.as_deref(), revision, wait).await,
        Some(ExecutionsCommand::Delete {
            id,
            keep_logs,
            force,
        }) => controls::delete(ctx, &id, keep_logs, force).await,
        Some(ExecutionsCommand::Latest { flow, quiet }) => {
            controls::latest(ctx, &flow, quiet).await
        }
        Some(ExecutionsCommand::Outputs(cmd)) => outputs::run(ctx, cmd).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

fn state_style(state: &str) -> Style {
    match state {
        "SUCCESS" => Style::Green,
        "FAILED" | "KILLED" | "CANCELLED" => Style::Red,
        "WARNING" | "KILLING" | "PAUSED" | "RETRYING" => Style::Yellow,
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
        .get_execution(id)
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
