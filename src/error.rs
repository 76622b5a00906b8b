//! User-facing errors. Every variant says what went wrong *and* what to do about it, and maps to
//! one of the exit codes of the command-line contract (DESIGN §3). `main` prints an error once.

use std::fmt;
use std::path::PathBuf;

/// Exit codes of the command-line contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Error = 1,
    Usage = 2,
    NotReady = 3,
    Auth = 4,
    InvalidInput = 5,
    ExecutionUnsuccessful = 6,
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error as the operator sees it: a message, an optional fix, and an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad settings: a config file, `.env` or flag that cannot be used as given.
    #[error("{message}")]
    Settings { message: String, hint: String },

    /// A command-line value that parsed but makes no sense (exit 2, like clap's own errors).
    #[error("{message}")]
    Usage { message: String, hint: String },

    /// Something kestractl will not do because it is unsafe: a server-named path leaving its
    /// folder, a write through a symbolic link, a directory it does not own.
    #[error("{message}")]
    Unsafe { message: String, hint: String },

    /// The server could not be reached at all (refused, DNS, TLS, timeout).
    #[error("cannot reach Kestra at {url}: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        hint: String,
    },

    /// The server refused the credentials (HTTP 401), or none were available.
    #[error("{message}")]
    Auth { message: String, hint: String },

    /// The thing asked for does not exist (HTTP 404 on a resource).
    #[error("{message}")]
    NotFound { message: String, hint: String },

    /// The server rejected what we sent (400/409/415/422).
    #[error("{message}")]
    Rejected {
        message: String,
        hint: String,
        exit: Exit,
    },

    /// The server failed (5xx after retries) or answered something that is not Kestra's API.
    #[error("{message}")]
    Server { message: String, hint: String },

    /// The Docker Engine: unreachable, refusing, or a container that misbehaves.
    #[error("{message}")]
    Engine { message: String, hint: String },

    /// The stack did not become ready (exit 3).
    #[error("{message}")]
    NotReady { message: String, hint: String },

    /// The OS keyring: none usable, or one that refused or did not answer in time.
    #[error("{message}")]
    Keyring { message: String, hint: String },

    /// A credential rotation that failed (and was rolled back, or says what is left to do).
    #[error("{message}")]
    Rotation { message: String, hint: String },

    /// Basic Auth over plain HTTP to a non-loopback host.
    #[error("refusing to send the password over plain http to {host}")]
    InsecureHttp { host: String },

    /// A file we had to read or write.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing to stdout failed because the reader went away (`kestractl … | head`): quiet exit.
    #[error("broken pipe")]
    BrokenPipe,

    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted { hint: String },

    /// Anything else; a bug or an environment problem without a specific fix.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage { .. } => Exit::Usage,
            Error::Auth { .. } => Exit::Auth,
            Error::NotFound { .. } | Error::NotReady { .. } => Exit::NotReady,
            Error::Rejected { exit, .. } => *exit,
            Error::BrokenPipe => Exit::Ok,
            Error::Interrupted { .. } => Exit::Interrupted,
            Error::Settings { .. }
            | Error::Unsafe { .. }
            | Error::Unreachable { .. }
            | Error::Server { .. }
            | Error::Engine { .. }
            | Error::Keyring { .. }
            | Error::Rotation { .. }
            | Error::InsecureHttp { .. }
            | Error::Io { .. }
            | Error::Other(_) => Exit::Error,
        }
    }

    /// What the operator should do about it, when we know.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            Error::Settings { hint, .. }
            | Error::Usage { hint, .. }
            | Error::Unsafe { hint, .. }
            | Error::Unreachable { hint, .. }
            | Error::Auth { hint, .. }
            | Error::NotFound { hint, .. }
            | Error::Rejected { hint, .. }
            | Error::Server { hint, .. }
            | Error::Engine { hint, .. }
            | Error::Keyring { hint, .. }
            | Error::Rotation { hint, .. }
            | Error::NotReady { hint, .. } => hint.clone(),
            Error::InsecureHttp { .. } => {
                "use https:// for a remote server; if the network between you and it is \
                 trusted, pass --allow-insecure-http (or set KESTRACTL_ALLOW_INSECURE_HTTP=1)"
                    .to_string()
            }
            Error::Interrupted { hint } => hint.clone(),
            Error::Io { .. } | Error::BrokenPipe | Error::Other(_) => String::new(),
        };
        (!hint.is_empty()).then_some(hint)
    }

    pub fn settings(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Settings {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn unsafe_(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Unsafe {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Map a failed write to stdout: a closed pipe is not an error worth reporting.
pub fn stdout_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error::BrokenPipe
    } else {
        Error::io("cannot write to", "stdout", e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Renders an error for stderr: the message with its causes, then the fix on its own line.
pub struct Report<'a>(pub &'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.0)?;
        // Causes add detail for wrapped errors (anyhow chains, io sources) without repeating
        // the top line.
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !self.0.to_string().contains(&text) {
                write!(f, ": {text}")?;
            }
            source = cause.source();
        }
        if let Some(hint) = self.0.hint() {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shows_message_and_hint_on_separate_lines() {
        let e = Error::Auth {
            message: "Kestra refused the credentials".into(),
            hint: "check the password".into(),
        };
        assert_eq!(
            Report(&e).to_string(),
            "error: Kestra refused the credentials\n  hint: check the password"
        );
        assert_eq!(e.exit(), Exit::Auth);
    }

    #[test]
    fn io_error_includes_path_and_cause_once() {
        let e = Error::io(
            "cannot read",
            "/x/config.toml",
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        );
        let text = Report(&e).to_string();
        assert_eq!(text, "error: cannot read /x/config.toml: denied");
    }

    #[test]
    fn broken_pipe_is_a_quiet_success() {
        let e = stdout_error(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(e.exit(), Exit::Ok);
    }
}
