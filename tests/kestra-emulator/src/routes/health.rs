//! Micronaut's health endpoints on the management port, and `/ping` on the API port.
//! `DOWN` answers 503 (Micronaut's default status mapping). Kestra's `application.yml` (1.3.25
//! and 2.0) sets `endpoints.health.details-visible: ANONYMOUS` and disables the disk-space
//! indicator; the management port has no authentication unless `endpoints.all.basic-auth` is
//! configured (`BasicAuthEndpointsFilter`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::server::Shared;

pub async fn ping() -> Response {
    // Kestra returns the bare string with Micronaut's default JSON content type.
    let mut r = "pong".into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn indicator(status: &str, details: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!("kestra"));
    m.insert("status".into(), json!(status));
    if let Some(d) = details {
        m.insert("details".into(), d);
    }
    Value::Object(m)
}

/// (overall UP?, readiness indicators) for `/health` and `/health/readiness`.
async fn indicators(state: &Shared) -> (bool, Map<String, Value>) {
    let mut details = Map::new();
    let mut up = true;
    if let Some(j) = state.store.health().await {
        let inner = if j.up {
            indicator(
                "UP",
                Some(json!({"database": j.database, "version": j.version})),
            )
        } else {
            up = false;
            indicator("DOWN", Some(json!({"error": j.error.unwrap_or_default()})))
        };
        let mut per_url = Map::new();
        per_url.insert(j.url.clone(), inner);
        details.insert(
            "jdbc".into(),
            indicator(
                if j.up { "UP" } else { "DOWN" },
                Some(Value::Object(per_url)),
            ),
        );
    }
    let warming = state.control.warming_up();
    if warming {
        up = false;
    }
    details.insert(
        "service".into(),
        indicator(if warming { "DOWN" } else { "UP" }, None),
    );
    (up, details)
}

fn answer(up: bool, details: Map<String, Value>) -> Response {
    let status = if up { "UP" } else { "DOWN" };
    let body = indicator(status, Some(Value::Object(details)));
    let code = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

pub async fn health(State(state): State<Shared>) -> Response {
    let (up, details) = indicators(&state).await;
    answer(up, details)
}

pub async fn readiness(State(state): State<Shared>) -> Response {
    let (up, details) = indicators(&state).await;
    answer(up, details)
}

/// The process answers, so it is alive; readiness is a separate question.
pub async fn liveness() -> Response {
    let mut details = Map::new();
    details.insert("service".into(), indicator("UP", None));
    answer(true, details)
}
