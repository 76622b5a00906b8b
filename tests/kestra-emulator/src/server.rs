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
use crate::router::{self, Miss, RouteTable, Selection};
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

pub fn api_router(state: Shared) -> anyhow::Result<Router> {
    let table = Arc::new(RouteTable::build(
        state.version,
        routes::table(state.version),
        state.clone(),
    )?);
    Ok(Router::new()
        .fallback(move |State(st): State<Shared>, req: Request| {
            let table = table.clone();
            async move { dispatch(&table, &st, req).await }
        })
        // Kestra accepts large uploads (FILE inputs, big validate batches); axum's 2 MB default
        // would answer 413 where Kestra does not.
        .layer(axum::extract::DefaultBodyLimit::max(1 << 30))
        .layer(middleware::from_fn_with_state(state.clone(), fail_first))
        .layer(middleware::from_fn_with_state(state.clone(), render_errors))
        .layer(middleware::from_fn_with_state(state.clone(), latency))
        .layer(middleware::from_fn_with_state(state.clone(), journal))
        .with_state(state))
}

/// What the router made of a request, for the journal: the route it reached, or how Kestra's
/// router would have refused it.
#[derive(Debug, Clone, Default)]
pub struct RouteOutcome {
    pub route: Option<String>,
    pub refusal: Option<String>,
}

fn with_outcome(mut resp: Response, outcome: RouteOutcome) -> Response {
    resp.extensions_mut().insert(outcome);
    resp
}

fn refused(err: ApiError, why: String) -> Response {
    with_outcome(
        err.into_response(),
        RouteOutcome {
            route: None,
            refusal: Some(why),
        },
    )
}

/// Micronaut's request path through Kestra: select the route (a tie is a 500 before any
/// filter), then the filters (tenant check on a matched route, then Basic Auth), then either
/// the route-miss answer (415/406/405/404) or the route itself, its parameters checked against
/// the spec. A path without a tenant that matches nothing is tried again under `main`
/// (`TenantAliasingRooter`).
async fn dispatch(table: &RouteTable, state: &Shared, mut req: Request) -> Response {
    let method = req.method().clone();
    let (path, uri) = path_and_uri(&req);
    let mut selection = table.select(&method, &path, req.headers());
    if let Selection::Miss(_) = selection
        && let Some(aliased) = tenant_alias(&path)
        && let Selection::Matched(..) = table.select(&method, &aliased, req.headers())
    {
        let new_uri = match req.uri().query() {
            Some(q) => format!("{aliased}?{q}"),
            None => aliased.clone(),
        };
        if let Ok(u) = new_uri.parse() {
            *req.uri_mut() = u;
            selection = table.select(&method, &aliased, req.headers());
        }
    }
    match selection {
        Selection::Ambiguous(routes) => {
            let list = routes
                .iter()
                .map(|r| format!("{} - {path}", r.method))
                .collect::<Vec<_>>()
                .join(", ");
            refused(
                ApiError::internal(format!(
                    "More than 1 route matched the incoming request. The following routes matched {uri}: {list}"
                )),
                format!("ambiguous: {} routes tie for {method} {path}", routes.len()),
            )
        }
        Selection::Miss(miss) => {
            if let Some(denied) = crate::auth::check(state, req.headers(), &path) {
                return denied;
            }
            let (err, why) = miss_error(&method, &uri, miss);
            let mut resp = refused(err, why);
            if resp.status() == StatusCode::NOT_FOUND {
                resp.extensions_mut().insert(Unmatched);
            }
            resp
        }
        Selection::Matched(route, vars, shadowed) => {
            // Reaching a less specific route because the media types ruled out the one the path
            // names is as good as a refusal: Kestra would answer something else than asked.
            let fell_through = shadowed.map(|s| {
                format!(
                    "fell through: {} does not take this Accept/Content-Type, so {} answered",
                    s.label(),
                    route.label()
                )
            });
            let outcome = |refusal: Option<String>| RouteOutcome {
                route: Some(route.label()),
                refusal: refusal.or_else(|| fell_through.clone()),
            };
            // `TenantValidationFilter` (order 0) runs before the authentication filter.
            if let Some(t) = vars.get("tenant")
                && t != "main"
            {
                return with_outcome(
                    ApiError::bad_request("Tenant must be 'main' for OSS version").into_response(),
                    outcome(Some(format!("tenant `{t}` is not `main` (Kestra OSS)"))),
                );
            }
            if let Some(denied) = crate::auth::check(state, req.headers(), req.uri().path()) {
                return with_outcome(denied, outcome(None));
            }
            let query = crate::filters::parse_query(req.uri().query());
            if let Err((err, why)) = crate::params::check_query(state.version, route, &query) {
                return with_outcome(err.into_response(), outcome(Some(why)));
            }
            let req = match crate::params::check_json_body(state.version, route, req).await {
                Ok(r) => r,
                Err((err, why)) => return with_outcome(err.into_response(), outcome(Some(why))),
            };
            if let Some(down) = database_down(state, req.uri().path()).await {
                return with_outcome(down, outcome(None));
            }
            with_outcome(router::call(route, req).await, outcome(None))
        }
    }
}

