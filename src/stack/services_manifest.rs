//! The ops repository's `config/services-manifest.json` entry for this stack (id
//! `kestra-orchestrator`, stack `tools`), and its merge into an existing manifest. Pure.
//!
//! A merge changes that one entry and nothing else: the other entries (and the other keys of an
//! object that holds the list) are copied as the text they were, so a reviewer's diff shows only
//! Kestra's entry. Parsing keeps each value as raw text (`RawValue`) for that reason.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::settings::stack::StackSettings;

pub const SERVICE_ID: &str = "kestra-orchestrator";

/// The entry, as the ops repository's launcher and scripts read it.
pub fn entry(stack: &StackSettings) -> Value {
    let http = stack.http_port.value;
    let management = stack.management_port.value;
    json!({
        "id": SERVICE_ID,
        "name": "Kestra",
        "description": "Workflow orchestrator (Kestra server standalone) with its own Postgres, run by kestractl",
        "stack": "tools",
        "managed": true,
        "start": "kestractl start",
        "stop": "kestractl stop",
        "status": "kestractl status --probe",
        "logs": "kestractl logs",
        "healthUrl": format!("{}/health", stack.management_url()),
        "uiUrl": stack.local_url(),
        "managementUrl": stack.management_url(),
        "ports": { "http": http, "management": management },
        "containers": [stack.kestra_container.value.clone(), stack.postgres_container.clone()],
    })
}

/// What a merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Merged {
    Added,
    Updated,
    Unchanged,
}

/// Why a manifest cannot take the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// Not JSON: serde's words, which name the line and column.
    Invalid(String),
    /// JSON, but neither a list of services nor an object holding one.
    NoList,
}

/// An object's members in their order, each value as its text.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(pair) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(pair);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// `text` indented by `by` spaces on every line but the first.
fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Puts `entry` into the list `items` (raw entries), at the place of the entry with its id or at
/// the end. Returns the list's new text at `depth` (spaces before the list's own line) and what
/// was done; `None` text when nothing changed.
fn merge_list(items: &[Box<RawValue>], entry: &Value, depth: usize) -> (Option<String>, Merged) {
    let id = entry.get("id");
    let found = items
        .iter()
        .position(|raw| serde_json::from_str::<Value>(raw.get()).is_ok_and(|v| v.get("id") == id));
    if let Some(i) = found
        && serde_json::from_str::<Value>(items[i].get()).is_ok_and(|v| v == *entry)
    {
        return (None, Merged::Unchanged);
    }
    let inner = depth + 2;
    let new = indent(&pretty(entry), inner);
    let mut texts: Vec<String> = items.iter().map(|raw| raw.get().to_string()).collect();
    let merged = match found {
        Some(i) => {
            texts[i] = new;
            Merged::Updated
        }
        None => {
            texts.push(new);
            Merged::Added
        }
    };
    let pad = " ".repeat(inner);
    let close = " ".repeat(depth);
    (
        Some(format!(
            "[\n{pad}{}\n{close}]",
            texts.join(&format!(",\n{pad}"))
        )),
        merged,
    )
}

