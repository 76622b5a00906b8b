//! Ctrl-C and SIGTERM: the only module that listens for them (a leaf: the error type only).
//!
//! Each command declares how it meets Ctrl-C ([`Interrupt`]) and [`run`] applies it in one place.
//! The commands that must never stop between their steps (`backup`, `restore`, `upgrade`) catch
//! the signals from the start ([`Interrupts`]): the command is told, and it puts things back before
//! it ends. A second signal does not kill it halfway through that.

use std::future::Future;

use tokio::sync::watch;

use crate::error::{Error, Result};

/// How a command meets Ctrl-C, declared beside the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// Ended at once, exit 130; `after` says what a rerun does (empty when nothing needs saying).
    Stop { after: &'static str },
    /// Finishes (or rolls back) first, so no half-done state is left: `warning` is said when
    /// Ctrl-C arrives, and once the command has completed it still ends as interrupted, with
    /// `done` as the hint.
    FinishFirst {
        warning: &'static str,
        done: &'static str,
    },
    /// The command watches for Ctrl-C itself (puts things back, or stops following and says
    /// the execution goes on).
    Handled,
}

impl Interrupt {
    /// Ended at once, with nothing to add.
    pub const STOP: Interrupt = Interrupt::Stop { after: "" };
}

/// Resolves at the next Ctrl-C (SIGINT).
pub async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs a command under its policy; `warn` says a line on stderr (for [`Interrupt::FinishFirst`]).
pub async fn run<T>(
    policy: Interrupt,
    work: impl Future<Output = Result<T>>,
    warn: fn(&str),
) -> Result<T> {
    match policy {
        Interrupt::Handled => work.await,
        // Biased, the command first: one that listens for Ctrl-C itself (a prompt) sees the
        // signal in the same poll and says what it left; otherwise it is dropped here.
        Interrupt::Stop { after } => tokio::select! {
            biased;
            result = work => result,
            () = ctrl_c() => Err(Error::interrupted(after)),
        },
        Interrupt::FinishFirst { warning, done } => {
            let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = interrupted.clone();
            // Registered before the command takes its first step: from now on a Ctrl-C is
            // caught, never the default "terminate".
            #[cfg(unix)]
            let mut signals =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                    .map_err(|e| Error::other(format!("cannot watch for Ctrl-C: {e}")))?;
            let watcher = tokio::spawn(async move {
                loop {
                    #[cfg(unix)]
                    let caught = signals.recv().await.is_some();
                    #[cfg(not(unix))]
                    let caught = tokio::signal::ctrl_c().await.is_ok();
                    if !caught {
                        break;
                    }
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    warn(warning);
                }
            });
            let result = work.await;
            watcher.abort();
            if interrupted.load(std::sync::atomic::Ordering::SeqCst) && result.is_ok() {
                return Err(Error::interrupted(done));
            }
            result
        }
    }
}

pub struct Interrupts {
    fired: watch::Receiver<bool>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Interrupts {
    /// Starts catching SIGINT and SIGTERM now; `warn` says `warning` on each one.
    pub fn catch(warning: &'static str, warn: fn(&str)) -> Result<Interrupts> {
        let (tx, fired) = watch::channel(false);
        #[cfg(unix)]
        let watcher = {
            use tokio::signal::unix::{SignalKind, signal};
            let cannot = |e: std::io::Error| Error::other(format!("cannot watch for Ctrl-C: {e}"));
            let mut int = signal(SignalKind::interrupt()).map_err(cannot)?;
            let mut term = signal(SignalKind::terminate()).map_err(cannot)?;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        s = int.recv() => if s.is_none() { break },
                        s = term.recv() => if s.is_none() { break },
                    }
                    warn(warning);
                    let _ = tx.send(true);
                }
            })
        };
        #[cfg(not(unix))]
        let watcher = tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                warn(warning);
                let _ = tx.send(true);
            }
        });
        Ok(Interrupts { fired, watcher })
    }

    pub fn fired(&self) -> bool {
        *self.fired.borrow()
    }

    /// Resolves once a signal has arrived (at once if one already has).
    pub async fn wait(&self) {
        let mut fired = self.fired.clone();
        let _ = fired.wait_for(|f| *f).await;
    }

    /// Runs `work` unless a signal arrives first, in which case `work` is dropped where it
    /// stands and the result is [`Error::interrupted`].
    pub async fn guard<T>(&self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            result = work => result,
            () = self.wait() => Err(Error::interrupted("")),
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}
