//! One way to apply a plan, for every command that makes a server match a folder (flows, namespace
//! files) and the bulk actions to come: what a plan asks for an item ([`Action`]), what became of
//! it ([`Outcome`], with the word and colour people see), the totals ([`Totals`]), and the phased
//! concurrent [`apply`] (creates and updates first, deletions after; `--fail-fast`; no more writes
//! once the server stopped answering). The writes themselves are the caller's.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures_util::{StreamExt, stream};
use serde::Serialize;

use crate::output::Style;

/// What a plan does to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
}

impl Action {
    pub fn is_write(self) -> bool {
        !matches!(self, Action::Unchanged)
    }

    /// The word of a planned action (`create`), as a dry run shows it.
    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
        }
    }
}

/// What became of one item of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A dry run: what the plan would do, nothing written.
    Planned,
    /// Nothing to write.
    Unchanged,
    Done,
    Failed,
    /// Not attempted: an earlier write failed with `--fail-fast`, or the server stopped answering.
    Skipped,
}

impl Outcome {
    /// The word people see for `action` ended this way: `create` (planned), `created`, `failed`.
    pub fn word(self, action: Action) -> &'static str {
        match (self, action) {
            (Outcome::Failed, _) => "failed",
            (Outcome::Skipped, _) => "skipped",
            (Outcome::Unchanged, _) | (_, Action::Unchanged) => "unchanged",
            (Outcome::Planned, a) => a.label(),
            (Outcome::Done, Action::Create) => "created",
            (Outcome::Done, Action::Update) => "updated",
            (Outcome::Done, Action::Delete) => "deleted",
        }
    }

    /// The colour of that word: green a create, yellow an update, red a delete or a failure.
    pub fn style(self, action: Action) -> Style {
        match (self, action) {
            (Outcome::Failed, _) => Style::Red,
            (Outcome::Skipped | Outcome::Unchanged, _) | (_, Action::Unchanged) => Style::Dim,
            (_, Action::Create) => Style::Green,
            (_, Action::Update) => Style::Yellow,
            (_, Action::Delete) => Style::Red,
        }
    }
}

/// How many items a plan created, updated, left, deleted, and how many writes failed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub failed: usize,
}

impl Totals {
    /// Counts one item (a skipped write counts nowhere: it is said apart).
    pub fn add(&mut self, action: Action, outcome: Outcome) {
        match (outcome, action) {
            (Outcome::Failed, _) => self.failed += 1,
            (Outcome::Skipped, _) => {}
            (_, Action::Create) => self.created += 1,
            (_, Action::Update) => self.updated += 1,
            (_, Action::Unchanged) => self.unchanged += 1,
            (_, Action::Delete) => self.deleted += 1,
        }
    }

    /// `3 created, 1 updated, 0 unchanged, 0 deleted, 0 failed`, said as a forecast for a dry run.
    pub fn line(&self, dry_run: bool) -> String {
        let verb = if dry_run { "would be " } else { "" };
        format!(
            "{} {verb}created, {} {verb}updated, {} unchanged, {} {verb}deleted, {} failed{}",
            self.created,
            self.updated,
            self.unchanged,
            self.deleted,
            self.failed,
            if dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        )
    }
}

/// A write that did not go through: its one-line reason, and whether the server itself is gone
/// (then the remaining writes are not attempted: each would only wait for its own timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    pub server_gone: bool,
}

/// What [`apply`] did with one item: `value` is what a successful write answered (a flow's new
/// revision), `error` why one failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<T> {
    pub outcome: Outcome,
    pub value: Option<T>,
    pub error: Option<String>,
}

impl<T> Applied<T> {
    fn of(outcome: Outcome) -> Self {
        Applied {
            outcome,
            value: None,
            error: None,
        }
    }
}

