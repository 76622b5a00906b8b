//! Triggers (`TriggerController`, 1.3.25 `webserver/…/controllers/api/TriggerController.java`;
//! the 2.0 spec): the search, switching one trigger on or off, unlocking one.
//!
//! The two versions answer in different shapes. 1.3's search items are `{abstractTrigger,
//! triggerContext}` (a `Trigger`: `date`, `nextExecutionDate`, `executionId`,
//! `evaluateRunningDate`, `disabled`; locked means an execution or an evaluation is recorded);
//! 2.0's are `{trigger, state}` (an `ApiTriggerState`: `lastTriggeredDate`, `nextEvaluationDate`,
//! `locked`, `disabled`). One trigger is switched by 1.3's `PUT /triggers` (a `Trigger` body) or
//! 2.0's `PUT /triggers/set-disabled`; the bulk route both share reports nothing per trigger
//! and, on 1.3, silently does nothing without a `tenantId`.

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::client::{Body, KestraClient, Request};
use super::error::ApiError;
use super::routes::{ApiVersion, segment, tenant_base};

/// A trigger and its state, the same for both versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerState {
    pub namespace: String,
    pub flow_id: String,
    pub trigger_id: String,
    /// The trigger's plugin type (absent when Kestra no longer finds it in its flow).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub disabled: bool,
    pub locked: bool,
    /// The execution it started and waits on, if any.
    pub execution_id: Option<String>,
    pub next_date: Option<String>,
    pub last_date: Option<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A 1.3 `Trigger` context: locked when an execution or an evaluation is recorded (the exact
/// test of `TriggerController.unlockTrigger`).
pub fn from_v1_context(ctx: &Value, kind: Option<String>) -> Option<TriggerState> {
    let set = |k: &str| ctx.get(k).is_some_and(|v| !v.is_null());
    Some(TriggerState {
        namespace: text(ctx, "namespace")?,
        flow_id: text(ctx, "flowId")?,
        trigger_id: text(ctx, "triggerId")?,
        kind,
        disabled: ctx
            .get("disabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        locked: set("executionId") || set("evaluateRunningDate"),
        execution_id: text(ctx, "executionId"),
        next_date: text(ctx, "nextExecutionDate"),
        last_date: text(ctx, "date"),
    })
}

/// A 2.0 `ApiTriggerState`.
pub fn from_v2_state(state: &Value, kind: Option<String>) -> Option<TriggerState> {
    Some(TriggerState {
        namespace: text(state, "namespace")?,
        flow_id: text(state, "flowId")?,
        trigger_id: text(state, "triggerId")?,
        kind,
        disabled: state
            .get("disabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        locked: state
            .get("locked")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        execution_id: text(state, "executionId"),
        next_date: text(state, "nextEvaluationDate"),
        last_date: text(state, "lastTriggeredDate"),
    })
}

/// One search item of either shape.
pub fn from_search_item(item: &Value) -> Option<TriggerState> {
    if let Some(ctx) = item.get("triggerContext") {
        let kind = item.get("abstractTrigger").and_then(|t| text(t, "type"));
        return from_v1_context(ctx, kind);
    }
    let kind = item.get("trigger").and_then(|t| text(t, "type"));
    from_v2_state(item.get("state")?, kind)
}

const PAGE: u32 = 100;

/// The triggers of the tenant, borrowed from the client (`client.triggers()`); each call hides
/// how the server's version shapes the route and its answer.
#[derive(Clone, Copy)]
pub struct Triggers<'a> {
    client: &'a KestraClient,
}

impl KestraClient {
    /// The triggers of the tenant.
    pub fn triggers(&self) -> Triggers<'_> {
        Triggers { client: self }
    }
}

impl Triggers<'_> {
    fn base(&self) -> String {
        format!("{}/triggers", tenant_base(self.client.tenant()))
    }

    /// Every trigger Kestra keeps a context for, optionally in a namespace (and its children) or
    /// of one flow; sorted by namespace, flow and trigger.
    pub async fn list(
        self,
        namespace: Option<&str>,
        flow_id: Option<&str>,
    ) -> Result<Vec<TriggerState>, ApiError> {
        let mut all = Vec::new();
        for page in 1.. {
            let mut req = Request::get(format!("{}/search", self.base()))
                .query("page", page.to_string())
                .query("size", PAGE.to_string());
            if let Some(ns) = namespace {
                req = req.query("filters[namespace][PREFIX]", ns);
            }
            if let Some(f) = flow_id {
                req = req.query("filters[flowId][EQUALS]", f);
            }
            let got: Value = self.client.json(&req).await?;
            let items = got
                .get("results")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            all.extend(items.iter().filter_map(from_search_item));
            super::limits::check_listed(
                all.len(),
                || self.client.url(&req.path),
                "triggers",
                "list one namespace at a time (--namespace) or one flow (--flow)",
            )?;
            // 1.3 drops contexts whose flow is gone from a page but still counts them in
            // `total`: a short page is the end, not the total.
            if items.len() < PAGE as usize {
                break;
            }
        }
        all.sort_by(|a, b| {
            (&a.namespace, &a.flow_id, &a.trigger_id).cmp(&(
                &b.namespace,
                &b.flow_id,
                &b.trigger_id,
            ))
        });
        Ok(all)
    }

    /// Switches one trigger on or off: 1.3 `PUT /triggers` (`updateTrigger`, a `Trigger` body
    /// without `backfill`, which would start a backfill), 2.0 `PUT /triggers/set-disabled`
    /// (`disableTriggerById`). The same four fields either way.
    pub async fn set_disabled(
        self,
        namespace: &str,
        flow_id: &str,
        trigger_id: &str,
        disabled: bool,
    ) -> Result<TriggerState, ApiError> {
        let api = self.client.discover().await?.api;
        let path = match api {
            ApiVersion::V1 => self.base(),
            ApiVersion::V2 => format!("{}/set-disabled", self.base()),
        };
        let body = serde_json::json!({
            "namespace": namespace,
            "flowId": flow_id,
            "triggerId": trigger_id,
            "disabled": disabled,
        });
        let req = Request::with_body(
            Method::PUT,
            path,
            Body::Bytes("application/json", body.to_string().into_bytes()),
            true,
        );
        let answer: Value = self.client.json(&req).await?;
        answer_state(api, &answer).ok_or_else(|| not_a_state("PUT", self.client.url(&req.path)))
    }

    /// `POST /triggers/{ns}/{flow}/{trigger}/unlock`.
    pub async fn unlock(
        self,
        namespace: &str,
        flow_id: &str,
        trigger_id: &str,
    ) -> Result<TriggerState, ApiError> {
        let api = self.client.discover().await?.api;
        let path = format!(
            "{}/{}/{}/{}/unlock",
            self.base(),
            segment(namespace),
            segment(flow_id),
            segment(trigger_id)
        );
        let mut req = Request::get(path);
        req.method = Method::POST;
        req.idempotent = false;
        let answer: Value = self.client.json(&req).await?;
        answer_state(api, &answer).ok_or_else(|| not_a_state("POST", self.client.url(&req.path)))
    }
}

