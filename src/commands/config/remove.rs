//! `kestractl config remove`: a context removed (and no longer current if it was).

use super::unknown_context;
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::settings::ConfigFile;
use clap_complete::engine::ArgValueCompleter;

/// Remove a context (alias: rm)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "rm",
    after_help = "Examples:\n  kestractl config remove staging"
)]
pub struct Args {
    /// Context name
    #[arg(add = ArgValueCompleter::new(complete::contexts))]
    pub name: String,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        remove(ctx, &self.name)
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
