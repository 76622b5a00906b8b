//! kestractl: run and use an on-premise Kestra. ARCHITECTURE.md maps the modules and follows one
//! command from the command line to the wire.
//!
//! The public surface is what the binary (`main.rs`), the integration tests and the fuzz crate
//! need; every module is private to the crate, so unused code is a compiler warning.

mod backup;
mod cli;
mod commands;
mod credentials;
mod doctor;
mod error;
mod flows;
mod fsutil;
mod kestra;
mod nsfiles;
mod output;
mod rotation;
mod sanitize;
mod secret;
mod settings;
mod signals;
mod stack;
mod sync;

pub use commands::Cli;
pub use error::{Error, Exit, Kind as ErrorKind, Report};
pub use output::time::init_local_offset;

/// The command line as kestractl parses and completes it: `cli`'s definition with the
/// completers that read the config and the server (`commands::complete`).
pub fn command() -> clap::Command {
    commands::command()
}

/// The pure parsers that read outside input (flow files, settings, server responses), for the
/// fuzz targets (`fuzz/`) and the stable replay of their regressions. Not a library API.
pub mod fuzzing {
    pub use crate::flows::source::{
        check_id, check_namespace, parse_head, rewrite_namespace, scan_head, split_documents,
    };
    pub use crate::kestra::problem::parse as parse_problem;
    pub use crate::kestra::sse::{Event, Parser, TooLarge};
    pub use crate::settings::config_file::ConfigFile;
    pub use crate::settings::dotenv::DotEnv;
    pub use crate::settings::duration::{format_duration, parse_duration};
    pub use crate::settings::stack::{parse_cpus, parse_memory, parse_port};
    pub use crate::settings::validate::{server_url, tenant, username};
}

/// Runs a parsed command line; Ctrl-C ends it as the command declares (`signals::Interrupt`).
pub async fn run(cli: Cli) -> Result<Exit, Error> {
    let result = run_command(cli).await;
    // A command that ends in an error (Ctrl-C included) leaves no spinner frame on screen
    // above its message and the shell's prompt.
    if result.is_err() {
        output::progress::clear_all();
    }
    result
}

async fn run_command(cli: Cli) -> Result<Exit, Error> {
    use commands::Run;
    let ctx = commands::Ctx::new(cli.global);
    // How the command meets Ctrl-C is declared beside it (`Run::interrupt`), and applied here,
    // in one place.
    let policy = cli.command.interrupt();
    signals::run(policy, cli.command.run(&ctx), output::Output::warn_line).await
}
