//! Secrets: where a password comes from, the OS keyring, and `.env` imports.
//!
//! A password is never a command-line argument (argv is world-readable through /proc). It comes
//! from `--password-stdin`, `KESTRACTL_PASSWORD` (meant for CI), the OS keyring ([`store`]), or
//! the seed's `KESTRA_BASICAUTH_PASSWORD` (environment or `.env`, with a warning because it sits in
//! plain text). The value itself is [`crate::secret::Secret`]; rotation is [`crate::rotation`].

pub mod import;
pub mod source;
pub mod store;
