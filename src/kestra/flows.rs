//! Flow routes (same paths on 1.3 and 2.0): validate, list a namespace, export a namespace's
//! sources as a ZIP, create, update, delete, get, search. Never the bulk routes: their server-side
//! default deletes every flow missing from the body.

use std::io::Read;

use reqwest::Method;

use super::client::{Body, KestraClient, Request};
use super::error::ApiError;
use super::model::{Flow, Paged, ValidateResult};
use super::routes::{segment, tenant_base};

const YAML: &str = "application/x-yaml";

impl KestraClient {
    fn flows_base(&self) -> String {
        format!("{}/flows", tenant_base(self.tenant()))
    }

    fn flow_path(&self, namespace: &str, id: &str) -> String {
        format!(
            "{}/{}/{}",
            self.flows_base(),
            segment(namespace),
            segment(id)
        )
    }

    /// Validates documents server-side (one result per document, by index). Read-only, so it is
    /// retried like a GET.
    pub async fn validate_flows(&self, docs: &[&str]) -> Result<Vec<ValidateResult>, ApiError> {
        let body = docs.join("\n---\n");
        let req = Request::with_body(
            Method::POST,
            format!("{}/validate", self.flows_base()),
            Body::Bytes(YAML, body.into_bytes()),
            true,
        );
        self.json(&req).await
    }

    /// The latest revision of every flow of exactly this namespace.
    pub async fn list_namespace(&self, namespace: &str) -> Result<Vec<Flow>, ApiError> {
        self.json(&Request::get(format!(
            "{}/{}",
            self.flows_base(),
            segment(namespace)
        )))
        .await
    }

    /// Every flow source of exactly this namespace, in one request: `(entry name, source)`.
    pub async fn export_namespace(
        &self,
        namespace: &str,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let req = Request::get(format!("{}/export/by-query", self.flows_base()))
            .query("filters[namespace][EQUALS]", namespace);
        let resp = self.send(&req).await?;
        let url = resp.url().to_string();
        let bytes = resp.bytes().await.map_err(|e| ApiError::Decode {
            method: "GET".into(),
            url: url.clone(),
            detail: e.to_string(),
        })?;
        unzip_sources(&bytes).map_err(|detail| ApiError::Decode {
            method: "GET".into(),
            url,
            detail,
        })
    }

    pub async fn create_flow(&self, source: &str) -> Result<Flow, ApiError> {
        // A create that reached the server must not be sent twice.
        let req = Request::with_body(
            Method::POST,
            self.flows_base(),
            Body::Bytes(YAML, source.as_bytes().to_vec()),
            false,
        );
        self.json(&req).await
    }

    pub async fn update_flow(
        &self,
        namespace: &str,
        id: &str,
        source: &str,
    ) -> Result<Flow, ApiError> {
        let req = Request::with_body(
            Method::PUT,
            self.flow_path(namespace, id),
            Body::Bytes(YAML, source.as_bytes().to_vec()),
            true,
        );
        self.json(&req).await
    }

    pub async fn delete_flow(&self, namespace: &str, id: &str) -> Result<(), ApiError> {
        let mut req = Request::get(self.flow_path(namespace, id));
        req.method = Method::DELETE;
        self.send(&req).await.map(|_| ())
    }

    /// One flow, with its source when `source` is set (raw JSON, for `-o json`).
    pub async fn get_flow(
        &self,
        namespace: &str,
        id: &str,
        source: bool,
    ) -> Result<serde_json::Value, ApiError> {
        let req = Request::get(self.flow_path(namespace, id)).query("source", source.to_string());
        self.json(&req).await
    }

    /// A page of the flow search (1-based), optionally restricted to a namespace and its children.
    pub async fn search_flows(
        &self,
        namespace_prefix: Option<&str>,
        page: u32,
        size: u32,
    ) -> Result<Paged<Flow>, ApiError> {
        let mut req = Request::get(format!("{}/search", self.flows_base()))
            .query("page", page.to_string())
            .query("size", size.to_string())
            .query("sort", "namespace:asc")
            .query("sort", "id:asc");
        if let Some(ns) = namespace_prefix {
            req = req.query("filters[namespace][PREFIX]", ns);
        }
        self.json(&req).await
    }

    pub async fn distinct_namespaces(&self) -> Result<Vec<String>, ApiError> {
        self.json(&Request::get(format!(
            "{}/distinct-namespaces",
            self.flows_base()
        )))
        .await
    }
}

/// Reads every entry of an export ZIP as UTF-8 text.
pub fn unzip_sources(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("the export is not a ZIP archive ({e})"))?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("entry {i} of the export cannot be read ({e})"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|e| format!("entry {i} of the export has no readable name ({e})"))?
            .to_string();
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| format!("entry {name} of the export is not UTF-8 text ({e})"))?;
        out.push((name, text));
    }
    Ok(out)
}
