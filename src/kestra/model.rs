//! Serde types for Kestra's JSON. Tolerant on purpose: every field is optional and unknown fields
//! are ignored, because Kestra adds fields between versions and omits nulls.

use serde::Deserialize;

use super::state::ExecutionState;

/// `GET /api/v1/configs` (`MiscController.Configuration`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    pub version: Option<String>,
    pub edition: Option<String>,
    pub is_basic_auth_initialized: Option<bool>,
    /// Whether the Basic Auth credential comes from the config file (re-applied at every start,
    /// so the API cannot change it). Only newer servers report it.
    pub is_basic_auth_managed_by_config: Option<bool>,
}

/// `GET /api/v1/configs/login` (2.0, public).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginConfiguration {
    pub is_basic_auth_initialized: Option<bool>,
}

/// A flow as listed or returned by create/update (`Flow` / `FlowWithSource`), reduced to what
/// kestractl shows. `source` is only present when asked for.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    pub id: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// 2.0 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// One element of `POST /flows/validate`: one per YAML document, in body order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateResult {
    pub index: Option<usize>,
    /// The part's file name, when the documents were sent as multipart `flows` files.
    #[serde(default)]
    pub filename: Option<String>,
    /// Set (non-empty) when the document is invalid.
    pub constraints: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub infos: Vec<String>,
    #[serde(default)]
    pub deprecation_paths: Vec<String>,
}

/// Kestra's paged envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct Paged<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub total: Option<i64>,
}

/// Labels arrive as a list of `{key, value}` (what the server sends) or, from older or hand-made
/// payloads, as a map; both read into pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Labels(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Pair {
            key: String,
            #[serde(default)]
            value: serde_json::Value,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            List(Vec<Pair>),
            Map(std::collections::BTreeMap<String, serde_json::Value>),
            Null(()),
        }
        let text = |v: serde_json::Value| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        Ok(Labels(match Raw::deserialize(d)? {
            Raw::List(l) => l.into_iter().map(|p| (p.key, text(p.value))).collect(),
            Raw::Map(m) => m.into_iter().map(|(k, v)| (k, text(v))).collect(),
            Raw::Null(()) => Vec::new(),
        }))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateHistory {
    pub state: ExecutionState,
    pub date: Option<String>,
}

/// An execution's or task run's state. `duration` is an ISO-8601 string on the wire (`PT2.5S`),
/// but documentation examples show seconds as a number: both are read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    #[serde(default)]
    pub current: ExecutionState,
    #[serde(default)]
    pub histories: Vec<StateHistory>,
    pub start_date: Option<String>,
    pub duration: Option<serde_json::Value>,
}

impl State {
    /// The duration in seconds, when it can be read.
    pub fn duration_secs(&self) -> Option<f64> {
        match self.duration.as_ref()? {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => parse_iso_duration(s),
            _ => None,
        }
    }
}

/// ISO-8601 durations as Java prints them: `PT0.5S`, `PT1M2.003S`, `P1DT2H`, `-PT1S`.
pub fn parse_iso_duration(text: &str) -> Option<f64> {
    let (negative, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let t = t.strip_prefix('P')?;
    let (date, time) = match t.split_once('T') {
        Some((d, tm)) => (d, tm),
        None => (t, ""),
    };
    let mut total = 0.0;
    let mut read = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                number.push(c);
            } else {
                let factor = units.iter().find(|(u, _)| *u == c)?.1;
                total += number.parse::<f64>().ok()? * factor;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    read(date, &[('D', 86_400.0), ('W', 604_800.0)])?;
    read(time, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    Some(if negative { -total } else { total })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRun {
    pub id: String,
    pub task_id: String,
    pub value: Option<String>,
    #[serde(default)]
    pub state: State,
    pub outputs: Option<serde_json::Value>,
}

/// An execution (1.x `Execution`, 2.0 `ApiExecution` / `ApiLightExecution`); list items of 2.0
/// carry no task runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub id: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub flow_id: String,
    pub flow_revision: Option<i64>,
    #[serde(default)]
    pub state: State,
    #[serde(default)]
    pub labels: Labels,
    pub inputs: Option<serde_json::Value>,
    pub outputs: Option<serde_json::Value>,
    #[serde(default)]
    pub task_run_list: Option<Vec<TaskRun>>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub timestamp: Option<String>,
    pub level: Option<String>,
    pub task_id: Option<String>,
    pub task_run_id: Option<String>,
    pub execution_id: Option<String>,
    pub message: Option<String>,
}
