//! Progress on stderr: a spinner with elapsed time on a terminal, one plain line per step
//! otherwise (CI logs stay readable and free of escape codes).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Plain mode: the last message printed and when, so a stream of counters (`writing 12/1000`)
    /// prints its first line and then at most one line every few seconds.
    last: std::sync::Mutex<(String, Option<Instant>)>,
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
            last: std::sync::Mutex::new((String::new(), None)),
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
                let kind = |m: &str| m.split(':').next().unwrap_or(m).to_string();
                let new_kind = kind(&last.0) != kind(message);
                let quiet_for = last.1.map_or(Duration::MAX, |t| t.elapsed());
                if last.0 != message && (new_kind || quiet_for >= Duration::from_secs(3)) {
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(err, "{message}");
                    *last = (message.to_string(), Some(Instant::now()));
                }
            }
        }
    }

    /// A finished step, kept on screen.
    pub fn done(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{message}");
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
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
