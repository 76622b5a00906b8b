//! Progress on stderr: a spinner with elapsed time on a terminal, one plain line per step
//! otherwise (CI logs stay readable and free of escape codes).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Plain mode: the last message printed and when, so a stream of counters (`writing 12/1000`)
    /// prints its first line and then at most one line every few seconds.
    last: std::sync::Mutex<Plain>,
}

/// Plain mode's memory: what was printed last, when, and the newest message held back since.
#[derive(Default)]
struct Plain {
    printed: String,
    at: Option<Instant>,
    /// A counter update not printed yet: printed before the next kind of step, or at the end,
    /// so a log never ends on a stale `writing flows: 0/1`.
    held: Option<String>,
}

fn kind(message: &str) -> &str {
    message.split(':').next().unwrap_or(message)
}

impl Progress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress {
            bar,
            last: std::sync::Mutex::new(Plain::default()),
        }
    }

    /// What is happening now (replaces the spinner text; printed once in plain mode).
    pub fn step(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => {
                let Ok(mut last) = self.last.lock() else {
                    return;
                };
                let new_kind = kind(&last.printed) != kind(message);
                let quiet_for = last.at.map_or(Duration::MAX, |t| t.elapsed());
                if last.printed == message {
                    return;
                }
                if new_kind || quiet_for >= Duration::from_secs(3) {
                    let mut err = std::io::stderr().lock();
                    if new_kind && let Some(held) = last.held.take() {
                        let _ = writeln!(err, "{held}");
                    }
                    let _ = writeln!(err, "{message}");
                    *last = Plain {
                        printed: message.to_string(),
                        at: Some(Instant::now()),
                        held: None,
                    };
                } else {
                    last.held = Some(message.to_string());
                }
            }
        }
    }

    /// A finished step, kept on screen.
    pub fn done(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => {
                self.flush_held();
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{message}");
            }
        }
    }

    /// Plain mode: prints the counter update held back, if any.
    fn flush_held(&self) {
        if let Ok(mut last) = self.last.lock()
            && let Some(held) = last.held.take()
        {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{held}");
            last.printed = held;
            last.at = Some(Instant::now());
        }
    }

    pub fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => self.flush_held(),
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
