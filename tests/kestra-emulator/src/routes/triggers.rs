//! Triggers (`TriggerController`, 1.3.25 `webserver/…/controllers/api/TriggerController.java`;
//! the 2.0 spec): the search, switching triggers on or off, and unlocking one.
//!
//! Switching differs per version. 1.3: `PUT /triggers` with a `Trigger` body (`updateTrigger`,
//! which refuses a realtime trigger with 422) and `POST /triggers/set-disabled/by-triggers` with
//! full `Trigger` items (`disabledTriggersByIds`, which skips realtime triggers silently, and any
//! item whose `tenantId` is not the tenant, since the lock is taken on the body's uid; 200
//! `{count}` of the items sent). 2.0: no `PUT /triggers`; `PUT /triggers/set-disabled`
//! (`disableTriggerById`, 200 `ApiTriggerState`) and `POST /triggers/set-disabled/by-triggers`
//! with `{namespace, flowId, triggerId}` items (202 `{operationId, totalItems}`), both through
//! `TriggerStateService`, which has **no realtime check** (its scheduler kills the running
//! instance of a realtime trigger it disables).
//!
//! A trigger's context (Kestra's `triggers` table, written by its scheduler) exists here for every
//! trigger of a live flow the scheduler evaluates: not for `Flow` and `Webhook` triggers, which it
//! never does. Its state lives in the store's settings (`trigger:{ns}:{flow}:{id}`). Tests lock a
//! trigger as a running evaluation would, through `Control::lock_trigger`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Map, Value, json};

use super::mod_util::json_body;
use crate::errors::{ApiError, FieldError};
use crate::filters::{self, Field, Record, Resource};
use crate::flow::FlowRevision;
use crate::router::Declared;
use crate::server::Shared;
use crate::timefmt::{fmt_instant, now_ms};
use crate::version::KestraVersion;

pub fn routes(v: KestraVersion) -> Vec<Declared> {
    let mut r = vec![
        Declared::new(Method::GET, "/api/v1/{tenant}/triggers/search", get(search)),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/unlock",
            post(unlock),
        ),
    ];
    if v.is_v2() {
        r.extend([
            Declared::new(
                Method::PUT,
                "/api/v1/{tenant}/triggers/set-disabled",
                put(set_disabled_v2),
            ),
            Declared::new(
                Method::POST,
                "/api/v1/{tenant}/triggers/set-disabled/by-triggers",
                post(set_disabled_by_triggers_v2),
            ),
        ]);
    } else {
        r.extend([
            Declared::new(Method::PUT, "/api/v1/{tenant}/triggers", put(update_v1)),
            Declared::new(
                Method::POST,
                "/api/v1/{tenant}/triggers/set-disabled/by-triggers",
                post(set_disabled_by_triggers_v1),
            ),
        ]);
    }
    r
}

/// One trigger with its context.
struct Context {
    namespace: String,
    flow_id: String,
    trigger: Value,
    state: Map<String, Value>,
}

