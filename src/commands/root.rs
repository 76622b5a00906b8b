//! The root of the command line: every group and command by name, the global flags once, and
//! what clap's derive cannot say (global options described once, an "Inherited flags" line in
//! every other help, examples where a definition does not carry them). It lives with the
//! commands because it names each of them; `cli` keeps the global flags and the value types.

use clap::Parser;

use super::{
    auth, backup, completions, config, doctor, executions, flows, group, kv, man, manifest,
    metrics, nsfiles, restore, server, stack, triggers, upgrade, version,
};
use crate::cli::GlobalArgs;

/// The command line as kestractl parses it: clap's derive output, then what derive cannot say.
/// The global options are described once, in `kestractl --help`; every other command's help
/// lists them in one short "Inherited flags" line instead of twenty lines of repeats, and only
/// `kestractl` itself has `--version` (`kestractl version` works too).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut root = Cli::command();
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let inherited = format!(
        "Inherited flags: {} (see `kestractl --help`)",
        globals
            .iter()
            .map(|a| match (a.get_short(), a.get_long()) {
                (Some(s), Some(l)) => format!("-{s}/--{l}"),
                (None, Some(l)) => format!("--{l}"),
                (Some(s), None) => format!("-{s}"),
                (None, None) => a.get_id().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    for sub in root.get_subcommands_mut() {
        tidy_subcommand(sub, &globals, &inherited);
    }
    root
}

/// Gives `cmd` (and its subcommands) hidden copies of the global options before clap propagates
/// them (clap skips an argument a subcommand already has), the "Inherited flags" line, and no
/// `--version`.
fn tidy_subcommand(cmd: &mut clap::Command, globals: &[clap::Arg], inherited: &str) {
    let mut owned = std::mem::replace(cmd, clap::Command::new("placeholder"));
    for arg in globals {
        owned = owned.arg(arg.clone().hide(true));
    }
    let after = match owned.get_after_help() {
        Some(text) => format!("{text}\n\n{inherited}"),
        None => inherited.to_string(),
    };
    let long_after = owned
        .get_after_long_help()
        .map(|text| format!("{text}\n\n{inherited}"));
    owned = owned.after_help(after).disable_version_flag(true);
    if let Some(long) = long_after {
        owned = owned.after_long_help(long);
    }
    *cmd = owned;
    for sub in cmd.get_subcommands_mut() {
        tidy_subcommand(sub, globals, inherited);
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "kestractl",
    version,
    about = "Run and use an on-premise Kestra: containers, flows, executions, credentials",
    long_about = "Run and use an on-premise Kestra.\n\n\
        kestractl talks to Kestra's REST API (versions 1.3 and 2.0) with Basic Auth. Settings come \
        from flags, then KESTRACTL_* environment variables (and the seed's KESTRA_* ones), then a \
        .env in the working directory, then the current context of the config file \
        (`kestractl config`), then defaults. Passwords are never taken as arguments: use \
        --password-stdin, or KESTRACTL_PASSWORD in CI.",
    after_help = "Examples:\n  \
        kestractl start                                  # Postgres and Kestra, waited until ready\n  \
        kestractl flows deploy flows/                    # validate, plan, apply a folder of flows\n  \
        kestractl executions run company.team/hello --wait\n  \
        kestractl executions --state FAILED --since 24h\n  \
        kestractl status\n  \
        kestractl help flows deploy                      # any command's own help and examples\n\n\
        Exit codes: 0 ok, 1 error, 2 usage, 3 not ready / not found, 4 authentication, \
        5 invalid input, 6 execution unsuccessful, 7 port or container name taken, 8 changes pending \
        (flows diff), 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

group! {
    /// Every command kestractl has, one line each: the name, and the file with its arguments and
    /// its `Run` (a group's `mod.rs` names its own commands the same way).
    pub enum Command {
        Start(stack::start::Args),
        Status(stack::status::Args),
        Logs(stack::logs::Args),
        Stop(stack::stop::Args),
        Restart(stack::restart::Args),
        Compose(stack::compose::Args),
        Metrics(metrics::Args),
        Manifest(manifest::Args),
        Backup(backup::Args),
        Restore(restore::Args),
        Upgrade(upgrade::Args),
        Doctor(doctor::Args),
        Completions(completions::Args),
        Man(man::Args),
        Version(version::Args),

        /// Flows: deploy a folder with a plan, validate, list, get, delete, export
        #[command(subcommand)]
        Flows(flows::Command),

        /// Executions: list (the default), get, run [--wait], watch, logs [-f], kill, restart (alias: ex)
        #[command(alias = "ex")]
        Executions(executions::Args),

        /// Namespace files (the scripts and queries flows read): push a folder, list, get, delete
        #[command(subcommand)]
        Nsfiles(nsfiles::Command),

        /// Triggers: list them with their next and last dates, enable, disable, unlock
        #[command(subcommand)]
        Triggers(triggers::Command),

        /// The KV store: a namespace's keys, one value, set (typed, with a TTL), delete
        #[command(subcommand)]
        Kv(kv::Command),

        /// The Kestra server: version, edition, whether the credentials work
        #[command(subcommand)]
        Server(server::Command),

        /// Contexts (server URL, tenant, username) in the config file; never passwords
        #[command(subcommand)]
        Config(config::Command),

        /// Credentials: the OS keyring (login, logout, status, show), imports, rotation
        #[command(subcommand)]
        Auth(auth::Command),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;
    use crate::commands::Run;
    use crate::signals::Interrupt;

    fn policy(words: &str) -> Interrupt {
        Cli::try_parse_from(words.split_whitespace())
            .unwrap()
            .command
            .interrupt()
    }

    #[test]
    fn each_top_level_command_declares_how_it_meets_ctrl_c() {
        // They put things back (or stop the stack, attached) before they stop.
        for words in [
            "kestractl start --attach",
            "kestractl restart --attach",
            "kestractl backup",
            "kestractl backup verify a.tar.gz",
            "kestractl restore a.tar.gz",
            "kestractl upgrade --to 2.0.5",
        ] {
            assert_eq!(policy(words), Interrupt::Handled, "{words}");
        }
        // They stop at once and say what a rerun does.
        for (words, rerun) in [
            ("kestractl start", "`kestractl start` again"),
            ("kestractl restart", "`kestractl start` again"),
            ("kestractl stop", "`kestractl stop` again"),
        ] {
            match policy(words) {
                Interrupt::Stop { after } => assert!(after.contains(rerun), "{words}: {after}"),
                other => panic!("{words}: {other:?}"),
            }
        }
        for words in ["kestractl status", "kestractl version", "kestractl doctor"] {
            assert_eq!(policy(words), Interrupt::STOP, "{words}");
        }
    }
}
