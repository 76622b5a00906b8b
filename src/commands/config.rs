//! `kestractl config add|use|list|show|remove`: contexts in the config file.
//!
//! These commands read the config file directly rather than through the resolved settings, so
//! they keep working when the current settings are broken (that is when they are needed).

use serde::Serialize;

use super::Ctx;
use crate::cli::{ConfigAddArgs, ConfigCommand};
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Render, Style};
use crate::secrets::source::{given_password, resolve_password};
use crate::settings::{ConfigFile, Context, Entry, config_file, validate};

pub async fn run(ctx: &Ctx, cmd: ConfigCommand) -> Result<Exit> {
    match cmd {
        ConfigCommand::Add(args) => add(ctx, args),
        ConfigCommand::Use { name } => use_context(ctx, &name),
        ConfigCommand::List => list(ctx),
        ConfigCommand::Show => show(ctx).await,
        ConfigCommand::Remove { name } => remove(ctx, &name),
    }
}

fn unknown_context(name: &str, config: &ConfigFile) -> Error {
    let known: Vec<_> = config.contexts.keys().cloned().collect();
    Error::usage(
        format!("there is no context named `{name}`"),
        if known.is_empty() {
            "there are no contexts yet; create one with `kestractl config add NAME --server URL`"
                .to_string()
        } else {
            format!("known contexts: {}", known.join(", "))
        },
    )
}

fn add(ctx: &Ctx, args: ConfigAddArgs) -> Result<Exit> {
    let g = &ctx.global;
    config_file::validate_context_name(&args.name)
        .map_err(|m| Error::usage(m, "pick another name"))?;
    let Some(server) = g.server.as_deref() else {
        return Err(Error::usage(
            "`config add` needs the server URL of the context",
            format!(
                "kestractl config add {} --server https://kestra.example.com [--username you@example.com]",
                args.name
            ),
        ));
    };
    let server = validate::server_url(server).map_err(|m| Error::usage(m, "fix --server"))?;
    if let Some(t) = &g.tenant {
        validate::tenant(t).map_err(|m| Error::usage(m, "fix --tenant"))?;
    }
    if let Some(u) = &g.username {
        validate::username(u).map_err(|m| Error::usage(m, "fix --username"))?;
    }
    if let Some(image) = &args.image {
        crate::settings::stack::validate_image(image)
            .map_err(|m| Error::usage(m, "fix --image (e.g. kestra/kestra:2.0.5)"))?;
    }
    let path = ctx.config_path()?;
    let mut config = ConfigFile::load(&path)?;
    if config.contexts.contains_key(&args.name) && !args.overwrite {
        return Err(Error::usage(
            format!("a context named `{}` already exists", args.name),
            "add --overwrite to replace it, or pick another name",
        ));
    }
    config.contexts.insert(
        args.name.clone(),
        Context {
            server: Some(crate::settings::display_url(&server)),
            tenant: g.tenant.clone(),
            username: g.username.clone(),
            image: args.image.clone(),
        },
    );
    let becomes_current = args.make_current || config.current_context.is_none();
    if becomes_current {
        config.current_context = Some(args.name.clone());
    }
    config.save(&path)?;
    let current = if becomes_current {
        " (now the current context)"
    } else {
        ""
    };
    ctx.out.note(&format!(
        "Added context `{}` for {}{current} to {}",
        args.name,
        crate::settings::display_url(&server),
        path.display()
    ));
    Ok(Exit::Ok)
}

fn use_context(ctx: &Ctx, name: &str) -> Result<Exit> {
    let path = ctx.config_path()?;
    let mut config = ConfigFile::load(&path)?;
    if !config.contexts.contains_key(name) {
        return Err(unknown_context(name, &config));
    }
    config.current_context = Some(name.to_string());
    config.save(&path)?;
    ctx.out.note(&format!("Current context is now `{name}`"));
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct ContextRow<'a> {
    name: &'a str,
    current: bool,
    server: Option<&'a str>,
    tenant: Option<&'a str>,
    username: Option<&'a str>,
}

fn list(ctx: &Ctx) -> Result<Exit> {
    let path = ctx.config_path()?;
    let config = ConfigFile::load(&path)?;
    let rows: Vec<ContextRow<'_>> = config
        .contexts
        .iter()
        .map(|(name, c)| ContextRow {
            name,
            current: config.current_context.as_deref() == Some(name.as_str()),
            server: c.server.as_deref(),
            tenant: c.tenant.as_deref(),
            username: c.username.as_deref(),
        })
        .collect();
    if rows.is_empty() && ctx.out.format == crate::output::Format::Table {
        ctx.out.note(&format!(
            "No contexts in {}. Add one with `kestractl config add NAME --server URL`.",
            path.display()
        ));
        return Ok(Exit::Ok);
    }
    ctx.out.emit(&ContextList(rows))?;
    Ok(Exit::Ok)
}

/// The contexts, serialised as the list itself.
#[derive(Serialize)]
#[serde(transparent)]
struct ContextList<'a>(Vec<ContextRow<'a>>);

impl Render for ContextList<'_> {
    fn human(&self, out: &Output) -> Result<()> {
        let table: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|r| {
                vec![
                    if r.current { "*".into() } else { String::new() },
                    r.name.to_string(),
                    r.server.unwrap_or("").to_string(),
                    r.tenant.unwrap_or("").to_string(),
                    r.username.unwrap_or("").to_string(),
                ]
            })
            .collect();
        out.table(&["CURRENT", "NAME", "SERVER", "TENANT", "USERNAME"], &table)?;
        Ok(())
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

fn remove(ctx: &Ctx, name: &str) -> Result<Exit> {
    let path = ctx.config_path()?;
    let mut config = ConfigFile::load(&path)?;
    if config.contexts.remove(name).is_none() {
        return Err(unknown_context(name, &config));
    }
    let was_current = config.current_context.as_deref() == Some(name);
    if was_current {
        config.current_context = None;
    }
    config.save(&path)?;
    ctx.out.note(&format!(
        "Removed context `{name}`{}",
        if was_current {
            "; there is no current context now (`kestractl config use NAME`)"
        } else {
            ""
        }
    ));
    Ok(Exit::Ok)
}
