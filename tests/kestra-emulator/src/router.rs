//! Route selection as Kestra's Micronaut (4.10) router does it, driven by Kestra's OpenAPI spec.
//!
//! Every served route is declared once (method, OpenAPI path template, handler). What it
//! consumes and produces, and its query parameters, are read from the spec of the version; a
//! route the spec file does not describe (hidden from it, as Kestra's deprecated JSON flow
//! routes, or newer than it, as 2.0's outputs routes) carries its own declaration with the
//! controller it comes from. So a route cannot be served without the media types Kestra
//! declares for it: strictness by construction.
//!
//! Selection (`DefaultRouter.findInternal` / `resolveAmbiguity`, `RequestLifecycle.onRouteMiss`;
//! notes in docs/kestra-compatibility.md):
//! 1. routes of the request's method only;
//! 2. for methods that carry a body, a route that does not consume the request's Content-Type
//!    (parameters ignored; no Content-Type passes everywhere) is dropped;
//! 3. a route that produces none of the Accept header's types is dropped (`*/*` or no Accept
//!    passes; `type/*` does NOT match, as in Micronaut);
//! 4. only then the path is matched, so a route refused on media types lets a less specific
//!    template take the request (`GET /flows/export/by-query` asking for JSON lands on
//!    `GET /flows/{namespace}/{id}` as namespace `export`);
//! 5. several left: those producing the first Accept type, then those consuming the
//!    Content-Type, then the most literal characters and fewest variables; still several is
//!    Micronaut's `DuplicateRouteException`, which Kestra answers 500 before any filter;
//! 6. none left: 415 if a route of this method and path refuses the Content-Type, else 406 if
//!    one refuses the Accept, else 405 if other methods serve the path, else 404. These are
//!    decided after the HTTP filters, so an unauthenticated caller gets 401 first.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use axum::routing::MethodRouter;
use serde_json::Value;
use tower::ServiceExt;

use crate::version::KestraVersion;

/// Micronaut's default `produces` and `consumes` for an annotated route.
pub const JSON: &str = "application/json";

/// Where a route's declaration comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The operation of Kestra's published OpenAPI document.
    Spec { operation_id: String },
    /// A route Kestra serves that its spec file does not describe (hidden with `@Hidden`, or
    /// newer than the file), declared here from its controller: `source` names the file and
    /// annotation.
    Hidden { source: &'static str },
}

/// A query parameter as the spec declares it.
#[derive(Debug, Clone)]
pub struct QueryParam {
    pub name: String,
    pub required: bool,
    /// `boolean`, `integer`, `string`, `array`, … (`None`: untyped, e.g. an enum `$ref`).
    pub kind: Option<String>,
    /// Allowed values of an enum parameter.
    pub allowed: Vec<String>,
}

/// A route, as the router selects it.
pub struct Route {
    pub method: Method,
    /// The OpenAPI template, e.g. `/api/v1/{tenant}/flows/{namespace}/{id}`.
    pub template: &'static str,
    pub produces: Vec<String>,
    pub consumes: Vec<String>,
    pub origin: Origin,
    pub query: Vec<QueryParam>,
    /// The JSON schema of an `application/json` request body, when the route takes one.
    pub json_body: Option<Value>,
    segments: Vec<Segment>,
    service: Router,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Variable(String),
}

impl Route {
    fn consumes_all(&self) -> bool {
        self.consumes.iter().any(|c| c == "*/*")
    }

    fn produces_all(&self) -> bool {
        self.produces.iter().any(|c| c == "*/*")
    }

    /// `DefaultRouteInfo.doesConsume`: no Content-Type, or one it lists.
    fn does_consume(&self, content_type: Option<&str>) -> bool {
        match content_type {
            None => true,
            Some(ct) => self.consumes_all() || self.consumes.iter().any(|c| c == ct),
        }
    }

    /// `DefaultRouteInfo.doesProduce`: no Accept, `*/*` among them, or one it lists exactly.
    fn does_produce(&self, accept: &[String]) -> bool {
        self.produces_all()
            || accept.is_empty()
            || accept
                .iter()
                .any(|a| a == "*/*" || self.produces.iter().any(|p| p == a))
    }

