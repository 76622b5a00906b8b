//! Progress on stderr: a spinner with elapsed time on a terminal, one plain line per step
//! otherwise (CI logs stay readable and free of escape codes).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::duration::format_duration;

pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    /// The last plain-mode message, so a repeated `step` prints once.
    last: std::cell::RefCell<String>,
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
            started: Instant::now(),
            last: std::cell::RefCell::new(String::new()),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// What is happening now (replaces the spinner text; printed once in plain mode).
    pub fn step(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => {
                if *self.last.borrow() != message {
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(err, "{message}");
                    *self.last.borrow_mut() = message.to_string();
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

    pub fn since_start(&self) -> String {
        format_duration(self.started.elapsed())
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
