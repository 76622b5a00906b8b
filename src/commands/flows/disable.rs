//! `kestractl flows disable`: Kestra's own switch, off: its triggers stop, new executions are refused (a new revision).

use super::set_disabled;
use crate::commands::args::FlowRef;
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};

/// Disable a flow: its triggers stop, new executions are refused (a new revision)
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = "Disable a flow: its triggers stop firing and Kestra refuses new executions \
    of it; running ones go on. Kestra writes `disabled: true` into the flow's source, a new \
    revision; a later `flows deploy` of a file without that line enables it again.",
    after_help = "Examples:\n  kestractl flows disable company.team hello\n  kestractl flows enable company.team/hello"
)]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let (namespace, id) = self.flow.resolve()?;
        set_disabled(ctx, &namespace, &id, true).await
    }
}
