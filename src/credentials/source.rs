//! Where a command's password comes from, in order: `--password-stdin`, `KESTRACTL_PASSWORD`
//! (meant for CI), the OS keyring (the entry of the context, username and server; see
//! [`super::store`]), then the seed's plain-text `KESTRA_BASICAUTH_PASSWORD` (environment, then
//! `.env`) with a warning.

use std::io::BufRead;

use super::store::{Availability, Backend};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::DotEnv;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Stdin,
    Env(&'static str),
    Keyring { backend: Backend, entry: String },
    DotEnv(String),
}

impl PasswordSource {
    /// A short machine-readable name (`auth status -o json`).
    pub fn kind(&self) -> &'static str {
        match self {
            PasswordSource::Stdin => "stdin",
            PasswordSource::Env(_) => "environment",
            PasswordSource::Keyring { .. } => "keyring",
            PasswordSource::DotEnv(_) => "dotenv",
        }
    }
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::Stdin => f.write_str("--password-stdin"),
            PasswordSource::Env(var) => write!(f, "environment {var}"),
            PasswordSource::Keyring { backend, entry } => {
                write!(f, "keyring ({}) entry `{entry}`", backend.describe())
            }
            PasswordSource::DotEnv(path) => write!(f, "{path} KESTRA_BASICAUTH_PASSWORD"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Password {
    pub secret: Secret,
    pub source: PasswordSource,
    /// Shown once on stderr: plain-text sources deserve a nudge.
    pub warning: Option<String>,
}

/// Reads a password from the first line of `input` (the trailing newline is not part of it).
pub fn read_password_line(input: &mut dyn BufRead) -> Result<Secret> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| Error::io("cannot read the password from", "stdin", e))?;
    let trimmed = line.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        return Err(Error::usage(
            "--password-stdin was given but stdin held no password",
            "pipe the password in, e.g. `printf '%s' \"$PW\" | kestractl … --password-stdin`",
        ));
    }
    Ok(Secret::new(trimmed))
}

