//! The OS keyring: keyring-core with explicit stores, never a silent fallback.
//!
//! Stores are tried in a fixed order and the first that works is used: on Linux the Secret
//! Service (GNOME Keyring, KWallet… over D-Bus), then the kernel's keyutils (headless machines);
//! the Keychain on macOS; the Credential Manager on Windows. `KESTRACTL_KEYRING` picks one
//! explicitly (`secret-service`, `keyutils`, `macos-keychain`, `windows-credential-manager`) or
//! none at all (`none`: passwords come from `--password-stdin` or `KESTRACTL_PASSWORD` only).
//! There is no plain-text or in-memory fallback: when no store works, the error says which were
//! tried, why each failed and what to do. (The mock store exists only in unit tests.)
//!
//! Every call runs on a thread of its own under a deadline (`KESTRACTL_KEYRING_TIMEOUT`, 5 s by
//! default): a locked keyring waiting for an unlock prompt, or a D-Bus peer that never answers,
//! cannot hang the CLI. A detached thread rather than `spawn_blocking`, because the runtime joins
//! its blocking threads when it shuts down, and a hung call would then hang the exit instead.
//!
//! Entries (service `kestractl`):
//! - Basic Auth: `<context>/<username>@<server>`, e.g. `default/admin@kestra.io@http://localhost:8080`;
//! - the stack's Postgres password: `stack:<container name>/postgres:<db user>`;
//! - a rotation's new secret before it is committed: the same name with `#pending` appended.

use std::sync::Arc;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::duration::{format_duration, parse_duration};

/// The service name of every entry.
pub const SERVICE: &str = "kestractl";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The entry a store is probed with (read for the Secret Service, written then deleted for
/// keyutils, which can read but not write in a process without a session keyring).
const PROBE_USER: &str = "kestractl-probe";

/// A credential store kestractl can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    SecretService,
    Keyutils,
    MacosKeychain,
    WindowsCredentialManager,
    #[cfg(test)]
    Mock,
}

impl Backend {
    pub const ALL: [Backend; 4] = [
        Backend::SecretService,
        Backend::Keyutils,
        Backend::MacosKeychain,
        Backend::WindowsCredentialManager,
    ];

    /// The name `KESTRACTL_KEYRING` and `auth status` use.
    pub fn id(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::MacosKeychain => "macos-keychain",
            Backend::WindowsCredentialManager => "windows-credential-manager",
            #[cfg(test)]
            Backend::Mock => "mock",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Backend::SecretService => "Secret Service (D-Bus)",
            Backend::Keyutils => "kernel keyutils",
            Backend::MacosKeychain => "macOS Keychain",
            Backend::WindowsCredentialManager => "Windows Credential Manager",
            #[cfg(test)]
            Backend::Mock => "mock store",
        }
    }

    fn parse(text: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.id() == text)
    }

    /// The stores this platform tries, in order.
    pub fn platform_order() -> &'static [Backend] {
        if cfg!(target_os = "linux") {
            &[Backend::SecretService, Backend::Keyutils]
        } else if cfg!(target_os = "macos") {
            &[Backend::MacosKeychain]
        } else if cfg!(windows) {
            &[Backend::WindowsCredentialManager]
        } else {
            &[]
        }
    }
}

/// Which store to use, from `KESTRACTL_KEYRING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Auto,
    Only(Backend),
    Disabled,
}

impl Choice {
    pub fn parse(value: Option<&str>) -> Result<Choice> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("auto") => Ok(Choice::Auto),
            Some("none") => Ok(Choice::Disabled),
            Some(other) => Backend::parse(other).map(Choice::Only).ok_or_else(|| {
                Error::settings(
                    format!("KESTRACTL_KEYRING=`{other}` names no keyring kestractl knows"),
                    "use auto (the default), secret-service, keyutils, macos-keychain, \
                     windows-credential-manager, or none (no keyring: --password-stdin or \
                     KESTRACTL_PASSWORD only)",
                )
            }),
        }
    }
}

/// The deadline of each keyring call, from `KESTRACTL_KEYRING_TIMEOUT`.
pub fn timeout_from(value: Option<&str>) -> Result<Duration> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_TIMEOUT),
        Some(text) => parse_duration(text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Error::settings(
                    format!("KESTRACTL_KEYRING_TIMEOUT=`{text}` is not a duration"),
                    "use e.g. 5s or 500ms",
                )
            }),
    }
}