    /// Total length of the literal parts (with their slashes), Micronaut's first ranking key.
    fn literal_chars(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => l.len() + 1,
                Segment::Variable(_) => 1,
            })
            .sum()
    }

    fn variables(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Variable(_)))
            .count()
    }

    /// `UriTemplateMatcher.tryMatch` on the raw path: literals case-sensitive, a variable one
    /// non-empty segment without `? { } & ; +`. One trailing slash is ignored.
    fn match_path(&self, raw_path: &str) -> Option<BTreeMap<String, String>> {
        let path = raw_path.strip_suffix('/').unwrap_or(raw_path);
        let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut vars = BTreeMap::new();
        for (seg, part) in self.segments.iter().zip(parts) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Variable(name) => {
                    if part.is_empty() || part.contains(['?', '{', '}', '&', ';', '+']) {
                        return None;
                    }
                    vars.insert(name.clone(), part.to_string());
                }
            }
        }
        Some(vars)
    }

    /// `GET /api/v1/{tenant}/flows` style, for messages and the request journal.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .trim_start_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
                Some(v) => Segment::Variable(v.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

/// A route before it is bound to the spec: what `routes::table` declares.
pub struct Declared {
    pub method: Method,
    pub template: &'static str,
    pub handler: MethodRouter<crate::server::Shared>,
    /// For a route the spec file does not describe: its media types and where Kestra declares
    /// them.
    pub hidden: Option<HiddenRoute>,
}

impl Declared {
    /// A route of Kestra's spec: media types and parameters come from its operation.
    pub fn new(
        method: Method,
        template: &'static str,
        handler: MethodRouter<crate::server::Shared>,
    ) -> Self {
        Declared {
            method,
            template,
            handler,
            hidden: None,
        }
    }

    /// A route Kestra serves but its spec file leaves out (`@Hidden`, or added after the file
    /// was published), with the media types its controller declares and where.
    pub fn hidden(
        method: Method,
        template: &'static str,
        handler: MethodRouter<crate::server::Shared>,
        consumes: &'static [&'static str],
        produces: &'static [&'static str],
        source: &'static str,
    ) -> Self {
        Declared {
            method,
            template,
            handler,
            hidden: Some(HiddenRoute {
                consumes,
                produces,
                source,
            }),
        }
    }
}

/// A route Kestra serves without its spec file describing it.
pub struct HiddenRoute {
    pub consumes: &'static [&'static str],
    pub produces: &'static [&'static str],
    pub source: &'static str,
}

/// Kestra's published OpenAPI document for a version, parsed once per process.
pub fn spec(v: KestraVersion) -> &'static Value {
    static V13: OnceLock<Value> = OnceLock::new();
    static V20: OnceLock<Value> = OnceLock::new();
    // Converted from tests/fixtures/kestra/openapi/kestra-ee-*.yml by build.rs.
    let (cell, text) = match v {
        KestraVersion::V1_3 => (
            &V13,
            include_str!(concat!(env!("OUT_DIR"), "/kestra-1.3.json")),
        ),
        KestraVersion::V2_0 | KestraVersion::V2_1Dev => (
            &V20,
            include_str!(concat!(env!("OUT_DIR"), "/kestra-2.0.json")),
        ),
    };
    cell.get_or_init(|| serde_json::from_str(text).unwrap_or(Value::Null))
}

/// Media types as Micronaut compares them: `type/subtype`, lower case, no parameters.
pub fn media(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `MediaType.orderedOf` on every Accept header: comma-split, unparsable tokens dropped, then
/// concrete types by descending `q`, `type/*` after them, `*/*` last (stable).
pub fn accept_list(headers: &HeaderMap) -> Vec<String> {
    let mut items: Vec<(u8, f32, String)> = Vec::new();
    for value in headers.get_all(header::ACCEPT) {
        let Ok(text) = value.to_str() else { continue };
        for token in text.split(',') {
            let mut parts = token.split(';');
            let mt = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let Some((ty, sub)) = mt.split_once('/') else {
                continue;
            };
            if ty.is_empty() || sub.is_empty() {
                continue;
            }
            let mut q = 1.0f32;
            let mut bad = false;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    match v.trim().parse::<f32>() {
                        Ok(x) => q = x,
                        Err(_) => bad = true,
                    }
                }
            }
            if bad {
                continue;
            }
            let rank = match (ty, sub) {
                ("*", _) => 2,
                (_, "*") => 1,
                _ => 0,
            };
            items.push((rank, q, mt));
        }
    }
    items.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal))
    });
    items.into_iter().map(|(_, _, m)| m).collect()
}

