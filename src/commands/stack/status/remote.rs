//! `kestractl status` for a server kestractl does not run on this machine: what its API says
//! (no Docker).

use serde::Serialize;

use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::kestra::{CredentialCheck, Request};
use crate::output::{Output, Render};

/// `status` for a server kestractl does not run on this machine: what its API says (no Docker).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStatus {
    pub ready: bool,
    pub url: String,
    /// Always false: the containers of this server are not on this machine.
    pub managed: bool,
    /// `UP` when `/ping` answers, else `unreachable`.
    pub health: String,
    pub version: Option<String>,
    pub edition: Option<String>,
    /// `valid`, `forbidden`, `refused`, `missing` (no password known).
    pub credentials: &'static str,
    pub username: String,
}

impl Render for RemoteStatus {
    fn human(&self, out: &Output) -> Result<()> {
        out.record(&[
            ("Server", self.url.clone()),
            (
                "Containers",
                "not managed here (a remote server: its API only)".into(),
            ),
            ("Health", self.health.clone()),
            (
                "Version",
                match (&self.version, &self.edition) {
                    (Some(v), Some(e)) => format!("{v} ({e})"),
                    (Some(v), None) => v.clone(),
                    _ => "-".into(),
                },
            ),
            (
                "Credentials",
                format!("{} for {}", self.credentials, self.username),
            ),
            ("Ready", if self.ready { "yes" } else { "no" }.to_string()),
        ])
    }
}

pub(super) async fn remote(ctx: &Ctx) -> Result<Exit> {
    let client = ctx.kestra_probe().await?;
    let url = crate::settings::display_url(client.server());
    let reachable = client
        .send(&Request::get("/ping").anonymous())
        .await
        .is_ok();
    let (version, edition, credentials) = if reachable {
        let discovered = client.discover().await.ok();
        let credentials = match client.check_credentials().await {
            Ok(CredentialCheck::Valid) => "valid",
            Ok(CredentialCheck::ValidForbidden) => "forbidden",
            Ok(CredentialCheck::Refused) => "refused",
            Ok(CredentialCheck::Missing) => "missing",
            Err(_) => "unchecked",
        };
        (
            discovered.and_then(|d| d.config.version.clone()),
            discovered.and_then(|d| d.config.edition.clone()),
            credentials,
        )
    } else {
        (None, None, "unchecked")
    };
    let ready = reachable && matches!(credentials, "valid" | "forbidden");
    ctx.out.emit(&RemoteStatus {
        ready,
        url,
        managed: false,
        health: if reachable { "UP" } else { "unreachable" }.into(),
        version,
        edition,
        credentials,
        username: client.username().to_string(),
    })?;
    Ok(if ready { Exit::Ok } else { Exit::NotReady })
}
