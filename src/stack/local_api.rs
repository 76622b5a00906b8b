//! The local stack's API client: Kestra on this machine at the stack's own URL, plain http on
//! loopback allowed, a short per-call timeout (readiness and rotation probes repeat it).

use std::time::Duration;

use crate::error::{Error, Result};
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
        server: validate::server_url(&stack.local_url())
            .map_err(|m| Error::settings(m, "check KESTRA_BIND and KESTRA_HTTP_PORT"))?,
        tenant: tenant.to_string(),
        username: username.to_string(),
        password,
        timeout,
        allow_insecure_http: true,
    })
}
