//! Entry point: parse, run, map the outcome to an exit code, print an error once.

use std::io::Write;
use std::process::ExitCode;

use kestractl::{Cli, Error, Exit, Report};

fn main() -> ExitCode {
    // Before any thread exists: reading the local UTC offset later is refused on Unix.
    kestractl::init_local_offset();
    // Called back by the shell's completion (`COMPLETE=bash kestractl -- words`): answers and
    // exits; otherwise does nothing.
    clap_complete::CompleteEnv::with_factory(kestractl::command).complete();
    let parsed = kestractl::command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // A value our own parsers refused (cli::values) reads like every other error of ours.
            if let Some(ours) =
                std::error::Error::source(&e).and_then(|s| s.downcast_ref::<Error>())
            {
                return report(ours);
            }
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                0
            });
        }
    };
    // Colour in the log only where the output would have it: a terminal, no --no-color/NO_COLOR.
    let log_colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && !cli.global.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    init_logging(cli.global.verbose, log_colour);

    // A current-thread runtime starts in microseconds and is plenty for an I/O-bound CLI.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&Error::from(anyhow::anyhow!("cannot start: {e}"))),
    };
    match runtime.block_on(kestractl::run(cli)) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => report(&e),
    }
}

fn report(e: &Error) -> ExitCode {
    if e.kind() != kestractl::ErrorKind::BrokenPipe {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", Report(e));
    }
    ExitCode::from(e.exit().code())
}

/// `-v` logs requests, `-vv` everything of ours; `KESTRACTL_LOG` overrides with a filter. Logs go
/// to stderr and never contain secrets (we never log headers or bodies).
fn init_logging(verbose: u8, colour: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "kestractl=debug",
        _ => "kestractl=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KESTRACTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .try_init();
}
