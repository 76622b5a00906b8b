//! `GET /api/v1/configs` (`MiscController.Configuration`) and, on 2.0, the public
//! `GET /api/v1/configs/login`.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::basic_auth;
use crate::server::Shared;

/// A fixed build identity per version, as a released image would report.
fn commit(v: crate::version::KestraVersion) -> (&'static str, &'static str) {
    match v {
        crate::version::KestraVersion::V1_3 => ("4d6c2f1", "2026-06-30T09:12:44Z"),
        crate::version::KestraVersion::V2_0 => ("b81e5a7", "2026-11-04T15:40:03Z"),
        crate::version::KestraVersion::V2_1Dev => ("e03c9d2", "2026-11-28T08:21:17Z"),
    }
}

pub async fn configuration(State(state): State<Shared>) -> Json<Value> {
    let v = state.version;
    let (commit_id, commit_date) = commit(v);
    let mut m = Map::new();
    m.insert("uuid".into(), json!(state.uuid));
    m.insert("version".into(), json!(v.full()));
    m.insert("edition".into(), json!("OSS"));
    m.insert("commitId".into(), json!(commit_id));
    m.insert("chartDefaultDuration".into(), json!("P30D"));
    m.insert("commitDate".into(), json!(commit_date));
    m.insert("isCustomDashboardsEnabled".into(), json!(true));
    m.insert("isAnonymousUsageEnabled".into(), json!(false));
    m.insert("isUiAnonymousUsageEnabled".into(), json!(false));
    if !v.is_v2() {
        m.insert("isTemplateEnabled".into(), json!(false));
    }
    if let Some(url) = &state.config.kestra_url {
        m.insert("url".into(), json!(url));
    }
    m.insert("preview".into(), json!({"initial": 100, "max": 5000}));
    m.insert("systemNamespace".into(), json!("system"));
    m.insert("hiddenLabelsPrefixes".into(), json!([]));
    m.insert("isAiEnabled".into(), json!(false));
    m.insert("isAiApiKeyConfigured".into(), json!(false));
    m.insert(
        "isBasicAuthInitialized".into(),
        json!(basic_auth::is_initialized(&state.store)),
    );
    // The development line tells the UI (and kestractl) whether the credential can be changed
    // through the API; released 1.3 and 2.0 have no such field.
    if v.guards_credential_changes() {
        m.insert(
            "isBasicAuthManagedByConfig".into(),
            json!(state.config.basic_auth_managed_by_config()),
        );
    }
    m.insert("pluginsHash".into(), json!(1_872_114_563_i64));
    m.insert("isConcurrencyViewEnabled".into(), json!(false));
    Json(Value::Object(m))
}

pub async fn login(State(state): State<Shared>) -> Json<Value> {
    Json(json!({"isBasicAuthInitialized": basic_auth::is_initialized(&state.store)}))
}
