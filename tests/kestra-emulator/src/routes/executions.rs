//! Execution routes under `/api/v1/{tenant}/executions` (2.0's outputs: `routes::outputs`). Kill and restart
//! live at `/{id}/kill` and `/{id}/restart` on 1.3, under `/{id}/actions/…` on 2.0; the other
//! version's spelling is simply not routed (404).

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::mod_util::{query_bool, query_i32};
use crate::errors::{ApiError, FieldError, Problem};
use crate::execution::{Execution, Shape, State as ExecState};
use crate::filters::{self, Field, FilterValue, Op, Record, Resource};
use crate::flow::scalar_string;
use crate::ids::new_id;
use crate::router::Declared;
use crate::server::Shared;
use crate::store::Event as StoreEvent;
use crate::timefmt::{now_ms, parse_duration, parse_instant};
use crate::version::KestraVersion;

pub fn routes(v: KestraVersion) -> Vec<Declared> {
    let mut r = vec![
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/executions",
            get(list_by_flow),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/executions/search",
            get(search),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/executions/{executionId}",
            get(get_execution),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/executions/{executionId}/follow",
            get(follow),
        ),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/executions/{namespace}/{id}",
            post(trigger),
        ),
    ];
    if v.is_v2() {
        r.extend([
            Declared::new(
                Method::DELETE,
                "/api/v1/{tenant}/executions/{executionId}/actions/kill",
                delete(kill),
            ),
            Declared::new(
                Method::POST,
                "/api/v1/{tenant}/executions/{executionId}/actions/restart",
                post(restart),
            ),
        ]);
    } else {
        r.extend([
            Declared::new(
                Method::DELETE,
                "/api/v1/{tenant}/executions/{executionId}/kill",
                delete(kill),
            ),
            Declared::new(
                Method::POST,
                "/api/v1/{tenant}/executions/{executionId}/restart",
                post(restart),
            ),
        ]);
    }
    r
}

/// One part of a multipart body.
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub bytes: Bytes,
}

/// Read every part; an empty body is a multipart body with no parts. The request head is the
/// original one, so the route's body limit (large, as Kestra's) applies to the parser too.
pub async fn parts(head: &Parts, body: Bytes) -> Result<Vec<Part>, ApiError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let req = Request::from_parts(head.clone(), Body::from(body));
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("Invalid multipart body: {e}")))?;
    let mut out = Vec::new();
    loop {
        let field = mp
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("Invalid multipart body: {e}")))?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_request(format!("Invalid multipart body: {e}")))?;
        out.push(Part {
            name,
            filename,
            bytes,
        });
    }
    Ok(out)
}

fn exec_json(state: &Shared, e: &Execution, shape: Shape) -> Value {
    e.to_json(state.version, shape, now_ms())
}

fn with_url(state: &Shared, e: &Execution) -> Value {
    let mut v = exec_json(state, e, Shape::Full);
    if let Value::Object(m) = &mut v {
        m.insert(
            "url".into(),
            json!(format!(
                "{}/ui/main/executions/{}/{}/{}",
                state.ui_base(),
                e.namespace,
                e.flow_id,
                e.id
            )),
        );
    }
    v
}

/// `labels=key:value`, repeatable; system labels other than `system.correlationId` refused.
fn parse_labels(q: &[(String, String)]) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for raw in filters::all(q, "labels") {
        for l in raw.split(',').filter(|s| !s.is_empty()) {
            let Some((k, v)) = l.split_once(':') else {
                return Err(ApiError::illegal_argument(format!(
                    "Invalid label '{l}', it must be in the format 'key:value'"
                )));
            };
            if k.starts_with("system.") && k != "system.correlationId" {
                return Err(ApiError::illegal_argument(format!(
                    "System labels can only be set by Kestra itself, offending label: {k}={v}"
                )));
            }
            out.push((k.to_string(), v.to_string()));
        }
    }
    Ok(out)
}

fn input_error(id: &str, reason: &str, received: &str) -> ApiError {
    let message = format!("Invalid input for `{id}`, {reason}, but received `{received}`");
    ApiError::constraint(vec![FieldError {
        message,
        path: Some(id.to_string()),
    }])
}

