//! Byte counts and rates for the progress line of long copies. The formatting is pure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::output::progress::Progress;
use crate::signals::Interrupts;

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `what: 120.0 MiB (40.0 MiB/s)`.
pub fn line(what: &str, done: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs < 0.05 {
        return format!("{what}: {}", bytes(done));
    }
    format!(
        "{what}: {} ({}/s)",
        bytes(done),
        bytes((done as f64 / secs) as u64)
    )
}

/// Turns running byte totals into progress lines, at most a few a second.
pub struct Ticker<'a> {
    progress: &'a Progress,
    what: String,
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl<'a> Ticker<'a> {
    pub fn new(progress: &'a Progress, what: &str) -> Self {
        progress.step(what);
        Ticker {
            progress,
            what: what.to_string(),
            started: Instant::now(),
            last: Mutex::new(None),
        }
    }

    pub fn tick(&self, done: u64) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(250)) {
            return;
        }
        *last = Some(Instant::now());
        self.progress
            .step(&line(&self.what, done, self.started.elapsed()));
    }

    /// The closing line: total and mean rate.
    pub fn done(&self, done: u64) -> String {
        line(&self.what, done, self.started.elapsed())
    }
}

/// Runs `work` on a blocking thread (file I/O and compression must not stall the signal
/// watcher), turning the byte totals it reports into progress lines. The callback `work` is
/// given answers whether to go on: on a signal it answers no, `work` stops at its next read, and
/// this returns [`Error::interrupted`] once the thread has ended (nothing is left writing).
pub async fn blocking<T: Send + 'static>(
    ticker: &Ticker<'_>,
    interrupts: Option<&Interrupts>,
    work: impl FnOnce(&dyn Fn(u64) -> bool) -> Result<T> + Send + 'static,
) -> Result<T> {
    let (tx, mut rx) = tokio::sync::watch::channel(0u64);
    let cancelled = Arc::new(AtomicBool::new(false));
    let stop = cancelled.clone();
    let task = tokio::task::spawn_blocking(move || {
        work(&|n| {
            let _ = tx.send(n);
            !stop.load(Ordering::Relaxed)
        })
    });
    tokio::pin!(task);
    let signal = async {
        match interrupts {
            Some(i) => i.wait().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(signal);
    let joined = loop {
        tokio::select! {
            biased;
            joined = &mut task => break joined,
            () = &mut signal => {
                cancelled.store(true, Ordering::Relaxed);
                let _ = (&mut task).await;
                return Err(Error::interrupted(""));
            }
            changed = rx.changed() => match changed {
                Ok(()) => ticker.tick(*rx.borrow()),
                // The sender is gone: the work has ended.
                Err(_) => break (&mut task).await,
            },
        }
    };
    joined.map_err(|e| Error::other(format!("a background task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rates_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(
            line("dump", 100 * 1024 * 1024, Duration::from_secs(4)),
            "dump: 100.0 MiB (25.0 MiB/s)"
        );
        assert_eq!(line("dump", 10, Duration::ZERO), "dump: 10 B");
    }
}
