//! Namespace files (`NamespaceFileController`, 1.3.25
//! `webserver/…/controllers/api/NamespaceFileController.java`; the same routes in the 2.0 spec):
//! a file's content, a directory's entries, a file's stats, a search on paths, the namespace's
//! ZIP export, upload (multipart `fileContent`) and delete. Contents are kept in the store's files under `nsfile://{namespace}{path}`, their dates
//! beside them under `nsmeta://…`; directories are the folders of the stored paths (so a folder
//! emptied by a delete disappears, as Kestra's "zombie-aware" delete removes it).

use std::collections::BTreeMap;
use std::io::Read;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::executions::parts;
use crate::errors::ApiError;
use crate::filters;
use crate::router::Declared;
use crate::server::Shared;
use crate::timefmt::now_ms;
use crate::version::KestraVersion;

/// `NamespaceFileController.MAX_FILE_NAME_LENGTH`.
const MAX_NAME: usize = 255;

pub fn routes(_v: KestraVersion) -> Vec<Declared> {
    vec![
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/namespaces/{namespace}/files",
            get(content),
        ),
        Declared::new(
            Method::POST,
            "/api/v1/{tenant}/namespaces/{namespace}/files",
            post(upload),
        ),
        Declared::new(
            Method::DELETE,
            "/api/v1/{tenant}/namespaces/{namespace}/files",
            delete(remove),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/namespaces/{namespace}/files/directory",
            get(directory),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/namespaces/{namespace}/files/stats",
            get(stats),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/namespaces/{namespace}/files/search",
            get(search),
        ),
        Declared::new(
            Method::GET,
            "/api/v1/{tenant}/namespaces/{namespace}/files/export",
            get(export),
        ),
    ]
}

/// `exportNamespaceFiles` (1.3.25 `NamespaceFileController.java` l.274-311; the same path and
/// `application/octet-stream` in the 2.0 spec): a ZIP built whole, every file of the namespace
/// (folders skipped, children of the namespace not included) under its path without the leading
/// slash, then every live flow of exactly that namespace as `_flows/<id>.yml` (its source);
/// `Content-Disposition: attachment; filename="<namespace>_files.zip"`. An empty or unknown
/// namespace gives an empty ZIP. Java's `ZipOutputStream` deflates by default.
async fn export(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    use std::io::Write;
    let internal = |e: &dyn std::fmt::Display| ApiError::internal(e.to_string());
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let prefix = format!("nsfile://{namespace}/");
        for (uri, bytes) in state.store.files_under(&prefix) {
            let Some(path) = uri.strip_prefix(&prefix) else {
                continue;
            };
            zip.start_file(path, opts).map_err(|e| internal(&e))?;
            zip.write_all(&bytes).map_err(|e| internal(&e))?;
        }
        for flow in state
            .store
            .latest_flows()
            .into_iter()
            .filter(|f| f.namespace == namespace)
        {
            zip.start_file(format!("_flows/{}.yml", flow.id), opts)
                .map_err(|e| internal(&e))?;
            zip.write_all(flow.source.as_bytes())
                .map_err(|e| internal(&e))?;
        }
        zip.finish().map_err(|e| internal(&e))?;
    }
    let mut resp = buf.into_inner().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let disposition = format!("attachment; filename=\"{namespace}_files.zip\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The path Kestra stores: `new URI(URLEncoder.encode(path)).getPath()` turns every space into
/// `+` and decodes the rest; a missing leading slash is added (`Path.of` under the root).
fn server_path(raw: &str) -> String {
    let p = raw.replace(' ', "+");
    if p.starts_with('/') {
        p
    } else {
        format!("/{p}")
    }
}

/// `forbiddenPathsGuard`: `/_flows(/.*)?` is the flows' place, a 422.
fn guard(path: &str) -> Result<(), ApiError> {
    if path == "/_flows" || path.starts_with("/_flows/") {
        return Err(ApiError::illegal_argument(format!(
            "Forbidden path: {path}"
        )));
    }
    Ok(())
}

fn content_uri(ns: &str, path: &str) -> String {
    format!("nsfile://{ns}{path}")
}

fn meta_uri(ns: &str, path: &str) -> String {
    format!("nsmeta://{ns}{path}")
}

/// Every file of a namespace: path → (size, created, updated).
fn files(state: &Shared, ns: &str) -> BTreeMap<String, (usize, i64, i64)> {
    let prefix = format!("nsfile://{ns}/");
    let metas: BTreeMap<String, Value> = state
        .store
        .files_under(&format!("nsmeta://{ns}/"))
        .into_iter()
        .filter_map(|(uri, bytes)| {
            let path = uri.strip_prefix(&format!("nsmeta://{ns}"))?.to_string();
            Some((path, serde_json::from_slice(&bytes).ok()?))
        })
        .collect();
    state
        .store
        .files_under(&prefix)
        .into_iter()
        .filter_map(|(uri, bytes)| {
            let path = uri.strip_prefix(&format!("nsfile://{ns}"))?.to_string();
            let meta = metas.get(&path);
            let at = |k: &str| {
                meta.and_then(|m| m.get(k))
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            };
            Some((path.clone(), (bytes.len(), at("created"), at("updated"))))
        })
        .collect()
}

fn attributes(name: &str, directory: bool, size: usize, created: i64, updated: i64) -> Value {
    json!({
        "fileName": if name.is_empty() { "_files" } else { name },
        "lastModifiedTime": updated,
        "creationTime": created,
        "type": if directory { "Directory" } else { "File" },
        "size": size,
        "metadata": {},
    })
}

fn query_path(raw: Option<&str>) -> Option<String> {
    let q = filters::parse_query(raw);
    filters::first(&q, "path").map(str::to_string)
}

fn required_path(raw: Option<&str>) -> Result<String, ApiError> {
    query_path(raw).ok_or_else(|| {
        ApiError::bad_request("Required QueryValue [path] not specified")
            .with_status(axum::http::StatusCode::BAD_REQUEST)
    })
}

/// `getFileContent`: the bytes, `application/octet-stream`, `Cache-Control: no-cache`.
async fn content(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let path = server_path(&required_path(raw.as_deref())?);
    guard(&path)?;
    let bytes = state
        .store
        .file(&content_uri(&namespace, &path))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "File '{path}' was not found in namespace '{namespace}'."
            ))
        })?;
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

