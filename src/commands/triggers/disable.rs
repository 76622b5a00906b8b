//! `kestractl triggers disable`: a trigger stops firing; its flow is not touched.

use super::{TriggerRef, switch};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};

/// Stop a trigger from firing, without touching its flow
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl triggers disable company.team nightly schedule\n  kestractl triggers disable company.team/nightly schedule -o json"
)]
pub struct Args {
    #[command(flatten)]
    pub trigger: TriggerRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        switch(ctx, &self.trigger, true).await
    }
}
