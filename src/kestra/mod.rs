//! Kestra's REST API: the client, version-aware routes, tolerant models and error bodies.

pub mod basic_auth;
pub mod client;
pub mod error;
pub mod executions;
pub mod flows;
pub mod inputs;
pub mod kv;
pub mod limits;
pub mod management;
pub mod model;
pub mod nsfiles;
pub mod problem;
pub mod prometheus;
pub mod routes;
pub mod sse;
pub mod state;
pub mod triggers;

pub use client::{ClientConfig, CredentialCheck, KestraClient, Request};
pub use error::ApiError;
