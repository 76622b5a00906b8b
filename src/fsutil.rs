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

/// A file written in pieces (a download) that appears under its name only once complete: the
/// pieces go to a new file beside it, renamed over the name by [`commit`](Self::commit); dropped
/// before that, the partial file is removed. While it grows, the disk keeps at least
/// [`KEEP_FREE`] free: a server cannot fill the disk with an endless answer.
pub struct AtomicFile {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    file: Option<std::fs::File>,
    written: u64,
    checked_at: u64,
}

/// Space a download leaves free on its disk.
pub const KEEP_FREE: u64 = 512 << 20;
/// How often (in bytes written) the free space is looked at.
const CHECK_FREE_EVERY: u64 = 64 << 20;

impl AtomicFile {
    /// Starts `path` (which must not be a link); nothing appears under its name yet.
    pub fn create(path: &Path) -> Result<Self> {
        exists_not_link(path)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io("cannot create", &tmp, e))?;
        let started = AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
            written: 0,
            checked_at: 0,
        };
        started.check_free_space()?;
        Ok(started)
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.write_all(bytes)
            .map_err(|e| Error::io("cannot write", &self.path, e))?;
        self.written += bytes.len() as u64;
        if self.written - self.checked_at >= CHECK_FREE_EVERY {
            self.checked_at = self.written;
            self.check_free_space()?;
        }
        Ok(())
    }

    fn check_free_space(&self) -> Result<()> {
        #[cfg(unix)]
        if let Ok(stat) = nix::sys::statvfs::statvfs(self.tmp.as_path()) {
            // The field types differ between platforms (u32 on some): widened either way.
            #[allow(clippy::useless_conversion)]
            let free =
                u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size()));
            if free < KEEP_FREE {
                return Err(Error::unsafe_(
                    format!(
                        "stopped writing {} after {} bytes: less than {} MiB is left free on its \
                         disk",
                        self.path.display(),
                        self.written,
                        KEEP_FREE >> 20
                    ),
                    "free some space, or download into a folder on another disk; the partial \
                     file was removed",
                ));
            }
        }
        Ok(())
    }

    /// Makes the file appear under its name, complete.
    pub fn commit(mut self) -> Result<u64> {
        let file = self.file.take();
        if let Some(f) = file {
            f.sync_all()
                .map_err(|e| Error::io("cannot write", &self.path, e))?;
        }
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|e| Error::io("cannot write", &self.path, e))?;
        Ok(self.written)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
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
            // No control or bidi character (a name a terminal would show as something else),
            // nor the mark a cleaned one left.
            && crate::sanitize::clean_str(part) == *part
            && !part.contains('\u{fffd}')
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

/// Where a file a server names goes: `root` joined with `parts` (each a plain name, see
/// [`join_under`]), checked before anything is written: no folder between `root` and the file,
/// nor the file itself, may be a symbolic link (a planted link would carry the write out of
/// `root`), and a folder on the way must be a folder. `root` itself is the operator's choice.
pub fn target_under(root: &Path, parts: &[&str]) -> Result<std::path::PathBuf> {
    let path = join_under(root, parts).map_err(|m| {
        Error::unsafe_(
            format!("the server named a file {m}; nothing was written"),
            "check that --server is the Kestra you meant",
        )
    })?;
    let mut at = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        if exists_not_link(&at)? && !last && !at.is_dir() {
            return Err(Error::unsafe_(
                format!(
                    "{} exists and is not a folder; nothing was written",
                    at.display()
                ),
                "move it away, or choose another folder",
            ));
        }
    }
    Ok(path)
}

/// Creates the folders between `root` and `target` (made by [`target_under`]) that do not exist
/// yet, refusing a link met on the way.
pub fn create_parents_under(root: &Path, target: &Path) -> Result<()> {
    let Ok(rest) = target.strip_prefix(root) else {
        return Err(Error::other(format!(
            "{} is not under {}",
            target.display(),
            root.display()
        )));
    };
    std::fs::create_dir_all(root).map_err(|e| Error::io("cannot create", root, e))?;
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rest.components().collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        create_dir_no_link(&at)?;
    }
    Ok(())
}

/// The file a link found under `root` points at, which must lie inside `root` too: a folder
/// that is pushed or deployed never carries what is outside it (a link to `~/.aws/credentials`
/// beside the scripts would upload it). `path` is the link; its target, resolved, is returned.
pub fn link_inside(root: &Path, path: &Path) -> Result<std::path::PathBuf> {
    let outside = |target: &str| {
        Error::rejected(
            format!(
                "{} is a link to {target}, outside {}: kestractl sends nothing from outside the \
                 folder it is given; nothing was sent",
                path.display(),
                root.display()
            ),
            "copy the file into the folder, or remove the link",
            crate::error::Exit::InvalidInput,
        )
    };
    let root = std::fs::canonicalize(root).map_err(|e| Error::io("cannot read", root, e))?;
    match std::fs::canonicalize(path) {
        Ok(target) if target.starts_with(&root) => Ok(target),
        Ok(target) => Err(outside(&target.display().to_string())),
        // A dangling link: nothing to send, and nothing to say it is inside.
        Err(_) => Err(outside("nothing that exists")),
    }
}

