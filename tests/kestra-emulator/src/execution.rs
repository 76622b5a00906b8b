//! Executions, task runs, states and log entries, with their version-specific JSON shapes:
//! 1.3 `Execution` everywhere; 2.0 `ApiExecution` (get), `ApiLightExecution` (lists) and the full
//! `Execution` for trigger/kill/restart answers, as the OpenAPI schemas say.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::timefmt::{fmt_duration, fmt_instant};
use crate::version::KestraVersion;

pub const TERMINAL: &[&str] = &[
    "SUCCESS",
    "WARNING",
    "FAILED",
    "KILLED",
    "CANCELLED",
    "RETRIED",
    "SKIPPED",
];

/// `State.Type` (2.0 spelling; 1.3 has the same values).
pub const ALL_STATES: &[&str] = &[
    "CREATED",
    "SUBMITTED",
    "RUNNING",
    "PAUSED",
    "RESTARTED",
    "KILLING",
    "SUCCESS",
    "WARNING",
    "FAILED",
    "KILLED",
    "CANCELLED",
    "QUEUED",
    "RETRYING",
    "RETRIED",
    "SKIPPED",
    "BREAKPOINT",
    "RESUBMITTED",
];

pub fn is_terminal(state: &str) -> bool {
    TERMINAL.contains(&state)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct History {
    pub state: String,
    pub date_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub current: String,
    pub histories: Vec<History>,
}

impl State {
    pub fn new(state: &str, at_ms: i64) -> Self {
        State {
            current: state.to_string(),
            histories: vec![History {
                state: state.to_string(),
                date_ms: at_ms,
            }],
        }
    }

    pub fn transition(&mut self, state: &str, at_ms: i64) {
        self.current = state.to_string();
        self.histories.push(History {
            state: state.to_string(),
            date_ms: at_ms,
        });
    }

    pub fn start_ms(&self) -> i64 {
        self.histories.first().map(|h| h.date_ms).unwrap_or(0)
    }

    /// Present once terminated (or paused), as `State.getEndDate()`.
    pub fn end_ms(&self) -> Option<i64> {
        if is_terminal(&self.current) || self.current == "PAUSED" {
            self.histories.last().map(|h| h.date_ms)
        } else {
            None
        }
    }

    /// `State.getDuration()`: up to the end date, or up to now while running.
    pub fn duration_ms(&self, now_ms: i64) -> i64 {
        self.end_ms().unwrap_or(now_ms) - self.start_ms()
    }

    pub fn is_terminal(&self) -> bool {
        is_terminal(&self.current)
    }

    pub fn to_json(&self, now_ms: i64) -> Value {
        let mut m = Map::new();
        m.insert("current".into(), json!(self.current));
        m.insert(
            "histories".into(),
            Value::Array(
                self.histories
                    .iter()
                    .map(|h| json!({"state": h.state, "date": fmt_instant(h.date_ms)}))
                    .collect(),
            ),
        );
        m.insert(
            "duration".into(),
            json!(fmt_duration(self.duration_ms(now_ms))),
        );
        m.insert("startDate".into(), json!(fmt_instant(self.start_ms())));
        if let Some(end) = self.end_ms() {
            m.insert("endDate".into(), json!(fmt_instant(end)));
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRun {
    pub id: String,
    pub task_id: String,
    pub parent_task_run_id: Option<String>,
    pub value: Option<String>,
    pub state: State,
    /// One state per attempt.
    pub attempts: Vec<State>,
    pub outputs: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Execution {
    pub id: String,
    pub namespace: String,
    pub flow_id: String,
    pub flow_revision: i32,
    pub labels: Vec<(String, String)>,
    pub inputs: Map<String, Value>,
    pub outputs: Option<Map<String, Value>>,
    pub state: State,
    pub task_runs: Vec<TaskRun>,
    pub original_id: String,
    pub parent_id: Option<String>,
    pub trigger: Option<Value>,
    pub attempt_number: i32,
    pub created_ms: i64,
    pub schedule_date_ms: Option<i64>,
    pub kind: Option<String>,
    pub deleted: bool,
}

/// Which schema an execution is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// 1.3 `Execution` / 2.0 `Execution` (trigger, kill, restart answers, follow events).
    Full,
    /// 2.0 `ApiExecution` (GET by id).
    Api,
    /// 2.0 `ApiLightExecution` (search and list items).
    Light,
}

impl Execution {
    pub fn start_ms(&self) -> i64 {
        self.state.start_ms()
    }

    pub fn to_json(&self, version: KestraVersion, shape: Shape, now_ms: i64) -> Value {
        // 1.3 has a single Execution schema for everything.
        let shape = if version.is_v2() { shape } else { Shape::Full };
        let mut m = Map::new();
        m.insert("tenantId".into(), json!("main"));
        m.insert("id".into(), json!(self.id));
        m.insert("namespace".into(), json!(self.namespace));
        m.insert("flowId".into(), json!(self.flow_id));
        m.insert("flowRevision".into(), json!(self.flow_revision));
        if shape != Shape::Light {
            let runs: Vec<Value> = self
                .task_runs
                .iter()
                .map(|t| self.task_run_json(t, shape, !version.is_v2(), now_ms))
                .collect();
            if !runs.is_empty() || !version.is_v2() {
                m.insert("taskRunList".into(), Value::Array(runs));
            }
        }
        m.insert("inputs".into(), Value::Object(self.inputs.clone()));
        if !version.is_v2() {
            // 1.3: the flow's outputs, set when the execution ends (`ExecutorService.onEnd`).
            if let Some(o) = &self.outputs {
                m.insert("outputs".into(), Value::Object(o.clone()));
            }
        } else if shape == Shape::Light {
            // ApiLightExecution lists outputs among its properties; Kestra sends an empty map.
            // 2.0 keeps the flow's outputs apart (`ExecutionOutputService`): no shape carries
            // them (kestrapy 2.0.3's `ApiExecution` has no `outputs`); they are served by
            // `GET …/outputs/executions/{executionId}`.
            m.insert("outputs".into(), json!({}));
        }
        m.insert(
            "labels".into(),
            Value::Array(
                self.labels
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect(),
            ),
        );
        m.insert("state".into(), self.state.to_json(now_ms));
        if let Some(p) = &self.parent_id {
            m.insert("parentId".into(), json!(p));
        }
        m.insert("originalId".into(), json!(self.original_id));
        if let Some(t) = &self.trigger {
            m.insert("trigger".into(), t.clone());
        }
        if shape != Shape::Light {
            m.insert(
                "metadata".into(),
                json!({"attemptNumber": self.attempt_number, "originalCreatedDate": fmt_instant(self.created_ms)}),
            );
        }
        if let Some(s) = self.schedule_date_ms {
            m.insert("scheduleDate".into(), json!(fmt_instant(s)));
        }
        if let Some(k) = &self.kind {
            m.insert("kind".into(), json!(k));
        }
        if shape == Shape::Full {
            m.insert("deleted".into(), json!(self.deleted));
        }
        Value::Object(m)
    }

    fn task_run_json(&self, t: &TaskRun, shape: Shape, with_outputs: bool, now_ms: i64) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(t.id));
        if shape == Shape::Full {
            m.insert("tenantId".into(), json!("main"));
            m.insert("executionId".into(), json!(self.id));
            m.insert("namespace".into(), json!(self.namespace));
            m.insert("flowId".into(), json!(self.flow_id));
        }
        m.insert("taskId".into(), json!(t.task_id));
        if let Some(p) = &t.parent_task_run_id {
            m.insert("parentTaskRunId".into(), json!(p));
        }
        if let Some(v) = &t.value {
            m.insert("value".into(), json!(v));
        }
        m.insert(
            "attempts".into(),
            Value::Array(
                t.attempts
                    .iter()
                    .map(|a| json!({"state": a.to_json(now_ms)}))
                    .collect(),
            ),
        );
        // 2.0 moved task outputs out of the execution (`ApiTaskRun` and kestrapy 2.0.3's
        // `api_task_run.py` have no `outputs`): `GET …/outputs/tasks/{executionId}[/{taskRunId}]`
        // serve them. 1.3 inlines them (`TaskRun.outputs`).
        if let (true, Some(o)) = (with_outputs, &t.outputs) {
            m.insert("outputs".into(), Value::Object(o.clone()));
        }
        m.insert("state".into(), t.state.to_json(now_ms));
        Value::Object(m)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogEntry {
    pub namespace: String,
    pub flow_id: String,
    pub task_id: Option<String>,
    pub execution_id: String,
    pub task_run_id: Option<String>,
    pub attempt_number: Option<i32>,
    pub timestamp_ms: i64,
    pub level: String,
    pub thread: String,
    pub message: String,
}

pub const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

pub fn level_rank(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(0)
}

impl LogEntry {
    pub fn to_json(&self, with_tenant: bool) -> Value {
        let mut m = Map::new();
        if with_tenant {
            m.insert("tenantId".into(), json!("main"));
        }
        m.insert("namespace".into(), json!(self.namespace));
        m.insert("flowId".into(), json!(self.flow_id));
        if let Some(t) = &self.task_id {
            m.insert("taskId".into(), json!(t));
        }
        m.insert("executionId".into(), json!(self.execution_id));
        if let Some(t) = &self.task_run_id {
            m.insert("taskRunId".into(), json!(t));
        }
        if let Some(a) = self.attempt_number {
            m.insert("attemptNumber".into(), json!(a));
        }
        m.insert("timestamp".into(), json!(fmt_instant(self.timestamp_ms)));
        m.insert("level".into(), json!(self.level));
        m.insert("thread".into(), json!(self.thread));
        m.insert("message".into(), json!(self.message));
        m.insert("executionKind".into(), json!("NORMAL"));
        Value::Object(m)
    }
}
