//! Flow routes under `/api/v1/{tenant}/flows`.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;

use crate::server::Shared;
use crate::version::KestraVersion;

pub fn routes(_v: KestraVersion) -> Router<Shared> {
    Router::new().route(
        "/api/v1/{tenant}/flows/distinct-namespaces",
        get(distinct_namespaces),
    )
}

#[derive(Deserialize)]
pub struct DistinctQuery {
    q: Option<String>,
}

/// Namespaces holding at least one live flow, optionally filtered by substring.
pub async fn distinct_namespaces(
    State(state): State<Shared>,
    Query(q): Query<DistinctQuery>,
) -> Json<Vec<String>> {
    let all = state.store.distinct_namespaces();
    Json(match q.q.filter(|s| !s.is_empty()) {
        Some(needle) => all.into_iter().filter(|n| n.contains(&needle)).collect(),
        None => all,
    })
}
