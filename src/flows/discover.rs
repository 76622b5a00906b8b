//! Finds flow files: every `*.yml`/`*.yaml` under a folder, recursively, hidden files and folders
//! skipped, in a stable (sorted) order. A path to a single file is that file.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file bigger than this is refused before parsing (Kestra keeps flows small; a multi-megabyte
/// YAML is a mistake, and parsing it would only waste memory).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// A folder of namespace files beside a namespace's flows (`flows deploy` pushes it; its YAML
/// files are scripts and data, not flows).
pub const FILES_FOLDER: &str = "_files";

fn is_files_folder(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()) == Some(FILES_FOLDER)
}

/// The `_files` folders under `root` (hidden folders skipped), sorted; none for a single file.
pub fn files_folders(root: &Path) -> Result<Vec<PathBuf>> {
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    walk(root, &mut |path, is_dir| {
        if is_dir && is_files_folder(&path) {
            found.push(path);
            return false;
        }
        is_dir
    })?;
    found.sort();
    Ok(found)
}

/// Walks the folders under `root`, hidden entries skipped. `visit(path, is_dir)` is called for
/// each entry and says, for a folder, whether to go into it. Symlinked folders are not followed
/// (no cycles): they are visited as entries that are not folders.
fn walk(root: &Path, visit: &mut dyn FnMut(PathBuf, bool) -> bool) -> Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("cannot read", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read", &dir, e))?;
            let path = entry.path();
            if is_hidden(&path) {
                continue;
            }
            let is_dir = entry
                .file_type()
                .map_err(|e| Error::io("cannot read", &path, e))?
                .is_dir();
            if visit(path.clone(), is_dir) && is_dir {
                stack.push(path);
            }
        }
    }
    Ok(())
}

fn is_flow_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// The flow files under `root`, sorted by path.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(root).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::usage(
                format!("{} does not exist", root.display()),
                "give the folder of your flow files (default: flows/)",
            )
        } else {
            Error::io("cannot read", root, e)
        }
    })?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut outside = None;
    walk(root, &mut |path, is_dir| {
        if is_dir {
            return !is_files_folder(&path);
        }
        if !is_flow_file(&path) {
            return false;
        }
        // A symlinked file is followed when it points inside the folder; one that leads out of
        // it stops the deploy (its content would go to the server).
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && let Err(e) = crate::fsutil::link_inside(root, &path) {
            outside.get_or_insert(e);
            return false;
        }
        if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
        false
    })?;
    if let Some(e) = outside {
        return Err(e);
    }
    files.sort();
    Ok(files)
}

/// How a file is shown: relative to the folder that was given (or as given for a single file).
pub fn display_path(root: &Path, file: &Path) -> String {
    match file.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => file.display().to_string(),
    }
}

/// Reads a flow file as text: UTF-8 (a BOM is dropped: it is encoding, not content), CRLF kept.
pub fn read_text(path: &Path) -> std::result::Result<String, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        // With one decimal and the exact size: whole MiB said "the file is 4 MiB; flow files are
        // limited to 4 MiB" for anything just over the limit.
        return Err(format!(
            "the file is {:.1} MiB ({size} bytes); flow files are limited to {} MiB ({MAX_FILE_BYTES} bytes)",
            size as f64 / f64::from(1u32 << 20),
            MAX_FILE_BYTES >> 20
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_yaml_files_sorted_skipping_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "b.yml",
            "a.yaml",
            "sub/c.YML",
            "notes.txt",
            ".hidden.yml",
            ".git/x.yml",
            "sub/.d.yaml",
            "_files/script.yml",
            "sub/_files/q.yaml",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let found: Vec<String> = discover(root)
            .unwrap()
            .iter()
            .map(|p| display_path(root, p))
            .collect();
        assert_eq!(found, ["a.yaml", "b.yml", "sub/c.YML"]);
        // `_files` folders hold namespace files, found apart.
        let folders: Vec<String> = files_folders(root)
            .unwrap()
            .iter()
            .map(|p| display_path(root, p))
            .collect();
        assert_eq!(folders, ["_files", "sub/_files"]);
        assert!(files_folders(&root.join("b.yml")).unwrap().is_empty());
        // A single file is itself.
        assert_eq!(discover(&root.join("b.yml")).unwrap().len(), 1);
        let err = discover(&root.join("nope")).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }

    #[test]
    fn reads_utf8_drops_bom_keeps_crlf_and_refuses_binary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.yml");
        std::fs::write(&p, b"\xef\xbb\xbfid: a\r\n").unwrap();
        assert_eq!(read_text(&p).unwrap(), "id: a\r\n");
        std::fs::write(&p, b"id: \xff\xfe\n").unwrap();
        assert!(read_text(&p).unwrap_err().contains("not UTF-8"));
    }
}
