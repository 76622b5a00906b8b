//! Request parameters and JSON bodies checked against the selected route's spec operation, as
//! Micronaut binds them before a controller runs: a declared query value that does not convert
//! to its type (or enum) is refused, a required one missing is refused, unknown query values are
//! ignored (Micronaut binds only what a method declares). A JSON body must parse and its
//! declared properties must have their types; unknown properties are accepted (Kestra's Jackson
//! has `FAIL_ON_UNKNOWN_PROPERTIES: false`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::errors::{ApiError, Problem};
use crate::router::{self, JSON, QueryParam, Route};
use crate::version::KestraVersion;

/// An error to answer, and why Kestra refuses it (for the request journal).
pub type Refusal = (ApiError, String);

/// A query value that does not convert (`ConversionErrorException`): Kestra 1.3.25's
/// `ErrorController` answers it 422 "Internal server error: …"; 2.0 as an
/// `invalid-query-parameter` problem (400).
pub fn conversion(version: KestraVersion, key: &str, value: &str) -> ApiError {
    let message = format!("Failed to convert argument [{key}] for value [{value}]");
    if version.is_v2() {
        ApiError::new(Problem::InvalidQueryParameter, "Bad Request", Some(message))
            .with_status(StatusCode::BAD_REQUEST)
    } else {
        ApiError::new(
            Problem::InvalidQueryParameter,
            "Internal server error",
            Some(message),
        )
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
    }
}

/// `UnsatisfiedQueryValueRouteException`: 400 on both versions.
pub fn missing(key: &str) -> ApiError {
    ApiError::new(
        Problem::InvalidQueryParameter,
        "Bad Request",
        Some(format!("Required QueryValue [{key}] not specified")),
    )
    .with_status(StatusCode::BAD_REQUEST)
}

fn converts(p: &QueryParam, value: &str) -> bool {
    if !p.allowed.is_empty() {
        return p
            .allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(value.trim()));
    }
    match p.kind.as_deref() {
        Some("boolean") => {
            value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
        }
        Some("integer") => value.trim().parse::<i64>().is_ok(),
        Some("number") => value.trim().parse::<f64>().is_ok(),
        _ => true,
    }
}

/// Checks the query of a request against the route's declared query parameters.
pub fn check_query(
    version: KestraVersion,
    route: &Route,
    query: &[(String, String)],
) -> Result<(), Refusal> {
    for p in &route.query {
        let values: Vec<&str> = query
            .iter()
            .filter(|(k, _)| *k == p.name)
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            if p.required {
                return Err((
                    missing(&p.name),
                    format!("required query value `{}` missing", p.name),
                ));
            }
            continue;
        }
        if p.kind.as_deref() == Some("array") {
            continue;
        }
        if let Some(bad) = values.iter().find(|v| !converts(p, v)) {
            return Err((
                conversion(version, &p.name, bad),
                format!(
                    "query value `{}={bad}` is not a {}",
                    p.name,
                    p.kind.as_deref().unwrap_or("value of its enum")
                ),
            ));
        }
    }
    Ok(())
}

/// Reads a JSON body the route declares and checks it against the schema; gives the request
/// back whole for the handler.
pub async fn check_json_body(
    version: KestraVersion,
    route: &Route,
    req: Request,
) -> Result<Request, Refusal> {
    let Some(schema) = &route.json_body else {
        return Ok(req);
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(router::media);
    if content_type.as_deref().is_some_and(|c| c != JSON) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.map_err(|e| {
        (
            ApiError::bad_request(e.to_string()),
            "unreadable body".into(),
        )
    })?;
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            (
                ApiError::new(Problem::InvalidJson, "Invalid json", Some(e.to_string())),
                format!("the body is not JSON: {e}"),
            )
        })?;
        let spec = router::spec(version);
        let mut problems = Vec::new();
        check_value(spec, schema, &value, "$", &mut problems);
        if let Some(first) = problems.first() {
            return Err((
                ApiError::new(
                    Problem::InvalidRequestBody,
                    "Invalid json mapping",
                    Some(first.clone()),
                ),
                format!(
                    "body does not fit the operation's schema: {}",
                    problems.join("; ")
                ),
            ));
        }
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Jackson's view of a value against a schema: objects and arrays must be what they are
/// declared; scalars are coerced into strings, numbers and booleans where Jackson coerces them.
fn check_value(spec: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let s = router::resolve_ref(spec, schema);
    if v.is_null() {
        return;
    }
    let declared = s["type"].as_str();
    let fits = match declared {
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => !v.is_object() && !v.is_array(),
        Some("integer") => {
            v.is_i64() || v.is_u64() || v.as_str().is_some_and(|t| t.parse::<i64>().is_ok())
        }
        Some("boolean") => {
            v.is_boolean() || v.as_str().is_some_and(|t| t == "true" || t == "false")
        }
        _ => true,
    };
    if !fits {
        out.push(format!(
            "Cannot deserialize {at}: expected {}, got {v}",
            declared.unwrap_or("a value")
        ));
        return;
    }
    if let (Some(props), Some(obj)) = (s["properties"].as_object(), v.as_object()) {
        for (k, sub) in obj {
            if let Some(ps) = props.get(k) {
                check_value(spec, ps, sub, &format!("{at}.{k}"), out);
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check_value(spec, items, item, &format!("{at}[{i}]"), out);
        }
    }
}
