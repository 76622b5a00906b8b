//! Namespace files (`NamespaceFileController`, 1.3.25
//! `webserver/…/controllers/api/NamespaceFileController.java`; the same routes in the 2.0 spec):
//! the files a namespace's flows read (scripts, queries), under `BASE/namespaces/{ns}/files`.

use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::{Body, KestraClient, Request};
use super::error::ApiError;
use super::routes::{segment, tenant_base};

/// What the file content route produces (`getFileContent`).
const OCTET_STREAM: &str = "application/octet-stream";

/// The folder Kestra reserves for flows: a file under it is imported as a flow, and every other
/// route refuses it (`forbiddenPathsGuard`, 422 "Forbidden path").
pub const FLOWS_FOLDER: &str = "_flows";

/// Kestra's limit on one name of a path (`MAX_FILE_NAME_LENGTH`).
pub const MAX_NAME: usize = 255;

/// The path Kestra stores for a relative path: `/` + the path, where every space has become `+`
/// (the controller reads `path` through `new URI(URLEncoder.encode(path)).getPath()`, which
/// decodes everything back except the `+` URLEncoder wrote for a space).
pub fn server_path(relative: &str) -> String {
    format!("/{}", relative.trim_start_matches('/').replace(' ', "+"))
}

/// One entry of a directory (`FileAttributes`): `type` is `File` or `Directory`; times in epoch
/// milliseconds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileAttributes {
    pub file_name: String,
    #[serde(default)]
    pub last_modified_time: Option<i64>,
    #[serde(default)]
    pub creation_time: Option<i64>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
}

impl FileAttributes {
    pub fn is_directory(&self) -> bool {
        self.kind.as_deref() == Some("Directory")
    }
}

/// A file found on the server by [`NsFiles::tree`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteFile {
    /// Its path as Kestra stores it (`/dir/file.sql`).
    pub path: String,
    pub size: u64,
    /// Last modification, epoch milliseconds.
    pub updated: Option<i64>,
}

/// How many directories are listed at once while walking a tree: as many as a push writes at
/// once (a listing is a light read, and the walk goes level by level, so a wide level would
/// otherwise take many rounds).
const WALK_CONCURRENCY: usize = 32;

/// The files of one namespace, borrowed from the client (`client.nsfiles(namespace)`): every
/// call names the same namespace, so it is given once.
#[derive(Clone, Copy)]
pub struct NsFiles<'a> {
    client: &'a KestraClient,
    namespace: &'a str,
}

impl KestraClient {
    /// The files of one namespace.
    pub fn nsfiles<'a>(&'a self, namespace: &'a str) -> NsFiles<'a> {
        NsFiles {
            client: self,
            namespace,
        }
    }
}

