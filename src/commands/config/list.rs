//! `kestractl config list`: the contexts, the current one marked.

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::{Output, Render};
use crate::settings::ConfigFile;

/// List contexts (the current one is marked) (alias: ls)
#[derive(Debug, Clone, clap::Args)]
#[command(alias = "ls", after_help = "Examples:\n  kestractl config list")]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        list(ctx)
    }
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