async fn put_one(state: &Shared, ns: &str, path: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
    guard(path)?;
    if path.split('/').any(|c| c.chars().count() > MAX_NAME) {
        return Err(ApiError::illegal_argument(format!(
            "A file or folder name exceeds the maximum length of {MAX_NAME} characters."
        )));
    }
    let now = now_ms();
    let created = state
        .store
        .file(&meta_uri(ns, path))
        .and_then(|m| serde_json::from_slice::<Value>(&m).ok())
        .and_then(|m| m.get("created").and_then(Value::as_i64))
        .unwrap_or(now);
    let internal = |e: anyhow::Error| ApiError::internal(e.to_string());
    state
        .store
        .put_file(&content_uri(ns, path), bytes)
        .await
        .map_err(internal)?;
    state
        .store
        .put_file(
            &meta_uri(ns, path),
            json!({"created": created, "updated": now})
                .to_string()
                .into_bytes(),
        )
        .await
        .map_err(internal)
}

/// `createNamespaceFile`: multipart, the file in the part `fileContent`. An upload whose file
/// name ends in `.zip` is extracted instead (each entry at `/<entry>`, `path` ignored).
async fn upload(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    head: Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = server_path(&required_path(raw.as_deref())?);
    let all = parts(&head, body).await?;
    let Some(part) = all.into_iter().find(|p| p.name == "fileContent") else {
        return Err(ApiError::new(
            crate::errors::Problem::BadRequest,
            "Bad Request",
            Some("Required Part [fileContent] not specified".into()),
        )
        .with_status(axum::http::StatusCode::BAD_REQUEST));
    };
    let is_zip = part
        .filename
        .as_deref()
        .is_some_and(|f| f.to_ascii_lowercase().ends_with(".zip"));
    if !is_zip {
        put_one(&state, &namespace, &path, part.bytes.to_vec()).await?;
        return Ok(().into_response());
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(part.bytes.to_vec()))
        .map_err(|e| ApiError::internal(format!("Invalid zip: {e}")))?;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = format!(
            "/{}",
            entry
                .name()
                .map_err(|e| ApiError::internal(e.to_string()))?
        );
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        drop(entry);
        put_one(&state, &namespace, &name, bytes).await?;
    }
    Ok(().into_response())
}

