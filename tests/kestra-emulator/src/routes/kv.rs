//! The KV store (`KVController`, 1.3.25 `webserver/…/controllers/api/KVController.java`; the same
//! routes in the 2.0 spec): the paged list of keys, and one key's value read, written (the body
//! is `text/plain`, read as Ion) and deleted. Entries are kept as JSON documents in the store's
//! files, under `kv://{namespace}/{key}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::mod_util::body_text;
use crate::errors::ApiError;
use crate::filters::{self, Field, Record, Resource};
use crate::router::Declared;
use crate::server::Shared;
use crate::timefmt::{fmt_instant, now_ms, parse_duration};
use crate::version::KestraVersion;

pub fn routes(_v: KestraVersion) -> Vec<Declared> {
    vec![
        Declared::new(Method::GET, "/api/v1/{tenant}/kv", get(list_all)),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/namespaces/{namespace}/kv/{key}",
            get(get_value),
        ),
        Declared::new(
            Method::PUT,
            "/api/v1/{tenant}/namespaces/{namespace}/kv/{key}",
            axum::routing::put(set_value),
        ),
        Declared::new(
            Method::DELETE,
            "/api/v1/{tenant}/namespaces/{namespace}/kv/{key}",
            axum::routing::delete(delete_value),
        ),
    ]
}

fn uri(namespace: &str, key: &str) -> String {
    format!("kv://{namespace}/{key}")
}

/// `KVStore.validateKey`: an `IllegalArgumentException`, so a 422.
fn validate_key(key: &str) -> Result<(), ApiError> {
    let mut chars = key.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else if key.is_empty() {
        Err(ApiError::illegal_argument("Key cannot be null or empty"))
    } else {
        Err(ApiError::illegal_argument(
            "Key must start with an alphanumeric character (uppercase or lowercase) and can \
             contain alphanumeric characters (uppercase or lowercase), dots (.), underscores (_), \
             and hyphens (-) only.",
        ))
    }
}

/// A stored entry.
struct Entry {
    namespace: String,
    key: String,
    doc: Value,
}

impl Entry {
    fn ms(&self, field: &str) -> Option<i64> {
        self.doc.get(field).and_then(Value::as_i64)
    }

    fn expired(&self, now: i64) -> bool {
        self.ms("expirationDate").is_some_and(|e| e <= now)
    }

    /// `KVEntry`: 1.3 calls the revision `version`, 2.0 `revision`.
    fn to_json(&self, v: KestraVersion) -> Value {
        let revision_name = if v.is_v2() { "revision" } else { "version" };
        let mut out = json!({
            "namespace": self.namespace,
            "key": self.key,
            revision_name: self.doc.get("revision").cloned().unwrap_or(json!(1)),
            "creationDate": self.ms("creationDate").map(fmt_instant),
            "updateDate": self.ms("updateDate").map(fmt_instant),
            "expirationDate": self.ms("expirationDate").map(fmt_instant),
        });
        if let (Some(o), Some(d)) = (out.as_object_mut(), self.doc.get("description")) {
            o.insert("description".into(), d.clone());
        }
        out
    }
}

impl Record for Entry {
    fn text(&self, field: Field) -> Option<String> {
        match field {
            Field::Namespace => Some(self.namespace.clone()),
            _ => None,
        }
    }

    fn date(&self, _field: Field) -> Option<i64> {
        None
    }

