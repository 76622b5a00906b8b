//! Applies a plan: creates and updates run concurrently (bounded), then deletions. Each flow's
//! result is kept in plan order; a failure does not hide the others, and `--fail-fast` stops
//! sending new writes after the first failure. When the server cannot be reached at all, the
//! remaining writes are not attempted: each would only wait for its own timeout.

use super::LocalFlow;
use super::plan::{Action, PlanItem};
use crate::error::{Error, Kind};
use crate::kestra::{ApiError, KestraClient};
use crate::sync::{self, Applied, Failure};

/// What became of one flow: a write's answer is the revision the server gave (deletions have
/// none).
pub type Written = Applied<Option<i64>>;

/// The one-line reason of an API failure, without the `error:` prefix.
fn reason(e: ApiError) -> String {
    let err = Error::from(e);
    match err.hint() {
        Some(h) if matches!(err.kind(), Kind::Auth | Kind::Unreachable | Kind::Server) => {
            format!("{err} ({h})")
        }
        _ => err.to_string(),
    }
}

async fn write_one(
    client: &KestraClient,
    item: &PlanItem,
    flow: Option<&LocalFlow>,
) -> Result<Option<i64>, Failure> {
    let result = match (item.action, flow) {
        (Action::Create, Some(f)) => client
            .flows()
            .create(&f.namespace, &f.id, &f.source)
            .await
            .map(|r| r.revision),
        (Action::Update, Some(f)) => client
            .flows()
            .update(&f.namespace, &f.id, &f.source)
            .await
            .map(|r| r.revision),
        // Already gone (deleted meanwhile, or by an earlier attempt whose answer was lost) is
        // what a deletion wants.
        (Action::Delete, _) => match client.flows().delete(&item.namespace, &item.id).await {
            Err(e) if e.status() == Some(404) => Ok(None),
            other => other.map(|()| None),
        },
        _ => return Ok(None),
    };
    result.map_err(|e| Failure {
        // A transport error means the server itself is gone, not this flow's problem.
        server_gone: matches!(e, ApiError::Transport { .. }),
        reason: reason(e),
    })
}

/// Runs the plan's writes (the shared engine: `sync::apply`). `progress(done, total)` is called
/// after each write.
pub async fn apply(
    client: &KestraClient,
    local: &[LocalFlow],
    plan: &[PlanItem],
    concurrency: usize,
    fail_fast: bool,
    progress: &dyn Fn(usize, usize),
) -> Vec<Written> {
    let actions: Vec<Action> = plan.iter().map(|i| i.action).collect();
    sync::apply(&actions, concurrency, fail_fast, progress, |i| {
        let item = &plan[i];
        write_one(client, item, item.local.and_then(|l| local.get(l)))
    })
    .await
}
