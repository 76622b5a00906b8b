//! Route tables per version. `served_routes` in the crate root mirrors these for the OpenAPI
//! conformance test; keep the two in step.

pub mod basic_auth;
pub mod configs;
pub mod control;
pub mod execution_controls;
pub mod executions;
pub mod flows;
pub mod health;
pub mod kv;
pub mod logs;
pub mod mod_util;
pub mod nsfiles;
pub mod outputs;
pub mod prometheus;
pub mod triggers;

use axum::Router;
use axum::http::Method;
use axum::routing::{get, post};

use crate::router::{Declared, JSON};

use crate::server::Shared;
use crate::version::KestraVersion;

/// Every API route of version `v`, one method each. Their media types and query parameters come
/// from Kestra's spec (see `router`); this list is the only place a route is declared.
pub fn table(v: KestraVersion) -> Vec<Declared> {
    let mut r = vec![
        // `RootController.ping`: a plain `@Get("/ping")` (default produces JSON), outside the
        // spec (1.3.25 webserver/.../controllers/RootController.java:14).
        Declared::hidden(
            Method::GET,
            "/ping",
            get(health::ping),
            &[JSON],
            &[JSON],
            "RootController.ping: @Get(\"/ping\"), not in the OpenAPI document (1.3.25 RootController.java:14)",
        ),
        Declared::new(Method::GET, "/api/v1/configs", get(configs::configuration)),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/basicAuth",
            post(basic_auth::create),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/basicAuthValidationErrors",
            get(basic_auth::validation_errors),
        ),
    ];
    if v.is_v2() {
        r.push(Declared::new(
            Method::GET,
            "/api/v1/configs/login",
            get(configs::login),
        ));
    }
    r.extend(flows::routes(v));
    r.extend(executions::routes(v));
    r.extend(execution_controls::routes(v));
    r.extend(outputs::routes(v));
    r.extend(logs::routes(v));
    r.extend(kv::routes(v));
    r.extend(nsfiles::routes(v));
    r.extend(triggers::routes(v));
    r
}

pub fn management_routes() -> Router<Shared> {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/liveness", get(health::liveness))
        .route("/health/readiness", get(health::readiness))
        .route("/prometheus", get(prometheus::prometheus))
        .route(
            "/emulator/requests",
            get(control::requests).delete(control::clear_requests),
        )
        .route(
            "/emulator/knobs",
            get(control::knobs).post(control::patch_knobs),
        )
}
