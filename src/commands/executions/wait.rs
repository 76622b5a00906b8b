//! An execution followed to its end on the terminal, for `run --wait`, `replay --wait` and
//! `watch`: each change a line on stderr, the progress on a spinner line, the log lines with
//! `--logs`, then the task runs, the failing tasks' last errors, and the exit code of the end
//! state. The following itself is `kestra::executions::follow`.

use std::convert::Infallible;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::{duration_cell, log_line, not_found, parse_execution, task_rows, unreadable};
use crate::commands::Ctx;
use crate::commands::args::WaitArgs;
use crate::error::{Error, Exit, Kind, Result};
use crate::kestra::KestraClient;
use crate::kestra::executions::follow::{self, FollowError, Followed, LogSeen};
use crate::kestra::model::{Execution, LogEntry, TaskRun};
use crate::kestra::state::ExecutionState;
use crate::output::progress::Progress;
use crate::output::{Format, Output, Render, Style};
use crate::settings::duration::format_duration;

/// How an execution's end state maps to the exit code of `run --wait` and `watch`.
fn exit_for(state: &ExecutionState, fail_on_warning: bool) -> Exit {
    match state {
        ExecutionState::Success | ExecutionState::Skipped => Exit::Ok,
        ExecutionState::Warning if !fail_on_warning => Exit::Ok,
        _ => Exit::ExecutionUnsuccessful,
    }
}

/// Follows an execution that already runs to its end: `watch`, and `replay --wait` on the
/// execution the replay started.
pub(super) async fn follow_existing(ctx: &Ctx, id: &str, w: &WaitArgs) -> Result<Exit> {
    let client = ctx.kestra().await?;
    // Fail fast (exit 3) on an unknown id rather than waiting on its stream.
    client
        .executions()
        .get(id)
        .await
        .map_err(|e| not_found(id, e))?;
    follow_to_end(ctx, client, id, w).await
}

/// Reports what changed between two snapshots of an execution (plain mode prints these lines).
fn changes(before: Option<&Execution>, now: &Execution) -> Vec<String> {
    let mut lines = Vec::new();
    if before.is_none_or(|b| b.state.current != now.state.current) {
        lines.push(format!("execution {}: {}", now.id, now.state.current));
    }
    let old: Vec<TaskRun> = before
        .and_then(|b| b.task_run_list.clone())
        .unwrap_or_default();
    for t in now.task_run_list.iter().flatten() {
        let previous = old.iter().find(|o| o.id == t.id).map(|o| &o.state.current);
        if previous != Some(&t.state.current) {
            let value = t
                .value
                .as_deref()
                .map(|v| format!(" [{v}]"))
                .unwrap_or_default();
            lines.push(format!("  task {}{value}: {}", t.task_id, t.state.current));
        }
    }
    lines
}

/// Follows the execution to its end (see [`follow_and_report`]). Ctrl-C stops following, not the
/// execution: the progress line is cleared and the operator is told how to pick it up again.
pub(super) async fn follow_to_end(
    ctx: &Ctx,
    client: &KestraClient,
    id: &str,
    wait: &WaitArgs,
) -> Result<Exit> {
    let progress = Progress::new();
    tokio::select! {
        result = follow_and_report(ctx, client, id, wait, &progress) => result,
        () = crate::signals::ctrl_c() => {
            progress.finish();
            Err(Error::new(
                Kind::Interrupted,
                format!("stopped following execution {id}; the execution itself goes on"),
                format!(
                    "`kestractl executions watch {id}` follows it again, `kestractl executions kill {id}` stops it"
                ),
            ))
        }
    }
}

