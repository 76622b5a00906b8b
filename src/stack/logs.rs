//! The stack's container logs as people read them: both containers merged in time order (Docker
//! gives each line its timestamp), or followed line by line as they come.

use futures_util::StreamExt;

use super::engine::Engine;
use crate::error::{Error, Result};

/// Splits Docker's `timestamps=true` line into (timestamp, message).
pub fn split_timestamp(line: &str) -> (Option<time::OffsetDateTime>, &str) {
    match line.split_once(' ') {
        Some((ts, rest)) => {
            match time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339) {
                Ok(t) => (Some(t), rest),
                Err(_) => (None, line),
            }
        }
        None => (None, line),
    }
}

/// One container's whole log (its last `tail` lines, those newer than `since`), each line with
/// its time when Docker gave one.
pub async fn whole(
    engine: &Engine,
    name: &str,
    tail: Option<usize>,
    since: Option<i64>,
) -> Result<Vec<(Option<time::OffsetDateTime>, String)>> {
    let mut stream = engine.logs(name, false, tail, since);
    let mut buffer = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Error::engine(
                format!("cannot read the logs of {name}: {e}"),
                "check that the Docker Engine is still running",
            )
        })?;
        buffer.push_str(&chunk.to_string());
    }
    Ok(buffer
        .lines()
        .map(|line| {
            let (ts, msg) = split_timestamp(line);
            (ts, msg.to_string())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_timestamps_are_split_off() {
        let (ts, msg) = split_timestamp("2026-11-27T15:10:02.12345Z hello world");
        assert!(ts.is_some());
        assert_eq!(msg, "hello world");
        let (ts, msg) = split_timestamp("no timestamp here");
        assert!(ts.is_none());
        assert_eq!(msg, "no timestamp here");
        // Trimmed nanoseconds still order correctly once parsed.
        let (a, _) = split_timestamp("2026-11-27T15:10:02.5Z a");
        let (b, _) = split_timestamp("2026-11-27T15:10:02.123456789Z b");
        assert!(b < a);
    }
}
