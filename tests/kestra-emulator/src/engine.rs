//! Execution simulation: CREATED → RUNNING → one task run after another (spread over the
//! `execution_duration` knob) → a terminal state forced by the `execution_outcome` knob or derived
//! from the flow (a `…execution.Fail` task fails the execution; `…log.Log` tasks log their
//! message). The engine re-reads the stored execution between steps, so a kill (KILLING) or a
//! restart (RESTARTED) made by a route is honoured, and it can resume a half-run execution
//! (restart, or an emulator restart in Postgres mode).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::execution::{Execution, LogEntry, State, TaskRun};
use crate::flow::scalar_string;
use crate::ids::new_id;
use crate::knobs::Outcome;
use crate::server::Shared;
use crate::timefmt::now_ms;

/// Executions currently driven by an engine task.
#[derive(Default)]
pub struct Registry {
    active: Mutex<HashSet<String>>,
}

impl Registry {
    fn claim(&self, id: &str) -> bool {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_string())
    }

    fn release(&self, id: &str) {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }

    pub fn is_active(&self, id: &str) -> bool {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(id)
    }
}

/// One task of the plan, in execution order (children after their parent).
#[derive(Debug, Clone)]
pub struct PlannedTask {
    pub id: String,
    pub kind: String,
    pub parent: Option<String>,
    pub body: Map<String, Value>,
}

/// Flatten a flow's `tasks` (children included) in the order the simulation runs them.
pub fn plan(flow_body: &Value) -> Vec<PlannedTask> {
    let mut out = Vec::new();
    if let Some(Value::Array(tasks)) = flow_body.get("tasks") {
        walk(tasks, None, &mut out);
    }
    out
}

fn walk(tasks: &[Value], parent: Option<&str>, out: &mut Vec<PlannedTask>) {
    for t in tasks {
        // Dag items wrap the task.
        let t = match (t.get("task"), t.get("type")) {
            (Some(inner @ Value::Object(_)), None) => inner,
            _ => t,
        };
        let Some(obj) = t.as_object() else { continue };
        let id = obj.get("id").map(scalar_string).unwrap_or_default();
        out.push(PlannedTask {
            id: id.clone(),
            kind: obj.get("type").map(scalar_string).unwrap_or_default(),
            parent: parent.map(str::to_string),
            body: obj.clone(),
        });
        for key in ["tasks", "then"] {
            if let Some(Value::Array(children)) = obj.get(key) {
                walk(children, Some(&id), out);
            }
        }
    }
}

fn is_type(kind: &str, suffix: &str) -> bool {
    kind.ends_with(suffix)
}

/// Log lines a task emits when it runs.
fn task_logs(t: &PlannedTask) -> Vec<(String, String)> {
    let level = t
        .body
        .get("level")
        .map(scalar_string)
        .unwrap_or_else(|| "INFO".into())
        .to_ascii_uppercase();
    if is_type(&t.kind, ".log.Log") {
        match t.body.get("message") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|m| (level.clone(), scalar_string(m)))
                .collect(),
            Some(m) => vec![(level, scalar_string(m))],
            None => Vec::new(),
        }
    } else if is_type(&t.kind, ".debug.Echo") {
        t.body
            .get("format")
            .map(|m| vec![(level, scalar_string(m))])
            .unwrap_or_default()
    } else if is_type(&t.kind, ".execution.Fail") {
        let msg = t
            .body
            .get("errorMessage")
            .map(scalar_string)
            .unwrap_or_else(|| "Task failure".into());
        vec![("ERROR".into(), msg)]
    } else {
        Vec::new()
    }
}

fn task_outputs(t: &PlannedTask) -> Option<Map<String, Value>> {
    if is_type(&t.kind, ".debug.Return") {
        let mut m = Map::new();
        m.insert(
            "value".into(),
            json!(t.body.get("format").map(scalar_string).unwrap_or_default()),
        );
        Some(m)
    } else if is_type(&t.kind, ".output.OutputValues") {
        let mut m = Map::new();
        m.insert(
            "values".into(),
            t.body.get("values").cloned().unwrap_or(json!({})),
        );
        Some(m)
    } else {
        None
    }
}

/// Start driving an execution in the background (no-op if already driven).
pub fn spawn(state: Shared, execution_id: String, flow_body: Value) {
    if !state.engine.claim(&execution_id) {
        return;
    }
    tokio::spawn(async move {
        if let Err(e) = drive(&state, &execution_id, &flow_body).await {
            eprintln!("kestra-emulator: execution {execution_id} simulation failed: {e:#}");
        }
        state.engine.release(&execution_id);
    });
}

enum Step {
    Continue(Box<Execution>),
    Killed,
    Gone,
}