fn not_a_state(method: &str, url: String) -> ApiError {
    ApiError::Decode {
        method: method.into(),
        url,
        detail: "the answer is not a trigger's state".into(),
    }
}

/// A state answered by the switch or unlock route, in the shape of the version.
fn answer_state(api: ApiVersion, answer: &Value) -> Option<TriggerState> {
    match api {
        ApiVersion::V1 => from_v1_context(answer, None),
        ApiVersion::V2 => from_v2_state(answer, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_shapes_read_the_same() {
        let v1 = json!({
            "abstractTrigger": {"id": "daily", "type": "io.kestra.plugin.core.trigger.Schedule"},
            "triggerContext": {
                "tenantId": "main", "namespace": "a", "flowId": "f", "triggerId": "daily",
                "date": "2026-12-06T10:00:00Z", "nextExecutionDate": "2026-12-07T10:00:00Z",
                "disabled": false, "evaluateRunningDate": "2026-12-06T10:00:01Z"
            }
        });
        let v2 = json!({
            "trigger": {"id": "daily", "type": "io.kestra.plugin.core.trigger.Schedule"},
            "state": {
                "namespace": "a", "flowId": "f", "triggerId": "daily",
                "lastTriggeredDate": "2026-12-06T10:00:00Z",
                "nextEvaluationDate": "2026-12-07T10:00:00Z",
                "disabled": false, "locked": true, "updatedAt": "2026-12-06T10:00:01Z"
            }
        });
        let a = from_search_item(&v1).unwrap();
        let b = from_search_item(&v2).unwrap();
        assert_eq!(a, b);
        assert!(a.locked);
        assert_eq!(
            a.kind.as_deref(),
            Some("io.kestra.plugin.core.trigger.Schedule")
        );
        assert_eq!(a.next_date.as_deref(), Some("2026-12-07T10:00:00Z"));
        // 1.3: neither an execution nor an evaluation recorded is unlocked.
        let free = json!({"namespace": "a", "flowId": "f", "triggerId": "t", "disabled": true});
        let s = from_v1_context(&free, None).unwrap();
        assert!(!s.locked && s.disabled);
        assert!(from_search_item(&json!({"state": {}})).is_none());
    }
}
