//! kestractl: run and use an on-premise Kestra.
//!
//! Data flows one way: arguments (`cli`) → resolved settings (`settings`) → a command
//! (`commands`) → clients (`kestra`) → rendered output (`output`). `main` only maps the result to
//! an exit code.

pub mod cli;
pub mod commands;
pub mod error;
pub mod flows;
pub mod fsutil;
pub mod kestra;
pub mod output;
pub mod secrets;
pub mod settings;
pub mod stack;

use error::{Error, Exit};

/// Runs a parsed command line; Ctrl-C ends it with [`Error::Interrupted`].
pub async fn run(cli: cli::Cli) -> Result<Exit, Error> {
    let ctx = commands::Ctx::new(cli.global);
    // `start --attach` turns Ctrl-C into a clean stop of the stack itself.
    let handles_interrupt = matches!(
        &cli.command,
        cli::Command::Start(a) | cli::Command::Restart(a) if a.attach
    );
    if handles_interrupt {
        return commands::run(&ctx, cli.command).await;
    }
    tokio::select! {
        result = commands::run(&ctx, cli.command) => result,
        _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
    }
}
