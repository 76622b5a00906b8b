//! Execution and log routes. Version differences handled here: 2.0 moved single-execution actions
//! under `/actions/` and filters logs with `filters[...]` (1.x: flat `minLevel`, `taskId`).
//! Searches use `filters[...]`, which both versions accept; [`follow`] follows one to its end.

pub mod follow;

use std::path::PathBuf;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::client::{Body, KestraClient, Request};
use super::error::ApiError;
use super::model::{Execution, LogEntry, Paged};
use super::routes::{ApiVersion, segment, tenant_base};
use super::state::ExecutionState;

/// What `executions list` filters on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    /// Namespace prefix (child namespaces included, as in Kestra's UI).
    pub namespace: Option<String>,
    pub flow: Option<String>,
    pub states: Vec<ExecutionState>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub labels: Vec<(String, String)>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The search query: newest first, `filters[field][OP]=value` (pure).
pub fn search_query(f: &ExecutionFilter, page: u32, size: u32) -> Vec<(String, String)> {
    let mut q = vec![
        ("page".to_string(), page.to_string()),
        ("size".to_string(), size.to_string()),
        ("sort".to_string(), "state.startDate:desc".to_string()),
    ];
    if let Some(ns) = &f.namespace {
        q.push(("filters[namespace][PREFIX]".into(), ns.clone()));
    }
    if let Some(flow) = &f.flow {
        q.push(("filters[flowId][EQUALS]".into(), flow.clone()));
    }
    if !f.states.is_empty() {
        let states: Vec<&str> = f.states.iter().map(ExecutionState::as_str).collect();
        q.push(("filters[state][IN]".into(), states.join(",")));
    }
    if let Some(t) = f.since {
        q.push((
            "filters[startDate][GREATER_THAN_OR_EQUAL_TO]".into(),
            rfc3339(t),
        ));
    }
    if let Some(t) = f.until {
        q.push((
            "filters[startDate][LESS_THAN_OR_EQUAL_TO]".into(),
            rfc3339(t),
        ));
    }
    for (k, v) in &f.labels {
        q.push((format!("filters[labels][EQUALS][{k}]"), v.clone()));
    }
    q
}

/// A value for `executions run --input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputValue {
    Text(String),
    File(PathBuf),
}

/// Log filters of `executions logs`, as each version spells them (pure).
pub fn log_query(
    api: ApiVersion,
    min_level: Option<&str>,
    task: Option<&str>,
) -> Vec<(String, String)> {
    let mut q = Vec::new();
    match api {
        ApiVersion::V1 => {
            if let Some(l) = min_level {
                q.push(("minLevel".into(), l.to_string()));
            }
            if let Some(t) = task {
                q.push(("taskId".into(), t.to_string()));
            }
        }
        // 2.0's `level` filter on logs takes only GREATER_THAN_OR_EQUAL_TO (a minimum) or
        // LESS_THAN_OR_EQUAL_TO; EQUALS is refused with 400.
        ApiVersion::V2 => {
            if let Some(l) = min_level {
                q.push((
                    "filters[level][GREATER_THAN_OR_EQUAL_TO]".into(),
                    l.to_string(),
                ));
            }
            if let Some(t) = task {
                q.push(("filters[taskId][EQUALS]".into(), t.to_string()));
            }
        }
    }
    q
}

/// The executions of the tenant and their logs and outputs, borrowed from the client
/// (`client.executions()`); each call hides where the server's version keeps the route.
#[derive(Clone, Copy)]
pub struct Executions<'a> {
    client: &'a KestraClient,
}

impl KestraClient {
    /// The executions of the tenant, with their logs, outputs and files.
    pub fn executions(&self) -> Executions<'_> {
        Executions { client: self }
    }
}

