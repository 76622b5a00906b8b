//! Integration tests: the real `kestractl` binary against the Kestra emulator (both API versions),
//! real files and, where a test says so, the real Docker Engine and keyring.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake;

mod docker;
mod keyring;

mod auth_docker;
mod auth_keyring;

mod architecture;

mod backup_docker;
mod bad_input;
mod config_cmd;
mod conformance;
mod execution_controls_cmd;
mod executions_cmd;
mod faults;
mod flows_deploy;
mod fuzz_regressions;
mod hostile;
mod hostile_surfaces;
mod kv_cmd;
mod manifest_cmd;
mod metrics_cmd;
mod nsfiles_cmd;
mod operator;
mod polish;
mod rotate_api;
mod secret_leak;
mod server_info;
mod settings_precedence;
mod stack_cli;
mod stack_docker;
mod tools_stack_docker;
mod triggers_cmd;
