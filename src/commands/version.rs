//! `kestractl version`: this tool's version, and the server's when it answers in time
//! (`--version` stays offline).

use std::time::Duration;

use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Render};
use crate::settings::display_url;

/// Print kestractl's version (as `kestractl --version`)
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl version\n  kestractl version -o json")]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        ctx.out.emit(&VersionReport {
            version: env!("CARGO_PKG_VERSION"),
            server: server_version(ctx).await,
        })?;
        Ok(Exit::Ok)
    }
}

/// `kestractl version`: this tool's, and the server's when it answers in time (`--version`
/// stays offline).
#[derive(serde::Serialize)]
struct VersionReport {
    version: &'static str,
    server: Option<ServerVersion>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerVersion {
    url: String,
    /// `None` when the server did not answer (`reason` says why).
    version: Option<String>,
    edition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Render for VersionReport {
    fn human(&self, out: &Output) -> Result<()> {
        let mut text = format!("kestractl {}\n", self.version);
        if let Some(s) = &self.server {
            text.push_str(&match (&s.version, &s.reason) {
                (Some(v), _) => format!(
                    "Kestra {v}{} at {}\n",
                    s.edition
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default(),
                    s.url
                ),
                (None, Some(why)) => format!("Kestra at {}: {why}\n", s.url),
                (None, None) => format!("Kestra at {}: no version reported\n", s.url),
            });
        }
        out.print(&text)
    }
}

/// The server's version, asked once with a short deadline (a version command does not wait on
/// a server that is down).
async fn server_version(ctx: &Ctx) -> Option<ServerVersion> {
    let client = ctx.kestra_probe().await.ok()?;
    let url = display_url(client.server());
    let asked = tokio::time::timeout(Duration::from_secs(3), client.discover()).await;
    Some(match asked {
        Ok(Ok(d)) => ServerVersion {
            url,
            version: d.config.version.clone(),
            edition: d.config.edition.clone(),
            reason: None,
        },
        Ok(Err(e)) => ServerVersion {
            url,
            version: None,
            edition: None,
            reason: Some(Error::from(e).message().to_string()),
        },
        Err(_) => ServerVersion {
            url,
            version: None,
            edition: None,
            reason: Some("no answer within 3 s".into()),
        },
    })
}
