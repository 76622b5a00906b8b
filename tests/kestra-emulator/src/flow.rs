//! Flows as Kestra stores them: the YAML source byte-for-byte plus the parsed model, one row per
//! revision. Rendering follows `FlowWithSource`/`Flow` JSON (labels as a `[{key,value}]` array,
//! `source` only when asked for, `draft`/`updated` only on 2.0).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::timefmt::fmt_instant;
use crate::version::KestraVersion;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlowRevision {
    pub namespace: String,
    pub id: String,
    pub revision: i32,
    /// Exactly as uploaded; a deleted revision keeps the source of the revision it deleted.
    pub source: String,
    pub deleted: bool,
    pub disabled: bool,
    pub draft: bool,
    pub updated_ms: i64,
    /// The source parsed to JSON (a mapping); kept to avoid reparsing on every listing.
    pub body: Value,
}

/// Parse a YAML document into a JSON value the way Kestra's strict YAML mapper reads it. Only
/// YAML 1.2 Core booleans are booleans: Jackson binds `id: off` to the text `off`, where a
/// YAML 1.1 reading would make it `false`.
pub fn parse_yaml(source: &str) -> Result<Value, String> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options::<Value>(source, options).map_err(|e| e.to_string())
}

/// `labels:` may be a map or a list of `{key, value}` in YAML; the API always answers a list.
pub fn labels_as_list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| json!({"key": k, "value": scalar_string(v)}))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                let o = i.as_object()?;
                Some(json!({
                    "key": o.get("key").map(scalar_string).unwrap_or_default(),
                    "value": o.get("value").map(scalar_string).unwrap_or_default(),
                }))
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Keys the API emits from the model in Kestra's field order; everything else follows as parsed.
const ORDERED: &[&str] = &[
    "description",
    "inputs",
    "outputs",
    "variables",
    "tasks",
    "errors",
    "finally",
    "afterExecution",
    "listeners",
    "triggers",
    "pluginDefaults",
    "taskDefaults",
    "concurrency",
    "retry",
    "sla",
    "checks",
];

impl FlowRevision {
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.id.clone())
    }

    /// `Flow` (without source) or `FlowWithSource` JSON.
    pub fn to_json(&self, version: KestraVersion, with_source: bool) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("namespace".into(), json!(self.namespace));
        out.insert("revision".into(), json!(self.revision));
        if version.is_v2() {
            out.insert("updated".into(), json!(fmt_instant(self.updated_ms)));
        }
        let body = self.body.as_object();
        if let Some(b) = body {
            for k in ORDERED {
                if let Some(v) = b.get(*k).filter(|v| !v.is_null()) {
                    out.insert((*k).to_string(), v.clone());
                }
            }
            if b.contains_key("labels") {
                out.insert(
                    "labels".into(),
                    Value::Array(labels_as_list(b.get("labels"))),
                );
            }
            for (k, v) in b {
                let reserved = matches!(
                    k.as_str(),
                    "id" | "namespace"
                        | "revision"
                        | "labels"
                        | "disabled"
                        | "deleted"
                        | "draft"
                        | "source"
                        | "tenantId"
                );
                if !reserved && !out.contains_key(k) && !v.is_null() {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out.insert("disabled".into(), json!(self.disabled));
        out.insert("deleted".into(), json!(self.deleted));
        if version.is_v2() {
            out.insert("draft".into(), json!(self.draft));
        }
        if with_source {
            out.insert("source".into(), json!(self.source));
        }
        Value::Object(out)
    }

    /// Label pairs of this revision, for search filters.
    pub fn labels(&self) -> Vec<(String, String)> {
        labels_as_list(self.body.get("labels"))
            .into_iter()
            .map(|l| {
                (
                    l.get("key").map(scalar_string).unwrap_or_default(),
                    l.get("value").map(scalar_string).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Everything but revision bookkeeping equal: Kestra's `equals(flow, source)` check that
    /// keeps an unchanged update from creating a revision.
    pub fn same_content(&self, source: &str) -> bool {
        self.source == source
    }
}