/// Inserts or updates `entry` in the manifest `text`: a list of services, or an object holding
/// one (under `services`, else its first list of objects). The result ends with a newline; the
/// other entries keep their text.
pub fn merge(text: &str, entry: &Value) -> Result<(String, Merged), MergeError> {
    let parsed: Value =
        serde_json::from_str(text).map_err(|e| MergeError::Invalid(e.to_string()))?;
    match &parsed {
        Value::Array(_) => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_str(text).map_err(|e| MergeError::Invalid(e.to_string()))?;
            match merge_list(&items, entry, 0) {
                (None, m) => Ok((text.to_string(), m)),
                (Some(list), m) => Ok((format!("{list}\n"), m)),
            }
        }
        Value::Object(map) => {
            let holds_services =
                |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_object));
            let key = if map.get("services").is_some_and(holds_services) {
                "services".to_string()
            } else {
                let Members(members) =
                    serde_json::from_str(text).map_err(|e| MergeError::Invalid(e.to_string()))?;
                members
                    .iter()
                    .find(|(k, _)| {
                        map.get(k)
                            .is_some_and(|v| v.is_array() && holds_services(v))
                    })
                    .map(|(k, _)| k.clone())
                    .ok_or(MergeError::NoList)?
            };
            let Members(members) =
                serde_json::from_str(text).map_err(|e| MergeError::Invalid(e.to_string()))?;
            let mut merged = Merged::Unchanged;
            let mut texts = Vec::new();
            for (k, raw) in &members {
                let value = if *k == key {
                    let items: Vec<Box<RawValue>> = serde_json::from_str(raw.get())
                        .map_err(|e| MergeError::Invalid(e.to_string()))?;
                    match merge_list(&items, entry, 2) {
                        (None, m) => {
                            merged = m;
                            raw.get().to_string()
                        }
                        (Some(list), m) => {
                            merged = m;
                            list
                        }
                    }
                } else {
                    raw.get().to_string()
                };
                let name = serde_json::to_string(k).unwrap_or_default();
                texts.push(format!("{name}: {value}"));
            }
            if merged == Merged::Unchanged {
                return Ok((text.to_string(), merged));
            }
            Ok((format!("{{\n  {}\n}}\n", texts.join(",\n  ")), merged))
        }
        _ => Err(MergeError::NoList),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kestra(port: u16) -> Value {
        json!({"id": SERVICE_ID, "stack": "tools", "ports": {"http": port}})
    }

    const OTHERS: &str = "[\n  {\n    \"id\": \"grafana\",\n    \"zeta\": 1,\n    \"alpha\": [1, 2]\n  },\n  {\"id\": \"minio\", \"stack\": \"tools\"}\n]\n";

    #[test]
    fn a_list_gets_the_entry_and_keeps_the_others_as_they_were() {
        let (text, m) = merge(OTHERS, &kestra(8080)).unwrap();
        assert_eq!(m, Merged::Added);
        assert!(text.starts_with(
            "[\n  {\n    \"id\": \"grafana\",\n    \"zeta\": 1,\n    \"alpha\": [1, 2]\n  },\n  {\"id\": \"minio\", \"stack\": \"tools\"},\n  {\n    \"id\": \"kestra-orchestrator\""
        ), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[2], kestra(8080));
        // Again: nothing changes, byte for byte.
        let (again, m) = merge(&text, &kestra(8080)).unwrap();
        assert_eq!((again.as_str(), m), (text.as_str(), Merged::Unchanged));
        // A changed port updates the entry in place.
        let (updated, m) = merge(&text, &kestra(9090)).unwrap();
        assert_eq!(m, Merged::Updated);
        let v: Value = serde_json::from_str(&updated).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 3);
        assert_eq!(v[2], kestra(9090));
        assert!(updated.contains("\"zeta\": 1,\n    \"alpha\": [1, 2]"));
    }

    #[test]
    fn an_object_holding_the_list_keeps_its_other_keys() {
        let text = "{\n  \"version\": 2,\n  \"services\": [\n    {\"id\": \"minio\"}\n  ],\n  \"z\": {\"b\": 1, \"a\": 2}\n}\n";
        let (out, m) = merge(text, &kestra(8080)).unwrap();
        assert_eq!(m, Merged::Added);
        assert!(out.starts_with("{\n  \"version\": 2,\n  \"services\": [\n    {\"id\": \"minio\"},\n    {\n      \"id\": \"kestra-orchestrator\""), "{out}");
        assert!(out.ends_with("  \"z\": {\"b\": 1, \"a\": 2}\n}\n"), "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["services"][1], kestra(8080));
        let other = "{\"apps\": [{\"id\": \"a\"}], \"n\": 1}";
        let (out, _) = merge(other, &kestra(1)).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["apps"][1], kestra(1));
        assert_eq!(v["n"], 1);
    }

    #[test]
    fn what_is_not_a_manifest_is_refused() {
        match merge("[\n  {\"id\": \"a\",}\n]", &kestra(1)) {
            Err(MergeError::Invalid(e)) => assert!(e.contains("line 2 column"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(merge("{\"n\": 1}", &kestra(1)), Err(MergeError::NoList));
        assert_eq!(merge("3", &kestra(1)), Err(MergeError::NoList));
    }
}
