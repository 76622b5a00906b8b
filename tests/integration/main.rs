//! Integration tests: the real `kestractl` binary against the Kestra emulator (both API versions),
//! real files and, where a test says so, the real Docker Engine and keyring.

mod common;

mod config_cmd;
mod server_info;
mod settings_precedence;