impl Executions<'_> {
    fn base(&self) -> String {
        format!("{}/executions", tenant_base(self.client.tenant()))
    }

    pub async fn search(
        self,
        filter: &ExecutionFilter,
        page: u32,
        size: u32,
    ) -> Result<Paged<Value>, ApiError> {
        let mut req = Request::get(format!("{}/search", self.base()));
        req.query = search_query(filter, page, size);
        self.client.json(&req).await
    }

    pub async fn get(self, id: &str) -> Result<Value, ApiError> {
        self.client
            .json(&Request::get(format!("{}/{}", self.base(), segment(id))))
            .await
    }

    /// One execution as the server sent it, with its outputs where the server's version keeps
    /// them, so a caller holds no version logic: the flow's (`outputs`; 2.x serves them on their
    /// own route, and a key the execution already has is kept) always, and every task run's
    /// (`taskOutputs`, in the shape of [`TaskOutputs`]) when `with_task_outputs`. Nothing else of
    /// the server's answer is touched. Each step's failure is told apart ([`GetError`]): the
    /// caller words them differently.
    pub async fn get_with_outputs(
        self,
        id: &str,
        with_task_outputs: bool,
    ) -> Result<Value, GetError> {
        let mut raw = self
            .get(id)
            .await
            .map_err(|e| GetError::Execution(Box::new(e)))?;
        let execution: Execution =
            serde_json::from_value(raw.clone()).map_err(GetError::Unreadable)?;
        let outputs_failed = |e| GetError::Outputs(Box::new(e));
        let flow_outputs = self
            .flow_outputs(id, &execution)
            .await
            .map_err(outputs_failed)?;
        let task_outputs = if with_task_outputs {
            Some(
                self.task_outputs(id, &execution)
                    .await
                    .map_err(outputs_failed)?,
            )
        } else {
            None
        };
        if let Value::Object(m) = &mut raw {
            if let Some(outputs) = flow_outputs {
                m.entry("outputs").or_insert(outputs);
            }
            if let Some(runs) = task_outputs {
                m.insert(
                    "taskOutputs".into(),
                    Value::Array(runs.into_iter().map(TaskOutputs::into_value).collect()),
                );
            }
        }
        Ok(raw)
    }

    /// Every task run's outputs, however the server's version serves them. 1.x: each task run of
    /// the execution carries its own (`taskRunList[].outputs`). 2.x: the execution carries none;
    /// `GET outputs/tasks/{id}` lists the task runs that have outputs (with their loop value,
    /// not the outputs), and `GET outputs/tasks/{id}/{taskRunId}` gives each one's (Kestra's
    /// `OutputController`; docs/kestra-compatibility.md).
    pub async fn task_outputs(
        self,
        id: &str,
        execution: &Execution,
    ) -> Result<Vec<TaskOutputs>, ApiError> {
        if self.client.discover().await?.api != ApiVersion::V2 {
            return Ok(execution
                .task_run_list
                .iter()
                .flatten()
                .filter_map(|run| {
                    Some(TaskOutputs {
                        task_id: run.task_id.clone(),
                        task_run_id: run.id.clone(),
                        value: run.value.clone(),
                        outputs: run.outputs.clone()?,
                    })
                })
                .collect());
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Information {
            task_id: String,
            task_run_id: String,
            value: Option<String>,
        }
        let base = format!(
            "{}/outputs/tasks/{}",
            tenant_base(self.client.tenant()),
            segment(id)
        );
        let listed: Vec<Information> = self.client.json(&Request::get(base.clone())).await?;
        let outputs: Vec<Result<Value, ApiError>> = futures_util::stream::iter(listed.iter())
            .map(|i| {
                let req = Request::get(format!("{base}/{}", segment(&i.task_run_id)));
                async move { self.client.json::<Value>(&req).await }
            })
            .buffered(8)
            .collect()
            .await;
        let mut all = Vec::with_capacity(listed.len());
        for (i, outputs) in listed.into_iter().zip(outputs) {
            all.push(TaskOutputs {
                task_id: i.task_id,
                task_run_id: i.task_run_id,
                value: i.value,
                outputs: outputs?,
            });
        }
        Ok(all)
    }

    /// The flow's outputs of an execution (its `outputs:` section), however the version serves
    /// them. 1.x: the execution's `outputs`. 2.x: `GET outputs/executions/{id}`, which answers
    /// 404 while the execution runs and when it has none: `None` then.
    pub async fn flow_outputs(
        self,
        id: &str,
        execution: &Execution,
    ) -> Result<Option<Value>, ApiError> {
        if self.client.discover().await?.api != ApiVersion::V2 {
            return Ok(execution.outputs.clone());
        }
        let req = Request::get(format!(
            "{}/outputs/executions/{}",
            tenant_base(self.client.tenant()),
            segment(id)
        ));
        match self.client.json::<Value>(&req).await {
            Ok(v) => Ok(Some(v)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts an execution of a flow (Kestra's "trigger" route, named for what it does so it is
    /// not mistaken for the trigger resource): a multipart body (one part per input, files as
    /// file parts; an empty multipart body when there are none), labels as `labels=k:v`.
    pub async fn start(
        self,
        namespace: &str,
        flow: &str,
        inputs: &[(String, InputValue)],
        labels: &[(String, String)],
    ) -> Result<Value, ApiError> {
        let path = format!("{}/{}/{}", self.base(), segment(namespace), segment(flow));
        let query: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ("labels".to_string(), format!("{k}:{v}")))
            .collect();
        let mut parts = Vec::new();
        for (name, value) in inputs {
            match value {
                InputValue::Text(t) => parts.push((name.clone(), None, t.clone().into_bytes())),
                InputValue::File(p) => {
                    let bytes = tokio::fs::read(p).await.map_err(|e| ApiError::Decode {
                        method: "POST".into(),
                        url: self.client.url(&path),
                        detail: format!("cannot read input file {}: {e}", p.display()),
                    })?;
                    let file_name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| name.clone());
                    parts.push((name.clone(), Some(file_name), bytes));
                }
            }
        }
        // Not idempotent: a trigger that may have reached the server is never sent twice, and an
        // answer cut off mid-way is reported, not retried (see `json`).
        let mut req = Request::with_body(Method::POST, path, Body::Multipart(parts), false);
        req.query = query;
        self.client.json(&req).await
    }

    pub async fn kill(self, id: &str) -> Result<(), ApiError> {
        let api = self.client.discover().await?.api;
        let path = match api {
            ApiVersion::V1 => format!("{}/{}/kill", self.base(), segment(id)),
            ApiVersion::V2 => format!("{}/{}/actions/kill", self.base(), segment(id)),
        };
        // The kill route declares `produces = text/json` (1.3 and 2.0): an Accept of
        // `application/json` is refused with 406.
        let mut req = Request::get(path).accepting("text/json");
        req.method = Method::DELETE;
        self.client.send(&req).await.map(|_| ())
    }

    pub async fn restart(self, id: &str) -> Result<Value, ApiError> {
        let api = self.client.discover().await?.api;
        let path = match api {
            ApiVersion::V1 => format!("{}/{}/restart", self.base(), segment(id)),
            ApiVersion::V2 => format!("{}/{}/actions/restart", self.base(), segment(id)),
        };
        let mut req = Request::get(path);
        req.method = Method::POST;
        // Restarting twice would start two attempts.
        req.idempotent = false;
        self.client.json(&req).await
    }

    /// An action route of one execution: 1.3 `/{id}/{action}`, 2.0 `/{id}/actions/{action}`.
    async fn action_path(self, id: &str, action: &str) -> Result<String, ApiError> {
        let api = self.client.discover().await?.api;
        Ok(match api {
            ApiVersion::V1 => format!("{}/{}/{action}", self.base(), segment(id)),
            ApiVersion::V2 => {
                format!("{}/{}/actions/{action}", self.base(), segment(id))
            }
        })
    }

    /// `pauseExecution`: 1.3 answers 200 without a body, 2.0 the execution.
    pub async fn pause(self, id: &str) -> Result<(), ApiError> {
        let mut req = Request::get(self.action_path(id, "pause").await?);
        req.method = Method::POST;
        self.client.send(&req).await.map(|_| ())
    }

    /// `resumeExecution`: the route consumes only `multipart/form-data` (the paused task's
    /// `onResume` inputs as parts); without inputs an empty multipart body. 1.3 answers 204, 2.0
    /// the execution.
    pub async fn resume(self, id: &str) -> Result<(), ApiError> {
        let req = Request::with_body(
            Method::POST,
            self.action_path(id, "resume").await?,
            Body::Multipart(Vec::new()),
            true,
        );
        self.client.send(&req).await.map(|_| ())
    }

    /// `replayExecution`: a new execution of the same flow and inputs, from the start or from a
    /// task run (`taskRunId`, not checked by Kestra); `revision` picks the flow's revision.
    pub async fn replay(
        self,
        id: &str,
        task_run_id: Option<&str>,
        revision: Option<i64>,
    ) -> Result<Value, ApiError> {
        let mut req = Request::get(self.action_path(id, "replay").await?);
        req.method = Method::POST;
        // Replaying twice would start two executions.
        req.idempotent = false;
        if let Some(t) = task_run_id {
            req = req.query("taskRunId", t);
        }
        if let Some(r) = revision {
            req = req.query("revision", r.to_string());
        }
        self.client.json(&req).await
    }

    /// `deleteExecution` (`DELETE /executions/{id}`; no state check on Kestra's side). Logs,
    /// metrics and the execution's files go too unless `keep_logs`.
    pub async fn delete(self, id: &str, keep_logs: bool) -> Result<(), ApiError> {
        let mut req = Request::get(format!("{}/{}", self.base(), segment(id)))
            .query("deleteLogs", (!keep_logs).to_string())
            .query("deleteMetrics", "true")
            .query("deleteStorage", "true");
        req.method = Method::DELETE;
        self.client.send(&req).await.map(|_| ())
    }

    /// `getLatestExecutions` (`POST /executions/latest`, a body of `{namespace, id}`): the
    /// execution of each flow that ended (or started) last; flows without one are absent.
    pub async fn latest(self, flows: &[(&str, &str)]) -> Result<Vec<LatestExecution>, ApiError> {
        let body: Vec<Value> = flows
            .iter()
            .map(|(ns, id)| serde_json::json!({ "namespace": ns, "id": id }))
            .collect();
        let req = Request::with_body(
            Method::POST,
            format!("{}/latest", self.base()),
            Body::Bytes(
                "application/json",
                Value::Array(body).to_string().into_bytes(),
            ),
            true,
        );
        self.client.json(&req).await
    }

    /// `downloadFileFromExecution`: one of the execution's files (`kestra://` URI), its answer
    /// opened for streaming (no deadline on the body: a large file takes its time; the caller
    /// reads it with `client::stream_body`). The route produces `application/octet-stream`
    /// (2.0 also `application/x-ndjson` for `format=JSONL`); the raw bytes are asked for.
    pub async fn file(self, id: &str, uri: &str) -> Result<reqwest::Response, ApiError> {
        let mut req = Request::get(format!("{}/{}/file", self.base(), segment(id)))
            .query("path", uri)
            .accepting("application/octet-stream");
        req.stream = true;
        self.client.send(&req).await
    }

    pub async fn logs(
        self,
        id: &str,
        min_level: Option<&str>,
        task: Option<&str>,
    ) -> Result<Vec<LogEntry>, ApiError> {
        let api = self.client.discover().await?.api;
        let mut req = Request::get(format!(
            "{}/logs/{}",
            tenant_base(self.client.tenant()),
            segment(id)
        ));
        req.query = log_query(api, min_level, task);
        self.client.json(&req).await
    }

    /// Opens the execution's SSE stream (`id: progress` events, a final `id: end`).
    pub async fn follow(self, id: &str) -> Result<reqwest::Response, ApiError> {
        self.client
            .open_stream(&format!("{}/{}/follow", self.base(), segment(id)), &[])
            .await
    }

    /// Opens the log SSE stream (never ends on its own: the caller stops it). Only the level is
    /// a server-side filter here: 1.3's follow route takes nothing else (`minLevel`).
    pub async fn follow_logs(
        self,
        id: &str,
        min_level: Option<&str>,
    ) -> Result<reqwest::Response, ApiError> {
        let api = self.client.discover().await?.api;
        let query = log_query(api, min_level, None);
        self.client
            .open_stream(
                &format!(
                    "{}/logs/{}/follow",
                    tenant_base(self.client.tenant()),
                    segment(id)
                ),
                &query,
            )
            .await
    }
}

/// One item of `getLatestExecutions` (`ExecutionController.LastExecutionResponse`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestExecution {
    pub id: String,
    pub flow_id: String,
    pub namespace: String,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub status: Option<ExecutionState>,
}

/// One task run's outputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutputs {
    pub task_id: String,
    pub task_run_id: String,
    /// The task run's loop value (a ForEach iteration's item), when it has one.
    pub value: Option<String>,
    pub outputs: Value,
}

