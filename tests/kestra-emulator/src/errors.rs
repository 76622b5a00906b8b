//! API errors and their two wire shapes. Handlers return [`ApiError`]; it travels as a response
//! extension to [`render`], which knows the version and the request path and writes either the
//! 1.x Micronaut `JsonError` or the 2.0 RFC 9457 problem document. Bare error responses (axum
//! rejections, 405s, bodiless statuses) are filled the same way, as Kestra 2.0's
//! `ProblemResponseFilter` and 1.x's global `ErrorController` do.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::version::KestraVersion;

/// Kestra 2.0's closed catalogue of problem types (`ProblemTypes.java`), the subset we emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    InvalidJson,
    InvalidFormat,
    InvalidRequestBody,
    InvalidArgument,
    BadRequest,
    InvalidQueryParameter,
    InvalidQueryFilters,
    ValidationFailed,
    InvalidEntity,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    EntityAlreadyExists,
    MethodNotAllowed,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
    InternalError,
    ServiceUnavailable,
    Timeout,
}

impl Problem {
    pub fn slug(self) -> &'static str {
        match self {
            Problem::InvalidJson => "invalid-json",
            Problem::InvalidFormat => "invalid-format",
            Problem::InvalidRequestBody => "invalid-request-body",
            Problem::InvalidArgument => "invalid-argument",
            Problem::BadRequest => "bad-request",
            Problem::InvalidQueryParameter => "invalid-query-parameter",
            Problem::InvalidQueryFilters => "invalid-query-filters",
            Problem::ValidationFailed => "validation-failed",
            Problem::InvalidEntity => "invalid-entity",
            Problem::Unauthenticated => "unauthenticated",
            Problem::Forbidden => "forbidden",
            Problem::NotFound => "not-found",
            Problem::Conflict => "conflict",
            Problem::EntityAlreadyExists => "entity-already-exists",
            Problem::MethodNotAllowed => "method-not-allowed",
            Problem::NotAcceptable => "not-acceptable",
            Problem::PayloadTooLarge => "payload-too-large",
            Problem::UnsupportedMediaType => "unsupported-media-type",
            Problem::InternalError => "internal-error",
            Problem::ServiceUnavailable => "service-unavailable",
            Problem::Timeout => "timeout",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Problem::InvalidJson => "Invalid JSON",
            Problem::InvalidFormat => "Invalid value format",
            Problem::InvalidRequestBody => "Invalid request body",
            Problem::InvalidArgument => "Invalid argument",
            Problem::BadRequest => "Bad request",
            Problem::InvalidQueryParameter => "Invalid query parameter",
            Problem::InvalidQueryFilters => "Invalid query filters",
            Problem::ValidationFailed => "Validation failed",
            Problem::InvalidEntity => "Invalid entity",
            Problem::Unauthenticated => "Authentication required",
            Problem::Forbidden => "Access denied",
            Problem::NotFound => "Resource not found",
            Problem::Conflict => "Conflict",
            Problem::EntityAlreadyExists => "Entity already exists",
            Problem::MethodNotAllowed => "Method not allowed",
            Problem::NotAcceptable => "Not acceptable",
            Problem::PayloadTooLarge => "Payload too large",
            Problem::UnsupportedMediaType => "Unsupported media type",
            Problem::InternalError => "Internal server error",
            Problem::ServiceUnavailable => "Service unavailable",
            Problem::Timeout => "Operation timed out",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Problem::InvalidJson
            | Problem::InvalidFormat
            | Problem::InvalidRequestBody
            | Problem::InvalidArgument
            | Problem::ValidationFailed
            | Problem::InvalidEntity => StatusCode::UNPROCESSABLE_ENTITY,
            Problem::BadRequest | Problem::InvalidQueryParameter | Problem::InvalidQueryFilters => {
                StatusCode::BAD_REQUEST
            }
            Problem::Unauthenticated => StatusCode::UNAUTHORIZED,
            Problem::Forbidden => StatusCode::FORBIDDEN,
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::Conflict | Problem::EntityAlreadyExists => StatusCode::CONFLICT,
            Problem::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Problem::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Problem::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Problem::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Problem::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// `ProblemTypes.byStatus`: the type for a response that only carries a status.
    pub fn by_status(status: StatusCode) -> Problem {
        match status.as_u16() {
            400 => Problem::BadRequest,
            401 => Problem::Unauthenticated,
            403 => Problem::Forbidden,
            404 => Problem::NotFound,
            405 => Problem::MethodNotAllowed,
            406 => Problem::NotAcceptable,
            409 => Problem::Conflict,
            413 => Problem::PayloadTooLarge,
            415 => Problem::UnsupportedMediaType,
            422 => Problem::InvalidEntity,
            503 => Problem::ServiceUnavailable,
            504 => Problem::Timeout,
            s if s < 500 => Problem::BadRequest,
            _ => Problem::InternalError,
        }
    }
}

/// A field-level error: 1.x `_embedded.errors[] {message, path}`, 2.0 `errors[] {detail, path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub message: String,
    pub path: Option<String>,
}

