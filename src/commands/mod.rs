//! Commands orchestrate: each reads its arguments, calls the library operations below it
//! (`stack::up`/`down`, `flows`, `rotation`, the `kestra` client) and renders the result. A group
//! that grows gets one file per subcommand (`auth/`, `executions/`, `stack/`). Clients are built
//! lazily through [`Ctx`], so commands that do not need the network (help, `config`) never touch
//! it.

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
pub mod server;
pub mod stack;
pub mod triggers;
pub mod version;

mod root;
pub use root::{Cli, Command};

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

use crate::error::{Exit, Result};
use crate::signals::Interrupt;

mod ctx;
pub use ctx::{Ctx, StackStart, StartOptions};

/// A namespace given on the command line, checked with Kestra's rule before any request.
pub fn namespace_arg(namespace: &str, hint: &str) -> Result<()> {
    crate::flows::source::check_namespace(namespace)
        .map_err(|m| crate::error::Error::usage(m, hint))
}

/// How each command meets Ctrl-C (`signals::run` applies it).
pub fn interrupt(command: &Command) -> Interrupt {
    use crate::cli::AuthCommand;
    match command {
        Command::Start(cmd) => cmd.interrupt(),
        Command::Restart(cmd) => cmd.interrupt(),
        Command::Stop(_) => Interrupt::Stop {
            after: "`kestractl stop` again finishes stopping",
        },
        Command::Flows(cmd) => cmd.interrupt(),
        Command::Backup(cmd) => cmd.interrupt(),
        Command::Restore(cmd) => cmd.interrupt(),
        Command::Upgrade(cmd) => cmd.interrupt(),
        Command::Executions(cmd) => cmd.interrupt(),
        // Kestra would hold one password and the keyring another.
        Command::Auth(AuthCommand::Rotate(_)) => Interrupt::FinishFirst {
            warning: "interrupt received: the rotation finishes (or rolls back) first, so that \
                      exactly one password works and the keyring holds it; it stops right after",
            done: "the rotation had already completed; `kestractl auth status` shows the \
                   credential in use",
        },
        // The keyring would hold the passwords while `.env`, not yet rewritten, still does.
        Command::Auth(AuthCommand::ImportEnv(_)) => Interrupt::FinishFirst {
            warning: "interrupt received: the import finishes (or, on an error, undoes its \
                      keyring writes) first, so the keyring and .env never disagree; it stops \
                      right after",
            done: "the import had already completed; `kestractl auth status` shows where the \
                   password comes from",
        },
        _ => Interrupt::STOP,
    }
}

/// Runs one command to completion.
pub async fn run(ctx: &Ctx, command: Command) -> Result<Exit> {
    match command {
        Command::Start(cmd) => cmd.run(ctx).await,
        Command::Status(cmd) => cmd.run(ctx).await,
        Command::Logs(cmd) => cmd.run(ctx).await,
        Command::Stop(cmd) => cmd.run(ctx).await,
        Command::Restart(cmd) => cmd.run(ctx).await,
        Command::Compose(cmd) => cmd.run(ctx).await,
        Command::Manifest(cmd) => cmd.run(ctx).await,
        Command::Metrics(cmd) => cmd.run(ctx).await,
        Command::Backup(cmd) => cmd.run(ctx).await,
        Command::Restore(cmd) => cmd.run(ctx).await,
        Command::Upgrade(cmd) => cmd.run(ctx).await,
        Command::Doctor(cmd) => cmd.run(ctx).await,
        Command::Completions(cmd) => cmd.run(ctx).await,
        Command::Man(cmd) => cmd.run(ctx).await,
        Command::Version(cmd) => cmd.run(ctx).await,
        Command::Flows(cmd) => cmd.run(ctx).await,
        Command::Executions(cmd) => cmd.run(ctx).await,
        Command::Kv(cmd) => kv::run(ctx, cmd).await,
        Command::Nsfiles(cmd) => nsfiles::run(ctx, cmd).await,
        Command::Triggers(cmd) => triggers::run(ctx, cmd).await,
        Command::Server(cmd) => server::run(ctx, cmd).await,
        Command::Config(cmd) => config::run(ctx, cmd).await,
        Command::Auth(cmd) => auth::run(ctx, cmd).await,
    }
}
