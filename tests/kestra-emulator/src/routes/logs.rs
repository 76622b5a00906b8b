//! Log routes: 1.3 `GET /logs/{executionId}?minLevel&taskId&taskRunId&attempt`, 2.0
//! `GET /logs/{executionId}?filters[...]`, and `GET /logs/{executionId}/follow`, which replays the
//! stored lines then streams new ones and, like Kestra, never ends on its own.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use tokio::sync::broadcast;

use super::mod_util::query_i32;
use crate::errors::{ApiError, Problem};
use crate::execution::{LEVELS, LogEntry, level_rank};
use crate::filters::{self, Field, Record, Resource};
use crate::router::Declared;
use crate::server::Shared;
use crate::store::Event as StoreEvent;
use crate::version::KestraVersion;

pub fn routes(_v: KestraVersion) -> Vec<Declared> {
    vec![
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/logs/{executionId}",
            get(list),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/logs/{executionId}/follow",
            get(follow),
        ),
    ]
}

impl Record for LogEntry {
    fn text(&self, field: Field) -> Option<String> {
        match field {
            Field::Namespace => Some(self.namespace.clone()),
            Field::FlowId => Some(self.flow_id.clone()),
            Field::MinLevel => Some(self.level.clone()),
            Field::TaskId => self.task_id.clone(),
            Field::TaskRunId => self.task_run_id.clone(),
            _ => None,
        }
    }

    fn date(&self, field: Field) -> Option<i64> {
        matches!(field, Field::StartDate | Field::EndDate).then_some(self.timestamp_ms)
    }

    fn labels(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn query_haystack(&self) -> Vec<String> {
        vec![self.message.clone()]
    }
}

/// A predicate over log lines built from the version's query parameters.
struct LogFilter {
    min_level: Option<String>,
    task_id: Option<String>,
    task_run_id: Option<String>,
    attempt: Option<i32>,
    filters: Option<filters::Compiled>,
}

impl LogFilter {
    fn from_query(v: KestraVersion, raw: Option<&str>) -> Result<Self, ApiError> {
        let q = filters::parse_query(raw);
        if v.is_v2() {
            return Ok(LogFilter {
                min_level: None,
                task_id: None,
                task_run_id: None,
                attempt: None,
                filters: Some(filters::parse_filters(&q, Resource::Log)?.compiled()?),
            });
        }
        let min_level = match filters::first(&q, "minLevel") {
            Some(l) if LEVELS.contains(&l) => Some(l.to_string()),
            Some(l) => {
                return Err(ApiError::new(
                    Problem::InvalidQueryParameter,
                    "Bad Request",
                    Some(format!(
                        "Failed to convert argument [minLevel] for value [{l}]"
                    )),
                )
                .with_status(axum::http::StatusCode::BAD_REQUEST));
            }
            None => None,
        };
        Ok(LogFilter {
            min_level,
            task_id: filters::first(&q, "taskId").map(str::to_string),
            task_run_id: filters::first(&q, "taskRunId").map(str::to_string),
            attempt: query_i32(&q, "attempt")?,
            filters: None,
        })
    }

    /// The follow route's parameters: 1.3 binds only `minLevel`; 2.0 takes the same filters as
    /// the list.
    fn for_follow(v: KestraVersion, raw: Option<&str>) -> Result<Self, ApiError> {
        let mut f = LogFilter::from_query(v, raw)?;
        if !v.is_v2() {
            f.task_id = None;
            f.task_run_id = None;
            f.attempt = None;
        }
        Ok(f)
    }

    fn keep(&self, l: &LogEntry) -> bool {
        if let Some(min) = &self.min_level
            && level_rank(&l.level) < level_rank(min)
        {
            return false;
        }
        if self
            .task_id
            .as_ref()
            .is_some_and(|t| l.task_id.as_ref() != Some(t))
        {
            return false;
        }
        if self
            .task_run_id
            .as_ref()
            .is_some_and(|t| l.task_run_id.as_ref() != Some(t))
        {
            return false;
        }
        if self.attempt.is_some() && l.attempt_number != self.attempt {
            return false;
        }
        self.filters.as_ref().is_none_or(|f| f.matches(l))
    }
}

async fn list(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let f = LogFilter::from_query(state.version, raw.as_deref())?;
    let lines: Vec<Value> = state
        .store
        .logs(&id)
        .iter()
        .filter(|l| f.keep(l))
        .map(|l| l.to_json(false))
        .collect();
    Ok(Json(lines).into_response())
}

/// `LogController.followLogsFromExecution`: a `start` event (an empty entry), the stored lines,
/// then new ones as they come; it never completes on its own, but an hour without a line ends it
/// with an error. 1.3's route binds only `minLevel` (a `taskId` is ignored, not refused).
async fn follow(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let f = LogFilter::for_follow(state.version, raw.as_deref())?;
    let with_tenant = state.version.is_v2();
    let rx = state.store.subscribe();
    let mut replay: Vec<crate::sse::Item> = vec![Ok(crate::sse::log_start())];
    replay.extend(state.store.logs(&id).iter().filter(|l| f.keep(l)).map(|l| {
        Ok(Event::default()
            .id("progress")
            .data(l.to_json(with_tenant).to_string()))
    }));
    let live = stream::unfold((rx, f, id), move |(mut rx, f, id)| async move {
        loop {
            match rx.recv().await {
                Ok(StoreEvent::Log(l)) if l.execution_id == id && f.keep(&l) => {
                    let ev = Event::default()
                        .id("progress")
                        .data(l.to_json(with_tenant).to_string());
                    return Some((Ok(ev), (rx, f, id)));
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let idle = state.control.sse_idle_timeout();
    let s = crate::sse::with_idle_timeout(stream::iter(replay).chain(live), idle);
    Ok(Sse::new(s).into_response())
}
