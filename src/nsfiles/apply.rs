//! The network half of a push: settle the compares of a plan by reading the server's copies, then
//! run the writes concurrently (uploads first, deletions after).

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{StreamExt, stream};

use super::{Action, Item, LocalFile};
use crate::error::{Error, Result};
use crate::kestra::{ApiError, KestraClient};
use crate::sync::{self, Applied, Failure};

fn read_local(file: &LocalFile) -> Result<Vec<u8>> {
    std::fs::read(&file.path).map_err(|e| Error::io("cannot read", &file.path, e))
}

/// Turns every `Compare` into `Unchanged` or `Update` against the server's copies, already read
/// (path → bytes, from the namespace's export). A file the export did not hold is left to
/// compare the other way.
pub fn settle_from(
    local: &[LocalFile],
    items: &mut [Item],
    copies: &std::collections::HashMap<String, Vec<u8>>,
) -> Result<()> {
    for item in items.iter_mut().filter(|i| i.action == Action::Compare) {
        let (Some(copy), Some(file)) = (
            copies.get(&item.path),
            item.local.and_then(|l| local.get(l)),
        ) else {
            continue;
        };
        item.action = if read_local(file)? == *copy {
            Action::Unchanged
        } else {
            Action::Update
        };
    }
    Ok(())
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
                        .nsfiles(namespace)
                        .same_as(&item.path, &file.path)
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
) -> std::result::Result<(), Failure> {
    let failed = |e: ApiError| Failure {
        // A transport error means the server itself is gone, not this file's problem.
        server_gone: matches!(e, ApiError::Transport { .. }),
        reason: Error::from(e).to_string(),
    };
    match (item.action, file) {
        (Action::Create | Action::Update, Some(f)) => {
            let bytes = read_local(f).map_err(|e| Failure {
                reason: e.to_string(),
                server_gone: false,
            })?;
            client
                .nsfiles(namespace)
                .put(&item.path, bytes)
                .await
                .map_err(failed)
        }
        (Action::Delete, _) => client
            .nsfiles(namespace)
            .delete(&item.path)
            .await
            .map_err(failed),
        _ => Ok(()),
    }
}

/// Runs the plan's writes (the shared engine: `sync::apply`), `concurrency` at a time;
/// `progress(done, total)` after each.
pub async fn apply(
    client: &KestraClient,
    namespace: &str,
    local: &[LocalFile],
    items: &[Item],
    concurrency: usize,
    fail_fast: bool,
    progress: &dyn Fn(usize, usize),
) -> Vec<Applied<()>> {
    let actions: Vec<sync::Action> = items.iter().map(|i| i.action.sync()).collect();
    sync::apply(&actions, concurrency, fail_fast, progress, |i| {
        let item = &items[i];
        write_one(
            client,
            namespace,
            item,
            item.local.and_then(|l| local.get(l)),
        )
    })
    .await
}
