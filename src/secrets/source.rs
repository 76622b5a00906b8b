//! Where a command's password comes from, in order: `--password-stdin`, `KESTRACTL_PASSWORD`,
//! then the seed's plain-text `KESTRA_BASICAUTH_PASSWORD` (environment, then `.env`) with a
//! warning. (The OS keyring slots in after `KESTRACTL_PASSWORD` when it lands.)

use std::io::BufRead;

use super::Secret;
use crate::error::{Error, Result};
use crate::settings::DotEnv;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Stdin,
    Env(&'static str),
    DotEnv(String),
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::Stdin => f.write_str("--password-stdin"),
            PasswordSource::Env(var) => write!(f, "environment {var}"),
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

/// Finds the password for API commands. `stdin` is only read when `--password-stdin` was given.
pub fn resolve_password(
    password_stdin: bool,
    stdin: &mut dyn BufRead,
    env: &dyn Fn(&str) -> Option<String>,
    dotenv: &DotEnv,
) -> Result<Option<Password>> {
    if password_stdin {
        return Ok(Some(Password {
            secret: read_password_line(stdin)?,
            source: PasswordSource::Stdin,
            warning: None,
        }));
    }
    if let Some(pw) = env("KESTRACTL_PASSWORD").filter(|v| !v.is_empty()) {
        return Ok(Some(Password {
            secret: Secret::new(pw),
            source: PasswordSource::Env("KESTRACTL_PASSWORD"),
            warning: None,
        }));
    }
    if let Some(pw) = env("KESTRA_BASICAUTH_PASSWORD").filter(|v| !v.is_empty()) {
        return Ok(Some(Password {
            secret: Secret::new(pw),
            source: PasswordSource::Env("KESTRA_BASICAUTH_PASSWORD"),
            warning: Some(
                "using the password from KESTRA_BASICAUTH_PASSWORD (the seed's plain-text variable); \
                 prefer --password-stdin"
                    .into(),
            ),
        }));
    }
    if let (Some(pw), Some(path)) = (dotenv.get("KESTRA_BASICAUTH_PASSWORD"), &dotenv.path) {
        return Ok(Some(Password {
            secret: Secret::new(pw),
            source: PasswordSource::DotEnv(path.display().to_string()),
            warning: Some(format!(
                "using KESTRA_BASICAUTH_PASSWORD from {}, where it sits in plain text; \
                 prefer --password-stdin",
                path.display()
            )),
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let pw = resolve_password(
            true,
            &mut input,
            &env_of(&[("KESTRACTL_PASSWORD", "env")]),
            &DotEnv::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(pw.secret.expose(), "  pa ss");
        assert_eq!(pw.source, PasswordSource::Stdin);
    }

    #[test]
    fn empty_stdin_is_a_usage_error() {
        let mut input = "".as_bytes();
        let err = resolve_password(true, &mut input, &env_of(&[]), &DotEnv::default()).unwrap_err();
        assert_eq!(err.exit(), crate::error::Exit::Usage);
    }

    #[test]
    fn order_env_then_seed_env_then_dotenv() {
        let dot = DotEnv::from_pairs("/w/.env", &[("KESTRA_BASICAUTH_PASSWORD", "dot")]);
        let mut none = "".as_bytes();
        let pw = resolve_password(
            false,
            &mut none,
            &env_of(&[
                ("KESTRACTL_PASSWORD", "ours"),
                ("KESTRA_BASICAUTH_PASSWORD", "seed"),
            ]),
            &dot,
        )
        .unwrap()
        .unwrap();
        assert_eq!(pw.secret.expose(), "ours");
        assert!(pw.warning.is_none());
        let pw = resolve_password(
            false,
            &mut none,
            &env_of(&[("KESTRA_BASICAUTH_PASSWORD", "seed")]),
            &dot,
        )
        .unwrap()
        .unwrap();
        assert_eq!(pw.secret.expose(), "seed");
        assert!(pw.warning.is_some());
        let pw = resolve_password(false, &mut none, &env_of(&[]), &dot)
            .unwrap()
            .unwrap();
        assert_eq!(pw.secret.expose(), "dot");
        assert!(!pw.warning.unwrap().contains("dot\n"));
        assert!(
            resolve_password(false, &mut none, &env_of(&[]), &DotEnv::default())
                .unwrap()
                .is_none()
        );
    }
}