/// Re-read the execution; honour a kill request.
async fn reload(state: &Shared, id: &str) -> anyhow::Result<Step> {
    let Some(e) = state.store.execution(id) else {
        return Ok(Step::Gone);
    };
    if e.state.current == "KILLING" {
        let mut e = (*e).clone();
        let now = now_ms();
        for tr in e.task_runs.iter_mut().filter(|t| !t.state.is_terminal()) {
            tr.state.transition("KILLED", now);
            if let Some(a) = tr.attempts.last_mut()
                && !a.is_terminal()
            {
                a.transition("KILLED", now);
            }
        }
        e.state.transition("KILLED", now);
        state.store.put_execution(e).await?;
        return Ok(Step::Killed);
    }
    if e.state.is_terminal() {
        return Ok(Step::Gone);
    }
    Ok(Step::Continue(Box::new((*e).clone())))
}

/// Sleep in short slices so a kill is noticed promptly; while the execution is PAUSED (the pause
/// route), time stands still until it is resumed.
async fn pause(state: &Shared, id: &str, total: Duration) -> anyhow::Result<bool> {
    let slice = Duration::from_millis(25);
    let mut left = total;
    while !left.is_zero() {
        let d = left.min(slice);
        tokio::time::sleep(d).await;
        match state.store.execution(id) {
            Some(e) if e.state.current == "KILLING" => return Ok(false),
            Some(e) if e.state.current == "PAUSED" => {}
            _ => left -= d,
        }
    }
    Ok(true)
}

async fn drive(state: &Shared, id: &str, flow_body: &Value) -> anyhow::Result<()> {
    let plan = plan(flow_body);
    let forced = state.control.execution_outcome();
    let total = state.control.execution_duration();
    let n = u32::try_from(plan.len().max(1)).unwrap_or(u32::MAX);
    let per_task = total / n;

    // Let the trigger answer with CREATED before anything moves.
    tokio::task::yield_now().await;
    let mut e = match reload(state, id).await? {
        Step::Continue(e) => *e,
        _ => return Ok(()),
    };
    e.state.transition("RUNNING", now_ms());
    state.store.put_execution(e).await?;

    let last_index = plan.len().saturating_sub(1);
    let mut final_state = "SUCCESS".to_string();
    for (i, task) in plan.iter().enumerate() {
        let mut e = match reload(state, id).await? {
            Step::Continue(e) => *e,
            _ => return Ok(()),
        };
        let now = now_ms();
        // Resume: skip task runs already done; reuse a pending one (restart).
        let existing = e.task_runs.iter().position(|t| t.task_id == task.id);
        let idx = match existing {
            Some(ix)
                if matches!(
                    e.task_runs[ix].state.current.as_str(),
                    "SUCCESS" | "WARNING" | "SKIPPED"
                ) =>
            {
                if e.task_runs[ix].state.current == "WARNING" {
                    final_state = "WARNING".into();
                }
                continue;
            }
            Some(ix) => {
                let tr = &mut e.task_runs[ix];
                tr.state.transition("RUNNING", now);
                tr.attempts.push(State::new("RUNNING", now));
                ix
            }
            None => {
                let parent_run = task
                    .parent
                    .as_ref()
                    .and_then(|p| e.task_runs.iter().find(|t| &t.task_id == p))
                    .map(|t| t.id.clone());
                let mut st = State::new("CREATED", now);
                st.transition("RUNNING", now);
                e.task_runs.push(TaskRun {
                    id: new_id(),
                    task_id: task.id.clone(),
                    parent_task_run_id: parent_run,
                    value: None,
                    state: st,
                    attempts: vec![State::new("RUNNING", now)],
                    outputs: None,
                });
                e.task_runs.len() - 1
            }
        };
        let task_run_id = e.task_runs[idx].id.clone();
        let attempt = i32::try_from(e.task_runs[idx].attempts.len().saturating_sub(1)).unwrap_or(0);
        state.store.put_execution(e.clone()).await?;

        let fails_by_flow = is_type(&task.kind, ".execution.Fail");
        let outcome = match forced {
            Some(Outcome::Success) => "SUCCESS",
            Some(Outcome::Warning) if i == last_index => "WARNING",
            Some(Outcome::Failed) if i == last_index => "FAILED",
            Some(_) => "SUCCESS",
            None if fails_by_flow => "FAILED",
            None => "SUCCESS",
        };
        let mut lines = if forced.is_some() && fails_by_flow && outcome != "FAILED" {
            Vec::new()
        } else {
            task_logs(task)
        };
        if outcome == "FAILED" && !fails_by_flow {
            lines.push((
                "ERROR".into(),
                format!("Task '{}' failed (forced by the emulator)", task.id),
            ));
        }
        if !lines.is_empty() {
            let ts = now_ms();
            let logs = lines
                .into_iter()
                .map(|(level, message)| LogEntry {
                    namespace: e.namespace.clone(),
                    flow_id: e.flow_id.clone(),
                    task_id: Some(task.id.clone()),
                    execution_id: e.id.clone(),
                    task_run_id: Some(task_run_id.clone()),
                    attempt_number: Some(attempt),
                    timestamp_ms: ts,
                    level,
                    thread: format!("WorkerThread-{}", i % 8),
                    message,
                })
                .collect();
            state.store.append_logs(logs).await?;
        }

        if !pause(state, id, per_task).await? {
            let _ = reload(state, id).await?;
            return Ok(());
        }
        let mut e = match reload(state, id).await? {
            Step::Continue(e) => *e,
            _ => return Ok(()),
        };
        let now = now_ms();
        if let Some(tr) = e.task_runs.iter_mut().find(|t| t.id == task_run_id) {
            tr.state.transition(outcome, now);
            if let Some(a) = tr.attempts.last_mut() {
                a.transition(outcome, now);
            }
            if outcome != "FAILED" {
                tr.outputs = task_outputs(task);
            }
        }
        // `io.kestra.plugin.core.storage.Write`: its content becomes a file of the execution's
        // storage, its output `uri`.
        if outcome != "FAILED" && is_type(&task.kind, ".storage.Write") {
            let extension = task
                .body
                .get("extension")
                .map(scalar_string)
                .unwrap_or_else(|| ".ion".into());
            let uri = format!(
                "{}/tasks/{}/{}/{}{extension}",
                crate::routes::execution_controls::storage_prefix(&e),
                task.id,
                task_run_id,
                crate::ids::new_id()
            );
            let content = task
                .body
                .get("content")
                .map(scalar_string)
                .unwrap_or_default();
            state.store.put_file(&uri, content.into_bytes()).await?;
            if let Some(tr) = e.task_runs.iter_mut().find(|t| t.id == task_run_id) {
                let mut m = serde_json::Map::new();
                m.insert("uri".into(), json!(uri));
                tr.outputs = Some(m);
            }
        }
        if outcome == "FAILED" {
            return end(state, e, flow_body, "FAILED").await;
        }
        if outcome == "WARNING" {
            final_state = "WARNING".into();
        }
        state.store.put_execution(e).await?;
    }
    if !matches!(reload(state, id).await?, Step::Continue(_)) {
        return Ok(());
    }
    if plan.is_empty() && !per_task.is_zero() {
        let _ = pause(state, id, per_task).await?;
    }
    // A pause that came during the last task holds the end back until a resume.
    if !pause(state, id, Duration::from_millis(1)).await? {
        let _ = reload(state, id).await?;
        return Ok(());
    }
    let e = match reload(state, id).await? {
        Step::Continue(e) => *e,
        _ => return Ok(()),
    };
    end(state, e, flow_body, &final_state).await
}