/// The outcome of selecting a route.
pub enum Selection<'a> {
    /// The route, its path variables, and the more specific route of the same path that the
    /// request's media types ruled out, if any: the request landed somewhere its sender most
    /// likely did not mean (`GET /flows/export/by-query` asking for JSON reaches
    /// `GET /flows/{namespace}/{id}`).
    Matched(&'a Route, BTreeMap<String, String>, Option<&'a Route>),
    /// Micronaut's `DuplicateRouteException`: several routes tie.
    Ambiguous(Vec<&'a Route>),
    Miss(Miss),
}

/// Why no route took the request, in `onRouteMiss` order.
pub enum Miss {
    UnsupportedMediaType {
        content_type: String,
        allowed: Vec<String>,
    },
    NotAcceptable {
        accept: Vec<String>,
        supported: Vec<String>,
    },
    MethodNotAllowed {
        allowed: Vec<String>,
    },
    NotFound,
}

/// Whether `r` answers `method`: every `@Get` also registers HEAD.
fn serves(r: &Route, method: &Method) -> bool {
    r.method == *method || (*method == Method::HEAD && r.method == Method::GET)
}

/// Methods whose requests may carry a body (`HttpMethod.permitsRequestBody`).
fn permits_body(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::OPTIONS
    )
}

pub struct RouteTable {
    pub version: KestraVersion,
    routes: Vec<Route>,
}

impl RouteTable {
    /// Binds each declared route to its spec operation. A route that is neither in the spec nor
    /// declared hidden is a programming error: refused here, so it cannot be served loosely.
    pub fn build(
        version: KestraVersion,
        declared: Vec<Declared>,
        state: crate::server::Shared,
    ) -> anyhow::Result<Self> {
        let spec = spec(version);
        let mut routes = Vec::with_capacity(declared.len());
        for d in declared {
            let op = &spec["paths"][d.template][d.method.as_str().to_ascii_lowercase()];
            let (produces, consumes, origin, query, json_body) = match (&d.hidden, op.is_object()) {
                (Some(h), _) => (
                    h.produces.iter().map(|s| s.to_string()).collect(),
                    h.consumes.iter().map(|s| s.to_string()).collect(),
                    Origin::Hidden { source: h.source },
                    Vec::new(),
                    None,
                ),
                (None, true) => {
                    let (produces, consumes, query, json_body) = from_operation(spec, op);
                    let operation_id = op["operationId"].as_str().unwrap_or_default().to_string();
                    (
                        produces,
                        consumes,
                        Origin::Spec { operation_id },
                        query,
                        json_body,
                    )
                }
                (None, false) => anyhow::bail!(
                    "{} {} is served but the {} spec has no such operation",
                    d.method,
                    d.template,
                    version.short()
                ),
            };
            let service = Router::new()
                .route(d.template, d.handler)
                .with_state(state.clone());
            routes.push(Route {
                segments: segments(d.template),
                method: d.method,
                template: d.template,
                produces,
                consumes,
                origin,
                query,
                json_body,
                service,
            });
        }
        // Micronaut's pre-sort: most literal characters first, then fewest variables (stable).
        routes.sort_by(|a, b| {
            b.literal_chars()
                .cmp(&a.literal_chars())
                .then(a.variables().cmp(&b.variables()))
        });
        Ok(RouteTable { version, routes })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Selects the route for a request, as Micronaut does.
    pub fn select(&self, method: &Method, raw_path: &str, headers: &HeaderMap) -> Selection<'_> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(media)
            .filter(|m| !m.is_empty());
        let accept = accept_list(headers);
        let mut matched: Vec<(&Route, BTreeMap<String, String>)> = self
            .routes
            .iter()
            .filter(|r| serves(r, method))
            .filter(|r| !permits_body(method) || r.does_consume(content_type.as_deref()))
            .filter(|r| r.does_produce(&accept))
            .filter_map(|r| r.match_path(raw_path).map(|vars| (r, vars)))
            .collect();
        if matched.len() > 1 {
            matched = resolve_ambiguity(matched, &accept, content_type.as_deref(), method);
        }
        match matched.len() {
            0 => Selection::Miss(self.miss(method, raw_path, content_type, accept)),
            1 => {
                let (r, vars) = matched.remove(0);
                // Routes are sorted most specific first: the first one of this method whose
                // path matches is what the path alone would have chosen.
                let by_path = self
                    .routes
                    .iter()
                    .find(|x| serves(x, method) && x.match_path(raw_path).is_some());
                let shadowed = by_path.filter(|b| {
                    b.template != r.template
                        && (b.literal_chars(), b.variables()) != (r.literal_chars(), r.variables())
                });
                Selection::Matched(r, vars, shadowed)
            }
            _ => Selection::Ambiguous(matched.into_iter().map(|(r, _)| r).collect()),
        }
    }

