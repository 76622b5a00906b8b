//! Commands orchestrate: each reads its arguments, calls the library operations below it
//! (`stack::start`, `flows`, `nsfiles::push`, `rotation`, `backup`, the `kestra` client) and
//! renders the result. A command is one file with its arguments (clap's derive: help, examples,
//! completers and value hints on the fields), how it meets Ctrl-C, and its [`Run`]; a group is a
//! folder whose `mod.rs` names each of its commands in one line ([`group!`]), and the root
//! (`root.rs`) names every group and top-level command the same way. A command file imports from
//! its own group and from here (the [`Ctx`], [`Run`], the shared `args`), never from another
//! group: what two groups share belongs in the library. Clients are built lazily through [`Ctx`],
//! so commands that do not need the network (help, `config`) never touch it.

pub mod args;
pub mod auth;
pub mod backup;
pub mod complete;
pub mod completions;
pub mod config;
pub mod doctor;
pub mod executions;
pub mod flows;
pub mod kv;
pub mod man;
pub mod manifest;
pub mod metrics;
pub mod nsfiles;
pub mod restore;
pub mod server;
pub mod stack;
pub mod triggers;
pub mod upgrade;
pub mod version;

mod ctx;
mod root;
pub use ctx::{Ctx, StackStart, StartOptions};
pub use root::Cli;

use crate::error::{Exit, Result};
use crate::signals::Interrupt;

/// A command: its arguments (clap's derive, with its help, examples and completers on the
/// fields, in the command's own file), how it meets Ctrl-C, and what it does with them.
pub trait Run {
    /// How the command meets Ctrl-C (applied in one place: `signals::run`).
    fn interrupt(&self) -> Interrupt {
        Interrupt::STOP
    }

    /// Runs it; `Ok` carries the exit code of a success (`flows diff` with changes pending: 8).
    async fn run(self, ctx: &Ctx) -> Result<Exit>;
}

/// A group of commands, one line each: `Deploy(deploy::Args)` names the command and the file that
/// holds its arguments and its [`Run`]. The group is a clap subcommand enum and runs, and meets
/// Ctrl-C, as the command chosen.
macro_rules! group {
    ($(#[$meta:meta])* pub enum $name:ident {
        $( $(#[$vmeta:meta])* $variant:ident($args:ty) ),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, clap::Subcommand)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($args), )*
        }

        impl $crate::commands::Run for $name {
            fn interrupt(&self) -> $crate::signals::Interrupt {
                match self {
                    $( Self::$variant(a) => $crate::commands::Run::interrupt(a), )*
                }
            }

            async fn run(
                self,
                ctx: &$crate::commands::Ctx,
            ) -> $crate::error::Result<$crate::error::Exit> {
                match self {
                    $( Self::$variant(a) => $crate::commands::Run::run(a, ctx).await, )*
                }
            }
        }
    };
}
pub(crate) use group;

/// The command line with its completers (the config's contexts, the server's names).
pub fn command() -> clap::Command {
    complete::attach(root::command())
}

/// A namespace given on the command line, checked with Kestra's rule before any request.
pub fn namespace_arg(namespace: &str, hint: &str) -> Result<()> {
    crate::flows::source::check_namespace(namespace)
        .map_err(|m| crate::error::Error::usage(m, hint))
}
