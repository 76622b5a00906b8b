//! `kestractl auth status`: the keyring in use, whether a password is stored and works, and
//! where a command would take it from.

use serde::Serialize;

use super::{db_entry_of, server_of};
use crate::commands::{Ctx, Run};
use crate::credentials::store::{self, Availability, Keyring};
use crate::error::{Error, Exit, Result};
use crate::kestra::CredentialCheck;
use crate::output::{Output, Render};
use crate::settings::stack::StackFlags;

/// Keyring in use, whether a password is stored and works, and where a command would get it
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl auth status\n  kestractl auth status -o json")]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        status(ctx).await
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyringReport {
    /// `ready`, `disabled` or `unavailable`.
    state: &'static str,
    backend: Option<&'static str>,
    detail: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusReport {
    context: String,
    server: String,
    username: String,
    entry: String,
    keyring: KeyringReport,
    /// Whether the keyring holds a password for the entry (`null`: no usable keyring).
    stored: Option<bool>,
    /// Whether a rotation left a pending entry.
    pending: Option<bool>,
    /// The managed stack's Postgres password entry (`null`: the stack settings do not resolve).
    database: Option<EntryReport>,
    /// Where a command would take the password from: `stdin`, `environment`, `keyring`,
    /// `dotenv`, or `null` for none.
    source: Option<&'static str>,
    source_detail: Option<String>,
    /// `valid`, `valid-no-permission`, `refused`, `missing` or `unverified`.
    credentials: &'static str,
    /// Why the credentials could not be verified.
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryReport {
    entry: String,
    /// Whether the keyring holds it (`null`: no usable keyring).
    stored: Option<bool>,
    /// Whether a rotation left a pending entry next to it.
    pending: Option<bool>,
}

/// Whether the keyring holds an entry and a rotation's pending entry next to it.
async fn stored_and_pending(
    keyring: Option<&Keyring>,
    entry: &str,
) -> Result<(Option<bool>, Option<bool>)> {
    Ok(match keyring {
        Some(k) => (
            Some(k.get(entry).await?.is_some()),
            Some(k.get(&store::pending_entry(entry)).await?.is_some()),
        ),
        None => (None, None),
    })
}

async fn status(ctx: &Ctx) -> Result<Exit> {
    let s = ctx.settings().await?;
    let entry = ctx.basic_auth_entry().await?;
    let availability = ctx.keyring().await?;
    let (stored, pending) = stored_and_pending(availability.keyring(), &entry).await?;
    // Only a stack setting that does not resolve leaves this out: `start` and `status` say why.
    let database = match ctx.stack_settings(&StackFlags::default()).await {
        Ok(stack) => {
            let entry = db_entry_of(&stack);
            let (stored, pending) = stored_and_pending(availability.keyring(), &entry).await?;
            Some(EntryReport {
                entry,
                stored,
                pending,
            })
        }
        Err(_) => None,
    };
    let password = ctx.password().await?;
    let (credentials, error) = if password.is_none() {
        ("missing", None)
    } else {
        match ctx.kestra_probe().await?.check_credentials().await {
            Ok(CredentialCheck::Valid) => ("valid", None),
            Ok(CredentialCheck::ValidForbidden) => ("valid-no-permission", None),
            Ok(CredentialCheck::Refused) => ("refused", None),
            Ok(CredentialCheck::Missing) => ("missing", None),
            Err(e) => ("unverified", Some(Error::from(e).to_string())),
        }
    };
    let report = StatusReport {
        context: s.context.value.clone(),
        server: server_of(s),
        username: s.username.value.clone(),
        entry: entry.clone(),
        keyring: KeyringReport {
            state: match availability {
                Availability::Ready(_) => "ready",
                Availability::Disabled => "disabled",
                Availability::Unavailable(_) => "unavailable",
            },
            backend: availability.keyring().map(|k| k.backend().id()),
            detail: availability.summary(),
        },
        stored,
        pending,
        database,
        source: password.map(|p| p.source.kind()),
        source_detail: password.map(|p| p.source.to_string()),
        credentials,
        error,
    };
    let exit = match credentials {
        "valid" | "valid-no-permission" => Exit::Ok,
        "unverified" => Exit::Error,
        _ => Exit::Auth,
    };
    ctx.out.emit(&report)?;
    Ok(exit)
}

impl Render for StatusReport {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
        let yes_no = |v: Option<bool>| match v {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let mut fields = vec![
            ("Context", report.context.clone()),
            ("Server", report.server.clone()),
            ("Username", report.username.clone()),
            ("Keyring", report.keyring.detail.clone()),
            ("Entry", report.entry.clone()),
            ("Stored", yes_no(report.stored).to_string()),
        ];
        let interrupted = "yes (an interrupted rotation; the next `auth rotate` clears it)";
        if report.pending == Some(true) {
            fields.push(("Pending", interrupted.into()));
        }
        if let Some(db) = &report.database {
            fields.push((
                "Postgres entry",
                format!("{} (stored: {})", db.entry, yes_no(db.stored)),
            ));
            if db.pending == Some(true) {
                fields.push((
                    "Postgres pending",
                    interrupted.replace("auth rotate", "auth rotate --db"),
                ));
            }
        }
        fields.push((
            "Password from",
            report
                .source_detail
                .clone()
                .unwrap_or_else(|| "nowhere (no password found)".into()),
        ));
        fields.push((
            "Credentials",
            match &report.error {
                Some(e) => format!("unverified: {e}"),
                None => report.credentials.to_string(),
            },
        ));
        out.record(&fields)?;
        Ok(())
    }
}
