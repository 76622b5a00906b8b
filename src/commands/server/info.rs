//! `kestractl server info`: what the server is, and whether our credentials work.

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::kestra::error::auth_hint;
use crate::kestra::routes::{self, ServerVersion};
use crate::kestra::{ApiError, CredentialCheck};
use crate::output::{Output, Render, Style};

/// Show the server's version and edition, and prove the credentials on a protected route
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = "Show the server's version and edition, and prove the credentials.\n\n\
        The credentials are checked on a route that always requires them (Kestra 1.x serves its \
        configuration to anyone, so that answer proves nothing). Exits 4 if they are refused or \
        missing, 1 if the server cannot be reached within --timeout.",
    after_help = "Examples:\n  kestractl server info\n  kestractl server info --server https://kestra.example.com -o json"
)]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        info(ctx).await
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    server: String,
    tenant: String,
    /// Kestra's version; `null` when the server hides it from callers without valid credentials.
    version: Option<String>,
    edition: Option<String>,
    /// The route family kestractl uses with this server (`1.x` or `2.x`).
    api: Option<&'static str>,
    supported: Option<bool>,
    basic_auth_initialized: Option<bool>,
    username: String,
    /// `valid`, `refused`, `missing` or `valid-no-permission`.
    credentials: &'static str,
    credentials_checked_on: String,
    ui_url: String,
}

async fn info(ctx: &Ctx) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let probe = format!("GET {}", routes::credential_probe(client.tenant()));

    // 1.x serves its configuration to anyone; 2.0 only with valid credentials, and offers a
    // public subset on /configs/login.
    let (config, credentials) = match client.configuration().await {
        Ok(config) => {
            let check = client.check_credentials().await?;
            (Some(config), check)
        }
        Err(ApiError::Status { status: 401, .. }) => {
            let check = if client.has_password() {
                CredentialCheck::Refused
            } else {
                CredentialCheck::Missing
            };
            (None, check)
        }
        Err(e) => return Err(e.into()),
    };
    let login = if config.is_none() {
        client.login_configuration().await.ok()
    } else {
        None
    };

    let version = config
        .as_ref()
        .and_then(|c| c.version.as_deref())
        .and_then(ServerVersion::parse);
    let info = Info {
        server: crate::settings::display_url(client.server()),
        tenant: client.tenant().to_string(),
        version: config.as_ref().and_then(|c| c.version.clone()),
        edition: config.as_ref().and_then(|c| c.edition.clone()),
        api: match (&version, &login) {
            (Some(v), _) => Some(v.api().label()),
            // Only 2.x has /configs/login.
            (None, Some(_)) => Some(routes::ApiVersion::V2.label()),
            (None, None) => None,
        },
        supported: version.as_ref().map(ServerVersion::is_supported),
        basic_auth_initialized: config
            .as_ref()
            .and_then(|c| c.is_basic_auth_initialized)
            .or_else(|| login.as_ref().and_then(|l| l.is_basic_auth_initialized)),
        username: client.username().to_string(),
        credentials: match credentials {
            CredentialCheck::Valid => "valid",
            CredentialCheck::ValidForbidden => "valid-no-permission",
            CredentialCheck::Refused => "refused",
            CredentialCheck::Missing => "missing",
        },
        credentials_checked_on: probe,
        ui_url: format!("{}/ui/", crate::settings::display_url(client.server())),
    };

    ctx.out.emit(&info)?;
    if let Some(v) = &version
        && !v.is_supported()
    {
        ctx.out.warn(&format!(
            "Kestra {v} is not a version kestractl is tested with (1.3 and 2.0); commands may fail"
        ));
    }
    if info.basic_auth_initialized == Some(false) {
        ctx.out.warn(
            "this Kestra has no Basic Auth credentials yet: its setup page lets whoever reaches it \
             first set them. Configure kestra.server.basic-auth before exposing it",
        );
    }

    match credentials {
        CredentialCheck::Valid | CredentialCheck::ValidForbidden => Ok(Exit::Ok),
        CredentialCheck::Refused => Err(Error::auth(
            format!(
                "Kestra at {} refused the credentials of {}",
                info.server, info.username
            ),
            auth_hint(true),
        )),
        CredentialCheck::Missing => Err(Error::auth(
            format!(
                "no password was given, so the credentials of {} could not be checked",
                info.username
            ),
            auth_hint(false),
        )),
    }
}

impl Render for Info {
    fn human(&self, out: &Output) -> Result<()> {
        let info = self;
        let unknown = || out.paint(Style::Dim, "unknown");
        let version = match (&info.version, info.api) {
            (Some(v), _) => v.clone(),
            (None, Some(api)) => {
                format!("{api} (the exact version is shown only to valid credentials)")
            }
            (None, None) => unknown(),
        };
        let credentials = match info.credentials {
            "valid" => out.paint(Style::Green, "valid"),
            "valid-no-permission" => {
                out.paint(Style::Yellow, "valid (but this user may not list flows)")
            }
            "refused" => out.paint(Style::Red, "refused"),
            _ => out.paint(Style::Red, "not checked: no password given"),
        };
        out.record(&[
            ("Server", info.server.clone()),
            ("Version", version),
            ("Edition", info.edition.clone().unwrap_or_else(unknown)),
            ("Tenant", info.tenant.clone()),
            ("Username", info.username.clone()),
            ("Credentials", credentials),
            ("Checked on", info.credentials_checked_on.clone()),
            ("UI", info.ui_url.clone()),
        ])
    }
}
