//! Secrets: the redacting wrapper, where a password comes from, the OS keyring, and rotation.
//!
//! A password is never a command-line argument (argv is world-readable through /proc). It comes
//! from `--password-stdin`, `KESTRACTL_PASSWORD` (meant for CI), the OS keyring ([`store`]), or
//! the seed's `KESTRA_BASICAUTH_PASSWORD` (environment or `.env`, with a warning because it sits in
//! plain text). [`rotate`] changes the managed stack's credentials with verify and rollback.

pub mod generate;
pub mod import;
pub mod rotate;
pub mod rotate_api;
pub mod scram;
pub mod source;
pub mod store;

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