/// `ExecutorService.onEnd` (1.3.25 `executor/…/ExecutorService.java` l.430-455): the final state,
/// then the flow's outputs rendered; one that cannot be rendered fails the execution, which then
/// has none (`crate::flow_outputs`).
async fn end(
    state: &Shared,
    mut e: Execution,
    flow_body: &Value,
    final_state: &str,
) -> anyhow::Result<()> {
    let mut final_state = final_state;
    match crate::flow_outputs::compute(flow_body, &e) {
        None => {}
        Some(Ok(outputs)) => e.outputs = Some(outputs),
        Some(Err(why)) => {
            e.outputs = None;
            final_state = "FAILED";
            // `runContext.logger().error("Failed to render output values: {}", …)`: a line of
            // the execution, outside any task.
            state
                .store
                .append_logs(vec![LogEntry {
                    namespace: e.namespace.clone(),
                    flow_id: e.flow_id.clone(),
                    task_id: None,
                    execution_id: e.id.clone(),
                    task_run_id: None,
                    attempt_number: None,
                    timestamp_ms: now_ms(),
                    level: "ERROR".into(),
                    thread: "ExecutorThread".into(),
                    message: format!("Failed to render output values: {why}"),
                }])
                .await?;
        }
    }
    e.state.transition(final_state, now_ms());
    state.store.put_execution(e).await?;
    Ok(())
}

/// Complete a kill for an execution no engine is driving (seeded, or orphaned by a restart).
pub fn finish_orphan_kill(state: Shared, id: String) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if !state.engine.is_active(&id) {
            let _ = reload(&state, &id).await;
        }
    });
}

/// Resume every unfinished execution after a start (Postgres mode keeps them across restarts).
pub fn resume_unfinished(state: &Shared) {
    let pending = state.store.executions_matching(&|e| !e.state.is_terminal());
    for e in pending {
        let body = state
            .store
            .flow(&e.namespace, &e.flow_id, Some(e.flow_revision), true)
            .map(|f| f.body)
            .unwrap_or(Value::Null);
        spawn(state.clone(), e.id.clone(), body);
    }
}

pub type EngineRef = Arc<Registry>;