/// Runs the writes a plan asks for (`actions[i]` for item `i`), `concurrency` at a time through
/// `write(i)`: creates and updates first, deletions after, so a renamed item exists under its new
/// name before the old one goes. The results come back in plan order; a failure does not hide the
/// others. `progress(done, total)` is called after each write.
pub async fn apply<T, W, F>(
    actions: &[Action],
    concurrency: usize,
    fail_fast: bool,
    progress: &dyn Fn(usize, usize),
    write: W,
) -> Vec<Applied<T>>
where
    W: Fn(usize) -> F,
    F: Future<Output = Result<T, Failure>>,
{
    let mut applied: Vec<Applied<T>> = actions
        .iter()
        .map(|_| Applied::of(Outcome::Unchanged))
        .collect();
    let total = actions.iter().filter(|a| a.is_write()).count();
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let gone = AtomicBool::new(false);
    for phase in [[Action::Create, Action::Update], [Action::Delete; 2]] {
        let work: Vec<usize> = (0..actions.len())
            .filter(|&i| phase.contains(&actions[i]))
            .collect();
        let results: Vec<(usize, Applied<T>)> = stream::iter(work)
            .map(|i| {
                let (done, failed, gone, write) = (&done, &failed, &gone, &write);
                async move {
                    if (fail_fast && failed.load(Ordering::SeqCst)) || gone.load(Ordering::SeqCst) {
                        return (i, Applied::of(Outcome::Skipped));
                    }
                    let result = match write(i).await {
                        Ok(value) => Applied {
                            outcome: Outcome::Done,
                            value: Some(value),
                            error: None,
                        },
                        Err(failure) => {
                            failed.store(true, Ordering::SeqCst);
                            if failure.server_gone {
                                gone.store(true, Ordering::SeqCst);
                            }
                            Applied {
                                outcome: Outcome::Failed,
                                value: None,
                                error: Some(failure.reason),
                            }
                        }
                    };
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
                    (i, result)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (i, result) in results {
            applied[i] = result;
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn words_and_colours_follow_the_action_and_the_outcome() {
        assert_eq!(Outcome::Planned.word(Action::Create), "create");
        assert_eq!(Outcome::Done.word(Action::Create), "created");
        assert_eq!(Outcome::Done.word(Action::Delete), "deleted");
        assert_eq!(Outcome::Planned.word(Action::Unchanged), "unchanged");
        assert_eq!(Outcome::Failed.word(Action::Update), "failed");
        assert_eq!(Outcome::Skipped.word(Action::Create), "skipped");
        assert_eq!(Outcome::Done.style(Action::Update), Style::Yellow);
        assert_eq!(Outcome::Failed.style(Action::Create), Style::Red);
        assert_eq!(Outcome::Planned.style(Action::Unchanged), Style::Dim);
        assert_eq!(
            serde_json::to_value(Outcome::Skipped).unwrap(),
            serde_json::json!("skipped")
        );
    }

    #[test]
    fn totals_count_each_item_once_and_say_a_dry_run() {
        let mut t = Totals::default();
        t.add(Action::Create, Outcome::Done);
        t.add(Action::Update, Outcome::Failed);
        t.add(Action::Delete, Outcome::Skipped);
        t.add(Action::Unchanged, Outcome::Unchanged);
        assert_eq!(
            t.line(false),
            "1 created, 0 updated, 1 unchanged, 0 deleted, 1 failed"
        );
        assert!(
            t.line(true)
                .ends_with("0 would be deleted, 1 failed (dry run: nothing written)")
        );
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn deletions_run_after_the_writes_and_results_keep_plan_order() {
        let actions = [
            Action::Delete,
            Action::Create,
            Action::Unchanged,
            Action::Update,
        ];
        let order = Mutex::new(Vec::new());
        let seen = Mutex::new(Vec::new());
        let applied = block_on(apply(
            &actions,
            1,
            false,
            &|done, total| seen.lock().unwrap().push((done, total)),
            |i| {
                order.lock().unwrap().push(i);
                async move { Ok::<usize, Failure>(i * 10) }
            },
        ));
        assert_eq!(order.into_inner().unwrap(), [1, 3, 0]);
        assert_eq!(seen.into_inner().unwrap(), [(1, 3), (2, 3), (3, 3)]);
        let outcomes: Vec<Outcome> = applied.iter().map(|a| a.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Done,
                Outcome::Done,
                Outcome::Unchanged,
                Outcome::Done
            ]
        );
        assert_eq!(applied[3].value, Some(30));
    }

    #[test]
    fn a_failure_stops_further_writes_with_fail_fast_or_when_the_server_is_gone() {
        let actions = [Action::Create, Action::Create, Action::Delete];
        let fail_first = |gone: bool| {
            move |i: usize| async move {
                if i == 0 {
                    Err(Failure {
                        reason: "refused".into(),
                        server_gone: gone,
                    })
                } else {
                    Ok(())
                }
            }
        };
        let outcomes = |applied: Vec<Applied<()>>| -> Vec<Outcome> {
            applied.iter().map(|a| a.outcome).collect()
        };
        let kept_going = block_on(apply(&actions, 1, false, &|_, _| {}, fail_first(false)));
        assert_eq!(kept_going[0].error.as_deref(), Some("refused"));
        assert_eq!(
            outcomes(kept_going),
            [Outcome::Failed, Outcome::Done, Outcome::Done]
        );
        let fail_fast = block_on(apply(&actions, 1, true, &|_, _| {}, fail_first(false)));
        assert_eq!(
            outcomes(fail_fast),
            [Outcome::Failed, Outcome::Skipped, Outcome::Skipped]
        );
        let gone = block_on(apply(&actions, 1, false, &|_, _| {}, fail_first(true)));
        assert_eq!(
            outcomes(gone),
            [Outcome::Failed, Outcome::Skipped, Outcome::Skipped]
        );
    }
}
