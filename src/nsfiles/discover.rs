//! The files of a local folder as namespace files: every file under it, recursively, hidden files
//! and folders skipped, each with the path Kestra will store. Refused before anything is sent:
//! a `_flows` folder (Kestra imports files there as flows), a name longer than Kestra takes, and
//! two files Kestra would store at the same path (`a b.txt` and `a+b.txt`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Exit, Result};
use crate::kestra::nsfiles::{FLOWS_FOLDER, MAX_NAME, server_path};

/// A file to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Relative to the pushed folder, with `/` separators (how it is shown).
    pub relative: String,
    /// The path Kestra stores it at.
    pub server: String,
    pub path: PathBuf,
    pub size: u64,
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn invalid(message: String, hint: &str) -> Error {
    Error::rejected(message, hint, Exit::InvalidInput)
}

/// The files under `root`, sorted by relative path.
pub fn discover(root: &Path) -> Result<Vec<LocalFile>> {
    let meta = std::fs::metadata(root).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::usage(
                format!("{} does not exist", root.display()),
                "give the folder whose files to push",
            )
        } else {
            Error::io("cannot read", root, e)
        }
    })?;
    if !meta.is_dir() {
        return Err(Error::usage(
            format!("{} is not a folder", root.display()),
            "give the folder whose files to push; its layout is kept under the namespace",
        ));
    }
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("cannot read", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read", &dir, e))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                return Err(invalid(
                    format!("{} has a name that is not UTF-8", path.display()),
                    "rename it: Kestra's paths are text",
                ));
            };
            if is_hidden(&name) {
                continue;
            }
            let relative = format!("{prefix}{name}");
            if name.chars().count() > MAX_NAME {
                return Err(invalid(
                    format!("{relative}: a name longer than {MAX_NAME} characters"),
                    "Kestra refuses longer file and folder names; shorten it",
                ));
            }
            // Symlinked folders are not followed (no cycles); a symlinked file is, when what it
            // points at is inside the folder (else the push is refused).
            let file_type = entry
                .file_type()
                .map_err(|e| Error::io("cannot read", &path, e))?;
            let path = if file_type.is_symlink() {
                let target = crate::fsutil::link_inside(root, &path)?;
                if target.is_dir() {
                    continue;
                }
                target
            } else {
                path
            };
            if file_type.is_dir() {
                if prefix.is_empty() && name == FLOWS_FOLDER {
                    return Err(invalid(
                        format!("{} holds a {FLOWS_FOLDER}/ folder", root.display()),
                        "Kestra imports files under _flows/ as flows; deploy flows with \
                         `kestractl flows deploy` and keep them out of this folder",
                    ));
                }
                stack.push((path, format!("{relative}/")));
            } else if let Ok(m) = std::fs::metadata(&path)
                && m.is_file()
            {
                files.push(LocalFile {
                    server: server_path(&relative),
                    relative,
                    path,
                    size: m.len(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for f in &files {
        if let Some(other) = seen.insert(f.server.as_str(), f.relative.as_str()) {
            return Err(invalid(
                format!(
                    "{other} and {} would both be stored as {} (Kestra turns spaces in paths into +)",
                    f.relative, f.server
                ),
                "rename one of them",
            ));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f.as_bytes()).unwrap();
        }
        dir
    }

    #[test]
    fn finds_files_with_the_paths_kestra_stores() {
        let dir = tree(&[
            "b.sql",
            "a/x.py",
            "a/deep/y.bin",
            ".git/config",
            "a/.env",
            "my report.txt",
        ]);
        let found = discover(dir.path()).unwrap();
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.relative.as_str(), f.server.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a/deep/y.bin", "/a/deep/y.bin"),
                ("a/x.py", "/a/x.py"),
                ("b.sql", "/b.sql"),
                ("my report.txt", "/my+report.txt"),
            ]
        );
        assert_eq!(found[2].size, 5);
    }

    #[test]
    fn refuses_what_kestra_would_misplace() {
        let dir = tree(&["_flows/f.yml"]);
        assert!(
            discover(dir.path())
                .unwrap_err()
                .to_string()
                .contains("_flows")
        );
        // Only at the top: a nested `_flows` is an ordinary folder for Kestra.
        let dir = tree(&["sub/_flows/f.yml"]);
        assert_eq!(discover(dir.path()).unwrap().len(), 1);
        let dir = tree(&["a b.txt", "a+b.txt"]);
        let e = discover(dir.path()).unwrap_err().to_string();
        assert!(e.contains("a b.txt and a+b.txt"), "{e}");
        assert!(
            discover(&dir.path().join("nope"))
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
    }
}
