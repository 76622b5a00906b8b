//! Log routes under `/api/v1/{tenant}/logs`.

use axum::Router;

use crate::server::Shared;
use crate::version::KestraVersion;

pub fn routes(_v: KestraVersion) -> Router<Shared> {
    Router::new()
}