    fn labels(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn query_haystack(&self) -> Vec<String> {
        vec![self.key.clone()]
    }
}

fn entries(state: &Shared) -> Vec<Entry> {
    state
        .store
        .files_under("kv://")
        .into_iter()
        .filter_map(|(uri, bytes)| {
            let rest = uri.strip_prefix("kv://")?;
            let (namespace, key) = rest.rsplit_once('/')?;
            Some(Entry {
                namespace: namespace.to_string(),
                key: key.to_string(),
                doc: serde_json::from_slice(&bytes).ok()?,
            })
        })
        .collect()
}

fn entry(state: &Shared, namespace: &str, key: &str) -> Option<Entry> {
    let bytes = state.store.file(&uri(namespace, key))?;
    Some(Entry {
        namespace: namespace.to_string(),
        key: key.to_string(),
        doc: serde_json::from_slice(&bytes).ok()?,
    })
}

/// `listAllKeys`: paged, filtered (`KV_METADATA`), expired keys left out.
async fn list_all(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let (page, size) = filters::parse_paging(&q, "listAllKeys")?;
    let sort = filters::parse_sort(&q, &["key", "namespace", "updateDate"])?;
    let f = filters::parse_filters(&q, Resource::KvMetadata)?.compiled()?;
    let now = now_ms();
    let mut found: Vec<Entry> = entries(&state)
        .into_iter()
        .filter(|e| !e.expired(now) && f.matches(e))
        .collect();
    found.sort_by(|a, b| {
        for k in &sort {
            let ord = match k.field.as_str() {
                "key" => a.key.cmp(&b.key),
                "namespace" => a.namespace.cmp(&b.namespace),
                _ => a.ms("updateDate").cmp(&b.ms("updateDate")),
            };
            let ord = if k.descending { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    let total = found.len();
    let results: Vec<Value> = found
        .iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .map(|e| e.to_json(state.version))
        .collect();
    Ok(Json(json!({"results": results, "total": total})).into_response())
}

/// `getKeyValue`: `KvDetail {type, value, revision, updated}`; an expired key is deleted and
/// answered 410 (`ResourceExpiredException`).
async fn get_value(
    State(state): State<Shared>,
    Path((_tenant, namespace, key)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    validate_key(&key)?;
    let missing = || {
        ApiError::not_found(format!(
            "No value found for key '{key}' in namespace '{namespace}'"
        ))
    };
    let e = entry(&state, &namespace, &key).ok_or_else(missing)?;
    if e.expired(now_ms()) {
        state
            .store
            .delete_file(&uri(&namespace, &key))
            .await
            .map_err(|err| ApiError::internal(err.to_string()))?;
        return Err(ApiError::gone("The requested value has expired"));
    }
    // `InternalKVStore.getValue` re-reads the stored value, and a string of `DURATION_PATTERN`
    // becomes a `Duration` there (one the pattern takes but `Duration.parse` refuses throws,
    // which nothing maps: a 500).
    let (stored_type, value) = match (e.doc.get("type"), e.doc.get("value")) {
        (Some(Value::String(t)), Some(Value::String(text))) if t == "STRING" => {
            match crate::ion::duration_of(text) {
                Some(Ok(d)) => (json!("DURATION"), Value::String(d)),
                Some(Err(why)) => return Err(ApiError::internal(why)),
                None => (json!("STRING"), Value::String(text.clone())),
            }
        }
        (t, v) => (
            t.cloned().unwrap_or(Value::Null),
            v.cloned().unwrap_or(Value::Null),
        ),
    };
    Ok(Json(json!({
        "type": stored_type,
        "value": value,
        "revision": e.doc.get("revision"),
        "updated": e.ms("updateDate").map(fmt_instant),
    }))
    .into_response())
}

/// `setKeyValue`: consumes `text/plain` only (the router refuses anything else with 415); the
/// `ttl` header is read by `Duration.parse`, whose failure is an unmapped exception (a 500).
async fn set_value(
    State(state): State<Shared>,
    Path((_tenant, namespace, key)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let ttl_ms = match header("ttl") {
        None => None,
        Some(t) => Some(parse_duration(&t).ok_or_else(|| {
            ApiError::internal(format!("Text cannot be parsed to a Duration: {t}"))
        })?),
    };
    validate_key(&key)?;
    let text = body_text(&body)?;
    // Read as Kestra's Ion mapper reads it, and kept as Kestra's Ion round trip leaves it
    // (`crate::ion`): the type stored is the one `GET` reports.
    let (kind, value) = crate::ion::kv_value(&text);
    let now = now_ms();
    let previous = entry(&state, &namespace, &key);
    let revision = previous
        .as_ref()
        .and_then(|p| p.doc.get("revision").and_then(Value::as_i64))
        .map_or(1, |r| r + 1);
    let created = previous
        .as_ref()
        .and_then(|p| p.ms("creationDate"))
        .unwrap_or(now);
    let mut doc = json!({
        "type": kind,
        "value": value,
        "revision": revision,
        "creationDate": created,
        "updateDate": now,
        "expirationDate": ttl_ms.map(|t| now + t),
    });
    if let (Some(o), Some(d)) = (doc.as_object_mut(), header("description")) {
        o.insert("description".into(), Value::String(d));
    }
    state
        .store
        .put_file(&uri(&namespace, &key), doc.to_string().into_bytes())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(().into_response())
}

/// `deleteKeyValue`: `true`, or `false` when there was no such key.
async fn delete_value(
    State(state): State<Shared>,
    Path((_tenant, namespace, key)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    validate_key(&key)?;
    let deleted = state
        .store
        .delete_file(&uri(&namespace, &key))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(json!(deleted)).into_response())
}
