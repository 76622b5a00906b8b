//! kestractl: run and use an on-premise Kestra.
//!
//! Data flows one way: arguments (`cli`) → resolved settings (`settings`) → a command
//! (`commands`) → clients (`kestra`) → rendered output (`output`). `main` only maps the result to
//! an exit code.

pub mod cli;
pub mod commands;
pub mod error;
pub mod kestra;
pub mod output;
pub mod secrets;
pub mod settings;

use error::{Error, Exit};

/// Runs a parsed command line; Ctrl-C ends it with [`Error::Interrupted`].
pub async fn run(cli: cli::Cli) -> Result<Exit, Error> {
    let ctx = commands::Ctx::new(cli.global);
    tokio::select! {
        result = commands::run(&ctx, cli.command) => result,
        _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
    }
}