/// Follows the execution until it ends or `deadline` passes (then `false`), each change a line
/// on stderr and the task runs done so far on the progress line.
async fn wait_for_end(
    client: &KestraClient,
    id: &str,
    deadline: Option<Instant>,
    progress: &Progress,
) -> Result<bool> {
    let mut last: Option<Execution> = None;
    let report = |e: Execution| {
        for line in changes(last.as_ref(), &e) {
            progress.done(&line);
        }
        let runs = e.task_run_list.as_deref().unwrap_or_default();
        let done = runs
            .iter()
            .filter(|t| t.state.current.is_terminal())
            .count();
        progress.step(&format!(
            "{}: {done} of {} done",
            e.state.current,
            crate::output::count(runs.len(), "task run")
        ));
        last = Some(e);
    };
    match follow::until_end(client, id, deadline, report).await {
        Ok(followed) => Ok(followed == Followed::Ended),
        Err(FollowError::Api(e)) => Err(not_found(id, *e)),
        Err(FollowError::Unreadable(e)) => Err(unreadable(e)),
    }
}

/// Follows the execution to its end (with its log lines on stderr when asked). Prints the
/// final task table on stdout, and maps the end state to the exit code; on a failure, the
/// failing tasks and their last error lines.
async fn follow_and_report(
    ctx: &Ctx,
    client: &KestraClient,
    id: &str,
    wait: &WaitArgs,
    progress: &Progress,
) -> Result<Exit> {
    let started = Instant::now();
    let deadline = wait.wait_timeout.map(|t| started + t);
    let finished = if wait.logs {
        let tail = LogTail::default();
        let finished = tokio::select! {
            finished = wait_for_end(client, id, deadline, progress) => finished?,
            never = tail.stream(ctx, client, id, progress) => match never {},
        };
        // Lines the stream had not delivered yet when the execution ended.
        tail.sweep(ctx, client, id, progress).await;
        finished
    } else {
        wait_for_end(client, id, deadline, progress).await?
    };
    progress.finish();
    if !finished {
        return Err(Error::not_ready(
            format!(
                "execution {id} has not ended after {} (--wait-timeout); it goes on",
                format_duration(started.elapsed())
            ),
            format!(
                "follow it with `kestractl executions watch {id}`, or kill it with `kestractl executions kill {id}`"
            ),
        ));
    }
    // The final state with every task run (2.0's stream events and list items may be slimmer).
    let raw = client
        .executions()
        .get(id)
        .await
        .map_err(|e| not_found(id, e))?;
    let e = parse_execution(&raw)?;
    ctx.out.emit(&Ended(raw))?;
    let state = &e.state.current;
    let exit = exit_for(state, wait.fail_on_warning);
    let summary = format!(
        "execution {} ended {state} after {}",
        e.id,
        duration_cell(&e.state)
    );
    match (exit, state) {
        (Exit::Ok, ExecutionState::Warning) => ctx.out.note(&format!(
            "{summary} (some tasks warned; --fail-on-warning makes this exit 6)"
        )),
        (Exit::Ok, _) => ctx.out.note(&summary),
        _ => {
            ctx.out
                .note(&format!("{} {summary}", ctx.out.paint(Style::Red, "✗")));
            explain_failure(ctx, client, &e).await;
        }
    }
    Ok(exit)
}

/// `--logs`: the execution's log lines on stderr while it runs, each printed once.
#[derive(Default)]
struct LogTail {
    seen: std::sync::Mutex<LogSeen>,
}

impl LogTail {
    fn print(&self, ctx: &Ctx, entries: &[LogEntry], progress: &Progress) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        for l in entries {
            if seen.first_time(l) {
                progress.done(log_line(ctx, l).trim_end_matches('\n'));
            }
        }
    }

    /// Follows the log stream until the caller stops it once the execution has ended.
    async fn stream(
        &self,
        ctx: &Ctx,
        client: &KestraClient,
        id: &str,
        progress: &Progress,
    ) -> Infallible {
        follow::logs(client, id, |entries| self.print(ctx, &entries, progress)).await
    }

    /// The lines written before the end that the stream had not delivered.
    async fn sweep(&self, ctx: &Ctx, client: &KestraClient, id: &str, progress: &Progress) {
        if let Ok(entries) = client.executions().logs(id, None, None).await {
            self.print(ctx, &entries, progress);
        }
    }
}

/// How many of a failing task's last error lines are shown.
const ERROR_LINES: usize = 5;

