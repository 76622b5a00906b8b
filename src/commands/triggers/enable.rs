//! `kestractl triggers enable`: a disabled trigger fires again (Kestra's own switch).

use super::{TriggerRef, switch};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};

/// Let a disabled trigger fire again (a schedule's next date becomes now)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl triggers enable company.team nightly schedule\n  kestractl triggers enable company.team/nightly schedule"
)]
pub struct Args {
    #[command(flatten)]
    pub trigger: TriggerRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        switch(ctx, &self.trigger, false).await
    }
}
