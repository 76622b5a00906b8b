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

/// Every spinner on screen, so a question can take them all off it first.
static SPINNERS: std::sync::Mutex<Vec<indicatif::WeakProgressBar>> =
    std::sync::Mutex::new(Vec::new());

const TICK: Duration = Duration::from_millis(100);

/// Takes every spinner off the screen until the guard is dropped (a question is asked, an
/// answer typed): nothing draws over it, and nothing is left half-drawn above it.
pub fn pause_all() -> Paused {
    let bars: Vec<ProgressBar> = SPINNERS
        .lock()
        .map(|mut all| {
            all.retain(|w| w.upgrade().is_some());
            all.iter()
                .filter_map(indicatif::WeakProgressBar::upgrade)
                .collect()
        })
        .unwrap_or_default();
    for bar in &bars {
        bar.disable_steady_tick();
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    if !bars.is_empty() {
        clear_line();
    }
    Paused(bars)
}

/// Takes every spinner off the screen for good: the command is ending (an error, Ctrl-C), and
/// no half-drawn frame may stay above the shell's prompt.
pub fn clear_all() {
    let bars: Vec<ProgressBar> = SPINNERS
        .lock()
        .map(|all| {
            all.iter()
                .filter_map(indicatif::WeakProgressBar::upgrade)
                .collect()
        })
        .unwrap_or_default();
    for bar in &bars {
        bar.disable_steady_tick();
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    if !bars.is_empty() {
        clear_line();
    }
}

/// Erases the terminal line a spinner was drawn on (spinners exist only on a terminal).
fn clear_line() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

/// Spinners taken off the screen by [`pause_all`]; back when dropped.
pub struct Paused(Vec<ProgressBar>);

impl Drop for Paused {
    fn drop(&mut self) {
        for bar in &self.0 {
            if !bar.is_finished() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.enable_steady_tick(TICK);
            }
        }
    }
}

impl Progress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(TICK);
            if let Ok(mut all) = SPINNERS.lock() {
                all.push(bar.downgrade());
            }
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