    /// `onRouteMiss` (4.10: media types are gathered from routes of the request's method).
    fn miss(
        &self,
        method: &Method,
        raw_path: &str,
        content_type: Option<String>,
        accept: Vec<String>,
    ) -> Miss {
        let on_path: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| r.match_path(raw_path).is_some())
            .collect();
        let same: Vec<&&Route> = on_path.iter().filter(|r| serves(r, method)).collect();
        if let Some(ct) = &content_type
            && permits_body(method)
        {
            let allowed: Vec<String> = same
                .iter()
                .filter(|r| !r.does_consume(Some(ct)))
                .flat_map(|r| r.consumes.clone())
                .collect();
            if !allowed.is_empty() {
                return Miss::UnsupportedMediaType {
                    content_type: ct.clone(),
                    allowed: java_hash_set_order(allowed),
                };
            }
        }
        if !accept.is_empty() {
            let supported: Vec<String> = same
                .iter()
                .filter(|r| !r.does_produce(&accept))
                .flat_map(|r| r.produces.clone())
                .collect();
            if !supported.is_empty() {
                return Miss::NotAcceptable {
                    accept,
                    supported: java_hash_set_order(supported),
                };
            }
        }
        let mut allowed: Vec<String> = Vec::new();
        for r in on_path.iter().filter(|r| !serves(r, method)) {
            // Every `@Get` also registers HEAD.
            if r.method == Method::GET && *method != Method::HEAD {
                allowed.push("HEAD".into());
            }
            allowed.push(r.method.to_string());
        }
        if !allowed.is_empty() {
            return Miss::MethodNotAllowed {
                allowed: java_hash_set_order(allowed),
            };
        }
        Miss::NotFound
    }
}

/// `resolveAmbiguity`: the first Accept type produced explicitly, then the Content-Type (or
/// `*/*`) consumed explicitly, then the routes tied with the best on (literal characters,
/// variables).
fn resolve_ambiguity<'a>(
    matched: Vec<(&'a Route, BTreeMap<String, String>)>,
    accept: &[String],
    content_type: Option<&str>,
    method: &Method,
) -> Vec<(&'a Route, BTreeMap<String, String>)> {
    let mut left = matched;
    if let Some(first) = accept.first() {
        let explicit: Vec<_> = left
            .iter()
            .filter(|(r, _)| r.produces.is_empty() || r.produces.iter().any(|p| p == first))
            .cloned()
            .collect();
        if !explicit.is_empty() {
            left = explicit;
        }
    }
    if left.len() > 1 && permits_body(method) {
        let ct = content_type.unwrap_or("*/*");
        let explicit: Vec<_> = left
            .iter()
            .filter(|(r, _)| r.consumes.iter().any(|c| c == ct))
            .cloned()
            .collect();
        if !explicit.is_empty() {
            left = explicit;
        }
    }
    let Some((top, _)) = left.first() else {
        return left;
    };
    let (chars, vars) = (top.literal_chars(), top.variables());
    left.into_iter()
        .take_while(|(r, _)| r.literal_chars() == chars && r.variables() == vars)
        .collect()
}

