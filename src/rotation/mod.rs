//! Credential rotation with verify and rollback, a layer above `stack`, `kestra` and `secrets`:
//! [`local`] rotates the managed stack's passwords (Postgres role, Kestra config, keyring);
//! [`api`] rotates a Basic Auth user through Kestra's API on a server kestractl does not run.

pub mod api;
pub mod driver;
pub mod local;
pub mod step;
