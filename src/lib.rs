//! kestractl: run and use an on-premise Kestra. ARCHITECTURE.md maps the modules and follows one
//! command from the command line to the wire.
//!
//! The public surface is what the binary (`main.rs`), the integration tests and the fuzz crate
//! need; every module is private to the crate, so unused code is a compiler warning.

mod backup;
mod cli;
mod commands;
mod error;
mod flows;
mod fsutil;
mod inert;
mod kestra;
mod nsfiles;
mod output;
mod rotation;
mod secret;
mod secrets;
mod settings;
mod signals;
mod stack;

pub use cli::Cli;
pub use error::{Error, Exit, Kind as ErrorKind, Report};
pub use output::time::init_local_offset;

/// The command line as kestractl parses and completes it: `cli`'s definition with the
/// completers that read the config and the server (`commands::complete`).
pub fn command() -> clap::Command {
    commands::complete::attach(cli::command())
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

/// What a rerun does after Ctrl-C stopped a command, so the operator knows nothing is left in a
/// state the tool cannot repair.
fn after_interrupt(command: &cli::Command) -> String {
    use cli::{Command, FlowsCommand};
    match command {
        Command::Start(_) | Command::Restart(_) => "what was created so far is left as it is: \
            `kestractl start` again finishes the job, `kestractl status` shows the state"
            .into(),
        Command::Flows(FlowsCommand::Deploy(_)) => "flows written so far stay on the server: \
            `kestractl flows deploy` again converges (unchanged flows are not rewritten)"
            .into(),
        Command::Stop(_) => "`kestractl stop` again finishes stopping".into(),
        _ => String::new(),
    }
}

/// Commands that must never stop between their steps, with what to say when Ctrl-C arrives and
/// the hint once they have completed. `auth rotate`: Kestra would hold one password and the
/// keyring another. `auth import-env`: the keyring would hold the passwords while `.env`, not yet
/// rewritten, still does, against "any error changes nothing".
fn shielded(command: &cli::Command) -> Option<(&'static str, &'static str)> {
    match command {
        cli::Command::Auth(cli::AuthCommand::Rotate(_)) => Some((
            "interrupt received: the rotation finishes (or rolls back) first, so that exactly \
             one password works and the keyring holds it; it stops right after",
            "the rotation had already completed; `kestractl auth status` shows the credential \
             in use",
        )),
        cli::Command::Auth(cli::AuthCommand::ImportEnv(_)) => Some((
            "interrupt received: the import finishes (or, on an error, undoes its keyring \
             writes) first, so the keyring and .env never disagree; it stops right after",
            "the import had already completed; `kestractl auth status` shows where the password \
             comes from",
        )),
        _ => None,
    }
}

/// Runs a parsed command line; Ctrl-C ends it with [`Error::Interrupted`].
///
/// Some commands decide for themselves: `start --attach` (Ctrl-C stops the stack cleanly),
/// `backup`, `restore` and `upgrade` (they put things back first), and the [`shielded`] ones, which finish or roll back first, then report the interrupt.
pub async fn run(cli: cli::Cli) -> Result<Exit, Error> {
    let result = run_command(cli).await;
    // A command that ends in an error (Ctrl-C included) leaves no spinner frame on screen
    // above its message and the shell's prompt.
    if result.is_err() {
        output::progress::clear_all();
    }
    result
}

async fn run_command(cli: cli::Cli) -> Result<Exit, Error> {
    let ctx = commands::Ctx::new(cli.global);
    let attach = matches!(
        &cli.command,
        cli::Command::Start(a) | cli::Command::Restart(a) if a.attach
    );
    // `backup`, `restore` and `upgrade` catch Ctrl-C and SIGTERM themselves (`signals`): they put
    // things back before they stop.
    // `executions run --wait`, `replay --wait` and `watch` stop following on Ctrl-C and say the
    // execution goes on.
    let own_signals = matches!(
        &cli.command,
        cli::Command::Backup(_) | cli::Command::Restore(_) | cli::Command::Upgrade(_)
    ) || matches!(
        &cli.command,
        cli::Command::Executions(cli::ExecutionsArgs {
            command: Some(
                cli::ExecutionsCommand::Watch { .. }
                    | cli::ExecutionsCommand::Run(cli::RunArgs { wait: true, .. })
                    | cli::ExecutionsCommand::Replay { wait: true, .. }
            ),
            ..
        })
    );
    if attach || own_signals {
        return commands::run(&ctx, cli.command).await;
    }
    if let Some((warning, hint)) = shielded(&cli.command) {
        let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = interrupted.clone();
        let out = ctx.out.clone();
        // Registered here, before the command takes its first step (a Ctrl-C from now on is
        // caught, never the default "terminate").
        #[cfg(unix)]
        let mut interrupts =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| Error::from(anyhow::anyhow!("cannot watch for Ctrl-C: {e}")))?;
        let watcher = tokio::spawn(async move {
            loop {
                #[cfg(unix)]
                let caught = interrupts.recv().await.is_some();
                #[cfg(not(unix))]
                let caught = tokio::signal::ctrl_c().await.is_ok();
                if !caught {
                    break;
                }
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                out.warn(warning);
            }
        });
        let result = commands::run(&ctx, cli.command).await;
        watcher.abort();
        if interrupted.load(std::sync::atomic::Ordering::SeqCst) && result.is_ok() {
            return Err(Error::interrupted(hint));
        }
        return result;
    }
    let hint = after_interrupt(&cli.command);
    // Biased, the command first: one that listens for Ctrl-C itself (a prompt) sees the signal
    // in the same poll and says what it left; otherwise the command is dropped here.
    tokio::select! {
        biased;
        result = commands::run(&ctx, cli.command) => result,
        _ = tokio::signal::ctrl_c() => Err(Error::interrupted(hint)),
    }
}
