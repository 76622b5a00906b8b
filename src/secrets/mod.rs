//! Secrets: the redacting wrapper and where a password comes from.
//!
//! A password is never a command-line argument (argv is world-readable through /proc). The keyring
//! store arrives with the credentials work; until then a password comes from `--password-stdin`,
//! `KESTRACTL_PASSWORD` (meant for CI), or the seed's `KESTRA_BASICAUTH_PASSWORD` (environment or
//! `.env`, with a warning because it sits in plain text).

pub mod generate;
pub mod source;

use std::fmt;

/// A secret string. `Debug` and `Display` never show it; the only way out is [`Secret::expose`],
/// which makes every use greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