/// One store that was tried and why it could not be used.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub backend: Backend,
    pub reason: String,
}

/// The outcome of looking for a store.
#[derive(Clone)]
pub enum Availability {
    Ready(Keyring),
    /// `KESTRACTL_KEYRING=none`.
    Disabled,
    Unavailable(Vec<Attempt>),
}

impl Availability {
    pub fn keyring(&self) -> Option<&Keyring> {
        match self {
            Availability::Ready(k) => Some(k),
            _ => None,
        }
    }

    /// The keyring, or the error that says why there is none and what to do.
    pub fn require(&self) -> Result<&Keyring> {
        match self {
            Availability::Ready(k) => Ok(k),
            Availability::Disabled => Err(Error::keyring(
                "the keyring is turned off (KESTRACTL_KEYRING=none)",
                "unset KESTRACTL_KEYRING (or set it to auto) to use the OS keyring; without \
                       one, give the password with --password-stdin or KESTRACTL_PASSWORD",
            )),
            Availability::Unavailable(attempts) => Err(unavailable_error(attempts)),
        }
    }

    /// One line for `auth status` and warnings.
    pub fn summary(&self) -> String {
        match self {
            Availability::Ready(k) => k.backend.describe().to_string(),
            Availability::Disabled => "none (KESTRACTL_KEYRING=none)".into(),
            Availability::Unavailable(attempts) => format!("unavailable ({})", tried(attempts)),
        }
    }
}

fn tried(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "this platform has no keyring kestractl can use".into();
    }
    attempts
        .iter()
        .map(|a| format!("{}: {}", a.backend.describe(), a.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `$XDG_RUNTIME_DIR/bus` when it exists while `DBUS_SESSION_BUS_ADDRESS` is unset.
fn unannounced_session_bus() -> Option<String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return None;
    }
    let bus = std::path::PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR")?).join("bus");
    bus.exists().then(|| bus.display().to_string())
}

fn unavailable_error(attempts: &[Attempt]) -> Error {
    let linux = attempts
        .iter()
        .any(|a| matches!(a.backend, Backend::SecretService | Backend::Keyutils));
    let mut hint = String::new();
    if let Some(bus) = linux.then(unannounced_session_bus).flatten() {
        // kestractl's libdbus (built in) finds the session bus only through the variable, where
        // a distribution's libdbus may also look in $XDG_RUNTIME_DIR.
        hint.push_str(&format!(
            "a session bus is listening at {bus} but DBUS_SESSION_BUS_ADDRESS is not set: \
             `export DBUS_SESSION_BUS_ADDRESS=unix:path={bus}` and run again. Otherwise, "
        ));
    }
    if linux {
        hint.push_str(
            "on a desktop, start or unlock your keyring (GNOME Keyring, KWallet); on a headless \
             server, run kestractl in a session keyring (log in over SSH or `su -l`, which gives \
             one, or `keyctl session - bash`) or start gnome-keyring-daemon --unlock under a D-Bus \
             session. ",
        );
    }
    hint.push_str(
        "Without a keyring, give the password on stdin (--password-stdin) or, in CI, in \
         KESTRACTL_PASSWORD; KESTRACTL_KEYRING=none says so explicitly",
    );
    Error::keyring(
        format!("no OS keyring is usable (tried {})", tried(attempts)),
        hint,
    )
}

/// Why a call on a thread did not return a value.
enum CallFailure {
    TimedOut,
    Thread(String),
}

/// Runs `f` on a detached thread, waiting at most `timeout`.
async fn call<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, CallFailure> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("kestractl-keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| CallFailure::Thread(e.to_string()))?;
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(CallFailure::Thread("the keyring call panicked".into())),
        Err(_) => Err(CallFailure::TimedOut),
    }
}

