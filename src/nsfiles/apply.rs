//! The network half of a push: settle the compares of a plan by reading the server's copies, then
//! run the writes concurrently (uploads first, deletions after).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures_util::{StreamExt, stream};
use serde::Serialize;

use super::{Action, Item, LocalFile};
use crate::error::{Error, Result};
use crate::kestra::KestraClient;

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    Done,
    Unchanged,
    Failed {
        error: String,
    },
    /// Not attempted: an earlier write failed with `--fail-fast`.
    Skipped,
    /// `--dry-run`.
    Planned,
}

fn read_local(file: &LocalFile) -> Result<Vec<u8>> {
    std::fs::read(&file.path).map_err(|e| Error::io("cannot read", &file.path, e))
}

/// Turns every `Compare` into `Unchanged` or `Update` by reading the server's copy; `progress`
/// is called after each comparison.
pub async fn settle(
    client: &KestraClient,
    namespace: &str,
    local: &[LocalFile],
    items: &mut [Item],
    concurrency: usize,
    progress: &dyn Fn(usize, usize),
) -> Result<()> {
    let todo: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].action == Action::Compare)
        .collect();
    let total = todo.len();
    let done = AtomicUsize::new(0);
    let settled: Vec<(usize, Result<bool>)> = stream::iter(todo)
        .map(|i| {
            let item = &items[i];
            let file = item.local.and_then(|l| local.get(l));
            let done = &done;
            async move {
                let same = async {
                    let Some(file) = file else { return Ok(false) };
                    client
                        .nsfile_same_as(namespace, &item.path, &file.path)
                        .await
                }
                .await;
                progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
                (i, same)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (i, same) in settled {
        items[i].action = if same? {
            Action::Unchanged
        } else {
            Action::Update
        };
    }
    Ok(())
}

async fn write_one(
    client: &KestraClient,
    namespace: &str,
    item: &Item,
    file: Option<&LocalFile>,
) -> Outcome {
    let result = match (item.action, file) {
        (Action::Create | Action::Update, Some(f)) => match read_local(f) {
            Ok(bytes) => client
                .nsfile_put(namespace, &item.path, bytes)
                .await
                .map_err(|e| Error::from(e).to_string()),
            Err(e) => Err(e.to_string()),
        },
        (Action::Delete, _) => client
            .nsfile_delete(namespace, &item.path)
            .await
            .map_err(|e| Error::from(e).to_string()),
        _ => return Outcome::Unchanged,
    };
    match result {
        Ok(()) => Outcome::Done,
        Err(error) => Outcome::Failed { error },
    }
}

/// Runs the plan's writes, `concurrency` at a time; `progress(done, total)` after each.
pub async fn apply(
    client: &KestraClient,
    namespace: &str,
    local: &[LocalFile],
    items: &[Item],
    concurrency: usize,
    fail_fast: bool,
    progress: &dyn Fn(usize, usize),
) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Unchanged; items.len()];
    let total = items.iter().filter(|i| i.action.is_write()).count();
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Uploads before deletions: a file moved to another folder exists at its new place before
    // the old one goes.
    for phase in [
        [Action::Create, Action::Update],
        [Action::Delete, Action::Delete],
    ] {
        let work: Vec<usize> = (0..items.len())
            .filter(|&i| phase.contains(&items[i].action))
            .collect();
        let results: Vec<(usize, Outcome)> = stream::iter(work)
            .map(|i| {
                let item = &items[i];
                let file = item.local.and_then(|l| local.get(l));
                let (done, stop) = (&done, &stop);
                async move {
                    if fail_fast && stop.load(Ordering::SeqCst) {
                        return (i, Outcome::Skipped);
                    }
                    let outcome = write_one(client, namespace, item, file).await;
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
