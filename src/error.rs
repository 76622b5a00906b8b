//! User-facing errors: one type with a kind, a message, a hint with the fix and a cause. The kind
//! maps to one of the exit codes README documents (ARCHITECTURE.md, "Errors and exit codes"). `main`
//! prints an error once.

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
    /// A port or container name the stack needs is taken: the caller (an ops repository's
    /// start-stacks script) may go on with its other services.
    Taken = 7,
    /// `flows diff`: the server differs from the folder; a deploy would change it (CI gates).
    ChangesPending = 8,
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// What kind of failure an [`Error`] is; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad settings: a config file, `.env` or flag that cannot be used as given.
    Settings,
    /// A command-line value that parsed but makes no sense (exit 2, like clap's own errors).
    Usage,
    /// Something kestractl will not do because it is unsafe: a server-named path leaving its
    /// folder, a write through a symbolic link, a directory it does not own.
    Unsafe,
    /// The server could not be reached at all (refused, DNS, TLS, timeout).
    Unreachable,
    /// The server refused the credentials (HTTP 401), or none were available.
    Auth,
    /// The thing asked for does not exist (HTTP 404 on a resource).
    NotFound,
    /// The server rejected what we sent (400/409/415/422), with the exit code that fits.
    Rejected(Exit),
    /// The server failed (5xx after retries) or answered something that is not Kestra's API.
    Server,
    /// The Docker Engine: unreachable, refusing, or a container that misbehaves.
    Engine,
    /// The stack did not become ready (exit 3).
    NotReady,
    /// The OS keyring: none usable, or one that refused or did not answer in time.
    Keyring,
    /// A credential rotation that failed (and was rolled back, or says what is left to do).
    Rotation,
    /// Basic Auth over plain HTTP to a non-loopback host.
    InsecureHttp,
    /// A file we had to read or write.
    Io,
    /// Writing to stdout failed because the reader went away (`kestractl … | head`): quiet exit.
    BrokenPipe,
    /// An input file that cannot be used (exit 5): a backup archive damaged, truncated or of an
    /// unknown format; a services manifest that is not JSON.
    Damaged,
    /// A port or container name the stack needs is held by something else (exit 7).
    Taken,
    /// Ctrl-C.
    Interrupted,
    /// The operator answered no to a question: nothing was done, as asked (exit 0, said without
    /// "error:").
    Declined,
    /// Anything else; a bug or an environment problem without a specific fix.
    Other,
}

impl Kind {
    pub fn exit(self) -> Exit {
        match self {
            Kind::Usage => Exit::Usage,
            Kind::Auth => Exit::Auth,
            Kind::NotFound | Kind::NotReady => Exit::NotReady,
            Kind::Rejected(exit) => exit,
            Kind::BrokenPipe | Kind::Declined => Exit::Ok,
            Kind::Interrupted => Exit::Interrupted,
            Kind::Damaged => Exit::InvalidInput,
            Kind::Taken => Exit::Taken,
            Kind::Settings
            | Kind::Unsafe
            | Kind::Unreachable
            | Kind::Server
            | Kind::Engine
            | Kind::Keyring
            | Kind::Rotation
            | Kind::InsecureHttp
            | Kind::Io
            | Kind::Other => Exit::Error,
        }
    }
}

/// An error as the operator sees it: what went wrong, what to do about it (when known), its
/// kind (which gives the exit code) and the underlying cause, if any.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error {
            kind: Kind::Other,
            message: e.to_string(),
            hint: None,
            source: Some(e.into()),
        }
    }
}

/// `Error::settings(message, hint)` and its siblings: one constructor per kind that comes with a
/// fix.
macro_rules! constructors {
    ($($name:ident => $kind:ident),* $(,)?) => {
        $(
            pub fn $name(message: impl Into<String>, hint: impl Into<String>) -> Self {
                Error::new(Kind::$kind, message, hint)
            }
        )*
    };
}

impl Error {
    /// An error of `kind`; an empty hint means none.
    pub fn new(kind: Kind, message: impl Into<String>, hint: impl Into<String>) -> Self {
        let hint: String = hint.into();
        Error {
            kind,
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
            source: None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn exit(&self) -> Exit {
        self.kind.exit()
    }

    /// What the operator should do about it, when we know.
    pub fn hint(&self) -> Option<String> {
        self.hint.clone()
    }

    constructors! {
        settings => Settings,
        usage => Usage,
        unsafe_ => Unsafe,
        auth => Auth,
        not_found => NotFound,
        server => Server,
        engine => Engine,
        not_ready => NotReady,
        keyring => Keyring,
        rotation => Rotation,
        damaged => Damaged,
        taken => Taken,
    }

    pub fn rejected(message: impl Into<String>, hint: impl Into<String>, exit: Exit) -> Self {
        Error::new(Kind::Rejected(exit), message, hint)
    }

    pub fn unreachable(url: &str, reason: &str, hint: impl Into<String>) -> Self {
        Error::new(
            Kind::Unreachable,
            format!("cannot reach Kestra at {url}: {reason}"),
            hint,
        )
    }

    pub fn insecure_http(host: &str) -> Self {
        Error::new(
            Kind::InsecureHttp,
            format!("refusing to send the password over plain http to {host}"),
            "use https:// for a remote server; if the network between you and it is \
             trusted, pass --allow-insecure-http (or set KESTRACTL_ALLOW_INSECURE_HTTP=1)",
        )
    }

    pub fn interrupted(hint: impl Into<String>) -> Self {
        Error::new(Kind::Interrupted, "interrupted", hint)
    }

    /// A file we had to read or write: `{action} {path}: {cause}`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error {
            kind: Kind::Io,
            message: format!("{action} {}: {source}", path.into().display()),
            hint: None,
            source: Some(Box::new(source)),
        }
    }

    /// A failure with no specific fix (a bug or an environment problem).
    pub fn other(message: impl Into<String>) -> Self {
        Error::new(Kind::Other, message, "")
    }
}

/// Map a failed write to stdout: a closed pipe is not an error worth reporting.
pub fn stdout_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error::new(Kind::BrokenPipe, "broken pipe", "")
    } else {
        Error::io("cannot write to", "stdout", e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Renders an error for stderr: the message with its causes, then the fix on its own line.
pub struct Report<'a>(pub &'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An error may quote a server, an archive or a file (an error body, an entry's name):
        // whatever it holds, no escape sequence or bidi override reaches the terminal.
        let clean = crate::sanitize::clean_str;
        // Declining a question is the operator's choice, not a failure: said plainly.
        if self.0.kind() == Kind::Declined {
            return write!(f, "{}", clean(&self.0.to_string()));
        }
        write!(f, "error: {}", clean(&self.0.to_string()))?;
        // Causes add detail for wrapped errors (anyhow chains, io sources) without repeating
        // the top line.
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !self.0.to_string().contains(&text) {
                write!(f, ": {}", clean(&text))?;
            }
            source = cause.source();
        }
        if let Some(hint) = self.0.hint() {
            write!(f, "\n  hint: {}", clean(&hint))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shows_message_and_hint_on_separate_lines() {
        let e = Error::auth("Kestra refused the credentials", "check the password");
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
