//! Flow routes under `/api/v1/{tenant}/flows` (the tenant segment is not checked: Kestra OSS
//! resolves every request to the `main` tenant).

use std::io::Write;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::{Map, Value, json};

use super::mod_util::{body_text, media_type, query_bool, query_i32};
use crate::errors::{ApiError, FieldError};
use crate::filters::{self, Field, Record, Resource};
use crate::flow::FlowRevision;
use crate::router::{Declared, JSON};
use crate::server::Shared;
use crate::store::FlowWriteError;
use crate::timefmt::now_ms;
use crate::validate::{self, Checked};
use crate::version::KestraVersion;

pub fn routes(v: KestraVersion) -> Vec<Declared> {
    let mut r = vec![
        Declared::new(Method::POST, "/api/v1/{tenant}/flows", post(create)),
        Declared::new(Method::GET, "/api/v1/{tenant}/flows/search", get(search)),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/flows/validate",
            post(validate_flows),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/flows/export/by-query",
            get(export_by_query),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/flows/distinct-namespaces",
            get(distinct_namespaces),
        ),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/flows/enable/by-ids",
            post(enable_by_ids),
        ),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/flows/disable/by-ids",
            post(disable_by_ids),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/flows/{namespace}",
            get(list_namespace),
        ),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/flows/{namespace}",
            post(update_namespace),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/flows/{namespace}/{id}",
            get(get_flow),
        ),
        Declared::new(
            Method::PUT,
            "/api/v1/{tenant}/flows/{namespace}/{id}",
            put(update),
        ),
        Declared::new(
            Method::DELETE,
            "/api/v1/{tenant}/flows/{namespace}/{id}",
            delete(delete_flow),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/flows/{namespace}/{id}/revisions",
            get(revisions),
        ),
    ];
    // Kestra 1.3's deprecated JSON routes, hidden from its spec; 2.0 removed them (a JSON
    // create is a 415 there).
    if !v.is_v2() {
        r.extend([
        // `FlowController.createFlowFromJson` (1.3.25 FlowController.java:278, `@Hidden`):
            // `consumes = ALL`, so it takes JSON, anything the YAML route does not, and a request
            // without Content-Type.
            Declared::hidden(
                Method::POST,
                "/api/v1/{tenant}/flows",
                post(create_from_json),
                &["*/*"],
                &[JSON],
                "FlowController.createFlowFromJson: @Post(consumes = MediaType.ALL), @Hidden (1.3.25 FlowController.java:278)",
            ),
        // `FlowController.updateFlowFromJson` (1.3.25 FlowController.java:512, `@Hidden`).
            Declared::hidden(
                Method::PUT,
                "/api/v1/{tenant}/flows/{namespace}/{id}",
                put(update_from_json),
                &[JSON],
                &[JSON],
                "FlowController.updateFlowFromJson: @Put(consumes = MediaType.APPLICATION_JSON), @Hidden (1.3.25 FlowController.java:512)",
            ),
        ]);
    }
    r
}

/// The 422 Kestra answers for an invalid flow (`ConstraintViolationException`).
fn invalid(checked: &Checked) -> ApiError {
    let message = checked.constraints().unwrap_or_default();
    ApiError::new(
        crate::errors::Problem::ValidationFailed,
        "Invalid entity",
        Some(message),
    )
    .with_errors(checked.field_errors())
}

fn new_revision(checked: &Checked, source: String, draft: bool) -> FlowRevision {
    let disabled = checked
        .body
        .get("disabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    FlowRevision {
        namespace: checked.namespace.clone().unwrap_or_default(),
        id: checked.id.clone().unwrap_or_default(),
        revision: 0,
        source,
        deleted: false,
        disabled,
        draft,
        updated_ms: now_ms(),
        body: checked.body.clone(),
    }
}

/// Parse and validate a body; 2.0 drafts skip the model constraints but must still parse.
fn checked_source(v: KestraVersion, source: &str, draft: bool) -> Result<Checked, ApiError> {
    let checked = validate::check(source, v);
    if checked.parse_error.is_some() || (!draft && !checked.violations.is_empty()) {
        return Err(invalid(&checked));
    }
    if checked.id.is_none() || checked.namespace.is_none() {
        return Err(invalid(&checked));
    }
    Ok(checked)
}

