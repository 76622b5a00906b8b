//! Basic authentication on `/api/v1/**`, as Kestra's `AuthenticationFilter`: only the
//! `Authorization: Basic` header counts (a `BASIC_AUTH` cookie never stands in for it here),
//! management endpoints live on their own port and are never filtered.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::errors::ApiError;
use crate::server::Shared;
use crate::version::KestraVersion;

/// Credentials from an `Authorization: Basic …` header, split on the first colon.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// True when the request carries the stored credential (set by the config at start or through
/// the API since). With none stored nobody is authenticated (Kestra then only serves its setup
/// endpoints).
pub fn is_authenticated(state: &Shared, headers: &HeaderMap) -> bool {
    let Some(cfg) = crate::basic_auth::stored(&state.store) else {
        return false;
    };
    match basic_credentials(headers) {
        Some((u, p)) => u == cfg.username && p == cfg.password,
        None => false,
    }
}

fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut prev = false;
    for c in path.chars() {
        if c == '/' {
            if !prev {
                out.push(c);
            }
            prev = true;
        } else {
            out.push(c);
            prev = false;
        }
    }
    out
}

/// The first-setup routes: open only while no credential is stored, so the setup page can
/// create one; afterwards changing it needs the credential like any other call.
pub fn is_setup(path: &str) -> bool {
    let p = collapse_slashes(path);
    let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    matches!(
        segs.as_slice(),
        ["api", "v1", _, "basicAuth"] | ["api", "v1", "basicAuthValidationErrors"]
    )
}

/// Paths the filter lets through without credentials.
pub fn is_open(version: KestraVersion, open_urls: &[String], path: &str) -> bool {
    let p = collapse_slashes(path);
    if !p.starts_with("/api/v1/") {
        return true;
    }
    match version {
        // The 1.x UI read /configs before login; it was served to anyone.
        KestraVersion::V1_3 => {
            if p == "/api/v1/configs" {
                return true;
            }
        }
        // 2.0 split the public subset out to /configs/login.
        KestraVersion::V2_0 => {
            if p == "/api/v1/configs/login" {
                return true;
            }
        }
    }
    // Default open URL (`kestra.server.basic-auth.open-urls`): webhooks, tenant-scoped or not.
    let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    let webhook = matches!(
        segs.as_slice(),
        ["api", "v1", "executions", "webhook", ..] | ["api", "v1", _, "executions", "webhook", ..]
    );
    webhook
        || open_urls
            .iter()
            .any(|u| !u.is_empty() && path.starts_with(u.as_str()))
}

pub async fn layer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_open(state.version, &state.config.open_urls, &path)
        || (is_setup(&path) && !crate::basic_auth::is_initialized(&state.store))
        || is_authenticated(&state, req.headers())
    {
        return next.run(req).await;
    }
    let mut resp = ApiError::unauthenticated().into_response();
    let realm = state.config.realm().replace('"', "");
    if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW5Aa2VzdHJhLmlvOnA6dw=="),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("admin@kestra.io".into(), "p:w".into()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_credentials(&h), None);
    }

    #[test]
    fn open_paths() {
        let v1 = KestraVersion::V1_3;
        let v2 = KestraVersion::V2_0;
        assert!(is_open(v1, &[], "/api/v1/configs"));
        assert!(!is_open(v2, &[], "/api/v1/configs"));
        assert!(is_open(v2, &[], "/api/v1/configs/login"));
        assert!(!is_open(v1, &[], "/api/v1/main/flows/search"));
        assert!(is_open(v1, &[], "/api/v1/main/executions/webhook/ns/f/key"));
        assert!(is_open(v2, &[], "/ping"));
        assert!(!is_open(v2, &[], "//api/v1//main/flows"));
    }

    #[test]
    fn setup_paths() {
        assert!(is_setup("/api/v1/main/basicAuth"));
        assert!(is_setup("/api/v1/basicAuthValidationErrors"));
        assert!(!is_setup("/api/v1/basicAuth"));
        assert!(!is_setup("/api/v1/main/flows/basicAuth"));
    }
}