/// Convert a submitted text value to the JSON the execution stores for that input type.
fn typed_input(
    id: &str,
    ty: &str,
    raw: &str,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let bad = |what: &str| input_error(id, &format!("Expected `{what}`"), raw);
    Ok(match ty {
        "INT" => json!(raw.trim().parse::<i64>().map_err(|_| bad("INT"))?),
        "FLOAT" => json!(raw.trim().parse::<f64>().map_err(|_| bad("FLOAT"))?),
        "BOOLEAN" | "BOOL" => match raw.trim() {
            "true" => json!(true),
            "false" => json!(false),
            _ => return Err(bad("BOOLEAN")),
        },
        "DATETIME" => {
            parse_instant(raw).ok_or_else(|| bad("DATETIME"))?;
            json!(raw.trim())
        }
        "DURATION" => {
            parse_duration(raw).ok_or_else(|| bad("DURATION"))?;
            json!(raw.trim())
        }
        "JSON" => serde_json::from_str::<Value>(raw).map_err(|_| bad("JSON"))?,
        "ENUM" | "SELECT" => {
            let values: Vec<String> = match input.get("values") {
                Some(Value::Array(a)) => a.iter().map(scalar_string).collect(),
                _ => Vec::new(),
            };
            if !values.is_empty() && !values.iter().any(|v| v == raw) {
                return Err(input_error(
                    id,
                    &format!("it must match the values `{values:?}`"),
                    raw,
                ));
            }
            json!(raw)
        }
        "FILE" => {
            if !raw.starts_with("kestra:///") {
                return Err(input_error(id, "Expected `URI`", raw));
            }
            json!(raw)
        }
        _ => json!(raw),
    })
}