/// `deleteFileDirectory`: a file, or a directory with everything under it; a path that does not
/// exist is not an error.
async fn remove(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let path = server_path(&required_path(raw.as_deref())?);
    guard(&path)?;
    let dir = format!("{}/", path.trim_end_matches('/'));
    let doomed: Vec<String> = files(&state, &namespace)
        .into_keys()
        .filter(|p| *p == path || p.starts_with(&dir))
        .collect();
    for p in doomed {
        for uri in [content_uri(&namespace, &p), meta_uri(&namespace, &p)] {
            state
                .store
                .delete_file(&uri)
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
    }
    Ok(().into_response())
}

/// `listNamespaceDirectoryFiles`: the direct entries of a directory (the root exists always; any
/// other missing directory is a 404 "Directory not found").
async fn directory(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let path = query_path(raw.as_deref()).map_or_else(|| "/".to_string(), |p| server_path(&p));
    guard(&path)?;
    let dir = format!("{}/", path.trim_end_matches('/'));
    let all = files(&state, &namespace);
    let mut entries: BTreeMap<String, Value> = BTreeMap::new();
    let mut dirs: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (p, (size, created, updated)) in &all {
        let Some(rest) = p.strip_prefix(&dir) else {
            continue;
        };
        match rest.split_once('/') {
            None => {
                entries.insert(
                    rest.to_string(),
                    attributes(rest, false, *size, *created, *updated),
                );
            }
            Some((sub, _)) => {
                let e = dirs.entry(sub.to_string()).or_insert((*created, *updated));
                e.0 = e.0.min(*created);
                e.1 = e.1.max(*updated);
            }
        }
    }
    if dir != "/" && entries.is_empty() && dirs.is_empty() {
        return Err(ApiError::not_found(format!(
            "Directory not found: {}",
            dir.trim_end_matches('/')
        )));
    }
    for (name, (created, updated)) in dirs {
        entries.insert(name.clone(), attributes(&name, true, 0, created, updated));
    }
    Ok(Json(entries.into_values().collect::<Vec<_>>()).into_response())
}

/// `getFileMetadatas`: one file's or directory's attributes (the root's without a path).
async fn stats(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let path = query_path(raw.as_deref())
        .filter(|p| !p.is_empty())
        .map_or_else(|| "/".to_string(), |p| server_path(&p));
    guard(&path)?;
    let all = files(&state, &namespace);
    if let Some((size, created, updated)) = all.get(&path) {
        let name = path.rsplit('/').next().unwrap_or_default();
        return Ok(Json(attributes(name, false, *size, *created, *updated)).into_response());
    }
    let dir = format!("{}/", path.trim_end_matches('/'));
    let under: Vec<&(usize, i64, i64)> = all
        .iter()
        .filter(|(p, _)| p.starts_with(&dir))
        .map(|(_, v)| v)
        .collect();
    if under.is_empty() && dir != "/" {
        return Err(ApiError::not_found(format!(
            "File '{path}' was not found in namespace '{namespace}'."
        )));
    }
    let created = under.iter().map(|v| v.1).min().unwrap_or(0);
    let updated = under.iter().map(|v| v.2).max().unwrap_or(0);
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    Ok(Json(attributes(name, true, 0, created, updated)).into_response())
}

/// `searchNamespaceFiles` (1.3.25 `NFC` l.73-80; the same contract in the 2.0 spec): the
/// absolute paths of the namespace's files (`InternalNamespace.all(q)` leaves folders and the
/// root out; `NamespaceFile.filePath()`, no revision suffix) whose path contains `q`, the whole
/// path (a folder's name matches every file under it). Kestra's repositories match with
/// `fullTextCondition`: H2 a case-insensitive `LIKE %q%`, Postgres a full-text search; both take
/// `*` as everything, and `InternalNamespace.all` takes `/` as no filter. `q` is required (the
/// router answers 400 without it, from the spec). Kestra's order is the repository's; sorted
/// here.
async fn search(
    State(state): State<Shared>,
    Path((_tenant, namespace)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = filters::parse_query(raw.as_deref());
    let needle = filters::first(&q, "q").unwrap_or_default().to_lowercase();
    let everything = needle == "/" || needle == "*";
    let found: Vec<String> = files(&state, &namespace)
        .into_keys()
        .filter(|path| everything || path.to_lowercase().contains(&needle))
        .collect();
    Ok(Json(found).into_response())
}
