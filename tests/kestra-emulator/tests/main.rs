//! The emulator's own tests, one binary (one link step): configs and auth, routing as Micronaut
//! selects routes, flows, executions, triggers, the Postgres store, and conformance with Kestra's
//! specs.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod basic_auth;
mod basics;
mod conformance;
mod corpus;
mod executions;
mod flows;
mod nsfiles;
mod postgres;
mod routing;
mod triggers;
