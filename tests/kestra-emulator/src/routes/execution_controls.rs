//! Execution controls beyond kill and restart (`ExecutionController`, 1.3.25
//! `webserver/…/controllers/api/ExecutionController.java`, `core/…/services/ExecutionService.java`;
//! the 2.0 spec): pause, resume, replay (1.3 `/{id}/…`, 2.0 `/{id}/actions/…`), delete, the latest
//! execution of flows, and an execution's files.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::mod_util::{json_body, query_bool, query_i32};
use crate::errors::ApiError;
use crate::execution::{Execution, Shape, State as ExecState};
use crate::filters;
use crate::ids::new_id;
use crate::router::Declared;
use crate::server::Shared;
use crate::timefmt::{fmt_instant, now_ms};
use crate::version::KestraVersion;

pub fn routes(v: KestraVersion) -> Vec<Declared> {
    let action = |name: &str| -> &'static str {
        match (v.is_v2(), name) {
            (true, "pause") => "/api/v1/{tenant}/executions/{executionId}/actions/pause",
            (true, "resume") => "/api/v1/{tenant}/executions/{executionId}/actions/resume",
            (true, _) => "/api/v1/{tenant}/executions/{executionId}/actions/replay",
            (false, "pause") => "/api/v1/{tenant}/executions/{executionId}/pause",
            (false, "resume") => "/api/v1/{tenant}/executions/{executionId}/resume",
            (false, _) => "/api/v1/{tenant}/executions/{executionId}/replay",
        }
    };
    vec![
        Declared::new(Method::POST, action("pause"), post(pause)),
        Declared::new(Method::POST, action("resume"), post(resume)),
        Declared::new(Method::POST, action("replay"), post(replay)),
        Declared::new(
            Method::DELETE,
            "/api/v1/{tenant}/executions/{executionId}",
            delete(remove),
        ),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/executions/latest",
            post(latest),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/executions/{executionId}/file",
            get(file),
        ),
    ]
}

fn full(state: &Shared, e: &Execution) -> Value {
    e.to_json(state.version, Shape::Full, now_ms())
}

/// `ExecutionService.pause`: RUNNING or KILLING only. 1.3 answers 200 without a body and refuses
/// with an `IllegalArgumentException` (422); 2.0 answers the execution and refuses with 409.
async fn pause(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    if !matches!(e.state.current.as_str(), "RUNNING" | "KILLING") {
        return Err(if state.version.is_v2() {
            ApiError::conflict("The execution is not running")
        } else {
            ApiError::illegal_argument("The execution is not running")
        });
    }
    let mut e = (*e).clone();
    e.state.transition("PAUSED", now_ms());
    state.store.put_execution(e.clone()).await?;
    Ok(if state.version.is_v2() {
        Json(full(&state, &e)).into_response()
    } else {
        StatusCode::OK.into_response()
    })
}

