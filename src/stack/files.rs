//! Files kestractl mounts into the containers: Kestra's rendered `application.yml` (0600) and the
//! Postgres password file, in a 0700 directory of their own.
//!
//! A file is rewritten only when its content changes, and a random revision (kept next to it)
//! changes with it; the revision, not a digest of the secrets, goes into the spec hash of the
//! container that mounts the file, so a changed credential recreates that container while
//! `docker inspect` reveals nothing about it.

use std::path::{Path, PathBuf};

use super::spec::MountedFiles;
use crate::error::{Error, Result};
use crate::fsutil::{set_mode, write_atomic};
use crate::secret::Secret;
use crate::settings::stack::StackSettings;

pub const CONFIG_FILE: &str = "application.yml";
/// Left by `start` in a storage or work directory it created: `stop --volumes` empties only such
/// a directory (never one an operator pointed it at, and never through a link).
pub const CREATED_MARKER: &str = ".kestractl-created";
pub const DB_PASSWORD_FILE: &str = "db-password";
/// The management credential in curl's config syntax, for the Kestra container's health check.
pub const HEALTH_CHECK_FILE: &str = "management.curlrc";

/// Writes `content` to `path` with `mode` unless it already holds exactly that; atomic (temp file
/// created with the final mode, then renamed). Returns whether it wrote.
fn write_if_changed(path: &Path, content: &[u8], mode: u32) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == content) {
        set_mode(path, mode).map_err(|e| Error::io("cannot set the mode of", path, e))?;
        return Ok(false);
    }
    write_atomic(path, content, Some(mode))?;
    Ok(true)
}

fn new_revision() -> String {
    crate::secret::generate::generate_password(16)
        .expose()
        .to_ascii_lowercase()
}

/// A storage or work directory of the stack: created 0700 (Kestra's stored outputs and uploads
/// are nobody else's business) with [`CREATED_MARKER`] in it; an existing directory is used as
/// it is, but never a symbolic link (emptying it later would empty its target).
pub fn prepare_data_dir(dir: &Path) -> Result<()> {
    if crate::fsutil::exists_not_link(dir)? {
        if !dir.is_dir() {
            return Err(Error::unsafe_(
                format!("{} exists and is not a folder", dir.display()),
                "move it away, or set KESTRA_STORAGE_DIR / KESTRA_WORKDIR_DIR elsewhere",
            ));
        }
        return Ok(());
    }
    crate::fsutil::create_private_dir(dir)?;
    write_atomic(
        &dir.join(CREATED_MARKER),
        b"Created by `kestractl start`; `kestractl stop --volumes` may empty this folder.\n",
        Some(0o600),
    )
}

/// Refuses a symbolic link in place of any of the stack's folders (secrets, storage, work):
/// writing or emptying one would reach its target.
pub fn refuse_linked_dirs(stack: &StackSettings) -> Result<()> {
    for dir in [
        &stack.storage_dir.value,
        &stack.workdir_dir.value,
        &stack.secrets_dir,
    ] {
        crate::fsutil::exists_not_link(dir)?;
    }
    refuse_linked_parents(&stack.secrets_dir)
}

/// The two folders above the secrets folder (the stack's folder and kestractl's data folder)
/// may not be links either: the secrets would be written through one to wherever it points.
fn refuse_linked_parents(secrets: &Path) -> Result<()> {
    for parent in secrets.ancestors().skip(1).take(2) {
        if !parent.as_os_str().is_empty() {
            crate::fsutil::exists_not_link(parent)?;
        }
    }
    Ok(())
}

/// The stack's folders, checked before anything is created: none may be a symbolic link, and
/// the secrets folder, when it exists, must be this user's.
pub fn check_stack_dirs(stack: &StackSettings) -> Result<()> {
    refuse_linked_dirs(stack)?;
    if stack.secrets_dir.exists() {
        crate::fsutil::check_owner(&stack.secrets_dir)?;
    }
    Ok(())
}

/// Empties a storage or work directory that `start` created (it holds [`CREATED_MARKER`]),
/// keeping the directory and the marker. `Ok(false)`: not emptied, because kestractl did not
/// create it (or it does not exist). A symbolic link is refused.
pub fn empty_created_dir(dir: &Path) -> Result<bool> {
    if !crate::fsutil::exists_not_link(dir)? {
        return Ok(false);
    }
    if !dir.join(CREATED_MARKER).is_file() {
        return Ok(false);
    }
    empty_dir_except(dir, Some(CREATED_MARKER))?;
    Ok(true)
}