/// Java's `HashSet` iteration order for a handful of strings (capacity 8, as `new
/// HashSet<>(5)`): by bucket `(h ^ h >>> 16) & 7` of `String.hashCode`, ties in insertion order,
/// duplicates dropped. Micronaut prints its 405/406/415 lists from such sets.
pub fn java_hash_set_order(items: Vec<String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    let bucket = |s: &str| {
        let h = s
            .encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
        let h = h as u32;
        (h ^ (h >> 16)) & 7
    };
    let mut indexed: Vec<(u32, usize, String)> = seen
        .into_iter()
        .enumerate()
        .map(|(i, s)| (bucket(&s), i, s))
        .collect();
    indexed.sort();
    indexed.into_iter().map(|(_, _, s)| s).collect()
}

/// Media types, query parameters and JSON body schema of a spec operation. A route's
/// `produces` is what its success answers declare, else Micronaut's default JSON; its
/// `consumes` what its request body declares, else JSON.
fn from_operation(
    spec: &Value,
    op: &Value,
) -> (Vec<String>, Vec<String>, Vec<QueryParam>, Option<Value>) {
    let mut produces: Vec<String> = Vec::new();
    if let Some(responses) = op["responses"].as_object() {
        for (status, resp) in responses {
            if !status.starts_with('2') {
                continue;
            }
            for ct in resp["content"]
                .as_object()
                .into_iter()
                .flat_map(|c| c.keys())
            {
                if !produces.contains(ct) {
                    produces.push(ct.clone());
                }
            }
        }
    }
    if produces.is_empty() {
        produces.push(JSON.into());
    }
    let body = op["requestBody"]["content"].as_object();
    let mut consumes: Vec<String> = body
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    if consumes.is_empty() {
        consumes.push(JSON.into());
    }
    let json_body = body
        .and_then(|c| c.get(JSON))
        .map(|m| resolve_ref(spec, &m["schema"]).clone());
    let query = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .map(|p| {
            let schema = resolve_ref(spec, &p["schema"]);
            QueryParam {
                name: p["name"].as_str().unwrap_or_default().to_string(),
                required: p["required"].as_bool().unwrap_or(false),
                kind: schema["type"].as_str().map(str::to_string),
                allowed: schema["enum"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            }
        })
        .collect();
    (produces, consumes, query, json_body)
}

/// Follows `$ref`s into `components/schemas`.
pub fn resolve_ref<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    let mut cur = schema;
    for _ in 0..16 {
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                cur = &spec["components"]["schemas"][name];
            }
            None => break,
        }
    }
    cur
}

/// Runs the request through the selected route's own router (which extracts its path
/// variables as axum does).
pub async fn call(route: &Route, req: Request) -> Response {
    match route.service.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// Shared for the server's state.
pub type TableRef = Arc<OnceLock<RouteTable>>;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn accept_is_ordered_like_micronaut() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("*/*;q=0.8, application/*, text/plain;q=0.5, application/json; charset=utf-8, bogus"),
        );
        assert_eq!(
            accept_list(&h),
            ["application/json", "text/plain", "application/*", "*/*"]
        );
        assert!(accept_list(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn java_hash_set_order_matches_the_buckets() {
        // Buckets computed from String.hashCode: HEAD 1, DELETE 2, PUT 6, GET 7.
        assert_eq!(
            java_hash_set_order(vec![
                "GET".into(),
                "PUT".into(),
                "HEAD".into(),
                "DELETE".into(),
                "GET".into()
            ]),
            ["HEAD", "DELETE", "PUT", "GET"]
        );
        // application/octet-stream 3 before application/json 4.
        assert_eq!(
            java_hash_set_order(vec![
                "application/json".into(),
                "application/octet-stream".into()
            ]),
            ["application/octet-stream", "application/json"]
        );
    }

    #[test]
    fn templates_rank_by_literal_characters_then_variables() {
        let export = segments("/api/v1/{tenant}/flows/export/by-query");
        let flow = segments("/api/v1/{tenant}/flows/{namespace}/{id}");
        let len = |s: &[Segment]| -> usize {
            s.iter()
                .map(|x| match x {
                    Segment::Literal(l) => l.len() + 1,
                    Segment::Variable(_) => 1,
                })
                .sum()
        };
        assert!(len(&export) > len(&flow));
    }
}
