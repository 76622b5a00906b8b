//! Small request helpers shared by the route modules: content-type checks, boolean and integer
//! query values converted the way Micronaut converts them.

use axum::http::{HeaderMap, StatusCode, header};

use crate::errors::{ApiError, Problem};

/// The media type of the request, lower-cased, without parameters.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// 415 unless the request's content type is one of `allowed`.
pub fn require_content_type(headers: &HeaderMap, allowed: &[&str]) -> Result<String, ApiError> {
    match media_type(headers) {
        Some(mt) if allowed.contains(&mt.as_str()) => Ok(mt),
        other => Err(ApiError::unsupported_media_type(other.as_deref(), allowed)),
    }
}

fn conversion(key: &str, value: &str) -> ApiError {
    ApiError::new(
        Problem::InvalidQueryParameter,
        "Bad Request",
        Some(format!(
            "Failed to convert argument [{key}] for value [{value}]"
        )),
    )
    .with_status(StatusCode::BAD_REQUEST)
}

pub fn query_bool(q: &[(String, String)], key: &str, default: bool) -> Result<bool, ApiError> {
    match crate::filters::first(q, key) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(conversion(key, v)),
    }
}

pub fn query_i32(q: &[(String, String)], key: &str) -> Result<Option<i32>, ApiError> {
    match crate::filters::first(q, key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i32>()
            .map(Some)
            .map_err(|_| conversion(key, v)),
    }
}

pub fn body_text(body: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            Problem::InvalidRequestBody,
            "Invalid route params",
            Some("Request body is not valid UTF-8".into()),
        )
    })
}

/// A JSON request body (unreadable JSON: 422 "Invalid json").
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(ApiError::invalid_json)
}
