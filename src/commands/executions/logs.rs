//! `kestractl executions logs`: an execution's logs, followed live over server-sent events with
//! `-f`.

use std::time::Duration;

use clap_complete::engine::ArgValueCompleter;
use futures_util::StreamExt;

use super::{log_line, not_found, parse_execution};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Error, Exit, Result};
use crate::kestra::KestraClient;
use crate::kestra::executions::follow::{self, LogSeen};
use crate::kestra::model::{Execution, LogEntry};
use crate::kestra::sse;
use crate::output::Format;

/// Print an execution's logs; -f follows them until the execution ends
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl executions logs 4fGpDPJmkkZ8lAfd1a2QqE\n  kestractl executions logs 4fGpDPJmkkZ8lAfd1a2QqE -f --level WARN"
)]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
    /// Follow new lines until the execution has ended
    #[arg(short, long)]
    pub follow: bool,
    /// Minimum level: TRACE, DEBUG, INFO, WARN, ERROR
    #[arg(long, value_name = "LEVEL", add = ArgValueCompleter::new(complete::levels))]
    pub level: Option<String>,
    /// Only this task's logs
    #[arg(long, value_name = "TASK_ID")]
    pub task: Option<String>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        logs(
            ctx,
            &self.id,
            self.follow,
            self.level.as_deref(),
            self.task.as_deref(),
        )
        .await
    }
}

/// Log lines as they come. `-o json|yaml` on a finished list is one document (see `logs`);
/// while following, every structured format streams one JSON object per line.
fn print_logs(ctx: &Ctx, entries: &[LogEntry]) -> Result<()> {
    if ctx.out.is_structured() {
        let mut text = String::new();
        for e in entries {
            text.push_str(&serde_json::to_string(e).map_err(anyhow::Error::from)?);
            text.push('\n');
        }
        return ctx.out.print(&text);
    }
    let text: String = entries.iter().map(|l| log_line(ctx, l)).collect();
    ctx.out.print(&text)
}

fn check_level(level: Option<&str>) -> Result<Option<String>> {
    level
        .map(|l| {
            let up = l.to_ascii_uppercase();
            if ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(Error::usage(
                    format!("`{l}` is not a log level"),
                    "use TRACE, DEBUG, INFO, WARN or ERROR",
                ))
            }
        })
        .transpose()
}

async fn logs(
    ctx: &Ctx,
    id: &str,
    follow: bool,
    level: Option<&str>,
    task: Option<&str>,
) -> Result<Exit> {
    let level = check_level(level)?;
    let client = ctx.kestra().await?;
    // The execution must exist (a follow on an unknown id would wait for nothing).
    let raw = client
        .executions()
        .get(id)
        .await
        .map_err(|e| not_found(id, e))?;
    if !follow {
        let mut entries = client
            .executions()
            .logs(id, level.as_deref(), task)
            .await
            .map_err(|e| not_found(id, e))?;
        entries.retain(|l| keep_task(l, task));
        if matches!(ctx.out.format, Format::Json | Format::Yaml) {
            ctx.out.structured(&entries)?;
        } else {
            print_logs(ctx, &entries)?;
        }
        return Ok(Exit::Ok);
    }
    let terminal = parse_execution(&raw)?.state.current.is_terminal();
    follow_logs(ctx, client, id, terminal, level.as_deref(), task).await
}

/// `-f`: Kestra's log stream never ends by itself: follow the execution alongside, and once it
/// has ended, stop when the log stream has been quiet for a moment. Kestra does end it after an
/// hour without a line (its `timeout`), and a proxy may cut it: reopened while the execution
/// runs, and once more after it ended so no late line is missed. Each opening replays the
/// execution's logs from the start: lines already printed are skipped.
async fn follow_logs(
    ctx: &Ctx,
    client: &KestraClient,
    id: &str,
    mut terminal: bool,
    level: Option<&str>,
    task: Option<&str>,
) -> Result<Exit> {
    let mut printed = LogSeen::default();
    let mut final_replay = terminal;
    let quiet = Duration::from_millis(700);
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    'connection: loop {
        let resp = client
            .executions()
            .follow_logs(id, level)
            .await
            .map_err(|e| not_found(id, e))?;
        let mut body = resp.bytes_stream();
        let mut parser = sse::Parser::default();
        loop {
            let wait = if terminal {
                quiet
            } else {
                Duration::from_secs(3600)
            };
            tokio::select! {
                chunk = tokio::time::timeout(wait, body.next()) => match chunk {
                    Ok(Some(Ok(bytes))) => {
                        let events = parser.push(&bytes).map_err(|e| Error::server(format!("following the logs of {id}: {e}"), "`kestractl executions logs ID` (without -f) reads them in one answer"
                                ))?;
                        let entries: Vec<LogEntry> = follow::log_entries(&events)
                            .into_iter()
                            .filter(|l| keep_task(l, task))
                            .filter(|l| printed.first_time(l))
                            .collect();
                        print_logs(ctx, &entries)?;
                    }
                    // Quiet for a moment after the execution ended: done.
                    Err(_) => break 'connection,
                    // The stream ended or broke.
                    Ok(_) => break,
                },
                _ = poll.tick(), if !terminal => {
                    if let Ok(v) = client.executions().get(id).await
                        && let Ok(e) = serde_json::from_value::<Execution>(v)
                    {
                        terminal = e.state.current.is_terminal();
                    }
                }
            }
        }
        if !terminal && let Ok(v) = client.executions().get(id).await {
            terminal = parse_execution(&v)?.state.current.is_terminal();
        }
        if terminal {
            if final_replay {
                break;
            }
            final_replay = true;
        }
        tracing::debug!("the log stream of {id} ended; reopening it");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(Exit::Ok)
}

/// `--task`: Kestra 1.3's log stream has no task filter (its follow route takes only
/// `minLevel`), so lines are filtered here on every version.
fn keep_task(l: &LogEntry, task: Option<&str>) -> bool {
    task.is_none_or(|t| l.task_id.as_deref() == Some(t))
}
