//! Serde types for Kestra's JSON. Tolerant on purpose: every field is optional and unknown fields
//! are ignored, because Kestra adds fields between versions and omits nulls.

use serde::Deserialize;

/// `GET /api/v1/configs` (`MiscController.Configuration`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    pub version: Option<String>,
    pub edition: Option<String>,
    pub commit_id: Option<String>,
    pub url: Option<String>,
    pub system_namespace: Option<String>,
    pub is_basic_auth_initialized: Option<bool>,
}

/// `GET /api/v1/configs/login` (2.0, public).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginConfiguration {
    pub is_basic_auth_initialized: Option<bool>,
}

/// A flow as listed or returned by create/update (`Flow` / `FlowWithSource`), reduced to what
/// kestractl shows. `source` is only present when asked for.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    pub id: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// 2.0 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// One element of `POST /flows/validate`: one per YAML document, in body order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateResult {
    pub index: Option<usize>,
    pub flow: Option<String>,
    pub namespace: Option<String>,
    /// Set (non-empty) when the document is invalid.
    pub constraints: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub infos: Vec<String>,
    #[serde(default)]
    pub deprecation_paths: Vec<String>,
}

/// Kestra's paged envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct Paged<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub total: Option<i64>,
}
