//! `/emulator/*` on the management port: the [`crate::Control`] handle over HTTP, for an
//! emulator running in a container.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::knobs::KnobsPatch;
use crate::server::Shared;

pub async fn requests(State(state): State<Shared>) -> Response {
    Json(state.control.requests()).into_response()
}

pub async fn clear_requests(State(state): State<Shared>) -> StatusCode {
    state.control.clear_requests();
    StatusCode::NO_CONTENT
}

pub async fn knobs(State(state): State<Shared>) -> Response {
    Json(state.control.knobs().to_patch()).into_response()
}

pub async fn patch_knobs(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<KnobsPatch>(&body) {
        Ok(p) => {
            state.control.patch_knobs(&p);
            Json(state.control.knobs().to_patch()).into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": format!("invalid knobs: {e}")})),
        )
            .into_response(),
    }
}
