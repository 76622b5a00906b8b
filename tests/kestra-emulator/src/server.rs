//! Wiring: shared state, the API-port middleware stack (journal → latency → error rendering →
//! 503 budget → auth → routes) and the management port.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::config::EmulatorConfig;
use crate::control::{Control, RecordedRequest};
use crate::errors::{self, ApiError};
use crate::routes;
use crate::store::Store;
use crate::version::KestraVersion;

pub struct AppState {
    pub version: KestraVersion,
    pub config: EmulatorConfig,
    pub control: Control,
    pub store: Store,
    /// Instance id reported by `/api/v1/configs`.
    pub uuid: String,
    /// Executions being simulated right now.
    pub engine: crate::engine::EngineRef,
}

pub type Shared = Arc<AppState>;

impl AppState {
    /// Base of the UI links in execution answers: `kestra.url` without its trailing slash.
    pub fn ui_base(&self) -> String {
        self.config
            .kestra_url
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string()
    }
}

/// Marks a 404 produced because no route matched (2.0 reports it in `X-Kestra-Route-Matched`).
#[derive(Debug, Clone, Copy)]
pub struct Unmatched;

async fn fallback() -> Response {
    let mut r = ApiError::not_found_bare().into_response();
    r.extensions_mut().insert(Unmatched);
    r
}

pub fn api_router(state: Shared) -> Router {
    let v = state.version;
    routes::api_routes(v)
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), database_gate))
        // Kestra accepts large uploads (FILE inputs, big validate batches); axum's 2 MB default
        // would answer 413 where Kestra does not.
        .layer(axum::extract::DefaultBodyLimit::max(1 << 30))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), fail_first))
        .layer(middleware::from_fn_with_state(state.clone(), render_errors))
        .layer(middleware::from_fn_with_state(state.clone(), latency))
        .layer(middleware::from_fn_with_state(state.clone(), journal))
        .with_state(state)
}

pub fn management_router(state: Shared) -> Router {
    routes::management_routes()
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), render_errors))
        .with_state(state)
}

/// Record every API request with what was answered.
async fn journal(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let mut rec = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        status: 0,
        body_len: bytes.len(),
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    rec.status = resp.status().as_u16();
    state.control.record(rec);
    resp
}

async fn latency(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let d = state.control.latency();
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
    next.run(req).await
}

/// With its database unreachable, Kestra cannot serve anything tenant-scoped: such requests fail
/// as Kestra's do (500, no JDBC connection). `/ping` and `/api/v1/configs*` need no database.
/// In-memory mode has no database and is never gated.
async fn database_gate(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let needs_db = path.starts_with("/api/v1/") && !path.starts_with("/api/v1/configs");
    if needs_db
        && let Some(h) = state.store.health().await
        && !h.up
    {
        return ApiError::new(
            crate::errors::Problem::InternalError,
            "Internal Server Error",
            Some(format!(
                "Unable to acquire JDBC Connection: {}",
                h.error
                    .unwrap_or_else(|| "the database does not answer".into())
            )),
        )
        .with_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
        .into_response();
    }
    next.run(req).await
}

async fn fail_first(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    if state.control.take_failure(&method, &path) {
        return ApiError::new(
            crate::errors::Problem::ServiceUnavailable,
            "Service Unavailable",
            None,
        )
        .into_response();
    }
    let lost = state.control.take_lost_answer(&method, &path);
    let resp = next.run(req).await;
    if lost {
        // Carried out, but the client only learns that a gateway timed out.
        return ApiError::new(crate::errors::Problem::Timeout, "Gateway Timeout", None)
            .into_response();
    }
    resp
}

/// Turn pending errors and bare error statuses into the version's error body; stamp 2.0 404s.
async fn render_errors(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let head = req.method() == axum::http::Method::HEAD;
    let resp = next.run(req).await;
    let unmatched = resp.extensions().get::<Unmatched>().is_some();
    let mut resp = if head {
        resp
    } else {
        errors::render(state.version, &path, &uri, resp).await
    };
    if state.version.is_v2() && resp.status() == StatusCode::NOT_FOUND {
        let h = resp.headers_mut();
        h.insert("x-kestra-edition", HeaderValue::from_static("OSS"));
        h.insert(
            "x-kestra-route-matched",
            HeaderValue::from_static(if unmatched { "false" } else { "true" }),
        );
    }
    resp
}