/// Deletes what is inside `dir` (not following links: a link inside is removed, not its
/// target), keeping `dir` itself and the entry named `keep`.
pub fn empty_dir_except(dir: &Path, keep: Option<&str>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("cannot read", dir, e)),
    };
    for entry in entries.flatten() {
        if keep.is_some_and(|k| entry.file_name() == k) {
            continue;
        }
        let path = entry.path();
        // `file_type` does not follow links: a link to a folder is removed as a file.
        let result = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        result.map_err(|e| Error::io("cannot delete", &path, e))?;
    }
    Ok(())
}

/// Renders the files into `dir` and returns their paths and revision.
pub fn write(
    dir: &Path,
    kestra_config: &str,
    health_check: &str,
    db_password: &Secret,
) -> Result<MountedFiles> {
    // 0700, ours, and not a link (nor the two folders above it): a planted link would carry
    // the secrets elsewhere.
    refuse_linked_parents(dir)?;
    crate::fsutil::private_dir(dir)?;
    let config = dir.join(CONFIG_FILE);
    let password = dir.join(DB_PASSWORD_FILE);
    let check = dir.join(HEALTH_CHECK_FILE);
    // Both files carry the Basic Auth credential and change together; one revision covers them.
    let changed_check = write_if_changed(&check, health_check.as_bytes(), 0o600)?;
    let changed_config =
        write_if_changed(&config, kestra_config.as_bytes(), 0o600)? || changed_check;
    // The Postgres entrypoint reads this file as the `postgres` user inside the container, so it
    // is world-readable; the 0700 directory keeps other users of this machine out.
    let changed_password = write_if_changed(&password, db_password.expose().as_bytes(), 0o644)?;
    Ok(MountedFiles {
        config_revision: revision(&config, changed_config)?,
        db_password_revision: revision(&password, changed_password)?,
        kestra_config: config,
        db_password: password,
        health_check: check,
    })
}

/// The revision stored beside `file`: kept while the file is unchanged, renewed when it changed.
fn revision(file: &Path, changed: bool) -> Result<String> {
    let path = file.with_extension("rev");
    let existing = std::fs::read_to_string(&path)
        .ok()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    match existing {
        Some(r) if !changed => Ok(r),
        _ => {
            let r = new_revision();
            write_if_changed(&path, r.as_bytes(), 0o600)?;
            Ok(r)
        }
    }
}

pub fn read_config(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(CONFIG_FILE)).ok()
}

pub fn read_db_password(dir: &Path) -> Option<Secret> {
    std::fs::read_to_string(dir.join(DB_PASSWORD_FILE))
        .ok()
        .filter(|p| !p.is_empty())
        .map(Secret::new)
}

pub fn config_path(dir: &Path) -> PathBuf {
    dir.join(CONFIG_FILE)
}

/// Replaces the Postgres password file's content but keeps its revision: after `ALTER ROLE` the
/// running Postgres already has the new password (the file is only read when the data directory
/// is initialised), so recreating the Postgres container for it would be a needless restart.
pub fn replace_db_password(dir: &Path, db_password: &Secret) -> Result<()> {
    write_if_changed(
        &dir.join(DB_PASSWORD_FILE),
        db_password.expose().as_bytes(),
        0o644,
    )
    .map(|_| ())
}

/// The exact bytes of the mounted files and their revisions, to put back after a failed change
/// (so a rolled-back stack is byte-for-byte what it was, and its spec hashes match again).
#[derive(Clone)]
pub struct Snapshot {
    dir: PathBuf,
    files: Vec<(PathBuf, Option<Vec<u8>>, u32)>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("dir", &self.dir).finish()
    }
}

pub fn snapshot(dir: &Path) -> Result<Snapshot> {
    let config = dir.join(CONFIG_FILE);
    let password = dir.join(DB_PASSWORD_FILE);
    let mut files = Vec::new();
    for (path, mode) in [
        (config.with_extension("rev"), 0o600),
        (password.with_extension("rev"), 0o600),
        (config, 0o600),
        (password, 0o644),
        (dir.join(HEALTH_CHECK_FILE), 0o600),
    ] {
        let bytes = match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        files.push((path, bytes, mode));
    }
    Ok(Snapshot {
        dir: dir.to_path_buf(),
        files,
    })
}

