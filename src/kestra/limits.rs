//! How much of what a server lists kestractl holds at once. A server is not trusted to end a
//! listing: one that keeps answering full pages (or a directory inside a directory, forever)
//! would otherwise grow the process until the machine runs out of memory. Each limit is far
//! above what a real Kestra lists and ends the command with what to do instead.

use super::error::ApiError;

/// Items of one listing (flows, keys, triggers, files, executions kept for a table).
pub const MAX_LISTED: usize = 100_000;

/// Levels of a namespace's file tree.
pub const MAX_TREE_DEPTH: usize = 64;

/// The error for a listing that passed [`MAX_LISTED`]; `narrower` says how to ask for less.
pub fn too_many(url: String, what: &str, narrower: &str) -> ApiError {
    ApiError::Limit {
        url,
        detail: format!(
            "the server listed more than {MAX_LISTED} {what}, more than kestractl holds at once"
        ),
        hint: format!("{narrower}; if this is not the Kestra you meant, check --server"),
    }
}

/// Refuses a listing once it holds more than [`MAX_LISTED`] items.
// The client's own error type, as every call of the client returns it.
#[allow(clippy::result_large_err)]
pub fn check_listed(
    held: usize,
    url: impl FnOnce() -> String,
    what: &str,
    narrower: &str,
) -> Result<(), ApiError> {
    if held > MAX_LISTED {
        Err(too_many(url(), what, narrower))
    } else {
        Ok(())
    }
}

/// Memory shared by the reads of one command (the exports of every namespace a deploy reads,
/// fetched concurrently): each read charges what it holds, and the command stops once the
/// total would pass the cap.
#[derive(Debug)]
pub struct Budget {
    used: std::sync::atomic::AtomicU64,
    cap: u64,
}

impl Budget {
    pub fn new(cap: u64) -> Self {
        Budget {
            used: std::sync::atomic::AtomicU64::new(0),
            cap,
        }
    }

    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// What is left.
    pub fn left(&self) -> u64 {
        self.cap
            .saturating_sub(self.used.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Takes `bytes` from the budget; `false` (and nothing taken) when they do not fit.
    pub fn charge(&self, bytes: u64) -> bool {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.cap)
            })
            .is_ok()
    }

    /// Gives `bytes` back (what a read no longer holds).
    pub fn release(&self, bytes: u64) {
        use std::sync::atomic::Ordering;
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_what_does_not_fit_and_takes_back_what_is_released() {
        let b = Budget::new(100);
        assert!(b.charge(60));
        assert!(!b.charge(41));
        assert_eq!(b.left(), 40);
        assert!(b.charge(40));
        b.release(50);
        assert!(b.charge(50));
        assert!(!b.charge(1));
        assert!(!b.charge(u64::MAX));
    }
}
