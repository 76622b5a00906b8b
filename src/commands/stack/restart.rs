//! `kestractl restart`: stop (keeping everything), then start again with `start`'s options.

use super::start;
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::signals::Interrupt;

/// Stop, then start again (same options as start)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl restart\n  kestractl restart --image kestra/kestra:v1.3.26"
)]
pub struct Args {
    #[command(flatten)]
    pub options: start::Options,
}

impl Run for Args {
    fn interrupt(&self) -> Interrupt {
        self.options.interrupt()
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        super::stop::keeping_everything(ctx).await?;
        self.options.start(ctx).await
    }
}
