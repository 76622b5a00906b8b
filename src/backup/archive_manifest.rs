//! `manifest.json`: what a backup holds and how to check it. Pure.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The one format this kestractl writes and reads. A later, incompatible layout gets a new
/// number, and an older kestractl refuses it instead of guessing.
pub const FORMAT: &str = "kestractl-backup/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub kestractl_version: String,
    /// `online` (Kestra kept running: the dump is consistent, files written during the copy may
    /// not be) or `consistent` (Kestra stopped for the copy).
    pub consistency: String,
    pub kestra: Part,
    pub postgres: Part,
    /// What the server served when the backup was taken; a restore checks it is served again.
    pub served: Option<Served>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    pub image: String,
    pub image_id: String,
    /// The version the server reported (Kestra), or the database name (Postgres).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Served {
    pub flows: u64,
    pub executions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// Reads a manifest and refuses one this kestractl cannot use. `damaged` is how the caller names
/// the archive in the message.
pub fn parse(bytes: &[u8], archive: &str) -> Result<Manifest> {
    #[derive(Deserialize)]
    struct FormatOnly {
        format: Option<String>,
    }
    let format = serde_json::from_slice::<FormatOnly>(bytes)
        .map_err(|e| {
            damaged(
                archive,
                &format!("its manifest.json is not valid JSON ({e})"),
            )
        })?
        .format;
    match format.as_deref() {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(Error::damaged(
                format!(
                    "{archive} cannot be used: it is a backup of format `{other}`, and this \
                     kestractl reads `{FORMAT}` only"
                ),
                "restore it with the kestractl version that wrote it (its manifest.json names \
                 it); nothing was changed",
            ));
        }
        None => return Err(damaged(archive, "its manifest.json names no format")),
    }
    // Every string cleaned as it is decoded (an archive's text reaches the terminal in
    // questions and reports), and the images it names must be image references.
    let manifest: Manifest = crate::sanitize::decode(bytes)
        .map_err(|e| damaged(archive, &format!("its manifest.json is incomplete ({e})")))?;
    for image in [&manifest.kestra.image, &manifest.postgres.image] {
        if crate::settings::stack::validate_image(image).is_err() || image.contains('\u{fffd}') {
            return Err(damaged(
                archive,
                &format!("its manifest.json names `{image}`, which is not an image reference"),
            ));
        }
    }
    Ok(manifest)
}

/// The entries read from an archive against the ones its manifest lists: every listed entry
/// present once with its size and checksum, nothing unlisted. `None` when they agree.
pub fn mismatch(listed: &[Entry], read: &[Entry]) -> Option<String> {
    // Looked up by path: an archive may hold many thousands of storage files.
    let by_path: std::collections::HashMap<&str, &Entry> =
        listed.iter().map(|l| (l.path.as_str(), l)).collect();
    let read_paths: std::collections::HashSet<&str> =
        read.iter().map(|r| r.path.as_str()).collect();
    for entry in read {
        match by_path.get(entry.path.as_str()) {
            None => {
                return Some(format!(
                    "`{}` is not listed in its manifest",
                    crate::sanitize::clean_str(&entry.path)
                ));
            }
            Some(l) if l.size != entry.size => {
                return Some(format!(
                    "`{}` has {} bytes where the manifest says {}",
                    crate::sanitize::clean_str(&entry.path),
                    entry.size,
                    l.size
                ));
            }
            Some(l) if l.sha256 != entry.sha256 => {
                return Some(format!(
                    "`{}` does not match its SHA-256 checksum",
                    crate::sanitize::clean_str(&entry.path)
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(missing) = listed
        .iter()
        .find(|l| !read_paths.contains(l.path.as_str()))
    {
        return Some(format!(
            "`{}` is missing",
            crate::sanitize::clean_str(&missing.path)
        ));
    }
    if read.len() != listed.len() || read_paths.len() != read.len() || by_path.len() != listed.len()
    {
        return Some("an entry appears twice".into());
    }
    None
}

/// The error every damaged archive gives: exit 5, and the reassurance that matters.
pub fn damaged(archive: &str, what: &str) -> Error {
    Error::damaged(
        format!("{archive} cannot be used: {what}"),
        "nothing was changed; use another backup, or take a new one with `kestractl backup`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, sha: &str) -> Entry {
        Entry {
            path: path.into(),
            size,
            sha256: sha.into(),
        }
    }

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            created_at: "2026-12-06T17:00:00Z".into(),
            kestractl_version: "0.1.0".into(),
            consistency: "online".into(),
            kestra: Part {
                image: "kestra/kestra:1.3.25".into(),
                image_id: "sha256:1".into(),
                version: Some("1.3.25".into()),
                database: None,
            },
            postgres: Part {
                image: "postgres:15".into(),
                image_id: "sha256:2".into(),
                version: None,
                database: Some("kestra".into()),
            },
            served: Some(Served {
                flows: 3,
                executions: 7,
            }),
            entries: vec![entry("postgres.dump", 10, "aa")],
        }
    }

    #[test]
    fn a_manifest_reads_back() {
        let m = sample();
        let bytes = serde_json::to_vec(&m).unwrap();
        assert_eq!(parse(&bytes, "b.tar.gz").unwrap(), m);
    }

    #[test]
    fn unknown_formats_and_garbage_are_refused_with_exit_5() {
        let mut m = sample();
        m.format = "kestractl-backup/9".into();
        let e = parse(&serde_json::to_vec(&m).unwrap(), "b.tar.gz").unwrap_err();
        assert!(e.message().contains("`kestractl-backup/9`"), "{e}");
        assert_eq!(e.exit(), crate::error::Exit::InvalidInput);
        let e = parse(b"{not json", "b.tar.gz").unwrap_err();
        assert!(e.message().contains("not valid JSON"), "{e}");
        let e = parse(b"{}", "b.tar.gz").unwrap_err();
        assert!(e.message().contains("names no format"), "{e}");
        assert!(e.hint().unwrap().contains("nothing was changed"));
    }

    #[test]
    fn entries_must_match_the_manifest_exactly() {
        let listed = vec![entry("a", 1, "x"), entry("b", 2, "y")];
        assert_eq!(mismatch(&listed, &listed.clone()), None);
        let m = mismatch(&listed, &[entry("a", 1, "x"), entry("b", 2, "z")]).unwrap();
        assert!(m.contains("checksum"), "{m}");
        let m = mismatch(&listed, &[entry("a", 1, "x"), entry("b", 3, "y")]).unwrap();
        assert!(m.contains("3 bytes"), "{m}");
        let m = mismatch(&listed, &[entry("a", 1, "x")]).unwrap();
        assert!(m.contains("`b` is missing"), "{m}");
        let m = mismatch(&listed, &[entry("a", 1, "x"), entry("c", 2, "y")]).unwrap();
        assert!(m.contains("not listed"), "{m}");
        let m = mismatch(
            &listed,
            &[entry("a", 1, "x"), entry("b", 2, "y"), entry("a", 1, "x")],
        )
        .unwrap();
        assert!(m.contains("twice"), "{m}");
    }
}
