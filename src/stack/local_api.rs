//! The local stack's API client: Kestra on this machine at the stack's own address (never
//! another machine's: `StackSettings::api_url`), a short per-call timeout (readiness and rotation
//! probes repeat it).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::kestra::management::Management;
use crate::kestra::{ClientConfig, KestraClient};
use crate::secret::Secret;
use crate::settings::stack::StackSettings;
use crate::settings::validate;

pub fn local_client(
    stack: &StackSettings,
    tenant: &str,
    username: &str,
    password: Option<Secret>,
    timeout: Duration,
) -> Result<KestraClient> {
    KestraClient::new(ClientConfig {
        server: validate::server_url(&stack.api_url()?)
            .map_err(|m| Error::settings(m, "check KESTRA_BIND and KESTRA_HTTP_PORT"))?,
        tenant: tenant.to_string(),
        username: username.to_string(),
        password,
        timeout,
        // The stack is on this machine (`api_url`): plain HTTP never leaves it, which the
        // client's own guard checks; nothing here lifts that guard.
        allow_insecure_http: false,
    })
}

/// The local stack's management port, with the credential its running configuration asks there
/// (read from the rendered file, which only the stack's owner can read; without it the port's
/// answers are 401s).
pub fn management(stack: &StackSettings, timeout: Duration) -> Result<Management> {
    let credential = super::files::read_config(&stack.secrets_dir)
        .as_deref()
        .and_then(super::kestra_config::management_credential_of);
    Management::new(&stack.management_url(), credential, timeout)
}
