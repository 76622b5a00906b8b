//! `kestractl executions watch`: follow an execution live until it ends (exit 0 on success, 6
//! otherwise).

use clap_complete::engine::ArgValueCompleter;

use super::wait;
use crate::commands::args::WaitArgs;
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::signals::Interrupt;

/// Follow an execution live until it ends (exit 0 on success, 6 otherwise)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl executions watch 4fGpDPJmkkZ8lAfd1a2QqE\n  kestractl executions watch 4fGpDPJmkkZ8lAfd1a2QqE --logs --wait-timeout 10m"
)]
pub struct Args {
    /// The execution's id
    #[arg(add = ArgValueCompleter::new(complete::executions))]
    pub id: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

impl Run for Args {
    /// It stops following and says the execution goes on.
    fn interrupt(&self) -> Interrupt {
        Interrupt::Handled
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        wait::follow_existing(ctx, &self.id, &self.wait).await
    }
}