/// `resumeExecution` (consumes multipart; no inputs here): PAUSED only, else 409; 1.3 answers
/// 204, 2.0 the execution.
async fn resume(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    _head: Parts,
    _body: Bytes,
) -> Result<Response, ApiError> {
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found(format!("Execution '{id}' not found.")));
    };
    if e.state.current != "PAUSED" {
        return Err(if state.version.is_v2() {
            ApiError::conflict(format!("Execution '{id}' is not paused, can't resume it"))
        } else {
            ApiError::illegal_state(format!("Execution '{id}' is not paused, can't resume it"))
        });
    }
    let mut e = (*e).clone();
    e.state.transition("RUNNING", now_ms());
    state.store.put_execution(e.clone()).await?;
    Ok(if state.version.is_v2() {
        Json(full(&state, &e)).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// `replayExecution`: a new execution of the same flow and inputs (`originalId` the source,
/// label `system.replay`), CREATED, or RESTARTED from `taskRunId` (which Kestra does not check);
/// the source gets `system.replayed`. A missing flow is 404, a disabled one 409.
async fn replay(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let revision = query_i32(&q, "revision")?;
    let from = filters::first(&q, "taskRunId").map(str::to_string);
    let Some(source) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    let Some(flow) = state
        .store
        .flow(&source.namespace, &source.flow_id, revision, false)
    else {
        return Err(match revision {
            Some(r) => ApiError::not_found(format!(
                "Unable to find revision {r} on flow {}.{}",
                source.namespace, source.flow_id
            )),
            None => ApiError::not_found("Requested Flow is not found."),
        });
    };
    if flow.disabled {
        return Err(ApiError::illegal_state("Requested Flow is disabled."));
    }
    let now = now_ms();
    let new = new_id();
    let mut labels = source.labels.clone();
    labels.retain(|(k, _)| k != "system.replay" && k != "system.replayed");
    labels.push(("system.replay".into(), "true".into()));
    let replayed = Execution {
        id: new.clone(),
        flow_revision: flow.revision,
        labels,
        outputs: None,
        state: ExecState::new(
            if from.is_some() {
                "RESTARTED"
            } else {
                "CREATED"
            },
            now,
        ),
        task_runs: Vec::new(),
        original_id: source.id.clone(),
        parent_id: None,
        attempt_number: 1,
        created_ms: now,
        schedule_date_ms: None,
        deleted: false,
        ..(*source).clone()
    };
    let mut marked = (*source).clone();
    marked.labels.retain(|(k, _)| k != "system.replayed");
    marked
        .labels
        .push(("system.replayed".into(), "true".into()));
    state.store.put_execution(marked).await?;
    state.store.put_execution(replayed.clone()).await?;
    crate::engine::spawn(state.clone(), new, flow.body.clone());
    Ok(Json(full(&state, &replayed)).into_response())
}

/// `deleteExecution`: no state check (a running execution is deleted too); logs and the
/// execution's storage go unless `deleteLogs` / `deleteStorage` say no. 204.
async fn remove(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let logs = query_bool(&q, "deleteLogs", true)?;
    let storage = query_bool(&q, "deleteStorage", true)?;
    query_bool(&q, "deleteMetrics", true)?;
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    state.store.delete_execution(&id, logs).await?;
    if storage {
        for (uri, _) in state.store.files_under(&storage_prefix(&e)) {
            state
                .store
                .delete_file(&uri)
                .await
                .map_err(|err| ApiError::internal(err.to_string()))?;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `StorageContext.getExecutionStorageURI`: `kestra:///<namespace as path>/<flow>/executions/<id>`.
pub fn storage_prefix(e: &Execution) -> String {
    format!(
        "kestra:///{}/{}/executions/{}",
        e.namespace.replace('.', "/"),
        e.flow_id,
        e.id
    )
}

/// `getLatestExecutions`: body `[{namespace, id}]` (empty: every flow); for each flow with an
/// execution, the one that ended (or started) last, as `{id, flowId, namespace, startDate,
/// status}`.
async fn latest(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let wanted: Vec<Value> = json_body(&body)?;
    let keys: Vec<(String, String)> = wanted
        .iter()
        .map(|w| {
            let f = |k: &str| w.get(k).and_then(Value::as_str).map(str::to_string);
            match (f("namespace"), f("id")) {
                (Some(ns), Some(id)) => Ok((ns, id)),
                _ => Err(ApiError::constraint(vec![crate::errors::FieldError {
                    message: "must not be null".into(),
                    path: Some("getLatestExecutions.flowFilters[].namespace".into()),
                }])),
            }
        })
        .collect::<Result<_, _>>()?;
    let mut best: BTreeMap<(String, String), (i64, std::sync::Arc<Execution>)> = BTreeMap::new();
    for e in state.store.executions_matching(&|e: &Execution| {
        e.kind.is_none()
            && (keys.is_empty()
                || keys
                    .iter()
                    .any(|(ns, id)| *ns == e.namespace && *id == e.flow_id))
    }) {
        let at = e.state.end_ms().unwrap_or_else(|| e.state.start_ms());
        let key = (e.namespace.clone(), e.flow_id.clone());
        if best.get(&key).is_none_or(|(t, _)| at > *t) {
            best.insert(key, (at, e));
        }
    }
    let out: Vec<Value> = best
        .into_values()
        .map(|(_, e)| {
            json!({
                "id": e.id,
                "flowId": e.flow_id,
                "namespace": e.namespace,
                "startDate": fmt_instant(e.state.start_ms()),
                "status": e.state.current,
            })
        })
        .collect();
    Ok(Json(out).into_response())
}

/// `downloadFileFromExecution`: `path` must lie in the execution's own storage (any other
/// `kestra://` prefix is 422 "Invalid prefix path" here: the flow's state stores and the redirect
/// to another execution are not emulated); the bytes as `application/octet-stream`.
async fn file(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let Some(path) = filters::first(&q, "path").map(str::to_string) else {
        return Err(ApiError::bad_request(
            "Required QueryValue [path] not specified",
        ));
    };
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found(format!(
            "Unable to find execution id '{id}'"
        )));
    };
    let Some(scheme) = path.split_once("://").map(|(s, _)| s) else {
        return Err(ApiError::illegal_argument(format!(
            "Scheme not supported: {path}"
        )));
    };
    if scheme != "kestra" {
        return Err(ApiError::illegal_argument(format!(
            "Scheme not supported: {scheme}"
        )));
    }
    if !path.starts_with(&format!("{}/", storage_prefix(&e))) {
        return Err(ApiError::illegal_argument("Invalid prefix path"));
    }
    let bytes = state
        .store
        .file(&path)
        .ok_or_else(|| ApiError::not_found(format!("File '{path}' does not exist")))?;
    let name = path.rsplit('/').next().unwrap_or("file").to_string();
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
