//! Backups of the local stack, and the operations `restore` and `upgrade` are made of.
//!
//! A backup is one `tar.gz` archive: `postgres.dump` (pg_dump's custom format, taken inside the
//! Postgres container and streamed), `config/application.yml` (Kestra's rendered configuration
//! with every password replaced), `storage/…` (Kestra's storage directory) and, last,
//! `manifest.json` (versions, images, what the server served, and the size and SHA-256 of every
//! entry). `manifest` and `archive` are pure or file-only; `postgres` runs the database tools in
//! a container; `create`, `verify` and `restore` are the operations the commands call.

pub mod archive;
pub mod archive_manifest;
pub mod create;
pub mod postgres;
pub mod restore;
pub mod ticker;
pub mod upgrade;
pub mod verify;

/// The entry names inside an archive.
pub const DUMP_ENTRY: &str = "postgres.dump";
pub const CONFIG_ENTRY: &str = "config/application.yml";
pub const STORAGE_PREFIX: &str = "storage/";
pub const MANIFEST_ENTRY: &str = "manifest.json";

/// How long Kestra gets to stop cleanly before a backup, a restore or an upgrade goes on.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// `<path>` + `suffix`, beside it (same file system, so a rename moves it): `x.tar.gz.partial`,
/// `storage.previous-…`.
pub fn beside(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// What replaces every password in the configuration a backup carries.
pub const REDACTED: &str = "REDACTED-BY-KESTRACTL";

/// A path that is not a file is refused before Docker is contacted.
pub fn check_archive_path(file: &std::path::Path) -> crate::error::Result<()> {
    if file.is_file() {
        return Ok(());
    }
    Err(crate::error::Error::usage(
        format!(
            "{} {}",
            file.display(),
            if file.exists() {
                "is not a file"
            } else {
                "does not exist"
            }
        ),
        "give the path of an archive written by `kestractl backup`",
    ))
}