async fn trigger(
    State(state): State<Shared>,
    Path((_tenant, namespace, flow_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    head: Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let wait = query_bool(&q, "wait", false)?;
    let revision = query_i32(&q, "revision")?;
    let schedule = match filters::first(&q, "scheduleDate") {
        Some(s) => Some(parse_instant(s).ok_or_else(|| {
            ApiError::new(
                Problem::InvalidQueryParameter,
                "Bad Request",
                Some(format!(
                    "Failed to convert argument [scheduleDate] for value [{s}]"
                )),
            )
            .with_status(StatusCode::BAD_REQUEST)
        })?),
        None => None,
    };
    let kind = match filters::first(&q, "kind") {
        Some(k)
            if ["NORMAL", "TEST", "PLAYGROUND"].contains(&k)
                || (state.version.is_v2() && k == "LOOP") =>
        {
            Some(k.to_string())
        }
        Some(k) => {
            return Err(ApiError::new(
                Problem::InvalidQueryParameter,
                "Bad Request",
                Some(format!("Failed to convert argument [kind] for value [{k}]")),
            )
            .with_status(StatusCode::BAD_REQUEST));
        }
        None => None,
    };
    let Some(flow) = state
        .store
        .flow(&namespace, &flow_id, revision, false)
        .filter(|f| !f.deleted)
    else {
        return Err(ApiError::not_found("Requested Flow is not found."));
    };
    if flow.disabled {
        return Err(ApiError::illegal_state("Requested Flow is disabled."));
    }
    let labels = {
        let mut l = crate::flow::labels_as_list(flow.body.get("labels"))
            .iter()
            .map(|x| {
                (
                    x.get("key").map(scalar_string).unwrap_or_default(),
                    x.get("value").map(scalar_string).unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>();
        for (k, v) in parse_labels(&q)? {
            l.retain(|(ek, _)| *ek != k);
            l.push((k, v));
        }
        l
    };
    // The route consumes multipart; a request without Content-Type is routed here too (Kestra's
    // SDK triggers a flow without inputs that way) and carries no part.
    let parts =
        if super::mod_util::media_type(&head.headers).as_deref() == Some("multipart/form-data") {
            parts(&head, body).await?
        } else {
            Vec::new()
        };
    let exec_id = new_id();

    // Inputs: declared ones only, from parts or defaults; required ones must be present.
    let mut inputs = Map::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let declared = crate::validate::list(flow.body.get("inputs"));
    for input in declared {
        let Some(id) = input
            .get("id")
            .or_else(|| input.get("name"))
            .map(scalar_string)
        else {
            continue;
        };
        let ty = input
            .get("type")
            .map(scalar_string)
            .unwrap_or_else(|| "STRING".into())
            .to_ascii_uppercase();
        let part = parts.iter().find(|p| p.name == id);
        let value = match part {
            Some(p) if p.filename.is_some() || ty == "FILE" && p.filename.is_some() => {
                let fname = p.filename.clone().unwrap_or_else(|| id.clone());
                let uri = format!(
                    "kestra:///{}/{}/executions/{}/inputs/{}/{}",
                    namespace.replace('.', "/"),
                    flow_id,
                    exec_id,
                    id,
                    fname
                );
                files.push((uri.clone(), p.bytes.to_vec()));
                if ty == "FILE" {
                    json!(uri)
                } else {
                    typed_input(&id, &ty, &String::from_utf8_lossy(&p.bytes), input)?
                }
            }
            Some(p) => typed_input(&id, &ty, &String::from_utf8_lossy(&p.bytes), input)?,
            None => match input.get("defaults") {
                Some(d) if !d.is_null() => d.clone(),
                _ => {
                    let required = input
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                    if required {
                        return Err(input_error(&id, "missing required input", "null"));
                    }
                    continue;
                }
            },
        };
        inputs.insert(id, value);
    }
    for (uri, bytes) in files {
        state.store.put_file(&uri, bytes).await?;
    }

    let now = now_ms();
    let execution = Execution {
        id: exec_id.clone(),
        namespace: flow.namespace.clone(),
        flow_id: flow.id.clone(),
        flow_revision: flow.revision,
        labels,
        inputs,
        outputs: None,
        state: ExecState::new("CREATED", now),
        task_runs: Vec::new(),
        original_id: exec_id.clone(),
        parent_id: None,
        trigger: None,
        attempt_number: 1,
        created_ms: now,
        schedule_date_ms: schedule,
        kind,
        deleted: false,
    };
    let mut rx = state.store.subscribe();
    state.store.put_execution(execution.clone()).await?;
    crate::engine::spawn(state.clone(), exec_id.clone(), flow.body.clone());
    if !wait {
        return Ok(Json(with_url(&state, &execution)).into_response());
    }
    // wait=true: answer once the execution is terminated (and not paused).
    loop {
        if let Some(e) = state.store.execution(&exec_id)
            && e.state.is_terminal()
        {
            return Ok(Json(with_url(&state, &e)).into_response());
        }
        match rx.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => {
                return Err(ApiError::internal("execution stream closed"));
            }
        }
    }
}

async fn get_execution(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    match state.store.execution(&id) {
        Some(e) => Ok(Json(exec_json(&state, &e, Shape::Api)).into_response()),
        None => Err(ApiError::not_found_bare()),
    }
}

impl Record for Execution {
    fn text(&self, field: Field) -> Option<String> {
        match field {
            Field::Namespace => Some(self.namespace.clone()),
            Field::FlowId => Some(self.flow_id.clone()),
            Field::State => Some(self.state.current.clone()),
            Field::Kind => Some(self.kind.clone().unwrap_or_else(|| "NORMAL".into())),
            Field::ChildFilter => self.parent_id.clone(),
            Field::TriggerExecutionId => self
                .trigger
                .as_ref()
                .and_then(|t| t.get("variables"))
                .and_then(|v| v.get("executionId"))
                .map(scalar_string),
            _ => None,
        }
    }

    fn date(&self, field: Field) -> Option<i64> {
        match field {
            Field::StartDate => Some(self.state.start_ms()),
            Field::EndDate => self.state.end_ms(),
            _ => None,
        }
    }

    fn labels(&self) -> Vec<(String, String)> {
        self.labels.clone()
    }

    fn query_haystack(&self) -> Vec<String> {
        let mut h = vec![
            self.id.clone(),
            self.namespace.clone(),
            self.flow_id.clone(),
        ];
        h.extend(self.labels.iter().map(|(k, v)| format!("{k}:{v}")));
        h
    }
}

const EXEC_SORTS: &[&str] = &[
    "id",
    "state.startDate",
    "state.endDate",
    "state.duration",
    "namespace",
    "flowId",
    "state.current",
];

/// Page through executions: the start-date index serves the default sort; other sorts sort
/// the matches.
fn page(
    state: &Shared,
    f: &filters::Compiled,
    sort: &[filters::SortKey],
    page: usize,
    size: usize,
) -> (Vec<std::sync::Arc<Execution>>, usize) {
    let offset = (page - 1).saturating_mul(size);
    let keep = |e: &Execution| f.matches(e);
    match sort {
        [] => state.store.executions_by_start(true, offset, size, &keep),
        [k] if k.field == "state.startDate" => {
            state
                .store
                .executions_by_start(k.descending, offset, size, &keep)
        }
        _ => {
            let now = now_ms();
            let mut all = state.store.executions_matching(&keep);
            all.sort_by(|a, b| {
                for k in sort {
                    let ord = match k.field.as_str() {
                        "id" => a.id.cmp(&b.id),
                        "state.startDate" => a.start_ms().cmp(&b.start_ms()),
                        "state.endDate" => a.state.end_ms().cmp(&b.state.end_ms()),
                        "state.duration" => a.state.duration_ms(now).cmp(&b.state.duration_ms(now)),
                        "namespace" => a.namespace.cmp(&b.namespace),
                        "flowId" => a.flow_id.cmp(&b.flow_id),
                        _ => a.state.current.cmp(&b.state.current),
                    };
                    let ord = if k.descending { ord.reverse() } else { ord };
                    if ord != std::cmp::Ordering::Equal {
                        return ord;
                    }
                }
                a.id.cmp(&b.id)
            });
            let total = all.len();
            (all.into_iter().skip(offset).take(size).collect(), total)
        }
    }
}

fn paged(state: &Shared, results: Vec<std::sync::Arc<Execution>>, total: usize) -> Response {
    let now = now_ms();
    let items: Vec<Value> = results
        .iter()
        .map(|e| e.to_json(state.version, Shape::Light, now))
        .collect();
    Json(json!({"results": items, "total": total})).into_response()
}

async fn search(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let (pg, size) = filters::parse_paging(&q, "searchExecutions")?;
    let sort = filters::parse_sort(&q, EXEC_SORTS)?;
    let mut f = filters::parse_filters(&q, Resource::Execution)?;
    // 1.x still maps the flat parameters; 2.0 no longer binds them (they are ignored on GET).
    if !state.version.is_v2() {
        f.and
            .extend(filters::legacy_filters(&q, Resource::Execution)?.and);
    }
    let compiled = f.compiled()?;
    let (results, total) = page(&state, &compiled, &sort, pg, size);
    Ok(paged(&state, results, total))
}

/// `GET /executions?namespace=&flowId=`: both required.
async fn list_by_flow(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let mut f = filters::Filters::default();
    for key in ["namespace", "flowId"] {
        let Some(v) = filters::first(&q, key) else {
            return Err(ApiError::new(
                Problem::InvalidQueryParameter,
                "Bad Request",
                Some(format!("Required QueryValue [{key}] not specified")),
            )
            .with_status(StatusCode::BAD_REQUEST));
        };
        let field = if key == "namespace" {
            Field::Namespace
        } else {
            Field::FlowId
        };
        f.push(field, Op::Equals, FilterValue::Text(v.to_string()));
    }
    let (pg, size) = filters::parse_paging(&q, "searchExecutionsByFlowId")?;
    let compiled = f.compiled()?;
    let (results, total) = page(&state, &compiled, &[], pg, size);
    Ok(paged(&state, results, total))
}

/// Up to ~10 s for an execution to appear, as `ExecutionController.follow` waits.
async fn await_execution(state: &Shared, id: &str) -> Option<std::sync::Arc<Execution>> {
    for _ in 0..20 {
        if let Some(e) = state.store.execution(id) {
            return Some(e);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    state.store.execution(id)
}

fn sse_event(state: &Shared, e: &Execution, id: &str) -> Event {
    Event::default()
        .id(id)
        .data(exec_json(state, e, Shape::Full).to_string())
}

/// `ExecutionController.followExecution`: always 200, opening with a `start` event, before the
/// execution is even looked up; then up to ~10 s for it to appear. Unknown → the stream errors
/// ("Unable to find execution …"). Ended → one `end` event and the stream completes. Otherwise a
/// `progress` event per change and a final `end`. No event for an hour ends it with an error.
async fn follow(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
) -> Response {
    // Subscribe before reading, so no change slips between the read and the stream.
    let rx = state.store.subscribe();
    let start = stream::iter([Ok::<Event, std::io::Error>(crate::sse::execution_start(
        &id,
    ))]);
    let st = state.clone();
    let rest = stream::once(async move {
        let Some(current) = await_execution(&st, &id).await else {
            return stream::iter([Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("Unable to find execution {id}"),
            ))])
            .boxed();
        };
        if current.state.is_terminal() {
            return stream::iter([Ok(sse_event(&st, &current, "end"))]).boxed();
        }
        let first = sse_event(&st, &current, "progress");
        stream::iter([Ok(first)])
            .chain(execution_updates(rx, st, id))
            .boxed()
    })
    .flatten();
    let idle = state.control.sse_idle_timeout();
    Sse::new(crate::sse::with_idle_timeout(start.chain(rest), idle)).into_response()
}

/// `progress` for every stored change of execution `id`, then `end` once it is terminal.
fn execution_updates(
    rx: broadcast::Receiver<StoreEvent>,
    st: Shared,
    id: String,
) -> impl Stream<Item = crate::sse::Item> + Send {
    stream::unfold((rx, false, st, id), |(mut rx, done, st, id)| async move {
        if done {
            return None;
        }
        loop {
            let e = match rx.recv().await {
                Ok(StoreEvent::Execution(e)) if e.id == id => e,
                Ok(_) => continue,
                // Missed updates: resynchronise from the store.
                Err(broadcast::error::RecvError::Lagged(_)) => match st.store.execution(&id) {
                    Some(e) => e,
                    None => continue,
                },
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let mut events = vec![Ok(sse_event(&st, &e, "progress"))];
            let end = e.state.is_terminal();
            if end {
                events.push(Ok(sse_event(&st, &e, "end")));
            }
            return Some((stream::iter(events), (rx, end, st, id)));
        }
    })
    .flatten()
}

async fn kill(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let cascade = query_bool(&q, "isOnKillCascade", true)?;
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    // `ExecutionController.killExecution`: only `isOnKillCascade=false` refuses an execution
    // that has ended; with the default (true) Kestra accepts it and emits the kill anyway, so
    // that subflow executions still running are reached. Nothing changes on the ended one.
    if e.state.is_terminal() {
        if !cascade {
            return Err(if state.version.is_v2() {
                ApiError::conflict("Cannot kill execution: execution is already terminated.")
            } else {
                ApiError::illegal_state("Execution is already finished, can't kill it")
            });
        }
        return Ok(kill_accepted(&state, &e));
    }
    let mut e = (*e).clone();
    if e.state.current != "KILLING" {
        e.state.transition("KILLING", now_ms());
        state.store.put_execution(e.clone()).await?;
    }
    if !state.engine.is_active(&id) {
        crate::engine::finish_orphan_kill(state.clone(), id.clone());
    }
    Ok(kill_accepted(&state, &e))
}

/// The kill route's answer: 1.3 `HttpResponse.accepted()` (202, no body); 2.0 answers the
/// execution, in the `text/json` the route declares it produces.
fn kill_accepted(state: &Shared, e: &Execution) -> Response {
    if state.version.is_v2() {
        let mut r = Json(exec_json(state, e, Shape::Full)).into_response();
        r.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/json"),
        );
        r
    } else {
        StatusCode::ACCEPTED.into_response()
    }
}

async fn restart(
    State(state): State<Shared>,
    Path((_tenant, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let revision = query_i32(&q, "revision")?;
    let Some(e) = state.store.execution(&id) else {
        return Err(ApiError::not_found_bare());
    };
    let cur = e.state.current.as_str();
    if state.version.is_v2() {
        // 2.0 `State.canBeRestarted()`: FAILED or PAUSED only (`ConflictException`).
        if !matches!(cur, "FAILED" | "PAUSED") {
            return Err(ApiError::conflict(format!(
                "Cannot restart execution: current state is '{cur}', expected terminated or paused."
            )));
        }
    } else {
        // 1.3 `ExecutionService.restart`: `State.canBeRestarted()` is (terminated or paused) and
        // not killed, so SUCCESS and WARNING pass this check and KILLED does not...
        let can_be_restarted = (e.state.is_terminal() || cur == "PAUSED") && cur != "KILLED";
        if !can_be_restarted {
            return Err(ApiError::illegal_state(format!(
                "Execution must be terminated or paused and not killed to be restarted, current state is '{cur}' !"
            )));
        }
        // ...then a failed or paused task run must exist to restart from.
        if !e
            .task_runs
            .iter()
            .any(|t| matches!(t.state.current.as_str(), "FAILED" | "PAUSED"))
        {
            return Err(ApiError::illegal_argument(
                "No task found to restart execution from!",
            ));
        }
    }
    let flow = match revision {
        Some(r) => state.store.flow(&e.namespace, &e.flow_id, Some(r), true),
        None => state
            .store
            .flow(&e.namespace, &e.flow_id, Some(e.flow_revision), true),
    };
    let Some(flow) = flow else {
        return Err(ApiError::illegal_state(format!(
            "Unable to find flow '{}.{}' revision {}",
            e.namespace,
            e.flow_id,
            revision.unwrap_or(e.flow_revision)
        )));
    };
    let mut e = (*e).clone();
    let now = now_ms();
    e.state.transition("RESTARTED", now);
    for tr in e
        .task_runs
        .iter_mut()
        // Kestra restarts the failed and paused task runs (`taskRunToRestart`).
        .filter(|t| matches!(t.state.current.as_str(), "FAILED" | "PAUSED"))
    {
        tr.state.transition("RESTARTED", now);
    }
    e.attempt_number += 1;
    e.flow_revision = flow.revision;
    state.store.put_execution(e.clone()).await?;
    crate::engine::spawn(state.clone(), e.id.clone(), flow.body.clone());
    Ok(Json(exec_json(&state, &e, Shape::Full)).into_response())
}
