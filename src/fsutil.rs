//! Writing files so that a crash, a full disk or a concurrent reader never sees half a file: a
//! new file in the same directory (created with its final mode, so a secret is never readable by
//! others even for a moment), synced, then renamed over the old one.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Sets a file's permission bits (no-op off Unix).
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Replaces `path` with `bytes` atomically; `mode` sets the permission bits (else the umask's).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        // The umask may have narrowed the creation mode; the mode asked for is the mode meant.
        if let Some(mode) = mode {
            set_mode(&tmp, mode)?;
        }
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

/// `root` joined with `parts`, each of which must be one plain path component: not empty, no
/// `/` (or `\\`), not `.` or `..`, not absolute. For names that come from a server (a namespace,
/// a flow id, an archive entry): whatever it answers, the path stays under `root`. `Err` names
/// the offending part.
pub fn join_under(root: &Path, parts: &[&str]) -> std::result::Result<std::path::PathBuf, String> {
    let mut path = root.to_path_buf();
    for part in parts {
        let plain = !part.is_empty()
            && !part.contains(['/', '\\', '\0'])
            && *part != "."
            && *part != ".."
            && matches!(
                Path::new(part).components().next(),
                Some(std::path::Component::Normal(_))
            );
        if !plain {
            return Err(format!("{part:?} is not a plain file name"));
        }
        path.push(part);
    }
    Ok(path)
}

/// Refuses a symbolic link at `path` (a planted link would carry a write elsewhere). `Ok(true)`
/// when something that is not a link exists there, `Ok(false)` when nothing does.
pub fn exists_not_link(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::unsafe_(
            format!(
                "{} is a symbolic link; kestractl does not write through one",
                path.display()
            ),
            "remove the link, or choose another folder",
        )),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot inspect", path, e)),
    }
}

/// Creates the directory `dir` (one level) unless it exists; a symbolic link there is refused,
/// and so is a file.
pub fn create_dir_no_link(dir: &Path) -> Result<()> {
    if exists_not_link(dir)? {
        if !dir.is_dir() {
            return Err(Error::unsafe_(
                format!("{} exists and is not a folder", dir.display()),
                "move it away, or choose another folder",
            ));
        }
        return Ok(());
    }
    std::fs::create_dir(dir).map_err(|e| Error::io("cannot create", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_named_parts_stay_under_the_root() {
        let root = Path::new("/out");
        assert_eq!(
            join_under(root, &["company.team", "hello.yml"]).unwrap(),
            Path::new("/out/company.team/hello.yml")
        );
        for bad in ["..", ".", "", "../x", "a/b", "/etc", "a\\b", "x\0y"] {
            assert!(join_under(root, &["ns", bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(exists_not_link(&link).is_err());
        assert!(create_dir_no_link(&link).is_err());
        assert!(!exists_not_link(&dir.path().join("absent")).unwrap());
        create_dir_no_link(&dir.path().join("new")).unwrap();
        create_dir_no_link(&dir.path().join("new")).unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        assert!(create_dir_no_link(&dir.path().join("file")).is_err());
    }

    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn replaces_content_with_the_mode_asked_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one", Some(0o600)).unwrap();
        write_atomic(&p, b"two", Some(0o640)).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(mode(&p), 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_write_reports_the_path_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("missing/dir/f"), b"x", None).unwrap_err();
        assert!(err.to_string().contains("missing/dir/f"), "{err}");
    }
}
