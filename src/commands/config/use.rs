//! `kestractl config use`: make a context the current one.

use super::unknown_context;
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::settings::ConfigFile;
use clap_complete::engine::ArgValueCompleter;

/// Make a context the current one
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl config use prod")]
pub struct Args {
    /// Context name
    #[arg(add = ArgValueCompleter::new(complete::contexts))]
    pub name: String,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        use_context(ctx, &self.name)
    }
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
