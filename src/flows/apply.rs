//! Applies a plan: creates and updates run concurrently (bounded), then deletions. Each flow's
//! result is kept in plan order; a failure does not hide the others, and `--fail-fast` stops
//! sending new writes after the first failure.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures_util::StreamExt;
use futures_util::stream;

use super::LocalFlow;
use super::plan::{Action, PlanItem};
use crate::error::Error;
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
    /// Not attempted because an earlier write failed and `--fail-fast` was given.
    Skipped,
}

/// The one-line reason of an API failure, without the `error:` prefix.
fn reason(e: crate::kestra::ApiError) -> String {
    let err = Error::from(e);
    match err.hint() {
        Some(h) if matches!(err, Error::Auth { .. } | Error::Unreachable { .. }) => {
            format!("{err} ({h})")
        }
        _ => err.to_string(),
    }
}

async fn write_one(client: &KestraClient, item: &PlanItem, flow: Option<&LocalFlow>) -> Outcome {
    let result = match (item.action, flow) {
        (Action::Create, Some(f)) => client.create_flow(&f.source).await.map(|r| r.revision),
        (Action::Update, Some(f)) => client
            .update_flow(&f.namespace, &f.id, &f.source)
            .await
            .map(|r| r.revision),
        (Action::Delete, _) => client
            .delete_flow(&item.namespace, &item.id)
            .await
            .map(|()| None),
        _ => return Outcome::Unchanged,
    };
    match result {
        Ok(revision) => Outcome::Done { revision },
        Err(e) => Outcome::Failed { error: reason(e) },
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
                let (done, stop) = (&done, &stop);
                async move {
                    if fail_fast && stop.load(Ordering::SeqCst) {
                        return (i, Outcome::Skipped);
                    }
                    let outcome = write_one(client, item, flow).await;
                    if matches!(outcome, Outcome::Failed { .. }) {
                        stop.store(true, Ordering::SeqCst);
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