/// An error as a Kestra controller would raise it, before version-specific rendering.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub problem: Problem,
    /// 1.x `JsonError.message` prefix (the Micronaut "reason"), e.g. "Invalid entity", "Not Found".
    pub reason: String,
    /// The exception message: appended to the 1.x reason, the 2.0 `detail`.
    pub message: Option<String>,
    pub errors: Vec<FieldError>,
    /// 1.x errors that Micronaut answers without any body (the 401 of the auth filter).
    pub empty_v1_body: bool,
}

impl ApiError {
    pub fn new(problem: Problem, reason: impl Into<String>, message: Option<String>) -> Self {
        ApiError {
            status: problem.status(),
            problem,
            reason: reason.into(),
            message,
            errors: Vec::new(),
            empty_v1_body: false,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// A body Jackson cannot read as JSON: 422 "Invalid json".
    pub fn invalid_json(cause: impl std::fmt::Display) -> Self {
        ApiError::new(
            Problem::InvalidJson,
            "Invalid json",
            Some(cause.to_string()),
        )
    }

    /// A missing resource: 1.x "Not Found", 2.0 `not-found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(Problem::NotFound, "Not Found", Some(message.into()))
    }

    /// `ResourceExpiredException` (an expired KV value): 410 "Resource has expired" on 1.x; the
    /// 2.0 problem type for it was not readable, `not-found` with the 410 stands in.
    pub fn gone(message: impl Into<String>) -> Self {
        ApiError::new(
            Problem::NotFound,
            "Resource has expired",
            Some(message.into()),
        )
        .with_status(StatusCode::GONE)
    }

    /// A 404 with no message, as Micronaut answers a route returning null.
    pub fn not_found_bare() -> Self {
        ApiError::new(Problem::NotFound, "Not Found", None)
    }

    /// `ConstraintViolationException`: "Invalid entity: path: msg, ..." with one entry per violation.
    pub fn constraint(violations: Vec<FieldError>) -> Self {
        let message = violations
            .iter()
            .map(|v| match &v.path {
                Some(p) => format!("{p}: {}", v.message),
                None => v.message.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        ApiError::new(Problem::ValidationFailed, "Invalid entity", Some(message))
            .with_errors(violations)
    }

    /// `ValidationErrorException` (a list of messages, no property paths; Basic Auth setup). The
    /// two versions disagree on more than the body: 1.x's `ErrorController` answers 400 with the
    /// messages joined as the reason and the exception's own message after it ("…: Resource fails
    /// validation"), no `_embedded.errors`; 2.0 answers a 422 `validation-failed` problem with one
    /// `errors[]` entry per message, as for a constraint violation.
    pub fn validation_errors(version: KestraVersion, invalids: Vec<String>) -> Self {
        if version.is_v2() {
            return ApiError::constraint(
                invalids
                    .into_iter()
                    .map(|message| FieldError {
                        message,
                        path: None,
                    })
                    .collect(),
            );
        }
        let joined = if invalids.is_empty() {
            "Resource fails validation".to_string()
        } else {
            invalids.join(", ")
        };
        ApiError::new(
            Problem::BadRequest,
            joined,
            Some("Resource fails validation".into()),
        )
        .with_status(StatusCode::BAD_REQUEST)
    }

    /// `IllegalArgumentException`: 422 "Illegal argument" on 1.x, `invalid-argument` on 2.0.
    pub fn illegal_argument(message: impl Into<String>) -> Self {
        ApiError::new(
            Problem::InvalidArgument,
            "Illegal argument",
            Some(message.into()),
        )
    }

    /// `IllegalStateException`: 409 "Illegal state" on 1.x; 2.0 maps explicit conflicts to `conflict`.
    pub fn illegal_state(message: impl Into<String>) -> Self {
        ApiError::new(Problem::Conflict, "Illegal state", Some(message.into()))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(Problem::Conflict, "Conflict", Some(message.into()))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(Problem::BadRequest, "Bad Request", Some(message.into()))
    }

    pub fn invalid_query_filters(message: impl Into<String>) -> Self {
        ApiError::new(
            Problem::InvalidQueryFilters,
            "Bad Request",
            Some(message.into()),
        )
    }

    pub fn unsupported_media_type(got: Option<&str>, allowed: &[&str]) -> Self {
        let msg = format!(
            "Content Type [{}] not allowed. Allowed types: [{}]",
            got.unwrap_or(""),
            allowed.join(", ")
        );
        ApiError::new(
            Problem::UnsupportedMediaType,
            "Unsupported Media Type",
            Some(msg),
        )
    }

    pub fn unauthenticated() -> Self {
        let mut e = ApiError::new(Problem::Unauthenticated, "Unauthorized", None);
        e.empty_v1_body = true;
        e
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(
            Problem::ServiceUnavailable,
            "Service Unavailable",
            Some(message.into()),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(
            Problem::InternalError,
            "Internal server error",
            Some(message.into()),
        )
    }

    /// The response body for `version`; `None` means no body at all.
    pub fn body(
        &self,
        version: KestraVersion,
        path: &str,
        uri: &str,
    ) -> Option<(Value, &'static str)> {
        if version.is_v2() {
            let mut doc = serde_json::Map::new();
            doc.insert(
                "type".into(),
                json!(format!(
                    "https://kestra.io/docs/api-reference/problems/{}",
                    self.problem.slug()
                )),
            );
            doc.insert("title".into(), json!(self.problem.title()));
            doc.insert("status".into(), json!(self.status.as_u16()));
            if self.status.is_server_error() {
                // Server errors never echo internals; they carry a traceId instead (ProblemFactory).
                doc.insert(
                    "detail".into(),
                    json!(
                        "An unexpected error occurred. Quote the traceId when contacting support."
                    ),
                );
                doc.insert("instance".into(), json!(path));
                doc.insert("traceId".into(), json!(crate::ids::new_id()));
            } else {
                let detail = match &self.message {
                    Some(m) if !m.trim().is_empty() => m.clone(),
                    _ => self.problem.title().to_string(),
                };
                doc.insert("detail".into(), json!(detail));
                doc.insert("instance".into(), json!(path));
                if !self.errors.is_empty() {
                    let errs: Vec<Value> = self
                        .errors
                        .iter()
                        .map(|e| {
                            let mut m = serde_json::Map::new();
                            m.insert("detail".into(), json!(e.message));
                            if let Some(p) = &e.path {
                                m.insert("path".into(), json!(p));
                            }
                            Value::Object(m)
                        })
                        .collect();
                    doc.insert("errors".into(), Value::Array(errs));
                }
            }
            Some((Value::Object(doc), "application/problem+json"))
        } else {
            if self.empty_v1_body {
                return None;
            }
            let message = match &self.message {
                Some(m) if self.problem == Problem::ValidationFailed => {
                    format!("{}: {m}", self.reason)
                }
                Some(m) if !m.is_empty() => format!("{}: {m}", self.reason),
                _ => self.reason.clone(),
            };
            let mut doc = serde_json::Map::new();
            doc.insert("message".into(), json!(message));
            doc.insert(
                "_links".into(),
                json!({"self": {"href": uri, "templated": false}}),
            );
            if !self.errors.is_empty() {
                let errs: Vec<Value> = self
                    .errors
                    .iter()
                    .map(|e| {
                        let mut m = serde_json::Map::new();
                        m.insert("message".into(), json!(e.message));
                        if let Some(p) = &e.path {
                            m.insert("path".into(), json!(p));
                        }
                        Value::Object(m)
                    })
                    .collect();
                doc.insert("_embedded".into(), json!({"errors": errs}));
            }
            Some((Value::Object(doc), "application/json"))
        }
    }
}

/// Marker carried by a response whose body still has to be rendered by [`render`].
#[derive(Debug, Clone)]
pub struct PendingError(pub ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = self.status;
        resp.extensions_mut().insert(PendingError(self));
        resp
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing_log(&format!("internal error: {e:#}"));
        ApiError::internal(format!("{e:#}"))
    }
}

fn tracing_log(line: &str) {
    eprintln!(
        "{} ERROR {line}",
        crate::timefmt::fmt_instant(crate::timefmt::now_ms())
    );
}

/// Write the final error body: pending [`ApiError`]s, and bare 4xx/5xx from the framework.
pub async fn render(version: KestraVersion, path: &str, uri: &str, resp: Response) -> Response {
    let status = resp.status();
    if let Some(PendingError(err)) = resp.extensions().get::<PendingError>().cloned() {
        return finish(version, path, uri, resp, &err);
    }
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let replaceable = match ct.as_deref() {
        None => true,
        Some(c) => c.starts_with("text/plain"),
    };
    if !replaceable {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let problem = Problem::by_status(status);
    let reason = status.canonical_reason().unwrap_or("Error").to_string();
    let mut err = ApiError::new(
        problem,
        reason,
        if text.is_empty() { None } else { Some(text) },
    );
    err.status = status;
    let resp = Response::from_parts(parts, Body::empty());
    finish(version, path, uri, resp, &err)
}

fn finish(
    version: KestraVersion,
    path: &str,
    uri: &str,
    resp: Response,
    err: &ApiError,
) -> Response {
    let (mut parts, _) = resp.into_parts();
    parts.extensions.remove::<PendingError>();
    match err.body(version, path, uri) {
        Some((doc, ct)) => {
            parts
                .headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(doc.to_string()))
        }
        None => {
            parts.headers.remove(header::CONTENT_TYPE);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::empty())
        }
    }
}