impl TaskOutputs {
    /// As JSON, exactly as it serializes (a test holds the two together), without a failure
    /// path to carry: its strings and its `Value` always make JSON.
    fn into_value(self) -> Value {
        serde_json::json!({
            "taskId": self.task_id,
            "taskRunId": self.task_run_id,
            "value": self.value,
            "outputs": self.outputs,
        })
    }
}

/// Why [`Executions::get_with_outputs`] failed, by step.
#[derive(Debug)]
pub enum GetError {
    /// Reading the execution failed (a 404: there is no such execution).
    Execution(Box<ApiError>),
    /// The server sent an execution that does not parse.
    Unreadable(serde_json::Error),
    /// The execution was read, but a route of its outputs failed (a 404: a route this server
    /// does not serve, since the execution is there).
    Outputs(Box<ApiError>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_outputs_as_json_are_their_serialization() {
        for value in [None, Some("item".to_string())] {
            let t = TaskOutputs {
                task_id: "t".into(),
                task_run_id: "r".into(),
                value,
                outputs: serde_json::json!({ "a": [1, "b"] }),
            };
            assert_eq!(t.clone().into_value(), serde_json::to_value(&t).unwrap());
        }
    }

    #[test]
    fn search_query_has_every_filter() {
        let f = ExecutionFilter {
            namespace: Some("company".into()),
            flow: Some("etl".into()),
            states: vec![ExecutionState::Failed, ExecutionState::Warning],
            since: Some(OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap()),
            until: None,
            labels: vec![("team".into(), "data".into())],
        };
        let q = search_query(&f, 2, 25);
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("page"), Some("2"));
        assert_eq!(get("sort"), Some("state.startDate:desc"));
        assert_eq!(get("filters[namespace][PREFIX]"), Some("company"));
        assert_eq!(get("filters[flowId][EQUALS]"), Some("etl"));
        assert_eq!(get("filters[state][IN]"), Some("FAILED,WARNING"));
        assert_eq!(
            get("filters[startDate][GREATER_THAN_OR_EQUAL_TO]"),
            Some("2026-05-28T20:26:40Z")
        );
        assert_eq!(get("filters[labels][EQUALS][team]"), Some("data"));
        assert!(get("filters[startDate][LESS_THAN_OR_EQUAL_TO]").is_none());
    }

    #[test]
    fn log_filters_per_version() {
        assert_eq!(
            log_query(ApiVersion::V1, Some("WARN"), Some("t1")),
            vec![
                ("minLevel".into(), "WARN".into()),
                ("taskId".into(), "t1".into())
            ]
        );
        assert_eq!(
            log_query(ApiVersion::V2, Some("WARN"), Some("t1")),
            vec![
                (
                    "filters[level][GREATER_THAN_OR_EQUAL_TO]".to_string(),
                    "WARN".to_string()
                ),
                ("filters[taskId][EQUALS]".to_string(), "t1".to_string())
            ]
        );
    }
}
