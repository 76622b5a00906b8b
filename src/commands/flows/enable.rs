//! `kestractl flows enable`: Kestra's own switch, on (a new revision with `disabled: false`).

use super::set_disabled;
use crate::commands::args::FlowRef;
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};

/// Enable a disabled flow (Kestra writes `disabled: false` into it: a new revision)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl flows enable company.team hello\n  kestractl flows enable company.team/hello -o json"
)]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let (namespace, id) = self.flow.resolve()?;
        set_disabled(ctx, &namespace, &id, false).await
    }
}