/// The password given explicitly for this run: `--password-stdin` (then `stdin` is read), else
/// `KESTRACTL_PASSWORD`.
pub fn given_password(
    password_stdin: bool,
    stdin: &mut dyn BufRead,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Password>> {
    if password_stdin {
        return Ok(Some(Password {
            secret: read_password_line(stdin)?,
            source: PasswordSource::Stdin,
            warning: None,
        }));
    }
    Ok(env("KESTRACTL_PASSWORD")
        .filter(|v| !v.is_empty())
        .map(|pw| Password {
            secret: Secret::new(pw),
            source: PasswordSource::Env("KESTRACTL_PASSWORD"),
            warning: None,
        }))
}

/// The seed's plain-text `KESTRA_BASICAUTH_PASSWORD` (environment, then `.env`), with a warning.
pub fn seed_password(env: &dyn Fn(&str) -> Option<String>, dotenv: &DotEnv) -> Option<Password> {
    if let Some(pw) = env("KESTRA_BASICAUTH_PASSWORD").filter(|v| !v.is_empty()) {
        return Some(Password {
            secret: Secret::new(pw),
            source: PasswordSource::Env("KESTRA_BASICAUTH_PASSWORD"),
            warning: Some(
                "using the password from KESTRA_BASICAUTH_PASSWORD (the seed's plain-text variable); \
                 prefer the keyring (`kestractl auth login`)"
                    .into(),
            ),
        });
    }
    if let (Some(pw), Some(path)) = (dotenv.get("KESTRA_BASICAUTH_PASSWORD"), &dotenv.path) {
        return Some(Password {
            secret: Secret::new(pw),
            source: PasswordSource::DotEnv(path.display().to_string()),
            warning: Some(format!(
                "using KESTRA_BASICAUTH_PASSWORD from {}, where it sits in plain text; move it \
                 into the keyring with `kestractl auth import-env --rewrite-env`",
                path.display()
            )),
        });
    }
    None
}

/// The password of `entry` in the keyring. The second value says why the keyring gave nothing
/// when that is a problem (unusable, or a failed read), for a warning if no other source has one.
pub async fn keyring_password(
    keyring: &Availability,
    entry: &str,
) -> (Option<Password>, Option<String>) {
    match keyring {
        Availability::Disabled => (None, None),
        Availability::Unavailable(_) => (
            None,
            keyring
                .require()
                .err()
                .map(|e| format!("{e}; {}", e.hint().unwrap_or_default())),
        ),
        Availability::Ready(k) => match k.get(entry).await {
            Ok(Some(secret)) => (
                Some(Password {
                    secret,
                    source: PasswordSource::Keyring {
                        backend: k.backend(),
                        entry: entry.to_string(),
                    },
                    warning: None,
                }),
                None,
            ),
            Ok(None) => (None, None),
            Err(e) => (None, Some(e.to_string())),
        },
    }
}

/// The whole order after what was given explicitly: the keyring, then the seed's variables.
/// Returns the password and, when none was found, why the keyring could not help.
pub async fn resolve_password(
    given: Option<Password>,
    keyring: Option<&Availability>,
    entry: &str,
    env: &dyn Fn(&str) -> Option<String>,
    dotenv: &DotEnv,
) -> (Option<Password>, Option<String>) {
    if given.is_some() {
        return (given, None);
    }
    let (found, problem) = match keyring {
        Some(k) => keyring_password(k, entry).await,
        None => (None, None),
    };
    if found.is_some() {
        return (found, None);
    }
    match seed_password(env, dotenv) {
        Some(p) => (Some(p), None),
        None => (None, problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::store::Keyring;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn stdin_wins_and_strips_only_the_newline() {
        let mut input = "  pa ss\r\n second line".as_bytes();
        let pw = given_password(true, &mut input, &env_of(&[("KESTRACTL_PASSWORD", "env")]))
            .unwrap()
            .unwrap();
        assert_eq!(pw.secret.expose(), "  pa ss");
        assert_eq!(pw.source, PasswordSource::Stdin);
    }

    #[test]
    fn empty_stdin_is_a_usage_error() {
        let mut input = "".as_bytes();
        let err = given_password(true, &mut input, &env_of(&[])).unwrap_err();
        assert_eq!(err.exit(), crate::error::Exit::Usage);
    }

    const ENTRY: &str = "default/admin@kestra.io@http://localhost:8080";

    async fn resolve(
        env: &[(&str, &str)],
        keyring: &Availability,
        dot: &DotEnv,
    ) -> (Option<Password>, Option<String>) {
        let env = env_of(env);
        let mut none = "".as_bytes();
        let given = given_password(false, &mut none, &env).unwrap();
        resolve_password(given, Some(keyring), ENTRY, &env, dot).await
    }

    #[tokio::test]
    async fn order_env_then_keyring_then_seed_env_then_dotenv() {
        let dot = DotEnv::from_pairs("/w/.env", &[("KESTRA_BASICAUTH_PASSWORD", "dot")]);
        let k = Keyring::mock();
        k.set(ENTRY, &Secret::new("from-keyring")).await.unwrap();
        let ready = Availability::Ready(k.clone());
        let all = [
            ("KESTRACTL_PASSWORD", "ours"),
            ("KESTRA_BASICAUTH_PASSWORD", "seed"),
        ];

        let (pw, _) = resolve(&all, &ready, &dot).await;
        let pw = pw.unwrap();
        assert_eq!(pw.secret.expose(), "ours");
        assert!(pw.warning.is_none());

        let (pw, _) = resolve(&all[1..], &ready, &dot).await;
        let pw = pw.unwrap();
        assert_eq!(pw.secret.expose(), "from-keyring");
        assert_eq!(pw.source.kind(), "keyring");
        assert!(pw.source.to_string().contains(ENTRY));
        assert!(pw.warning.is_none());

        k.delete(ENTRY).await.unwrap();
        let (pw, _) = resolve(&all[1..], &ready, &dot).await;
        let pw = pw.unwrap();
        assert_eq!(pw.secret.expose(), "seed");
        assert!(pw.warning.unwrap().contains("auth login"));

        let (pw, problem) = resolve(&[], &ready, &dot).await;
        let pw = pw.unwrap();
        assert_eq!(pw.secret.expose(), "dot");
        assert!(pw.warning.unwrap().contains("import-env"));
        assert!(problem.is_none());

        let (pw, problem) = resolve(&[], &ready, &DotEnv::default()).await;
        assert!(pw.is_none() && problem.is_none());
    }

    #[tokio::test]
    async fn an_unusable_keyring_is_reported_only_when_nothing_else_has_a_password() {
        let gone = Availability::Unavailable(vec![]);
        let (pw, problem) = resolve(&[], &gone, &DotEnv::default()).await;
        assert!(pw.is_none());
        assert!(problem.unwrap().contains("no OS keyring is usable"));
        let (pw, problem) = resolve(
            &[("KESTRA_BASICAUTH_PASSWORD", "seed")],
            &gone,
            &DotEnv::default(),
        )
        .await;
        assert_eq!(pw.unwrap().secret.expose(), "seed");
        assert!(problem.is_none());
        let (pw, problem) = resolve(&[], &Availability::Disabled, &DotEnv::default()).await;
        assert!(pw.is_none() && problem.is_none());
    }
}
