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
