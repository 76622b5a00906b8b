//! Route tables per version. `served_routes` in the crate root mirrors these for the OpenAPI
//! conformance test; keep the two in step.

pub mod basic_auth;
pub mod configs;
pub mod control;
pub mod executions;
pub mod flows;
pub mod health;
pub mod logs;
pub mod mod_util;

use axum::Router;
use axum::routing::{get, post};

use crate::server::Shared;
use crate::version::KestraVersion;

pub fn api_routes(v: KestraVersion) -> Router<Shared> {
    let mut r = Router::new()
        .route("/ping", get(health::ping))
        .route("/api/v1/configs", get(configs::configuration))
        .route("/api/v1/{tenant}/basicAuth", post(basic_auth::create))
        .route(
            "/api/v1/basicAuthValidationErrors",
            get(basic_auth::validation_errors),
        );
    if v.is_v2() {
        r = r.route("/api/v1/configs/login", get(configs::login));
    }
    r.merge(flows::routes(v))
        .merge(executions::routes(v))
        .merge(logs::routes(v))
}

pub fn management_routes() -> Router<Shared> {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/liveness", get(health::liveness))
        .route("/health/readiness", get(health::readiness))
        .route(
            "/emulator/requests",
            get(control::requests).delete(control::clear_requests),
        )
        .route(
            "/emulator/knobs",
            get(control::knobs).post(control::patch_knobs),
        )
}
