//! `kestractl config current`: the context commands use now, and what chose it.

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::{Format, Output, Render, Style};
use crate::settings::Source;

/// Print the context commands use now, and what chose it (--context, KESTRACTL_CONTEXT, .env, the config file)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl config current\n  KESTRACTL_CONTEXT=prod kestractl config current -o json"
)]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let context = &ctx.settings().await?.context;
        ctx.out.emit(&Current {
            context: context.value.clone(),
            source: context.source.clone(),
        })?;
        Ok(Exit::Ok)
    }
}

#[derive(Serialize)]
struct Current {
    context: String,
    source: Source,
}

/// The name alone on stdout (for `$(kestractl config current)`); on a terminal, what chose it on
/// stderr.
impl Render for Current {
    fn human(&self, out: &Output) -> Result<()> {
        out.print(&format!("{}\n", self.context))?;
        if out.format == Format::Table {
            out.note(&out.paint(Style::Dim, &format!("from {}", self.source)));
        }
        Ok(())
    }
}
