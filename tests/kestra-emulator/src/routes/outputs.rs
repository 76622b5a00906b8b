//! Kestra 2.0's outputs routes (`OutputController`, `@Controller("/api/v1/{tenant}/outputs")`,
//! develop `webserver/…/controllers/api/OutputController.java` at commit 159e1bf): 2.0 took the
//! flow's and the tasks' outputs out of the execution payload, and these three GET routes are the
//! only way to read them. kestrapy 2.0.3 calls exactly them (`kestrapy/api/outputs_api.py`,
//! `OutputsApi.execution_outputs`, `task_outputs_information`, `task_run_outputs`).
//!
//! The 2.0 spec file the router is driven by (`2.0.0-SNAPSHOT`) is older than these: it describes
//! `GET /outputs/{executionId}` and `GET /outputs/{executionId}/{taskRunId}`, a layout of the
//! development line no 2.0.x serves (and the emulator does not). So these routes are declared
//! outside the spec, with the media types the controller declares (no `produces`: JSON), and
//! listed by `unspecified_routes`. 1.3 has no `OutputController`: its outputs are inline in
//! `GET /executions/{executionId}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::router::{Declared, JSON};
use crate::server::Shared;
use crate::version::KestraVersion;

/// The three routes as `(template, controller method)`, 2.x only.
pub const ROUTES: &[(&str, &str)] = &[
    (
        "/api/v1/{tenant}/outputs/executions/{executionId}",
        "OutputController.getExecutionOutputs: @Get(uri = \"executions/{executionId}\") (develop OutputController.java, commit 159e1bf; kestrapy 2.0.3 outputs_api.py execution_outputs); not in the 2.0 spec file, which predates it",
    ),
    (
        "/api/v1/{tenant}/outputs/tasks/{executionId}",
        "OutputController.getTaskOutputsInformation: @Get(uri = \"tasks/{executionId}\") (develop OutputController.java, commit 159e1bf; kestrapy 2.0.3 outputs_api.py task_outputs_information); not in the 2.0 spec file, which predates it",
    ),
    (
        "/api/v1/{tenant}/outputs/tasks/{executionId}/{taskRunId}",
        "OutputController.getTaskRunOutputs: @Get(uri = \"tasks/{executionId}/{taskRunId}\") (develop OutputController.java, commit 159e1bf; kestrapy 2.0.3 outputs_api.py task_run_outputs); not in the 2.0 spec file, which predates it",
    ),
];

pub fn routes(v: KestraVersion) -> Vec<Declared> {
    if !v.is_v2() {
        return Vec::new();
    }
    let handlers = [
        get(execution_outputs),
        get(task_outputs_information),
        get(task_run_outputs),
    ];
    ROUTES
        .iter()
        .zip(handlers)
        .map(|(&(template, source), handler)| {
            Declared::hidden(Method::GET, template, handler, &[JSON], &[JSON], source)
        })
        .collect()
}

/// `getExecutionOutputs`: an unknown execution is a `NotFoundException`; then
/// `ExecutionOutputService.getOutputs` returns null (Micronaut's 404) while the execution is not
/// terminated, and when it has no stored outputs (a flow without `outputs`, or one whose outputs
/// failed to render).
async fn execution_outputs(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    match &e.outputs {
        Some(outputs) if e.state.is_terminal() => {
            Ok(Json(Value::Object(outputs.clone())).into_response())
        }
        _ => Err(ApiError::not_found_bare()),
    }
}

/// `getTaskOutputsInformation`: one `TaskOutputInformation {taskId, taskRunId, value, iteration,
/// inline}` per stored output row, i.e. per task run that produced outputs
/// (`TaskOutputService.saveOutputs` skips empty ones). `value` is the task run's loop value
/// (`TaskRun.value`, a ForEach item; null for a plain task), never its outputs; `inline` is
/// whether the outputs sit in the database (always here: `kestra.task.outputs.limit` is `-1` by
/// default). Nulls are left out (`serialization-inclusion: non_null`).
async fn task_outputs_information(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    let items: Vec<Value> = e
        .task_runs
        .iter()
        .filter(|t| t.outputs.as_ref().is_some_and(|o| !o.is_empty()))
        .map(|t| {
            let mut m = Map::new();
            m.insert("taskId".into(), json!(t.task_id));
            m.insert("taskRunId".into(), json!(t.id));
            if let Some(v) = &t.value {
                m.insert("value".into(), json!(v));
            }
            m.insert("inline".into(), json!(true));
            Value::Object(m)
        })
        .collect();
    Ok(Json(items).into_response())
}

/// `getTaskRunOutputs`: 404 for an unknown execution or task run
/// (`findTaskRunByTaskRunIdIfPresent`); otherwise that one task run's outputs, `{}` when it has
/// none (`TaskOutputService.getOutputs`).
async fn task_run_outputs(
    State(state): State<Shared>,
    Path((_tenant, id, task_run_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    let Some(run) = e.task_runs.iter().find(|t| t.id == task_run_id) else {
        return Err(ApiError::not_found_bare());
    };
    let outputs = run.outputs.clone().unwrap_or_default();
    Ok(Json(Value::Object(outputs)).into_response())
}