/// Puts every file of a snapshot back (a file that did not exist is removed).
pub fn restore(snapshot: &Snapshot) -> Result<()> {
    for (path, bytes, mode) in &snapshot.files {
        match bytes {
            Some(b) => {
                write_if_changed(path, b, *mode)?;
            }
            None => match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot remove", path, e)),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn data_dirs_are_created_private_and_only_marked_ones_are_emptied() {
        let root = tempfile::tempdir().unwrap();
        let storage = root.path().join("a/storage");
        prepare_data_dir(&storage).unwrap();
        assert_eq!(mode(&storage), 0o700);
        assert!(storage.join(CREATED_MARKER).is_file());
        std::fs::create_dir(storage.join("main")).unwrap();
        std::fs::write(storage.join("main/out.txt"), "x").unwrap();
        // A link inside is removed, its target kept.
        let outside = root.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep.txt"), "keep").unwrap();
        std::os::unix::fs::symlink(&outside, storage.join("link")).unwrap();
        assert!(empty_created_dir(&storage).unwrap());
        let left: Vec<_> = std::fs::read_dir(&storage)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [CREATED_MARKER]);
        assert!(outside.join("keep.txt").is_file());

        // A folder the operator made (no marker) is used as it is, and never emptied.
        let theirs = root.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("data.txt"), "mine").unwrap();
        prepare_data_dir(&theirs).unwrap();
        assert!(!theirs.join(CREATED_MARKER).exists());
        assert!(!empty_created_dir(&theirs).unwrap());
        assert!(theirs.join("data.txt").is_file());
        assert!(!empty_created_dir(&root.path().join("absent")).unwrap());

        // A link is refused both ways, its target untouched.
        let link = root.path().join("linked");
        std::os::unix::fs::symlink(&storage, &link).unwrap();
        std::fs::write(storage.join("kept.txt"), "x").unwrap();
        assert!(
            prepare_data_dir(&link)
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );
        assert!(
            empty_created_dir(&link)
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );
        assert!(storage.join("kept.txt").is_file());
        // A file where a folder should be.
        let file = root.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(
            prepare_data_dir(&file)
                .unwrap_err()
                .to_string()
                .contains("not a folder")
        );
    }

    #[test]
    fn modes_and_revision_follow_content() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("secrets");
        let a = write(&dir, "config: 1\n", "user = \"u:p\"\n", &Secret::new("pw1")).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&a.kestra_config), 0o600);
        assert_eq!(mode(&a.db_password), 0o644);
        assert_eq!(read_db_password(&dir).unwrap().expose(), "pw1");
        // Same content: same revisions, nothing rewritten.
        let b = write(&dir, "config: 1\n", "user = \"u:p\"\n", &Secret::new("pw1")).unwrap();
        assert_eq!(a.config_revision, b.config_revision);
        assert_eq!(a.db_password_revision, b.db_password_revision);
        // A change renews the revision of that file only.
        let c = write(&dir, "config: 2\n", "user = \"u:p\"\n", &Secret::new("pw1")).unwrap();
        assert_ne!(b.config_revision, c.config_revision);
        assert_eq!(b.db_password_revision, c.db_password_revision);
        let d = write(&dir, "config: 2\n", "user = \"u:p\"\n", &Secret::new("pw2")).unwrap();
        assert_eq!(c.config_revision, d.config_revision);
        assert_ne!(c.db_password_revision, d.db_password_revision);
        assert_eq!(read_config(&dir).unwrap(), "config: 2\n");
        // The health check's credential travels with the config: a change recreates Kestra.
        let e = write(&dir, "config: 2\n", "user = \"u:q\"\n", &Secret::new("pw2")).unwrap();
        assert_ne!(d.config_revision, e.config_revision);
        assert_eq!(mode(&e.health_check), 0o600);
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");
    }

    #[test]
    fn snapshot_restores_files_and_revisions_exactly() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("secrets");
        let a = write(&dir, "config: 1\n", "user = \"u:p\"\n", &Secret::new("pw1")).unwrap();
        let snap = snapshot(&dir).unwrap();
        let b = write(&dir, "config: 2\n", "user = \"u:p\"\n", &Secret::new("pw2")).unwrap();
        assert_ne!(a.config_revision, b.config_revision);
        restore(&snap).unwrap();
        let c = write(&dir, "config: 1\n", "user = \"u:p\"\n", &Secret::new("pw1")).unwrap();
        assert_eq!(a.config_revision, c.config_revision);
        assert_eq!(a.db_password_revision, c.db_password_revision);
        assert_eq!(mode(&c.kestra_config), 0o600);
        // The DB password file can change without a new revision.
        replace_db_password(&dir, &Secret::new("pw3")).unwrap();
        assert_eq!(read_db_password(&dir).unwrap().expose(), "pw3");
        let d = write(&dir, "config: 1\n", "user = \"u:p\"\n", &Secret::new("pw3")).unwrap();
        assert_eq!(a.db_password_revision, d.db_password_revision);
    }

    #[test]
    fn a_loose_mode_is_tightened_even_without_a_content_change() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("s");
        let f = write(&dir, "x", "user = \"u:p\"\n", &Secret::new("p")).unwrap();
        set_mode(&f.kestra_config, 0o644).unwrap();
        set_mode(&dir, 0o755).unwrap();
        write(&dir, "x", "user = \"u:p\"\n", &Secret::new("p")).unwrap();
        assert_eq!(mode(&f.kestra_config), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
}
