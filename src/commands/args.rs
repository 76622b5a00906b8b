//! Argument groups several commands share, flattened into their `Args` with the help and the
//! completers on the fields: a flow named on the command line (`flows get`, `delete`, `enable`,
//! `disable`, `revisions`, `rollback`; `executions latest`, `run`), and how to wait for an
//! execution's end (`executions run --wait`, `watch`), and the images a command that recreates the
//! stack runs (`restore`, `upgrade`). Their values are parsed by `cli::values`.

use std::time::Duration;

use clap_complete::engine::ArgValueCompleter;

use crate::cli::{PullPolicy, ReadinessWait, values};
use crate::commands::{StartOptions, complete};
use crate::error::Result;
use crate::settings::stack::StackFlags;

/// A flow named as `NAMESPACE ID` or `NAMESPACE/ID` (the way kestractl prints it).
#[derive(Debug, Clone, clap::Args)]
pub struct FlowRef {
    /// The flow's namespace, or NAMESPACE/ID in one word
    // Explicit indices: the positionals keep their places whatever is done to the command later
    // (clap's `mut_arg` re-adds the argument it changes, last).
    #[arg(value_name = "NAMESPACE", index = 1, add = ArgValueCompleter::new(complete::flows))]
    pub namespace: String,
    /// The flow's id (omit it with NAMESPACE/ID)
    #[arg(value_name = "ID", index = 2)]
    pub id: Option<String>,
}

impl FlowRef {
    /// (namespace, id), from two words or one `NAMESPACE/ID`.
    pub fn resolve(&self) -> Result<(String, String)> {
        values::flow_ref(&self.namespace, self.id.as_deref())
    }
}

/// How `executions run --wait` and `watch` wait for the end (`replay --wait` takes the defaults).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WaitArgs {
    /// Give up waiting after this long (the execution goes on); waits indefinitely by default
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        value_parser = values::wait_timeout
    )]
    pub wait_timeout: Option<Duration>,

    /// Treat WARNING as unsuccessful (exit 6) instead of success with a note
    #[arg(long)]
    pub fail_on_warning: bool,

    /// Stream the execution's log lines (on stderr) while waiting, like `docker compose up`
    #[arg(long)]
    pub logs: bool,
}

/// `start`'s image options, for the commands that (re)create the stack: `restore`, `upgrade`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImageArgs {
    /// Kestra image [default: restore: the one the backup recorded; upgrade: see --to]
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// Postgres image [env: KESTRA_POSTGRES_IMAGE] [default: postgres:15]
    #[arg(long, value_name = "IMAGE")]
    pub postgres_image: Option<String>,

    /// When to pull the images
    #[arg(long, value_enum, default_value = "missing", value_name = "WHEN")]
    pub pull: PullPolicy,
}

impl ImageArgs {
    /// How a restore or an upgrade starts the stack: their image options, the ports and limits from
    /// the settings, waited for.
    pub fn start_options(
        &self,
        image: Option<String>,
        readiness: &ReadinessWait,
        postgres_only: bool,
    ) -> StartOptions {
        StartOptions {
            flags: StackFlags {
                image,
                postgres_image: self.postgres_image.clone(),
                ..StackFlags::default()
            },
            pull: self.pull,
            wait_timeout: readiness.wait_timeout,
            no_wait: false,
            postgres_only,
        }
    }
}
