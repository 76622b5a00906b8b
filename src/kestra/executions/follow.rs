//! Following an execution until it ends, for `executions run --wait`, `replay --wait` and
//! `watch`: its event stream, reopened when Kestra (after an hour without events) or a proxy ends
//! it early, else polling once a second; and its log stream alongside, reopened the same way.
//! What arrives is handed to the caller, which renders it.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::kestra::model::{Execution, LogEntry};
use crate::kestra::{ApiError, KestraClient, sse};
use crate::sanitize;

/// Why following stopped before the execution's end.
#[derive(Debug)]
pub enum FollowError {
    /// Reading the execution failed (a 404: there is no such execution).
    Api(Box<ApiError>),
    /// The server sent an execution that does not parse.
    Unreadable(serde_json::Error),
}

impl From<ApiError> for FollowError {
    fn from(e: ApiError) -> Self {
        FollowError::Api(Box::new(e))
    }
}

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// The execution reached an end state.
    Ended,
    /// The deadline passed first: the execution goes on.
    DeadlinePassed,
}

/// Follows execution `id` until it ends or `deadline` passes. Every state of it that arrives is
/// handed to `seen`, the last one in its end state when it ended. Its event stream is reopened
/// while the execution runs; a stream that cannot be opened, keeps closing at once or sends an
/// event past [`sse::MAX_EVENT`] gives way to polling once a second.
pub async fn until_end(
    client: &KestraClient,
    id: &str,
    deadline: Option<Instant>,
    mut seen: impl FnMut(Execution),
) -> Result<Followed, FollowError> {
    // Whether it has ended, once `seen` has had it.
    let mut report = |e: Execution| {
        let terminal = e.state.current.is_terminal();
        seen(e);
        terminal
    };
    let mut finished = stream_until_end(client, id, deadline, &mut report).await?;
    while !finished && before(deadline) {
        finished = report(read(client, id).await?);
        if !finished {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(if finished {
        Followed::Ended
    } else {
        Followed::DeadlinePassed
    })
}

fn before(deadline: Option<Instant>) -> bool {
    deadline.is_none_or(|d| Instant::now() < d)
}

/// The execution as the server has it now.
async fn read(client: &KestraClient, id: &str) -> Result<Execution, FollowError> {
    let v = client.executions().get(id).await?;
    serde_json::from_value(v).map_err(FollowError::Unreadable)
}

/// The event stream part of [`until_end`]: `true` once the execution has ended, `false` when the
/// deadline passed or the stream is of no more use (then polling takes over).
async fn stream_until_end(
    client: &KestraClient,
    id: &str,
    deadline: Option<Instant>,
    report: &mut impl FnMut(Execution) -> bool,
) -> Result<bool, FollowError> {
    let mut finished = false;
    let mut opened_at = Instant::now();
    let mut short_lived = 0;
    while !finished && before(deadline) {
        if short_lived >= 3 {
            break; // a stream that keeps closing at once: polling is more use
        }
        let Ok(resp) = client.executions().follow(id).await else {
            break;
        };
        match read_stream(resp, deadline, report).await {
            Stream::Ended => return Ok(true),
            Stream::Abandoned => return Ok(false),
            Stream::Closed => {}
        }
        // The stream ended without an `end` event: reopen it if the execution still runs.
        finished = report(read(client, id).await?);
        short_lived = if opened_at.elapsed() < Duration::from_secs(1) {
            short_lived + 1
        } else {
            0
        };
        if !finished {
            tracing::debug!("the execution stream of {id} ended early; reopening it");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        opened_at = Instant::now();
    }
    Ok(finished)
}

/// How one opening of the event stream ended.
enum Stream {
    /// The execution ended (an event in an end state, or the `end` event).
    Ended,
    /// The stream closed or broke while the execution runs.
    Closed,
    /// The deadline passed, or the stream sent an event too large to trust.
    Abandoned,
}

async fn read_stream(
    resp: reqwest::Response,
    deadline: Option<Instant>,
    report: &mut impl FnMut(Execution) -> bool,
) -> Stream {
    let mut body = resp.bytes_stream();
    let mut parser = sse::Parser::default();
    loop {
        let next = match deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), body.next()).await {
                Ok(n) => n,
                Err(_) => return Stream::Abandoned,
            },
            None => body.next().await,
        };
        let Some(Ok(chunk)) = next else {
            return Stream::Closed;
        };
        let Ok(events) = parser.push(&chunk) else {
            // An event past the size limit: the stream is not to be trusted; poll instead.
            tracing::debug!("{}", sse::TooLarge);
            return Stream::Abandoned;
        };
        for event in events {
            // Kestra opens the stream with `id: start`, an execution that has only its id.
            if event.id.as_deref() == Some(sse::START) {
                continue;
            }
            if let Ok(v) = sanitize::decode::<Value>(event.data.as_bytes())
                && let Ok(e) = serde_json::from_value::<Execution>(v)
                && report(e)
            {
                return Stream::Ended;
            }
            if event.id.as_deref() == Some(sse::END) {
                return Stream::Ended;
            }
        }
    }
}

/// Follows the execution's log stream, reopened whenever it ends (each opening replays the
/// execution's logs from the start: [`LogSeen`] tells the lines already shown). Each chunk's
/// entries go to `lines`. Never returns: the caller drops it once the execution has ended.
pub async fn logs(
    client: &KestraClient,
    id: &str,
    mut lines: impl FnMut(Vec<LogEntry>),
) -> Infallible {
    loop {
        if let Ok(resp) = client.executions().follow_logs(id, None).await {
            let mut body = resp.bytes_stream();
            let mut parser = sse::Parser::default();
            while let Some(Ok(chunk)) = body.next().await {
                let Ok(events) = parser.push(&chunk) else {
                    break;
                };
                lines(log_entries(&events));
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The log entries of events of the log stream (`id: start` carries an empty entry that only
/// opens the stream).
pub fn log_entries(events: &[sse::Event]) -> Vec<LogEntry> {
    events
        .iter()
        .filter(|ev| ev.id.as_deref() != Some(sse::START))
        .filter_map(|ev| sanitize::decode::<LogEntry>(ev.data.as_bytes()).ok())
        .collect()
}

/// Log lines already shown, so a reopened stream's replay is not shown twice.
#[derive(Debug, Default)]
pub struct LogSeen(HashSet<u64>);

impl LogSeen {
    /// Whether `l` is new (it is remembered).
    pub fn first_time(&mut self, l: &LogEntry) -> bool {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&l.timestamp, &l.task_run_id, &l.level, &l.message).hash(&mut h);
        self.0.insert(h.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_skip_the_opening_event_and_each_line_is_new_once() {
        let event = |id: Option<&str>, data: &str| sse::Event {
            id: id.map(str::to_string),
            event: None,
            data: data.into(),
        };
        let entries = log_entries(&[
            event(Some(sse::START), "{}"),
            event(None, r#"{"message":"hello","level":"INFO"}"#),
            event(None, "not json"),
        ]);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].message.as_deref(), Some("hello"));
        let mut seen = LogSeen::default();
        assert!(seen.first_time(&entries[0]));
        assert!(!seen.first_time(&entries[0]));
    }
}
