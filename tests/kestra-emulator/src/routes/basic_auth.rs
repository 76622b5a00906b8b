//! `POST /api/v1/{tenant}/basicAuth` (`MiscController.createBasicAuth`) and
//! `GET /api/v1/basicAuthValidationErrors`: Basic Auth set up or changed through the API.
//!
//! Kestra's development line (the emulator's `2.1-dev` mode) refuses the change when the config
//! file owns the credential and, once one is stored, demands the current password in the body
//! (`currentPassword`) on top of the `Authorization` header the filter already checked. Released
//! 1.3 and 2.0 only validate and save (`{uid, username, password}`): anyone past the filter can
//! replace the credential, and a config credential comes back at the next start.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::mod_util::{media_type, require_content_type};
use crate::basic_auth;
use crate::errors::{ApiError, Problem};
use crate::server::Shared;

const MANAGED_BY_CONFIG: &str = "Basic Authentication credentials are managed in the configuration file and cannot be changed from the API.";
const CURRENT_PASSWORD: &str = "The current password is required and must be correct to change Basic Authentication credentials.";

/// Micronaut binds `@Body BasicAuthCredentials` with Jackson: unknown properties are ignored
/// (so 1.3 ignores `currentPassword`), a scalar is coerced to its text, null or absent is null.
fn text_field(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
        Some(_) => Err(ApiError::new(
            Problem::InvalidRequestBody,
            "Invalid json mapping",
            Some(format!(
                "Cannot deserialize value of type `java.lang.String` from non-scalar value (through reference chain: BasicAuthCredentials[\"{key}\"])"
            )),
        )),
    }
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    // A request without Content-Type is bound as JSON (Micronaut matches `consumes` only when
    // one is given); any other type is 415.
    if media_type(headers).is_some() {
        require_content_type(headers, &["application/json"])?;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            Problem::InvalidRequestBody,
            "Invalid route params",
            Some("Required Body [basicAuthCredentials] not specified".into()),
        ));
    }
    let v: Value = super::mod_util::json_body(body)?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::new(
            Problem::InvalidRequestBody,
            "Invalid json mapping",
            Some(
                "Cannot construct instance of `BasicAuthCredentials` from a non-object value"
                    .into(),
            ),
        )),
    }
}

pub async fn create(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let obj = parse_body(&headers, &body)?;
    let username = text_field(&obj, "username")?;
    let password = text_field(&obj, "password")?;
    let v = state.version;
    // Kestra's development line only (GHSA-94pv-f379-3gp3): released 1.3 and 2.0 replace the
    // credential for anyone past the filter, and a config credential comes back at the next
    // start.
    if v.guards_credential_changes() {
        if state.config.basic_auth_managed_by_config() {
            return Err(ApiError::validation_errors(
                v,
                vec![MANAGED_BY_CONFIG.to_string()],
            ));
        }
        if let Some(current) = basic_auth::stored(&state.store) {
            let given = text_field(&obj, "currentPassword")?;
            if !given.as_deref().is_some_and(|g| current.verifies(g)) {
                return Err(ApiError::validation_errors(
                    v,
                    vec![CURRENT_PASSWORD.to_string()],
                ));
            }
        }
    }
    let min = state
        .control
        .knobs()
        .password_min_length
        .unwrap_or(basic_auth::KESTRA_MIN_PASSWORD);
    let errors = basic_auth::validate_with(username.as_deref(), password.as_deref(), min);
    match (username, password) {
        (Some(u), Some(p)) if errors.is_empty() => {
            basic_auth::save(&state.store, &u, &p).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::validation_errors(v, errors)),
    }
}

pub async fn validation_errors(State(state): State<Shared>) -> Json<Value> {
    Json(Value::from(basic_auth::config_errors(&state.store)))
}