/// After an unsuccessful end: the tasks that failed (or were killed), their last ERROR log lines,
/// and the command for the whole log. Best effort: the exit code is already decided.
async fn explain_failure(ctx: &Ctx, client: &KestraClient, e: &Execution) {
    let runs = e.task_run_list.as_deref().unwrap_or_default();
    let failing: Vec<&TaskRun> = runs
        .iter()
        .filter(|t| t.state.current.is_failure())
        .collect();
    let errors = client
        .executions()
        .logs(&e.id, Some("ERROR"), None)
        .await
        .unwrap_or_default();
    for t in &failing {
        let value = t
            .value
            .as_deref()
            .map(|v| format!(" [{v}]"))
            .unwrap_or_default();
        ctx.out
            .note(&format!("  {} task {}{value}", t.state.current, t.task_id));
        let lines: Vec<&str> = errors
            .iter()
            .filter(|l| l.task_run_id.as_deref() == Some(t.id.as_str()))
            .filter_map(|l| l.message.as_deref())
            .collect();
        for line in &lines[lines.len().saturating_sub(ERROR_LINES)..] {
            let first = line.lines().next().unwrap_or_default();
            ctx.out.note(&format!("    {first}"));
        }
    }
    if failing.is_empty() {
        // Killed before any task failed, or an error outside the tasks (inputs, a trigger).
        for l in errors.iter().rev().take(ERROR_LINES).rev() {
            if let Some(m) = l.message.as_deref() {
                let first = m.lines().next().unwrap_or_default();
                ctx.out.note(&format!("    {first}"));
            }
        }
    }
    ctx.out
        .note(&format!("  full log: kestractl executions logs {}", e.id));
}

/// An execution at its end, as the server sent it; for people, its task runs.
#[derive(Serialize)]
#[serde(transparent)]
struct Ended(Value);

impl Render for Ended {
    fn human(&self, out: &Output) -> Result<()> {
        let e = parse_execution(&self.0)?;
        let runs = e.task_run_list.unwrap_or_default();
        let headers = ["TASK", "VALUE", "STATE", "STARTED", "DURATION"];
        let rows = task_rows(out, &runs, OffsetDateTime::now_utc());
        if out.format == Format::Table {
            return if runs.is_empty() {
                Ok(())
            } else {
                out.table(&headers, &rows)
            };
        }
        // Piped, stdout holds the execution's id alone (`id=$(kestractl executions run … --wait)`);
        // the task runs are for people, on stderr.
        if !runs.is_empty() {
            out.note(out.render_table(&headers, &rows).trim_end());
        }
        out.print(&format!("{}\n", e.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_end_state() {
        // The states as Kestra spells them (the closure shadows the function it calls).
        let exit_for = |s: &str, w| exit_for(&ExecutionState::from_wire(s), w);
        assert_eq!(exit_for("SUCCESS", false), Exit::Ok);
        assert_eq!(exit_for("WARNING", false), Exit::Ok);
        assert_eq!(exit_for("WARNING", true), Exit::ExecutionUnsuccessful);
        for s in ["FAILED", "KILLED", "CANCELLED", "RETRIED"] {
            assert_eq!(exit_for(s, false), Exit::ExecutionUnsuccessful, "{s}");
        }
    }

    #[test]
    fn changes_report_state_and_task_transitions() {
        let mk = |state: &str, tasks: &[(&str, &str)]| Execution {
            id: "e1".into(),
            state: crate::kestra::model::State {
                current: ExecutionState::from_wire(state),
                ..Default::default()
            },
            task_run_list: Some(
                tasks
                    .iter()
                    .map(|(id, s)| TaskRun {
                        id: format!("tr-{id}"),
                        task_id: (*id).into(),
                        state: crate::kestra::model::State {
                            current: ExecutionState::from_wire(s),
                            ..Default::default()
                        },
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        let a = mk("RUNNING", &[("one", "RUNNING")]);
        let b = mk("RUNNING", &[("one", "SUCCESS"), ("two", "RUNNING")]);
        assert_eq!(
            changes(None, &a),
            ["execution e1: RUNNING", "  task one: RUNNING"]
        );
        assert_eq!(
            changes(Some(&a), &b),
            ["  task one: SUCCESS", "  task two: RUNNING"]
        );
        assert!(changes(Some(&b), &b).is_empty());
    }
}
