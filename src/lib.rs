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
pub mod inert;
pub mod kestra;
pub mod output;
pub mod secrets;
pub mod settings;
pub mod stack;

use error::{Error, Exit};

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

/// Runs a parsed command line; Ctrl-C ends it with [`Error::Interrupted`].
///
/// Two commands decide for themselves: `start --attach` (Ctrl-C stops the stack cleanly) and
/// `auth rotate`, which must never stop between its steps (Kestra would hold one password and
/// the keyring another): it finishes or rolls back first, then reports the interrupt.
pub async fn run(cli: cli::Cli) -> Result<Exit, Error> {
    let ctx = commands::Ctx::new(cli.global);
    let attach = matches!(
        &cli.command,
        cli::Command::Start(a) | cli::Command::Restart(a) if a.attach
    );
    if attach {
        return commands::run(&ctx, cli.command).await;
    }
    if matches!(
        &cli.command,
        cli::Command::Auth(cli::AuthCommand::Rotate(_))
    ) {
        let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = interrupted.clone();
        let out = ctx.out.clone();
        let watcher = tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                out.warn(
                    "interrupt received: the rotation finishes (or rolls back) first, so that \
                     exactly one password works and the keyring holds it; it stops right after",
                );
            }
        });
        let result = commands::run(&ctx, cli.command).await;
        watcher.abort();
        if interrupted.load(std::sync::atomic::Ordering::SeqCst) && result.is_ok() {
            return Err(Error::Interrupted {
                hint: "the rotation had already completed; `kestractl auth status` shows the \
                       credential in use"
                    .into(),
            });
        }
        return result;
    }
    let hint = after_interrupt(&cli.command);
    tokio::select! {
        result = commands::run(&ctx, cli.command) => result,
        _ = tokio::signal::ctrl_c() => Err(Error::Interrupted { hint }),
    }
}
