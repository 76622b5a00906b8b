//! Deterministic seed executions (`seed_executions` knob): spread over namespaces, flows,
//! terminal states, the last 30 days and a few labels, so listing, filtering and paging can be
//! exercised at scale (100,000 in well under a second in memory).

use std::sync::Arc;

use anyhow::Result;

use crate::execution::{Execution, State, TaskRun};
use crate::ids::seeded_id;
use crate::server::AppState;
use crate::timefmt::now_ms;

pub const NAMESPACES: &[&str] = &[
    "company.team",
    "company.data",
    "company.ops",
    "acme.sales",
    "acme.sales.eu",
];
pub const FLOWS: &[&str] = &["etl", "report", "sync", "cleanup", "notify"];
/// Mostly successes, as on a real instance.
const STATES: &[&str] = &[
    "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "WARNING",
    "KILLED", "SUCCESS",
];
const TEAMS: &[&str] = &["data", "ops", "finance"];
const ENVS: &[&str] = &["prod", "dev"];
const THIRTY_DAYS_MS: i64 = 30 * 24 * 3_600_000;

/// The `i`-th seed execution, anchored at `anchor_ms` (newest first).
pub fn seed_execution(i: u64, n: u64, anchor_ms: i64) -> Execution {
    let idx = usize::try_from(i).unwrap_or(0);
    let ns = NAMESPACES[idx % NAMESPACES.len()];
    let flow = FLOWS[(idx / NAMESPACES.len()) % FLOWS.len()];
    let state = STATES[(idx * 7 + 3) % STATES.len()];
    let spacing = THIRTY_DAYS_MS / i64::try_from(n.max(1)).unwrap_or(1);
    let start = anchor_ms - i64::try_from(i).unwrap_or(0) * spacing.max(1) - 1000;
    let duration = 1_000 + i64::try_from((i * 7919) % 120_000).unwrap_or(0);
    let end = start + duration;
    let id = seeded_id(i);
    let mut st = State::new("CREATED", start);
    st.transition("RUNNING", start + 10);
    st.transition(state, end);
    let mut tr_state = State::new("CREATED", start + 20);
    tr_state.transition("RUNNING", start + 20);
    let tr_end = if state == "SUCCESS" { "SUCCESS" } else { state };
    tr_state.transition(tr_end, end - 5);
    let mut attempt = State::new("RUNNING", start + 20);
    attempt.transition(tr_end, end - 5);
    Execution {
        id: id.clone(),
        namespace: ns.to_string(),
        flow_id: flow.to_string(),
        flow_revision: 1,
        labels: vec![
            ("team".into(), TEAMS[idx % TEAMS.len()].into()),
            ("env".into(), ENVS[(idx / 3) % ENVS.len()].into()),
        ],
        inputs: serde_json::Map::new(),
        outputs: None,
        state: st,
        task_runs: vec![TaskRun {
            id: seeded_id(i + 1_000_000_000),
            task_id: "main".into(),
            parent_task_run_id: None,
            value: None,
            state: tr_state,
            attempts: vec![attempt],
            outputs: None,
        }],
        original_id: id,
        parent_id: None,
        trigger: None,
        attempt_number: 1,
        created_ms: start,
        schedule_date_ms: None,
        kind: None,
        deleted: false,
    }
}

/// Add the seeds unless a previous run (Postgres mode) already stored them.
pub async fn seed(state: &Arc<AppState>, n: u32) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let n = u64::from(n);
    if state.store.execution(&seeded_id(0)).is_some() {
        return Ok(());
    }
    // Anchor on the minute so a given run's data is stable while it lasts.
    let anchor = now_ms() / 60_000 * 60_000;
    const BATCH: u64 = 5_000;
    let mut i = 0;
    while i < n {
        let end = (i + BATCH).min(n);
        let batch: Vec<Execution> = (i..end).map(|k| seed_execution(k, n, anchor)).collect();
        state.store.put_executions_quiet(batch).await?;
        i = end;
    }
    Ok(())
}