/// The request's path, and its path with the query (what Kestra's error bodies and 405 messages
/// quote as the URI).
fn path_and_uri(req: &Request) -> (String, String) {
    let path = req.uri().path().to_string();
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    (path, uri)
}

/// `/api/v1/<resource>…` without a tenant, as `TenantAliasingRooter` retries it.
fn tenant_alias(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/v1/")?;
    if path.starts_with("/api/v1/main/") || path == "/api/v1/configs" {
        return None;
    }
    Some(format!("/api/v1/main/{rest}"))
}

/// The route-miss answers, with Micronaut's messages.
fn miss_error(method: &axum::http::Method, uri: &str, miss: Miss) -> (ApiError, String) {
    match miss {
        Miss::UnsupportedMediaType {
            content_type,
            allowed,
        } => (
            ApiError::new(
                crate::errors::Problem::UnsupportedMediaType,
                "Unsupported Media Type",
                Some(format!(
                    "Content Type [{content_type}] not allowed. Allowed types: [{}]",
                    allowed.join(", ")
                )),
            ),
            format!("415: Content-Type {content_type} is not consumed (only {allowed:?})"),
        ),
        Miss::NotAcceptable { accept, supported } => (
            ApiError::new(
                crate::errors::Problem::NotAcceptable,
                "Not Acceptable",
                Some(format!(
                    "Specified Accept Types [{}] not supported. Supported types: [{}]",
                    accept.join(", "),
                    supported.join(", ")
                )),
            ),
            format!("406: Accept {accept:?} names nothing produced (only {supported:?})"),
        ),
        Miss::MethodNotAllowed { allowed } => (
            ApiError::new(
                crate::errors::Problem::MethodNotAllowed,
                "Method Not Allowed",
                Some(format!(
                    "Method [{method}] not allowed for URI [{uri}]. Allowed methods: [{}]",
                    allowed.join(", ")
                )),
            ),
            format!("405: {method} is not served there (only {allowed:?})"),
        ),
        Miss::NotFound => (ApiError::not_found_bare(), "404: no route".into()),
    }
}

pub fn management_router(state: Shared) -> Router {
    routes::management_routes()
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            routes::prometheus::guard,
        ))
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
        route: None,
        refusal: None,
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    rec.status = resp.status().as_u16();
    if let Some(o) = resp.extensions().get::<RouteOutcome>() {
        rec.route = o.route.clone();
        rec.refusal = o.refusal.clone();
    }
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
async fn database_down(state: &Shared, path: &str) -> Option<Response> {
    let needs_db = path.starts_with("/api/v1/") && !path.starts_with("/api/v1/configs");
    if !needs_db {
        return None;
    }
    let h = state.store.health().await?;
    if h.up {
        return None;
    }
    Some(
        ApiError::new(
            crate::errors::Problem::InternalError,
            "Internal Server Error",
            Some(format!(
                "Unable to acquire JDBC Connection: {}",
                h.error
                    .unwrap_or_else(|| "the database does not answer".into())
            )),
        )
        .with_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
        .into_response(),
    )
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
    let (path, uri) = path_and_uri(&req);
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
