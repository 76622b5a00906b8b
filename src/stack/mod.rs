//! The local stack: Postgres and Kestra containers through the Docker Engine API.
//!
//! `spec` turns settings into desired containers (pure); `files` renders the mounted config and
//! secret files; `engine` talks to Docker; `health` waits for readiness; `inspect` reads our labels and ports back from a container.

pub mod compose;
pub mod down;
pub mod engine;
pub mod files;
pub mod health;
pub mod inspect;
pub mod kestra_config;
pub mod local_api;
pub mod logs;
pub mod ports;
pub mod services_manifest;
pub mod spec;
pub mod sql;
pub mod start;
pub mod up;
