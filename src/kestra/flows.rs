//! Flow routes (same paths on 1.3 and 2.0): validate, list a namespace, export a namespace's
//! sources as a ZIP, create, update, delete, get, search. Never the bulk routes: their server-side
//! default deletes every flow missing from the body.

use std::io::Read;
use std::time::Instant;

use reqwest::Method;

use super::client::{Body, KestraClient, Request};
use super::error::ApiError;
use super::limits::Budget;
use super::model::{Flow, Paged, ValidateResult};
use super::routes::{segment, tenant_base};

const YAML: &str = "application/x-yaml";
const OCTET_STREAM: &str = "application/octet-stream";

/// The flows of the tenant, borrowed from the client (`client.flows()`).
#[derive(Clone, Copy)]
pub struct Flows<'a> {
    client: &'a KestraClient,
}

impl KestraClient {
    /// The flows of the tenant.
    pub fn flows(&self) -> Flows<'_> {
        Flows { client: self }
    }
}

impl Flows<'_> {
    fn base(&self) -> String {
        format!("{}/flows", tenant_base(self.client.tenant()))
    }

    fn path(&self, namespace: &str, id: &str) -> String {
        format!("{}/{}/{}", self.base(), segment(namespace), segment(id))
    }

    /// Validates documents server-side: one result per document, in the order given.
    ///
    /// They go as multipart `flows` files, each with its own file name, and each result is
    /// matched back by that name. Not as one YAML body: Kestra splits that on its own `---`
    /// pattern after trimming, so a column-0 `---` line inside a block scalar would shift every
    /// result after it onto the wrong flow. A server without the multipart form (415) gets one
    /// document per request. Read-only, so it is retried like a GET.
    pub async fn validate(self, docs: &[&str]) -> Result<Vec<ValidateResult>, ApiError> {
        let parts = docs
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                (
                    "flows".to_string(),
                    Some(validate_part_name(i)),
                    doc.as_bytes().to_vec(),
                )
            })
            .collect();
        let req = Request::with_body(
            Method::POST,
            format!("{}/validate", self.base()),
            Body::Multipart(parts),
            true,
        );
        match self.client.json::<Vec<ValidateResult>>(&req).await {
            Ok(results) => Ok(match_validation(docs.len(), results)),
            Err(e) if e.status() == Some(415) => {
                let mut out = Vec::with_capacity(docs.len());
                for doc in docs {
                    let req = Request::with_body(
                        Method::POST,
                        format!("{}/validate", self.base()),
                        Body::Bytes(YAML, doc.as_bytes().to_vec()),
                        true,
                    );
                    let mut one: Vec<ValidateResult> = self.client.json(&req).await?;
                    out.push(one.drain(..).next().unwrap_or_default());
                }
                Ok(out)
            }
            Err(e) => Err(e),
        }
    }

    /// The latest revision of every flow of exactly this namespace.
    pub async fn list(self, namespace: &str) -> Result<Vec<Flow>, ApiError> {
        self.client
            .json(&Request::get(format!(
                "{}/{}",
                self.base(),
                segment(namespace)
            )))
            .await
    }

    /// Every flow source of exactly this namespace, in one request: `(entry name, source)`.
    /// The archive and its inflated sources are charged to `budget`, shared by the command's
    /// other reads (the archive is given back once inflated; the sources stay charged while
    /// the caller holds them).
    pub async fn export(
        self,
        namespace: &str,
        budget: &Budget,
    ) -> Result<Vec<(String, String)>, ApiError> {
        // The route produces only `application/octet-stream`: asked for JSON, Kestra refuses it
        // (406) or routes the call to `GET /flows/{namespace}/{id}` as namespace `export`.
        let mut req = Request::get(format!("{}/export/by-query", self.base()))
            .accepting(OCTET_STREAM)
            .query("filters[namespace][EQUALS]", namespace);
        req.stream = true;
        let resp = self.client.send(&req).await?;
        let url = resp.url().to_string();
        let over = |what: &str| ApiError::Limit {
            url: url.clone(),
            detail: format!(
                "{what} take more than {} MiB in all, more than kestractl reads at once",
                budget.cap() >> 20
            ),
            hint: "work on fewer namespaces at a time (--namespace NS); if this is not the \
                   Kestra you meant, check --server"
                .into(),
        };
        let mut archive = Vec::new();
        let read = super::client::stream_body(resp, self.client.timeout(), &mut |chunk| {
            if archive.len() + chunk.len() > MAX_EXPORT || !budget.charge(chunk.len() as u64) {
                return Err(crate::error::Error::other("over"));
            }
            archive.extend_from_slice(chunk);
            Ok(())
        })
        .await;
        let charged = archive.len() as u64;
        let result = match read {
            Ok(_) => unzip_sources(&archive, budget).map_err(|e| match e {
                UnzipError::OverBudget => over("the flow sources these namespaces export"),
                UnzipError::Damaged(detail) => ApiError::Decode {
                    method: "GET".into(),
                    url: url.clone(),
                    detail,
                },
            }),
            Err(super::client::StreamError::Sink(_)) if archive.len() >= MAX_EXPORT => {
                Err(ApiError::Decode {
                    method: "GET".into(),
                    url: url.clone(),
                    detail: format!(
                        "the export of {namespace} is larger than {}; it was not read",
                        super::client::mib(MAX_EXPORT)
                    ),
                })
            }
            Err(super::client::StreamError::Sink(_)) => {
                Err(over("the exports of these namespaces"))
            }
            Err(e) => Err(ApiError::Decode {
                method: "GET".into(),
                url: url.clone(),
                detail: e.into_error(&url, "the export").message().to_string(),
            }),
        };
        budget.release(charged);
        result
    }

    /// Creates a flow. A create is not idempotent (a second one is refused as a duplicate, or
    /// would bump a revision), so it is sent again only when that is known to be safe: the
    /// connection was never made, or, after an unavailable server (502/503/504) or an answer cut
    /// off, a read shows the flow absent (sent again) or already holding exactly this source (it
    /// landed: done). All of it within one `--timeout`.
    pub async fn create(self, namespace: &str, id: &str, source: &str) -> Result<Flow, ApiError> {
        let started = Instant::now();
        let deadline = started + self.client.timeout();
        let req = Request::with_body(
            Method::POST,
            self.base(),
            Body::Bytes(YAML, source.as_bytes().to_vec()),
            false,
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.client.json_until::<Flow>(&req, deadline).await {
                Ok(flow) => return Ok(flow),
                Err(e) if e.outcome_unknown() => e,
                Err(e) => return Err(e),
            };
            let wait = self.client.retry_policy().backoff(attempt);
            if Instant::now() + wait >= deadline {
                return Err(if attempt > 1 {
                    err.retried_for(started.elapsed())
                } else {
                    err
                });
            }
            tokio::time::sleep(wait).await;
            match self.read_until(namespace, id, deadline).await {
                Ok(None) => tracing::debug!("{namespace}/{id} is absent: creating it again"),
                Ok(Some(flow)) if flow.source.as_deref() == Some(source) => {
                    tracing::debug!("{namespace}/{id} was created by the earlier attempt");
                    return Ok(flow);
                }
                // Someone else's flow, or no answer: report the create's own failure.
                Ok(Some(_)) | Err(_) => return Err(err),
            }
        }
    }

    /// The latest revision of a flow with its source, `None` when it does not exist (or only as
    /// deleted).
    async fn read_until(
        self,
        namespace: &str,
        id: &str,
        deadline: Instant,
    ) -> Result<Option<Flow>, ApiError> {
        let req = Request::get(self.path(namespace, id)).query("source", "true");
        match self.client.json_until::<Flow>(&req, deadline).await {
            Ok(flow) if flow.deleted == Some(true) => Ok(None),
            Ok(flow) => Ok(Some(flow)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn update(self, namespace: &str, id: &str, source: &str) -> Result<Flow, ApiError> {
        let req = Request::with_body(
            Method::PUT,
            self.path(namespace, id),
            Body::Bytes(YAML, source.as_bytes().to_vec()),
            true,
        );
        self.client.json(&req).await
    }

    /// Every revision of a flow with its source, oldest first (`FlowController.listFlowRevisions`,
    /// `GET {namespace}/{id}/revisions`, 1.3.25 FC:188; the same route in the 2.0 spec).
    pub async fn revisions(self, namespace: &str, id: &str) -> Result<Vec<Flow>, ApiError> {
        let req = Request::get(format!("{}/revisions", self.path(namespace, id)));
        self.client.json(&req).await
    }

    /// `POST flows/{enable|disable}/by-ids` (`FlowController.enableFlowsByIds` /
    /// `disableFlowsByIds`, 1.3.25; the same in the 2.0 spec): how many flows changed (a flow
    /// already in that state is not counted). Kestra injects `disabled: <value>` into the source,
    /// a new revision.
    pub async fn set_disabled(
        self,
        namespace: &str,
        id: &str,
        disabled: bool,
    ) -> Result<i64, ApiError> {
        #[derive(serde::Deserialize)]
        struct BulkResponse {
            #[serde(default)]
            count: i64,
        }
        let action = if disabled { "disable" } else { "enable" };
        let body = serde_json::json!([{ "namespace": namespace, "id": id }]);
        let req = Request::with_body(
            Method::POST,
            format!("{}/{action}/by-ids", self.base()),
            Body::Bytes("application/json", body.to_string().into_bytes()),
            true,
        );
        Ok(self.client.json::<BulkResponse>(&req).await?.count)
    }

    pub async fn delete(self, namespace: &str, id: &str) -> Result<(), ApiError> {
        let mut req = Request::get(self.path(namespace, id));
        req.method = Method::DELETE;
        self.client.send(&req).await.map(|_| ())
    }

    /// One flow, with its source when `source` is set (raw JSON, for `-o json`).
    pub async fn get(
        self,
        namespace: &str,
        id: &str,
        source: bool,
    ) -> Result<serde_json::Value, ApiError> {
        let req = Request::get(self.path(namespace, id)).query("source", source.to_string());
        self.client.json(&req).await
    }

    /// A page of the flow search (1-based), optionally restricted to a namespace and its children.
    pub async fn search(
        self,
        namespace_prefix: Option<&str>,
        page: u32,
        size: u32,
    ) -> Result<Paged<Flow>, ApiError> {
        let mut req = Request::get(format!("{}/search", self.base()))
            .query("page", page.to_string())
            .query("size", size.to_string())
            .query("sort", "namespace:asc")
            .query("sort", "id:asc");
        if let Some(ns) = namespace_prefix {
            req = req.query("filters[namespace][PREFIX]", ns);
        }
        self.client.json(&req).await
    }

    pub async fn namespaces(self) -> Result<Vec<String>, ApiError> {
        self.client
            .json(&Request::get(format!(
                "{}/distinct-namespaces",
                self.base()
            )))
            .await
    }
}

/// The file name of the `i`-th document in a validation request.
fn validate_part_name(i: usize) -> String {
    format!("flow-{i}.yml")
}

/// Puts validation results in the order of the documents sent, by file name where the server
/// echoes it, else by index (pure). A document with no result gets an empty default.
pub fn match_validation(count: usize, results: Vec<ValidateResult>) -> Vec<ValidateResult> {
    let mut slots: Vec<Option<ValidateResult>> = vec![None; count];
    for (position, r) in results.into_iter().enumerate() {
        let slot = r
            .filename
            .as_deref()
            .and_then(|name| {
                name.strip_prefix("flow-")?
                    .strip_suffix(".yml")?
                    .parse()
                    .ok()
            })
            .or(r.index)
            .unwrap_or(position);
        if let Some(s) = slots.get_mut(slot).filter(|s| s.is_none()) {
            *s = Some(r);
        }
    }
    slots
        .into_iter()
        .map(|s| {
            s.unwrap_or_else(|| ValidateResult {
                constraints: Some("the server returned no validation result for this flow".into()),
                ..ValidateResult::default()
            })
        })
        .collect()
}

/// One namespace's export, compressed. A namespace of a few thousand flows is a few MiB.
pub const MAX_EXPORT: usize = 64 << 20;
/// Entries read from one export (a ZIP can announce any number).
pub const MAX_EXPORT_ENTRIES: usize = 100_000;
/// One flow's source, decompressed (kestractl refuses local flow files over 4 MiB).
pub const MAX_EXPORT_ENTRY: u64 = 16 << 20;
/// What one command reads of exports in all, compressed archives and inflated sources together:
/// ten thousand flows are tens of MiB; a small archive cannot inflate past this.
pub const MAX_EXPORTS: u64 = 160 << 20;

/// Why an export's entries were not read.
#[derive(Debug)]
pub enum UnzipError {
    /// The sources would pass the command's budget.
    OverBudget,
    /// Not an archive kestractl reads (said in the text).
    Damaged(String),
}

/// Reads every entry of an export ZIP as UTF-8 text, one entry at a time, each within
/// [`MAX_EXPORT_ENTRY`] and all of them charged to `budget` (a ZIP bomb is refused, not
/// inflated).
pub fn unzip_sources(bytes: &[u8], budget: &Budget) -> Result<Vec<(String, String)>, UnzipError> {
    unzip_entries(bytes, budget, MAX_EXPORT_ENTRY, "any flow")?
        .into_iter()
        .map(|(name, raw)| {
            String::from_utf8(raw)
                .map(|text| (name, text))
                .map_err(|e| {
                    UnzipError::Damaged(format!("an entry of the export is not UTF-8 text ({e})"))
                })
        })
        .collect()
}

/// Reads every file entry of an export ZIP, one entry at a time, each within `max_entry` bytes
/// (`larger_than` names what no entry may pass, for the message) and all of them charged to
/// `budget`: the sizes an archive announces can lie, so a ZIP bomb is refused, not inflated.
pub fn unzip_entries(
    bytes: &[u8],
    budget: &Budget,
    max_entry: u64,
    larger_than: &str,
) -> Result<Vec<(String, Vec<u8>)>, UnzipError> {
    let damaged = UnzipError::Damaged;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| damaged(format!("the export is not a ZIP archive ({e})")))?;
    if archive.len() > MAX_EXPORT_ENTRIES {
        return Err(damaged(format!(
            "the export holds {} entries, more than {MAX_EXPORT_ENTRIES}; it was not read",
            archive.len()
        )));
    }
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| damaged(format!("entry {i} of the export cannot be read ({e})")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|e| {
                damaged(format!(
                    "entry {i} of the export has no readable name ({e})"
                ))
            })?
            .to_string();
        let room = max_entry.min(budget.left());
        let mut raw = Vec::new();
        entry
            .take(room + 1)
            .read_to_end(&mut raw)
            .map_err(|e| damaged(format!("entry {i} of the export cannot be read ({e})")))?;
        if raw.len() as u64 > max_entry {
            return Err(damaged(format!(
                "an entry of the export inflates past {} MiB, more than {larger_than}; it was not read",
                max_entry >> 20
            )));
        }
        if !budget.charge(raw.len() as u64) {
            return Err(UnzipError::OverBudget);
        }
        out.push((name, raw));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A result told apart from the others by its `constraints` text.
    fn result(index: Option<usize>, filename: Option<&str>, marker: &str) -> ValidateResult {
        ValidateResult {
            index,
            filename: filename.map(str::to_string),
            constraints: Some(marker.into()),
            ..ValidateResult::default()
        }
    }

    #[test]
    fn validation_results_map_back_by_file_name() {
        // Answered out of order: the file names put them back.
        let out = match_validation(
            3,
            vec![
                result(Some(0), Some("flow-2.yml"), "c"),
                result(Some(1), Some("flow-0.yml"), "a"),
                result(Some(2), Some("flow-1.yml"), "b"),
            ],
        );
        let flows: Vec<_> = out
            .iter()
            .map(|r| r.constraints.as_deref().unwrap())
            .collect();
        assert_eq!(flows, ["a", "b", "c"]);
        // No file names (a server that splits a YAML body): by index.
        let out = match_validation(
            2,
            vec![result(Some(1), None, "b"), result(Some(0), None, "a")],
        );
        assert_eq!(out[0].constraints.as_deref(), Some("a"));
        // A document left without a result is reported, never silently valid.
        let out = match_validation(2, vec![result(Some(0), Some("flow-0.yml"), "a")]);
        assert!(
            out[1]
                .constraints
                .as_deref()
                .unwrap()
                .contains("no validation result")
        );
    }
}
