//! `kestractl config show`: the effective settings, each with where it comes from, and where a
//! password would come from (never the password).

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::credentials::source::{given_password, resolve_password};
use crate::error::{Exit, Result};
use crate::output::{Output, Render, Style};
use crate::settings::Entry;

/// Show the effective settings and where each value comes from
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl config show\n  kestractl config show --context prod -o json"
)]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        show(ctx).await
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShowReport {
    settings: Vec<Entry>,
    config_file: String,
    dotenv: Option<String>,
    /// Where a password would come from; never the password.
    password_source: Option<String>,
}

async fn show(ctx: &Ctx) -> Result<Exit> {
    let settings = ctx.settings().await?;
    // Where a password would come from, without reading stdin.
    let password_source = if ctx.global.password_stdin {
        Some("--password-stdin".to_string())
    } else {
        let env = |k: &str| ctx.env(k);
        let given = given_password(false, &mut std::io::empty(), &env)?;
        let keyring = match given {
            Some(_) => None,
            None => Some(ctx.keyring().await?),
        };
        let entry = ctx.basic_auth_entry().await?;
        resolve_password(given, keyring, &entry, &env, &settings.dotenv)
            .await
            .0
            .map(|p| p.source.to_string())
    };
    let report = ShowReport {
        settings: settings.entries(),
        config_file: settings.config_path.display().to_string(),
        dotenv: settings
            .dotenv
            .path
            .as_ref()
            .map(|p| p.display().to_string()),
        password_source,
    };
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

impl Render for ShowReport {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
        let mut rows: Vec<Vec<String>> = report
            .settings
            .iter()
            .map(|e| vec![e.key.to_string(), e.value.clone(), e.source.to_string()])
            .collect();
        rows.push(vec![
            "password".into(),
            match &report.password_source {
                Some(_) => "(set)".into(),
                None => "(none)".into(),
            },
            report
                .password_source
                .clone()
                .unwrap_or_else(|| "--password-stdin or KESTRACTL_PASSWORD".into()),
        ]);
        out.table(&["SETTING", "VALUE", "SOURCE"], &rows)?;
        if out.format == crate::output::Format::Table {
            let dot = report.dotenv.as_deref().unwrap_or("none in this directory");
            out.note(&out.paint(
                Style::Dim,
                &format!("config file: {}  ·  .env: {dot}", report.config_file),
            ));
        }
        Ok(())
    }
}