impl Context {
    fn trigger_id(&self) -> String {
        self.trigger
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    fn kind(&self) -> &str {
        self.trigger
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn is_realtime(&self) -> bool {
        self.kind().ends_with("RealtimeTrigger")
    }

    fn locked(&self) -> bool {
        self.state.get("executionId").is_some_and(|v| !v.is_null())
            || self
                .state
                .get("evaluateRunningDate")
                .is_some_and(|v| !v.is_null())
    }

    fn ms(&self, key: &str) -> Option<String> {
        self.state.get(key).and_then(Value::as_i64).map(fmt_instant)
    }

    /// 1.3 `Trigger` (nulls left out, as Kestra's mapper does).
    fn v1_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("tenantId".into(), json!("main"));
        out.insert("namespace".into(), json!(self.namespace));
        out.insert("flowId".into(), json!(self.flow_id));
        out.insert("triggerId".into(), json!(self.trigger_id()));
        for (key, from) in [
            ("date", "date"),
            ("nextExecutionDate", "nextExecutionDate"),
            ("updatedDate", "updatedDate"),
            ("evaluateRunningDate", "evaluateRunningDate"),
        ] {
            if let Some(t) = self.ms(from) {
                out.insert(key.into(), json!(t));
            }
        }
        if let Some(id) = self.state.get("executionId").filter(|v| !v.is_null()) {
            out.insert("executionId".into(), id.clone());
        }
        out.insert(
            "disabled".into(),
            json!(
                self.state
                    .get("disabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
        );
        Value::Object(out)
    }

    /// 2.0 `ApiTriggerState`.
    fn v2_json(&self) -> Value {
        let kind = if self.kind().ends_with("Schedule") {
            "SCHEDULE"
        } else if self.is_realtime() {
            "REALTIME"
        } else {
            "POLLING"
        };
        let mut out = Map::new();
        out.insert("namespace".into(), json!(self.namespace));
        out.insert("flowId".into(), json!(self.flow_id));
        out.insert("triggerId".into(), json!(self.trigger_id()));
        out.insert(
            "updatedAt".into(),
            json!(self.ms("updatedDate").or_else(|| self.ms("date"))),
        );
        for (key, from) in [
            ("nextEvaluationDate", "nextExecutionDate"),
            ("lastTriggeredDate", "date"),
            ("evaluatedAt", "evaluateRunningDate"),
        ] {
            if let Some(t) = self.ms(from) {
                out.insert(key.into(), json!(t));
            }
        }
        if let Some(id) = self.state.get("executionId").filter(|v| !v.is_null()) {
            out.insert("executionId".into(), id.clone());
        }
        out.insert(
            "disabled".into(),
            json!(
                self.state
                    .get("disabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
        );
        out.insert("locked".into(), json!(self.locked()));
        out.insert("kind".into(), json!(kind));
        Value::Object(out)
    }

    fn to_json(&self, v: KestraVersion) -> Value {
        if v.is_v2() {
            self.v2_json()
        } else {
            self.v1_json()
        }
    }
}

impl Record for Context {
    fn text(&self, field: Field) -> Option<String> {
        match field {
            Field::Namespace => Some(self.namespace.clone()),
            Field::FlowId => Some(self.flow_id.clone()),
            _ => None,
        }
    }

    fn date(&self, _field: Field) -> Option<i64> {
        None
    }

    fn labels(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn query_haystack(&self) -> Vec<String> {
        vec![
            self.flow_id.clone(),
            self.trigger_id(),
            self.namespace.clone(),
        ]
    }
}

fn key(ns: &str, flow: &str, trigger: &str) -> String {
    format!("trigger:{ns}:{flow}:{trigger}")
}

/// Triggers the scheduler keeps a context for.
fn scheduled(trigger: &Value) -> bool {
    let kind = trigger
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    !(kind.ends_with(".Flow") || kind.ends_with(".Webhook"))
}

/// A context as the scheduler would have created it on its first evaluation.
fn initial_state(flow: &FlowRevision, trigger: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("date".into(), json!(flow.updated_ms));
    let kind = trigger
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind.ends_with("Schedule") {
        // The next full hour: a stand-in for the cron's next date.
        let hour = 3_600_000;
        m.insert(
            "nextExecutionDate".into(),
            json!((now_ms() / hour + 1) * hour),
        );
    }
    m.insert("disabled".into(), json!(false));
    m
}

/// Locks the tests asked for (a running evaluation, or an execution the trigger started and
/// waits on), applied to the stored state.
async fn apply_locks(state: &Shared) -> Result<(), ApiError> {
    for (ns, flow, trigger, execution_id) in state.control.take_trigger_locks() {
        let k = key(&ns, &flow, &trigger);
        let mut m = state
            .store
            .setting(&k)
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        m.insert("executionId".into(), json!(execution_id));
        m.insert("evaluateRunningDate".into(), json!(now_ms()));
        m.insert("updatedDate".into(), json!(now_ms()));
        save(state, &k, m).await?;
    }
    Ok(())
}

async fn save(state: &Shared, key: &str, m: Map<String, Value>) -> Result<(), ApiError> {
    state
        .store
        .put_setting(key, Value::Object(m))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn contexts(state: &Shared) -> Vec<Context> {
    let mut out = Vec::new();
    for flow in state.store.latest_flows() {
        let Some(triggers) = flow.body.get("triggers").and_then(Value::as_array) else {
            continue;
        };
        for trigger in triggers.iter().filter(|t| scheduled(t)) {
            let id = trigger
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let state_map = state
                .store
                .setting(&key(&flow.namespace, &flow.id, id))
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_else(|| initial_state(&flow, trigger));
            out.push(Context {
                namespace: flow.namespace.clone(),
                flow_id: flow.id.clone(),
                trigger: trigger.clone(),
                state: state_map,
            });
        }
    }
    out
}

/// `searchTriggers`: 1.3 items `{abstractTrigger, triggerContext}`, 2.0 `{trigger, state}`.
async fn search(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    apply_locks(&state).await?;
    let q = filters::parse_query(raw.as_deref());
    let (page, size) = filters::parse_paging(&q, "searchTriggers")?;
    let sort = filters::parse_sort(&q, &["flowId", "triggerId", "namespace"])?;
    let mut f = filters::parse_filters(&q, Resource::Trigger)?;
    if !state.version.is_v2() {
        f.and
            .extend(filters::legacy_filters(&q, Resource::Trigger)?.and);
    }
    let f = f.compiled()?;
    let mut found: Vec<Context> = contexts(&state)
        .into_iter()
        .filter(|c| f.matches(c))
        .collect();
    found.sort_by(|a, b| {
        for k in &sort {
            let ord = match k.field.as_str() {
                "flowId" => a.flow_id.cmp(&b.flow_id),
                "namespace" => a.namespace.cmp(&b.namespace),
                _ => a.trigger_id().cmp(&b.trigger_id()),
            };
            let ord = if k.descending { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    let total = found.len();
    let results: Vec<Value> = found
        .iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .map(|c| {
            if state.version.is_v2() {
                json!({"trigger": c.trigger, "state": c.v2_json()})
            } else {
                json!({"abstractTrigger": c.trigger, "triggerContext": c.v1_json()})
            }
        })
        .collect();
    Ok(Json(json!({"results": results, "total": total})).into_response())
}

fn find(state: &Shared, ns: &str, flow: &str, trigger: &str) -> Option<Context> {
    contexts(state)
        .into_iter()
        .find(|c| c.namespace == ns && c.flow_id == flow && c.trigger_id() == trigger)
}

/// The flow (not deleted) and whether it declares `trigger_id`, and that trigger's definition.
fn declared(state: &Shared, ns: &str, flow_id: &str, trigger_id: &str) -> Option<Option<Value>> {
    let flow = state
        .store
        .flow(ns, flow_id, None, false)
        .filter(|f| !f.deleted)?;
    Some(
        flow.body
            .get("triggers")
            .and_then(Value::as_array)
            .and_then(|ts| {
                ts.iter()
                    .find(|t| t.get("id").and_then(Value::as_str) == Some(trigger_id))
            })
            .cloned(),
    )
}

fn is_realtime(trigger: &Value) -> bool {
    trigger
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("RealtimeTrigger"))
}

/// 1.3's `updateTrigger` checks (and, with 1.3's messages, 2.0's `validateToggleable`): a flow
/// that does not exist, or does not declare the trigger, is a 404.
fn toggleable(
    state: &Shared,
    ns: &str,
    flow_id: &str,
    trigger_id: &str,
) -> Result<Value, ApiError> {
    match declared(state, ns, flow_id, trigger_id) {
        None => Err(ApiError::not_found(format!(
            "Flow of trigger {trigger_id} not found"
        ))),
        Some(None) => Err(ApiError::not_found(format!(
            "Flow {flow_id} has no trigger {trigger_id}"
        ))),
        Some(Some(t)) => Ok(t),
    }
}

/// `doSetTriggerDisabled` on the context, if there is one (1.3: `triggerRepository.lock` answers
/// null without a row; 2.0: `refresh` fails): disabling clears the next date, enabling a
/// schedule sets it to now. A trigger already in that state is left as it is.
async fn apply(
    state: &Shared,
    ns: &str,
    flow_id: &str,
    trigger_id: &str,
    disabled: bool,
) -> Result<Option<Context>, ApiError> {
    let Some(mut ctx) = find(state, ns, flow_id, trigger_id) else {
        return Ok(None);
    };
    let current = ctx
        .state
        .get("disabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if current == disabled {
        return Ok(Some(ctx));
    }
    ctx.state.insert("disabled".into(), json!(disabled));
    if disabled {
        ctx.state.remove("nextExecutionDate");
    } else if ctx.kind().ends_with("Schedule") {
        ctx.state
            .insert("nextExecutionDate".into(), json!(now_ms()));
    }
    save(state, &key(ns, flow_id, trigger_id), ctx.state.clone()).await?;
    Ok(Some(ctx))
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// 1.3 `PUT /triggers` with a `Trigger` body (`disabled` absent reads as false):
/// `updateTrigger` refuses a realtime trigger before anything else is looked at ("Realtime
/// triggers can not be updated through the API, please edit the trigger from the flow.", an
/// `IllegalArgumentException`: 422); a trigger without a context is a bare 404.
async fn update_v1(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let b: Value = json_body(&body)?;
    let disabled = b.get("disabled").and_then(Value::as_bool).unwrap_or(false);
    let (ns, flow_id, trigger_id) = (
        field(&b, "namespace"),
        field(&b, "flowId"),
        field(&b, "triggerId"),
    );
    apply_locks(&state).await?;
    let trigger = toggleable(&state, ns, flow_id, trigger_id)?;
    if is_realtime(&trigger) {
        return Err(ApiError::illegal_argument(
            "Realtime triggers can not be updated through the API, please edit the trigger from the flow.",
        ));
    }
    match apply(&state, ns, flow_id, trigger_id, disabled).await? {
        Some(ctx) => Ok(Json(ctx.v1_json()).into_response()),
        None => Err(ApiError::not_found_bare()),
    }
}

/// 2.0 `PUT /triggers/set-disabled` (`ApiDisableTriggerRequest {namespace, flowId, triggerId,
/// disabled, recoverMissedSchedules?}`): `TriggerStateService.toggleTriggerById`, which only
/// checks that the flow and the trigger exist; a realtime trigger is disabled like any other.
/// `recoverMissedSchedules` is accepted and has nothing to recover here.
async fn set_disabled_v2(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let b: Value = json_body(&body)?;
    let disabled = b.get("disabled").and_then(Value::as_bool).unwrap_or(false);
    let (ns, flow_id, trigger_id) = (
        field(&b, "namespace"),
        field(&b, "flowId"),
        field(&b, "triggerId"),
    );
    apply_locks(&state).await?;
    toggleable(&state, ns, flow_id, trigger_id)?;
    match apply(&state, ns, flow_id, trigger_id, disabled).await? {
        Some(ctx) => Ok(Json(ctx.v2_json()).into_response()),
        None => Err(ApiError::not_found_bare()),
    }
}

/// `SetDisabledRequest(@NotNull @NotEmpty List<…> triggers, @NotNull Boolean disabled)`, bound
/// with `@Valid`: a missing body, a missing or empty list, a missing `disabled` are constraint
/// violations (422), reported on the method's parameter path.
fn set_disabled_request(body: &[u8]) -> Result<(Vec<Value>, bool), ApiError> {
    let b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        json_body(body)?
    };
    let path = |f: &str| Some(format!("disabledTriggersByIds.setDisabledRequest.{f}"));
    let mut violations = Vec::new();
    let triggers = match b.get("triggers") {
        None | Some(Value::Null) => {
            for message in ["must not be null", "must not be empty"] {
                violations.push(FieldError {
                    message: message.into(),
                    path: path("triggers"),
                });
            }
            Vec::new()
        }
        Some(Value::Array(items)) => {
            if items.is_empty() {
                violations.push(FieldError {
                    message: "must not be empty".into(),
                    path: path("triggers"),
                });
            }
            items.clone()
        }
        Some(_) => return Err(ApiError::invalid_json("triggers: expected an array")),
    };
    let disabled = b.get("disabled").and_then(Value::as_bool);
    if disabled.is_none() {
        violations.push(FieldError {
            message: "must not be null".into(),
            path: path("disabled"),
        });
    }
    if !violations.is_empty() {
        return Err(ApiError::constraint(violations));
    }
    Ok((triggers, disabled.unwrap_or(false)))
}

/// 1.3 `POST /triggers/set-disabled/by-triggers` (`disabledTriggersByIds`): each full `Trigger`
/// goes through the public `setTriggerDisabled(Trigger, Boolean)`, which returns silently for a
/// missing flow, a trigger the flow does not declare, and a realtime trigger ("RealTimeTriggers
/// can't be disabled/enabled through API."), then locks the row of the body's `uid()`: an item
/// without this tenant's `tenantId` names no row and changes nothing. 200 `{count}` is the number
/// of items sent, whatever happened to them.
async fn set_disabled_by_triggers_v1(
    State(state): State<Shared>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (triggers, disabled) = set_disabled_request(&body)?;
    apply_locks(&state).await?;
    for t in &triggers {
        let (ns, flow_id, trigger_id) = (
            field(t, "namespace"),
            field(t, "flowId"),
            field(t, "triggerId"),
        );
        let Some(Some(definition)) = declared(&state, ns, flow_id, trigger_id) else {
            continue;
        };
        if is_realtime(&definition) || field(t, "tenantId") != "main" {
            continue;
        }
        apply(&state, ns, flow_id, trigger_id, disabled).await?;
    }
    Ok(Json(json!({"count": triggers.len()})).into_response())
}

/// 2.0 `POST /triggers/set-disabled/by-triggers` (`disabledTriggersByIds`, body `{triggers:
/// [{namespace, flowId, triggerId}], disabled, recoverMissedSchedules?}`):
/// `TriggerStateService.toggleAllByIds` drops the items whose flow or trigger does not exist and
/// emits one `SetDisableTrigger` per other item under one operation id, realtime triggers
/// included: 202 `ApiAsyncOperationResponse {operationId, totalItems}`. Kestra's scheduler
/// applies them shortly after; here they are applied before the answer.
async fn set_disabled_by_triggers_v2(
    State(state): State<Shared>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (triggers, disabled) = set_disabled_request(&body)?;
    apply_locks(&state).await?;
    let mut total = 0u32;
    for t in &triggers {
        let (ns, flow_id, trigger_id) = (
            field(t, "namespace"),
            field(t, "flowId"),
            field(t, "triggerId"),
        );
        if !matches!(declared(&state, ns, flow_id, trigger_id), Some(Some(_))) {
            continue;
        }
        total += 1;
        apply(&state, ns, flow_id, trigger_id, disabled).await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"operationId": crate::ids::new_id(), "totalItems": total})),
    )
        .into_response())
}

/// `unlockTrigger`: no context is a bare 404, an unlocked trigger 409 "Trigger is not locked";
/// `Trigger.unlock()` clears the execution, the evaluation date, the update date and the worker.
async fn unlock(
    State(state): State<Shared>,
    Path((_tenant, ns, flow_id, trigger_id)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    apply_locks(&state).await?;
    let Some(mut ctx) = find(&state, &ns, &flow_id, &trigger_id) else {
        return Err(ApiError::not_found_bare());
    };
    if !ctx.locked() {
        return Err(ApiError::illegal_state("Trigger is not locked"));
    }
    for k in [
        "executionId",
        "evaluateRunningDate",
        "updatedDate",
        "workerId",
    ] {
        ctx.state.remove(k);
    }
    save(&state, &key(&ns, &flow_id, &trigger_id), ctx.state.clone()).await?;
    Ok(Json(ctx.to_json(state.version)).into_response())
}
