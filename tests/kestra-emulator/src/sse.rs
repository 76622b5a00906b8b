//! What Kestra's two follow routes share: the `start` event each stream opens with, and the
//! between-event timeout that ends a stream left idle.

use std::time::Duration;

use axum::response::sse::Event;
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;

/// An SSE stream whose items may fail: an `Err` ends the response abruptly, as a Reactor error
/// ends Kestra's (no terminating chunk).
pub type Item = Result<Event, std::io::Error>;

/// `ExecutionController.followExecution` first sends `Event.of(Execution.builder().id(id)
/// .build()).id("start")`. Kestra's builder pre-fills `originalId` and `metadata`
/// (`ExecutionBuilder.prebuild`), `deleted` defaults to false, and `non_null` inclusion drops
/// the rest.
pub fn execution_start(id: &str) -> Event {
    let now = crate::timefmt::fmt_instant(crate::timefmt::now_ms());
    Event::default().id("start").data(
        json!({
            "id": id,
            "originalId": id,
            "deleted": false,
            "metadata": {"attemptNumber": 1, "originalCreatedDate": now},
        })
        .to_string(),
    )
}

/// `LogController.followLogsFromExecution` first sends `Event.of(LogEntry.builder().build())
/// .id("start")`: only `attemptNumber`, which is always included, as null.
pub fn log_start() -> Event {
    Event::default()
        .id("start")
        .data(json!({"attemptNumber": null}).to_string())
}

/// Ends `inner` with an error once it has produced nothing for `idle` (Reactor's
/// `Flux.timeout`, which Kestra sets to one hour on both follow routes).
pub fn with_idle_timeout<S>(inner: S, idle: Duration) -> impl Stream<Item = Item> + Send
where
    S: Stream<Item = Item> + Send + 'static,
{
    stream::unfold(Some(Box::pin(inner)), move |state| async move {
        let mut inner = state?;
        match tokio::time::timeout(idle, inner.next()).await {
            Ok(Some(item)) => Some((item, Some(inner))),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "Did not observe any item or terminal signal within the timeout",
                )),
                None,
            )),
        }
    })
}