fn draft_param(v: KestraVersion, q: &[(String, String)]) -> Result<bool, ApiError> {
    if v.is_v2() {
        query_bool(q, "draft", false)
    } else {
        Ok(false)
    }
}

async fn create(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let draft = draft_param(state.version, &q)?;
    let source = body_text(&body)?;
    create_source(&state, source, draft, true).await
}

/// Creates a flow from its source; `with_source`: the YAML route answers `FlowWithSource`, the
/// JSON one `Flow`.
async fn create_source(
    state: &Shared,
    source: String,
    draft: bool,
    with_source: bool,
) -> Result<Response, ApiError> {
    if source.trim().is_empty() {
        return Err(ApiError::illegal_argument(
            "Cannot create flow with null or blank source",
        ));
    }
    let checked = checked_source(state.version, &source, draft)?;
    match state
        .store
        .create_flow(new_revision(&checked, source, draft))
        .await?
    {
        Ok(f) => Ok(Json(f.to_json(state.version, with_source)).into_response()),
        Err(_) => Err(ApiError::constraint(vec![FieldError {
            message: "Flow id already exists".into(),
            path: Some("flow.id".into()),
        }])),
    }
}

/// `createFlowFromJson`: a JSON `Flow`; its `source` if it has one, else YAML generated from it
/// (`Flow.sourceOrGenerateIfNull`). Answers the `Flow`, without source.
async fn create_from_json(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let source = json_flow_source(&body)?;
    create_source(&state, source, false, false).await
}

/// `updateFlowFromJson`: as [`create_from_json`], for an existing flow.
async fn update_from_json(
    State(state): State<Shared>,
    Path((_tenant, namespace, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if state.store.flow(&namespace, &id, None, false).is_none() {
        return Err(ApiError::not_found_bare());
    }
    let source = json_flow_source(&body)?;
    update_source(&state, &namespace, &id, source, false, false).await
}

/// The YAML source of a JSON `Flow` body, as Kestra's deprecated JSON routes take it.
fn json_flow_source(body: &[u8]) -> Result<String, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            crate::errors::Problem::InvalidRequestBody,
            "Invalid route params",
            Some("Required Body [flow] not specified".into()),
        ));
    }
    let v: Value = super::mod_util::json_body(body)?;
    if let Some(src) = v.get("source").and_then(Value::as_str) {
        return Ok(src.to_string());
    }
    serde_saphyr::to_string(&v).map_err(|e| ApiError::internal(e.to_string()))
}