/// A keyring error as one line: its text and causes, never a secret (keyring-core's errors carry
/// none in their text; the raw bytes of `BadEncoding` are not printed).
fn describe(e: &keyring_core::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

/// What to do about a failed call, from the kind of failure.
fn hint_for(backend: Backend, e: &keyring_core::Error) -> String {
    use keyring_core::Error as K;
    let locked = describe(e).to_ascii_lowercase().contains("locked");
    match e {
        K::Ambiguous(_) => format!(
            "the keyring holds several entries for service {SERVICE} with this name; remove the \
             extra ones with the keyring's own tool (e.g. `secret-tool search --all service {SERVICE}`)"
        ),
        _ if backend == Backend::SecretService
            && (locked || matches!(e, K::NoStorageAccess(_))) =>
        {
            "the Secret Service's default keyring is locked or missing: unlock it (log in to the \
             desktop session; headless, `gnome-keyring-daemon --unlock` reads the keyring password \
             on stdin) and retry, or use --password-stdin / KESTRACTL_PASSWORD"
                .into()
        }
        K::NoStorageAccess(_) if backend == Backend::Keyutils => {
            "this process has no usable session keyring: run kestractl in one (`keyctl session - \
             bash`, or a PAM login such as SSH or `su -l`), or use --password-stdin / \
             KESTRACTL_PASSWORD"
                .into()
        }
        _ => "check that the keyring works (`kestractl auth status`); without one, use \
              --password-stdin or KESTRACTL_PASSWORD"
            .into(),
    }
}

/// A usable store.
#[derive(Clone)]
pub struct Keyring {
    store: Arc<CredentialStore>,
    backend: Backend,
    timeout: Duration,
}

impl Keyring {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn timed_out(&self, op: &str, user: &str) -> Error {
        Error::keyring(
            format!(
                "the {} did not answer within {} when asked to {op} `{user}`",
                self.backend.describe(),
                format_duration(self.timeout)
            ),
            "a locked keyring may be waiting for an unlock prompt: unlock it and retry; \
                   otherwise pick another store with KESTRACTL_KEYRING, or give the password \
                   with --password-stdin or KESTRACTL_PASSWORD",
        )
    }

    fn failed(&self, op: &str, user: &str, e: &keyring_core::Error) -> Error {
        Error::keyring(
            format!(
                "cannot {op} `{user}` in the {}: {}",
                self.backend.describe(),
                describe(e)
            ),
            hint_for(self.backend, e),
        )
    }

    async fn run<T: Send + 'static>(
        &self,
        op: &str,
        user: &str,
        f: impl FnOnce(Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        let name = user.to_string();
        let result = call(self.timeout, move || {
            let entry = Entry::new_in_store(&store, SERVICE, &name)?;
            f(entry)
        })
        .await;
        tracing::debug!(
            "keyring: {op} `{user}` in {}: {}",
            self.backend.id(),
            match &result {
                Ok(Ok(_)) => "ok".to_string(),
                Ok(Err(e)) => describe(e),
                Err(CallFailure::TimedOut) => "timed out".into(),
                Err(CallFailure::Thread(e)) => e.clone(),
            }
        );
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.failed(op, user, &e)),
            Err(CallFailure::TimedOut) => Err(self.timed_out(op, user)),
            Err(CallFailure::Thread(reason)) => Err(Error::keyring(
                format!("cannot {op} `{user}`: {reason}"),
                String::new(),
            )),
        }
    }

    /// The secret of an entry; `None` when there is none.
    pub async fn get(&self, user: &str) -> Result<Option<Secret>> {
        self.run("read", user, |entry| match entry.get_password() {
            Ok(p) => Ok(Some(Secret::new(p))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    /// Creates or replaces an entry.
    pub async fn set(&self, user: &str, secret: &Secret) -> Result<()> {
        let value = secret.clone();
        self.run("store", user, move |entry| {
            entry.set_password(value.expose())
        })
        .await
    }

    /// Removes an entry; `false` when there was none.
    pub async fn delete(&self, user: &str) -> Result<bool> {
        self.run("delete", user, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
        .await
    }

    /// An in-memory store for unit tests (never reachable from the binary).
    #[cfg(test)]
    pub fn mock() -> Keyring {
        Keyring {
            store: keyring_core::mock::Store::new().expect("mock store"),
            backend: Backend::Mock,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Finds the store to use: the chosen one, or the first of this platform's that works.
pub async fn open(choice: Choice, timeout: Duration) -> Availability {
    let candidates: Vec<Backend> = match choice {
        Choice::Disabled => return Availability::Disabled,
        Choice::Auto => Backend::platform_order().to_vec(),
        Choice::Only(b) => vec![b],
    };
    let mut attempts = Vec::new();
    for backend in candidates {
        let started = std::time::Instant::now();
        let result = match call(timeout, move || probe(backend)).await {
            Ok(r) => r,
            Err(CallFailure::TimedOut) => Err(format!(
                "no answer within {} (locked, or a peer that does not respond)",
                format_duration(timeout)
            )),
            Err(CallFailure::Thread(e)) => Err(e),
        };
        match result {
            Ok(store) => {
                tracing::debug!(
                    "keyring: using {} (probed in {:?})",
                    backend.id(),
                    started.elapsed()
                );
                return Availability::Ready(Keyring {
                    store,
                    backend,
                    timeout,
                });
            }
            Err(reason) => {
                // The reason (a D-Bus error on a headless machine, every command) is detail for
                // -vv; -v says which store is skipped, in one line.
                tracing::debug!(
                    "keyring: {} not available here, trying the next",
                    backend.id()
                );
                tracing::trace!("keyring: {} unusable: {reason}", backend.id());
                attempts.push(Attempt { backend, reason });
            }
        }
    }
    Availability::Unavailable(attempts)
}

/// Opens one store and proves it answers (blocking; run through [`call`]).
fn probe(backend: Backend) -> std::result::Result<Arc<CredentialStore>, String> {
    let store = new_store(backend)?;
    let entry = Entry::new_in_store(&store, SERVICE, PROBE_USER).map_err(|e| describe(&e))?;
    if backend == Backend::Keyutils {
        // keyutils reads fine where it cannot write (no session keyring to link from), so only a
        // write proves it.
        let result = entry.set_password("probe");
        let _ = entry.delete_credential();
        result.map_err(|e| describe(&e))?;
        return Ok(store);
    }
    match entry.get_password() {
        Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(store),
        Err(e) => Err(describe(&e)),
    }
}

fn new_store(backend: Backend) -> std::result::Result<Arc<CredentialStore>, String> {
    match backend {
        #[cfg(target_os = "linux")]
        Backend::SecretService => {
            let store: Arc<CredentialStore> =
                dbus_secret_service_keyring_store::Store::new().map_err(|e| describe(&e))?;
            Ok(store)
        }
        #[cfg(target_os = "linux")]
        Backend::Keyutils => {
            let store: Arc<CredentialStore> =
                linux_keyutils_keyring_store::Store::new().map_err(|e| describe(&e))?;
            Ok(store)
        }
        #[cfg(target_os = "macos")]
        Backend::MacosKeychain => {
            let store: Arc<CredentialStore> =
                apple_native_keyring_store::keychain::Store::new().map_err(|e| describe(&e))?;
            Ok(store)
        }
        #[cfg(windows)]
        Backend::WindowsCredentialManager => {
            let store: Arc<CredentialStore> =
                windows_native_keyring_store::Store::new().map_err(|e| describe(&e))?;
            Ok(store)
        }
        #[allow(unreachable_patterns)]
        _ => Err("not available on this platform".into()),
    }
}

/// The entry of a Basic Auth password: context, username and server (as displayed, no trailing
/// slash).
pub fn basic_auth_entry(context: &str, username: &str, server: &str) -> String {
    format!("{context}/{username}@{}", keyring_server(server))
}

/// A server as its keyring entry spells it: every loopback spelling of one port (`localhost`,
/// `127.0.0.1`, `[::1]`) is the same server on this machine, so it is one entry (`start` stores
/// the stack's under `http://localhost:PORT`; `--server http://127.0.0.1:PORT` finds it).
pub fn keyring_server(server: &str) -> String {
    let trimmed = server.trim_end_matches('/');
    if let Ok(mut u) = url::Url::parse(trimmed)
        && crate::settings::validate::is_loopback(&u)
        && u.set_host(Some("localhost")).is_ok()
    {
        return u.as_str().trim_end_matches('/').to_string();
    }
    trimmed.to_string()
}

/// The entry as it was spelled before loopback spellings were made one (`…@http://127.0.0.1:…`),
/// when it differs: still read, so a password stored then is not lost.
pub fn literal_basic_auth_entry(context: &str, username: &str, server: &str) -> Option<String> {
    let literal = format!("{context}/{username}@{}", server.trim_end_matches('/'));
    (literal != basic_auth_entry(context, username, server)).then_some(literal)
}

/// The entry of the managed stack's Postgres password.
pub fn db_entry(stack: &str, db_user: &str) -> String {
    format!("stack:{stack}/postgres:{db_user}")
}

/// Where a rotation keeps the new secret until it is committed.
pub fn pending_entry(entry: &str) -> String {
    format!("{entry}#pending")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_and_timeout_parse() {
        assert_eq!(Choice::parse(None).unwrap(), Choice::Auto);
        assert_eq!(Choice::parse(Some(" ")).unwrap(), Choice::Auto);
        assert_eq!(Choice::parse(Some("none")).unwrap(), Choice::Disabled);
        assert_eq!(
            Choice::parse(Some("keyutils")).unwrap(),
            Choice::Only(Backend::Keyutils)
        );
        let err = Choice::parse(Some("file")).unwrap_err();
        assert!(err.hint().unwrap().contains("secret-service"), "{err}");
        assert_eq!(timeout_from(None).unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(
            timeout_from(Some("250ms")).unwrap(),
            Duration::from_millis(250)
        );
        assert!(timeout_from(Some("0s")).is_err());
        assert!(timeout_from(Some("soon")).is_err());
    }

    #[test]
    fn entry_names() {
        assert_eq!(
            basic_auth_entry("default", "admin@kestra.io", "http://localhost:8080/"),
            "default/admin@kestra.io@http://localhost:8080"
        );
        assert_eq!(
            db_entry("tools-kestra", "kestra"),
            "stack:tools-kestra/postgres:kestra"
        );
        assert_eq!(pending_entry("a/b@c"), "a/b@c#pending");
        // Loopback spellings of one port are one server.
        for server in [
            "http://127.0.0.1:8080",
            "http://[::1]:8080/",
            "http://localhost:8080",
        ] {
            assert_eq!(
                basic_auth_entry("default", "admin@kestra.io", server),
                "default/admin@kestra.io@http://localhost:8080",
                "{server}"
            );
        }
        assert_eq!(
            basic_auth_entry("p", "u@x.io", "https://kestra.example.com/"),
            "p/u@x.io@https://kestra.example.com"
        );
        assert_eq!(
            literal_basic_auth_entry("d", "u@x.io", "http://127.0.0.1:8080").as_deref(),
            Some("d/u@x.io@http://127.0.0.1:8080")
        );
        assert_eq!(
            literal_basic_auth_entry("d", "u@x.io", "http://localhost:8080"),
            None
        );
    }

    #[tokio::test]
    async fn mock_round_trip() {
        let k = Keyring::mock();
        assert!(k.get("x").await.unwrap().is_none());
        k.set("x", &Secret::new("S3cret-value")).await.unwrap();
        assert_eq!(k.get("x").await.unwrap().unwrap().expose(), "S3cret-value");
        assert!(k.delete("x").await.unwrap());
        assert!(!k.delete("x").await.unwrap());
        assert!(k.get("x").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_hung_call_times_out() {
        let started = std::time::Instant::now();
        let r = call(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(5));
        })
        .await;
        assert!(matches!(r, Err(CallFailure::TimedOut)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn unavailable_says_what_was_tried_and_what_to_do() {
        let err = Availability::Unavailable(vec![
            Attempt {
                backend: Backend::SecretService,
                reason: "no D-Bus session bus".into(),
            },
            Attempt {
                backend: Backend::Keyutils,
                reason: "access denied".into(),
            },
        ])
        .require()
        .err()
        .unwrap();
        let text = err.to_string();
        assert!(
            text.contains("Secret Service (D-Bus): no D-Bus session bus"),
            "{text}"
        );
        assert!(text.contains("kernel keyutils: access denied"), "{text}");
        let hint = err.hint().unwrap();
        assert!(hint.contains("--password-stdin") && hint.contains("KESTRACTL_PASSWORD"));
        assert!(hint.contains("keyctl session"), "{hint}");
        assert!(Availability::Disabled.require().is_err());
    }
}
