//! Applies a plan: creates and updates run concurrently (bounded), then deletions. Each flow's
//! result is kept in plan order; a failure does not hide the others, and `--fail-fast` stops
//! sending new writes after the first failure. When the server cannot be reached at all, the
//! remaining writes are not attempted: each would only wait for its own timeout.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures_util::StreamExt;
use futures_util::stream;

use super::LocalFlow;
use super::plan::{Action, PlanItem};
use crate::error::{Error, Kind};
use crate::kestra::KestraClient;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to write.
    Unchanged,
    /// Written; the revision the server answered with (deletions have none).
    Done {
        revision: Option<i64>,
    },
    Failed {
        error: String,
    },
    /// Not attempted: an earlier write failed and `--fail-fast` was given, or the server stopped
    /// answering (every further write would only wait for its own timeout).
    Skipped,
}

/// The one-line reason of an API failure, without the `error:` prefix.
fn reason(e: crate::kestra::ApiError) -> String {
    let err = Error::from(e);
    match err.hint() {
        Some(h) if matches!(err.kind(), Kind::Auth | Kind::Unreachable | Kind::Server) => {
            format!("{err} ({h})")
        }
        _ => err.to_string(),
    }
}

/// Whether an error means the server itself is gone (not this flow's problem).
fn server_gone(e: &crate::kestra::ApiError) -> bool {
    matches!(e, crate::kestra::ApiError::Transport { .. })
}

async fn write_one(
    client: &KestraClient,
    item: &PlanItem,
    flow: Option<&LocalFlow>,
) -> (Outcome, bool) {
    let result = match (item.action, flow) {
        (Action::Create, Some(f)) => client
            .create_flow(&f.namespace, &f.id, &f.source)
            .await
            .map(|r| r.revision),
        (Action::Update, Some(f)) => client
            .update_flow(&f.namespace, &f.id, &f.source)
            .await
            .map(|r| r.revision),
        // Already gone (deleted meanwhile, or by an earlier attempt whose answer was lost) is
        // what a deletion wants.
        (Action::Delete, _) => match client.delete_flow(&item.namespace, &item.id).await {
            Err(e) if e.status() == Some(404) => Ok(None),
            other => other.map(|()| None),
        },
        _ => return (Outcome::Unchanged, false),
    };
    match result {
        Ok(revision) => (Outcome::Done { revision }, false),
        Err(e) => {
            let gone = server_gone(&e);
            (Outcome::Failed { error: reason(e) }, gone)
        }
    }
}

/// Runs the plan's writes. `progress(done, total)` is called after each write.
pub async fn apply(
    client: &KestraClient,
    local: &[LocalFlow],
    plan: &[PlanItem],
    concurrency: usize,
    fail_fast: bool,
    progress: &dyn Fn(usize, usize),
) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Unchanged; plan.len()];
    let total = plan.iter().filter(|i| i.action.is_write()).count();
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let gone = AtomicBool::new(false);
    // Creates and updates first, deletions after: a renamed flow exists under its new name before
    // the old one goes.
    for phase in [
        [Action::Create, Action::Update],
        [Action::Delete, Action::Delete],
    ] {
        let work: Vec<usize> = (0..plan.len())
            .filter(|&i| phase.contains(&plan[i].action))
            .collect();
        let results: Vec<(usize, Outcome)> = stream::iter(work)
            .map(|i| {
                let item = &plan[i];
                let flow = item.local.and_then(|l| local.get(l));
                let (done, stop, gone) = (&done, &stop, &gone);
                async move {
                    if (fail_fast && stop.load(Ordering::SeqCst)) || gone.load(Ordering::SeqCst) {
                        return (i, Outcome::Skipped);
                    }
                    let (outcome, server_gone) = write_one(client, item, flow).await;
                    if matches!(outcome, Outcome::Failed { .. }) {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if server_gone {
                        gone.store(true, Ordering::SeqCst);
                    }
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
                    (i, outcome)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (i, outcome) in results {
            outcomes[i] = outcome;
        }
    }
    outcomes
}