async fn update(
    State(state): State<Shared>,
    Path((_tenant, namespace, id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let draft = draft_param(state.version, &q)?;
    if state.store.flow(&namespace, &id, None, false).is_none() {
        return Err(ApiError::not_found_bare());
    }
    let source = body_text(&body)?;
    update_source(&state, &namespace, &id, source, draft, true).await
}

async fn update_source(
    state: &Shared,
    namespace: &str,
    id: &str,
    source: String,
    draft: bool,
    with_source: bool,
) -> Result<Response, ApiError> {
    let checked = checked_source(state.version, &source, draft)?;
    // `Flow.validateUpdate`: the id and namespace of a flow never change.
    let mut violations = Vec::new();
    if checked.id.as_deref() != Some(id) {
        violations.push(FieldError {
            message: "Illegal flow id update".into(),
            path: Some("flow.id".into()),
        });
    }
    if checked.namespace.as_deref() != Some(namespace) {
        violations.push(FieldError {
            message: "Illegal namespace update".into(),
            path: Some("flow.namespace".into()),
        });
    }
    if !violations.is_empty() {
        return Err(ApiError::constraint(violations));
    }
    match state
        .store
        .update_flow(new_revision(&checked, source, draft))
        .await?
    {
        Ok((f, _changed)) => Ok(Json(f.to_json(state.version, with_source)).into_response()),
        Err(FlowWriteError::NotFound | FlowWriteError::AlreadyExists) => {
            Err(ApiError::not_found_bare())
        }
    }
}

/// Kestra's split of a multi-flow body (`flows.split("---")` in Java): at every `---`, anywhere
/// in the text (inside a string too), trailing empty pieces dropped as Java's `split` drops them;
/// each piece trimmed.
fn java_split_flows(text: &str) -> Vec<String> {
    let mut pieces: Vec<&str> = text.split("---").collect();
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces.into_iter().map(|p| p.trim().to_string()).collect()
}

/// `FlowController.updateFlowsInNamespace`, the YAML overload (1.3.25 FlowController.java;
/// `FlowService.bulkUpdateOrCreate`): every flow of the body into `{namespace}`, then, with
/// `delete` (default true), the namespace's other flows deleted. A YAML error, a flow of another
/// namespace or a duplicate id fails the request (422) before anything is written; a flow
/// failing model validation fails it where it stands (deletions and earlier flows are kept, as
/// Kestra has no transaction there). The answer: the deleted flows as they were, then every flow
/// of the body, with source. `override` is not read by this overload (only the multipart one
/// reads it); the multipart overload is not emulated.
async fn update_namespace(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if media_type(&headers).is_some_and(|m| m.starts_with("multipart/")) {
        return Err(ApiError::internal(
            "the emulator does not implement the multipart overload of updateFlowsInNamespace",
        ));
    }
    let q = filters::parse_query(raw.as_deref());
    let delete = query_bool(&q, "delete", true)?;
    let text = body_text(&body)?;
    let v = state.version;

    // Parse every piece, then the namespace and duplicate checks: all before any write.
    let mut parsed = Vec::new();
    for piece in java_split_flows(&text) {
        let checked = validate::check(&piece, v);
        if checked.parse_error.is_some() || checked.id.is_none() || checked.namespace.is_none() {
            return Err(invalid(&checked));
        }
        parsed.push((piece, checked));
    }
    let mut violations = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (_, c) in &parsed {
        let (ns, id) = (
            c.namespace.clone().unwrap_or_default(),
            c.id.clone().unwrap_or_default(),
        );
        if ns != namespace {
            violations.push(FieldError {
                message: format!("main_{ns}_{id}_-1 - flow namespace is invalid"),
                path: Some("flow.namespace".into()),
            });
        }
        if !seen.insert(id) {
            violations.push(FieldError {
                message: "Duplicate flow id".into(),
                path: Some("flow.id".into()),
            });
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::constraint(violations));
    }

    let mut answer = Vec::new();
    if delete {
        let others: Vec<FlowRevision> = state
            .store
            .latest_flows()
            .into_iter()
            .filter(|f| f.namespace == namespace && !seen.contains(&f.id))
            .collect();
        for f in others {
            state
                .store
                .delete_flow(&f.namespace, &f.id, now_ms())
                .await?;
            answer.push(f.to_json(v, true));
        }
    }
    for (source, checked) in parsed {
        if !checked.violations.is_empty() {
            return Err(invalid(&checked));
        }
        let id = checked.id.clone().unwrap_or_default();
        let revision = new_revision(&checked, source, false);
        let written = if state.store.flow(&namespace, &id, None, false).is_some() {
            match state.store.update_flow(revision).await? {
                Ok((f, _changed)) => f,
                Err(_) => return Err(ApiError::not_found_bare()),
            }
        } else {
            match state.store.create_flow(revision).await? {
                Ok(f) => f,
                Err(_) => {
                    return Err(ApiError::constraint(vec![FieldError {
                        message: "Flow id already exists".into(),
                        path: Some("flow.id".into()),
                    }]));
                }
            }
        };
        answer.push(written.to_json(v, true));
    }
    Ok(Json(answer).into_response())
}

async fn get_flow(
    State(state): State<Shared>,
    Path((_tenant, namespace, id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let source = query_bool(&q, "source", false)?;
    let revision = query_i32(&q, "revision")?;
    let allow_deleted = query_bool(&q, "allowDeleted", false)?;
    match state.store.flow(&namespace, &id, revision, allow_deleted) {
        Some(f) => Ok(Json(f.to_json(state.version, source)).into_response()),
        None => Err(ApiError::not_found_bare()),
    }
}

async fn delete_flow(
    State(state): State<Shared>,
    Path((_tenant, namespace, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    match state.store.delete_flow(&namespace, &id, now_ms()).await? {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(ApiError::not_found_bare()),
    }
}

/// Latest revisions of the flows of exactly this namespace (children excluded).
async fn list_namespace(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
) -> Json<Vec<Value>> {
    Json(
        state
            .store
            .latest_flows()
            .into_iter()
            .filter(|f| f.namespace == namespace)
            .map(|f| f.to_json(state.version, false))
            .collect(),
    )
}

async fn revisions(
    State(state): State<Shared>,
    Path((_tenant, namespace, id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Value>>, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let allow = query_bool(&q, "allowDelete", false)?;
    Ok(Json(
        state
            .store
            .flow_revisions(&namespace, &id, allow)
            .iter()
            .map(|f| f.to_json(state.version, true))
            .collect(),
    ))
}

impl Record for FlowRevision {
    fn text(&self, field: Field) -> Option<String> {
        match field {
            Field::Namespace => Some(self.namespace.clone()),
            Field::FlowId => Some(self.id.clone()),
            _ => None,
        }
    }

    fn date(&self, _field: Field) -> Option<i64> {
        None
    }

    fn labels(&self) -> Vec<(String, String)> {
        FlowRevision::labels(self)
    }

    fn query_haystack(&self) -> Vec<String> {
        vec![self.id.clone(), self.namespace.clone()]
    }
}

/// Filters for flow search/export: `filters[...]` on both versions, plus 1.x flat params.
fn flow_filters(v: KestraVersion, q: &[(String, String)]) -> Result<filters::Compiled, ApiError> {
    let mut f = filters::parse_filters(q, Resource::Flow)?;
    if !v.is_v2() {
        let legacy = filters::legacy_filters(q, Resource::Flow)?;
        f.and.extend(legacy.and);
    }
    f.compiled()
}

async fn search(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let (page, size) = filters::parse_paging(&q, "searchFlows")?;
    let sort = filters::parse_sort(&q, &["id", "namespace", "revision"])?;
    let f = flow_filters(state.version, &q)?;
    let mut flows: Vec<FlowRevision> = state
        .store
        .latest_flows()
        .into_iter()
        .filter(|x| f.matches(x))
        .collect();
    if !sort.is_empty() {
        flows.sort_by(|a, b| {
            for k in &sort {
                let ord = match k.field.as_str() {
                    "id" => a.id.cmp(&b.id),
                    "namespace" => a.namespace.cmp(&b.namespace),
                    _ => a.revision.cmp(&b.revision),
                };
                let ord = if k.descending { ord.reverse() } else { ord };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let total = flows.len();
    let results: Vec<Value> = flows
        .into_iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .map(|x| x.to_json(state.version, false))
        .collect();
    Ok(Json(json!({"results": results, "total": total})).into_response())
}

async fn export_by_query(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let f = flow_filters(state.version, &q)?;
    let flows: Vec<FlowRevision> = state
        .store
        .latest_flows()
        .into_iter()
        .filter(|x| f.matches(x))
        .collect();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for fl in &flows {
            // `FlowController.exportFlowsByQuery` names entries `<namespace>-<id>.yml` (1.3.25
            // and 2.0; only the by-ids export uses `<namespace>.<id>.yaml`).
            let name = format!("{}-{}.yml", fl.namespace, fl.id);
            zip.start_file(name, opts)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            zip.write_all(fl.source.as_bytes())
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        zip.finish()
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    let mut resp = buf.into_inner().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"flows.zip\""),
    );
    Ok(resp)
}

/// One `ValidateConstraintViolation` per document, by index, as `FlowService.validate`.
async fn validate_flows(
    State(state): State<Shared>,
    head: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    // `FlowController.validateFlows`: multipart when the request says so, else the YAML body
    // (a request without Content-Type counts as JSON there, so as YAML).
    let multipart = media_type(&head.headers).as_deref() == Some("multipart/form-data");
    let docs: Vec<(Option<String>, String)> = if multipart {
        multipart_files(&head, body).await?
    } else {
        validate::split_documents(&body_text(&body)?)
            .into_iter()
            .map(|d| (None, d))
            .collect()
    };
    let mut out = Vec::new();
    for (index, (filename, source)) in docs.into_iter().enumerate() {
        out.push(validation_result(&state, index, filename, &source));
    }
    Ok(Json(out).into_response())
}

fn validation_result(
    state: &Shared,
    index: usize,
    filename: Option<String>,
    source: &str,
) -> Value {
    let v = state.version;
    let checked = validate::check(source, v);
    let mut m = Map::new();
    m.insert("index".into(), json!(index));
    if let Some(f) = filename {
        m.insert("filename".into(), json!(f));
    }
    if checked.parse_error.is_none() {
        if let Some(id) = &checked.id {
            m.insert("flow".into(), json!(id));
        }
        if let Some(ns) = &checked.namespace {
            m.insert("namespace".into(), json!(ns));
        }
        if let (Some(sent), Some(ns), Some(id)) =
            (checked.revision, &checked.namespace, &checked.id)
        {
            let last = state
                .store
                .flow_revisions(ns, id, true)
                .last()
                .map(|r| i64::from(r.revision))
                .unwrap_or(0);
            m.insert("outdated".into(), json!(sent != last + 1));
        }
        let mut deprecated = Vec::new();
        if let Some(b) = checked.body.as_object() {
            for k in ["taskDefaults", "listeners"] {
                if b.contains_key(k) {
                    deprecated.push(json!(k));
                }
            }
        }
        m.insert("deprecationPaths".into(), Value::Array(deprecated));
        m.insert("warnings".into(), json!(checked.warnings));
        m.insert("infos".into(), json!([]));
    }
    if let Some(c) = checked.constraints() {
        m.insert("constraints".into(), json!(c));
    }
    Value::Object(m)
}

/// The `flows` file parts of a multipart body, as (filename, trimmed text).
async fn multipart_files(
    head: &axum::http::request::Parts,
    body: Bytes,
) -> Result<Vec<(Option<String>, String)>, ApiError> {
    Ok(super::executions::parts(head, body)
        .await?
        .into_iter()
        .filter(|p| p.name == "flows")
        .map(|p| {
            (
                p.filename,
                String::from_utf8_lossy(&p.bytes).trim().to_string(),
            )
        })
        .collect())
}

#[derive(serde::Deserialize)]
pub struct DistinctQuery {
    q: Option<String>,
}

/// Namespaces holding at least one live flow, optionally filtered by substring.
async fn distinct_namespaces(
    State(state): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<DistinctQuery>,
) -> Json<Vec<String>> {
    let all = state.store.distinct_namespaces();
    Json(match q.q.filter(|s| !s.is_empty()) {
        Some(needle) => all.into_iter().filter(|n| n.contains(&needle)).collect(),
        None => all,
    })
}

/// `FlowService.injectDisabled` (1.3.25 `core/…/services/FlowService.java`): replace a top-level
/// `disabled:` line holding the other value, else append `\ndisabled: <value>` to the source.
fn inject_disabled(source: &str, disabled: bool) -> String {
    let other = if disabled { "false" } else { "true" };
    // Java's pattern under MULTILINE; its trailing `\s*` eats the line end and any blank lines
    // after it, and the replacement brings one newline back.
    let Ok(re) = regex::Regex::new(&format!(r"(?m)^disabled\s*:\s*{other}\s*")) else {
        return source.to_string();
    };
    if re.is_match(source) {
        re.replace_all(source, format!("disabled: {disabled}\n").as_str())
            .into_owned()
    } else {
        format!("{source}\ndisabled: {disabled}")
    }
}

/// `FlowController.setFlowsDisableByIds`: element by element (not atomic: an unknown flow is a
/// 404 "No value present" after the earlier ones were changed); flows already in the asked state
/// are left alone and not counted; each change is a new revision of the injected source.
async fn set_disabled_by_ids(
    state: &Shared,
    body: &[u8],
    disabled: bool,
) -> Result<Response, ApiError> {
    let ids: Vec<Value> = super::mod_util::json_body(body)?;
    let mut count = 0;
    for item in &ids {
        let ns = item
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(flow) = state.store.flow(ns, id, None, false) else {
            return Err(ApiError::not_found("No value present"));
        };
        if flow.disabled == disabled {
            continue;
        }
        let source = inject_disabled(&flow.source, disabled);
        update_source(state, ns, id, source, false, true).await?;
        count += 1;
    }
    Ok(Json(json!({ "count": count })).into_response())
}

async fn enable_by_ids(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    set_disabled_by_ids(&state, &body, false).await
}

async fn disable_by_ids(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    set_disabled_by_ids(&state, &body, true).await
}

#[cfg(test)]
mod inject_tests {
    use super::inject_disabled;

    #[test]
    fn injects_as_kestra_does() {
        assert_eq!(inject_disabled("id: a\n", true), "id: a\n\ndisabled: true");
        assert_eq!(
            inject_disabled("id: a\ndisabled: true\ntasks: []\n", false),
            "id: a\ndisabled: false\ntasks: []\n"
        );
        assert_eq!(
            inject_disabled("id: a\ndisabled:   false\n", true),
            "id: a\ndisabled: true\n"
        );
    }
}