/// Reads a file kestractl is about to rewrite (a services manifest, a `.env`), refusing what
/// it must not rewrite or read whole: a symbolic link (the rewrite would replace the link with a
/// copy of its target), anything but a regular file (a FIFO blocks, a device never ends), a file
/// with more than one hard link (the other names would keep the old content), and more than
/// `cap` bytes. `Ok(None)` when it does not exist.
pub fn read_rewritable(path: &Path, cap: u64) -> Result<Option<String>> {
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let refuse = |why: String, hint: &str| {
        Err(Error::unsafe_(
            format!("{} {why}; nothing was changed", path.display()),
            hint,
        ))
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).map_or_else(
            |_| "the file it points to".to_string(),
            |t| t.display().to_string(),
        );
        return refuse(
            format!("is a symbolic link (to {target}): rewriting it would replace the link"),
            "give the real file instead",
        );
    }
    if !meta.is_file() {
        return refuse("is not a regular file".into(), "give a regular file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return refuse(
                format!(
                    "has {} hard links: rewriting it would leave the old content under the other \
                     names",
                    meta.nlink()
                ),
                "make it a file of its own (copy it, remove the other links), then run again",
            );
        }
    }
    if meta.len() > cap {
        return refuse(
            format!(
                "is {} bytes, more than the {} MiB kestractl reads of it",
                meta.len(),
                cap >> 20
            ),
            "check that this is the file you meant",
        );
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Swapped for a link or a FIFO since it was looked at: not followed, not waited on.
        options
            .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits());
    }
    let file = options
        .open(path)
        .map_err(|e| Error::io("cannot read", path, e))?;
    let opened = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?;
    if !opened.is_file() {
        return refuse("is not a regular file".into(), "give a regular file");
    }
    let mut text = String::new();
    file.take(cap + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if text.len() as u64 > cap {
        return refuse(
            format!("is more than the {} MiB kestractl reads of it", cap >> 20),
            "check that this is the file you meant",
        );
    }
    Ok(Some(text))
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

/// A directory only this user may enter (0700), for secrets: created with that mode, or, when
/// it exists, checked (a symbolic link or another owner is refused: a planted link would carry
/// the secrets elsewhere) and narrowed to 0700.
pub fn private_dir(dir: &Path) -> Result<()> {
    if !exists_not_link(dir)? {
        create_private_dir(dir)?;
    } else if !dir.is_dir() {
        return Err(Error::unsafe_(
            format!("{} exists and is not a folder", dir.display()),
            "move it away, or point kestractl elsewhere (KESTRACTL_DATA_DIR)",
        ));
    }
    check_owner(dir)?;
    set_mode(dir, 0o700).map_err(|e| Error::io("cannot set the mode of", dir, e))
}

/// Creates `dir` with mode 0700 from the start (never briefly readable by others), its parents
/// as needed with the umask's mode.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io("cannot create", dir, e))
}

/// Refuses a path this user does not own (Unix).
pub fn check_owner(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta =
            std::fs::symlink_metadata(path).map_err(|e| Error::io("cannot inspect", path, e))?;
        let me = nix::unistd::getuid().as_raw();
        if meta.uid() != me {
            return Err(Error::unsafe_(
                format!(
                    "{} belongs to user id {}, not to you (user id {me}); kestractl keeps secrets \
                     only in folders of your own",
                    path.display(),
                    meta.uid()
                ),
                "remove it (or point kestractl elsewhere with KESTRACTL_DATA_DIR) and run again",
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_are_0700_and_never_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("a/b/secrets");
        private_dir(&secrets).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secrets), 0o700);
        set_mode(&secrets, 0o755).unwrap();
        private_dir(&secrets).unwrap();
        assert_eq!(mode(&secrets), 0o700);
        let target = dir.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = dir.path().join("linked");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = private_dir(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(mode(&target), 0o755 & !umask_bits());
    }

    /// A folder of another user is refused. As root, a folder handed to `nobody`; otherwise a
    /// folder root owns.
    #[test]
    fn folders_of_another_user_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = if nix::unistd::getuid().is_root() {
            let d = dir.path().join("theirs");
            std::fs::create_dir(&d).unwrap();
            std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
            d
        } else {
            std::path::PathBuf::from("/")
        };
        let err = check_owner(&foreign).unwrap_err();
        assert!(err.to_string().contains("not to you"), "{err}");
        assert!(err.hint().unwrap().contains("KESTRACTL_DATA_DIR"));
        assert!(private_dir(&foreign).is_err());
        check_owner(dir.path()).unwrap();
    }

    fn umask_bits() -> u32 {
        let probe = tempfile::tempdir().unwrap();
        let p = probe.path().join("d");
        std::fs::create_dir(&p).unwrap();
        use std::os::unix::fs::PermissionsExt;
        0o777 & !std::fs::metadata(&p).unwrap().permissions().mode()
    }

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