impl NsFiles<'_> {
    fn base(&self) -> String {
        format!(
            "{}/namespaces/{}/files",
            tenant_base(self.client.tenant()),
            segment(self.namespace)
        )
    }

    /// The direct entries of a directory (`GET …/files/directory?path=`; 404 for a missing
    /// directory other than the root, which always exists).
    pub async fn dir(self, path: &str) -> Result<Vec<FileAttributes>, ApiError> {
        let req = Request::get(format!("{}/directory", self.base())).query("path", path);
        self.client.json(&req).await
    }

    /// Every file under `path` (a directory), walked level by level with several directories
    /// listed at once; sorted by path.
    pub async fn tree(self, path: &str) -> Result<Vec<RemoteFile>, ApiError> {
        let namespace = self.namespace;
        let mut files = Vec::new();
        let mut level = vec![path.trim_end_matches('/').to_string()];
        let mut depth = 0;
        let listing_url = || format!("{}/directory", self.client.url(&self.base()));
        while !level.is_empty() {
            depth += 1;
            if depth > super::limits::MAX_TREE_DEPTH {
                return Err(ApiError::Limit {
                    url: listing_url(),
                    detail: format!(
                        "the files of {namespace} are nested more than {} folders deep",
                        super::limits::MAX_TREE_DEPTH
                    ),
                    hint: "list a folder further down (kestractl nsfiles list NS PATH); if this \
                           is not the Kestra you meant, check --server"
                        .into(),
                });
            }
            let listed: Vec<(String, Result<Vec<FileAttributes>, ApiError>)> = stream::iter(level)
                .map(|dir| async move {
                    let shown = if dir.is_empty() {
                        "/".to_string()
                    } else {
                        dir.clone()
                    };
                    let entries = self.dir(&shown).await;
                    (dir, entries)
                })
                .buffer_unordered(WALK_CONCURRENCY)
                .collect()
                .await;
            let mut next = Vec::new();
            for (dir, entries) in listed {
                let entries = entries?;
                super::limits::check_listed(
                    files.len() + next.len() + entries.len(),
                    listing_url,
                    &format!("files and folders in {namespace}"),
                    "list one folder at a time (kestractl nsfiles list NS PATH)",
                )?;
                for e in entries {
                    let child = format!("{dir}/{}", e.file_name);
                    if e.is_directory() {
                        next.push(child);
                    } else {
                        files.push(RemoteFile {
                            path: child,
                            size: e.size.unwrap_or(0),
                            updated: e.last_modified_time,
                        });
                    }
                }
            }
            level = next;
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// One file's or directory's attributes (`GET …/files/stats?path=`).
    pub async fn stats(self, path: &str) -> Result<FileAttributes, ApiError> {
        let req = Request::get(format!("{}/stats", self.base())).query("path", path);
        self.client.json(&req).await
    }

    /// A file's content (`GET …/files?path=`, which produces only `application/octet-stream`),
    /// opened for streaming: the caller reads it with `client::stream_body` (a namespace file
    /// is never held whole in memory).
    pub async fn open(self, path: &str) -> Result<reqwest::Response, ApiError> {
        let mut req = Request::get(self.base())
            .query("path", path)
            .accepting(OCTET_STREAM);
        req.stream = true;
        self.client.send(&req).await
    }

    /// Every file of the namespace with its content, in one request (`GET …/files/export`,
    /// `exportNamespaceFiles`: a ZIP of every file under its path without the leading slash,
    /// then the namespace's flows under `_flows/`, left out here). Kestra builds the archive in
    /// memory, so the caller asks only when the listing says the files are small; the answer is
    /// read within `cap` bytes, compressed and inflated alike. Paths come back as Kestra stores
    /// them (`/dir/file.sql`).
    pub async fn export(self, cap: u64) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
        let mut req = Request::get(format!("{}/export", self.base())).accepting(OCTET_STREAM);
        req.stream = true;
        let resp = self.client.send(&req).await?;
        let url = resp.url().to_string();
        let decode = |detail: String| ApiError::Decode {
            method: "GET".into(),
            url: url.clone(),
            detail,
        };
        let mut archive = Vec::new();
        let read = super::client::stream_body(resp, self.client.timeout(), &mut |chunk| {
            if (archive.len() + chunk.len()) as u64 > cap {
                return Err(crate::error::Error::other("over"));
            }
            archive.extend_from_slice(chunk);
            Ok(())
        })
        .await;
        match read {
            Ok(_) => {}
            Err(super::client::StreamError::Sink(_)) => {
                return Err(decode(format!(
                    "the export of {} is larger than {}; it was not read",
                    self.namespace,
                    super::client::mib(cap as usize)
                )));
            }
            Err(e) => {
                return Err(decode(
                    e.into_error(&url, "the export").message().to_string(),
                ));
            }
        }
        let budget = super::limits::Budget::new(cap);
        let entries = super::flows::unzip_entries(&archive, &budget, cap, "the files listed")
            .map_err(|e| match e {
                super::flows::UnzipError::OverBudget => decode(format!(
                    "the files of {} inflate past {}; they were not read",
                    self.namespace,
                    super::client::mib(cap as usize)
                )),
                super::flows::UnzipError::Damaged(detail) => decode(detail),
            })?;
        let flows = format!("{FLOWS_FOLDER}/");
        Ok(entries
            .into_iter()
            .filter(|(name, _)| !name.starts_with(&flows))
            .map(|(name, bytes)| (format!("/{name}"), bytes))
            .collect())
    }

    /// Whether the server's copy of `path` holds exactly the bytes of the local file: both read
    /// a chunk at a time side by side, stopping at the first difference.
    pub async fn same_as(
        self,
        path: &str,
        local: &std::path::Path,
    ) -> Result<bool, crate::error::Error> {
        use std::io::Read;
        let namespace = self.namespace;
        let resp = self.open(path).await?;
        let url = resp.url().to_string();
        let mut file = std::fs::File::open(local)
            .map_err(|e| crate::error::Error::io("cannot read", local, e))?;
        let mut same = true;
        let mut buf = Vec::new();
        let outcome = super::client::stream_body(resp, self.client.timeout(), &mut |chunk| {
            buf.resize(chunk.len(), 0);
            let filled = read_up_to(&mut file, &mut buf)
                .map_err(|e| crate::error::Error::io("cannot read", local, e))?;
            if filled != chunk.len() || buf[..] != *chunk {
                same = false;
                // Enough read: the rest of the answer is not needed.
                return Err(crate::error::Error::other("differs"));
            }
            Ok(())
        })
        .await;
        match outcome {
            Ok(_) => {
                // The local file must end where the server's did.
                let mut one = [0u8; 1];
                Ok(same
                    && file
                        .read(&mut one)
                        .map_err(|e| crate::error::Error::io("cannot read", local, e))?
                        == 0)
            }
            Err(_) if !same => Ok(false),
            Err(e) => Err(e.into_error(&url, &format!("{path} of {namespace}"))),
        }
    }

    /// Writes a file (`POST …/files?path=`, multipart part `fileContent`): created, or replaced
    /// as a new revision. The part's file name is fixed: Kestra extracts an upload whose file
    /// name ends in `.zip` (ignoring `path`), which must never happen to a file that is one.
    pub async fn put(self, path: &str, content: Vec<u8>) -> Result<(), ApiError> {
        let req = Request::with_body(
            Method::POST,
            self.base(),
            Body::Multipart(vec![(
                "fileContent".into(),
                Some("content".into()),
                content,
            )]),
            true,
        )
        .query("path", path);
        self.client.send(&req).await.map(|_| ())
    }

    /// Deletes a file, or a directory with everything under it (`DELETE …/files?path=`; Kestra
    /// answers 200 for a path that does not exist).
    pub async fn delete(self, path: &str) -> Result<(), ApiError> {
        let mut req = Request::get(self.base()).query("path", path);
        req.method = Method::DELETE;
        self.client.send(&req).await.map(|_| ())
    }
}

/// Reads into `buf` until it is full or the file ends; how much was read.
fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_kestra_stores_them() {
        assert_eq!(server_path("scripts/a.py"), "/scripts/a.py");
        assert_eq!(server_path("/q.sql"), "/q.sql");
        assert_eq!(server_path("my report.sql"), "/my+report.sql");
        assert_eq!(server_path("a+b/ü.txt"), "/a+b/ü.txt");
    }
}
