//! Ctrl-C and SIGTERM for the commands that must never stop between their steps (`backup`,
//! `restore`, `upgrade`): the signals are caught from the start, the command is told, and it
//! puts things back before it ends. A second signal does not kill it halfway through that.

use tokio::sync::watch;

use crate::error::{Error, Result};

pub struct Interrupts {
    fired: watch::Receiver<bool>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Interrupts {
    /// Starts catching SIGINT and SIGTERM now; `warning` is printed on each one.
    pub fn catch(warning: &'static str) -> Result<Interrupts> {
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
                    crate::output::Output::warn_line(warning);
                    let _ = tx.send(true);
                }
            })
        };
        #[cfg(not(unix))]
        let watcher = tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                crate::output::Output::warn_line(warning);
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
