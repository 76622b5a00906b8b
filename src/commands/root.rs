//! The root of the command line: every group and command by name, the global flags once, and
//! what clap's derive cannot say (global options described once, an "Inherited flags" line in
//! every other help, examples where a definition does not carry them). It lives with the
//! commands because it names each of them; `cli` keeps the global flags and the value types.

use clap::{Parser, Subcommand};

use crate::cli::*;

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
        tidy_subcommand(sub, "", &globals, &inherited);
    }
    root
}

/// Examples for the commands whose definition above does not carry them, by command path.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "start",
        "kestractl start\n  kestractl start --port 18080 --image kestra/kestra:v1.3.25\n  kestractl start --no-wait && kestractl status",
    ),
    (
        "status",
        "kestractl status\n  kestractl status -o json | jq .kestra.health\n  kestractl status --probe   # for launchers: exit 0 when UP",
    ),
    (
        "logs",
        "kestractl logs\n  kestractl logs kestra -f --since 10m\n  kestractl logs postgres --tail 50",
    ),
    (
        "stop",
        "kestractl stop\n  kestractl stop --remove\n  kestractl stop --remove --volumes --yes   # deletes the data",
    ),
    (
        "restart",
        "kestractl restart\n  kestractl restart --image kestra/kestra:v1.3.26",
    ),
    (
        "compose",
        "kestractl compose > docker-compose.yml\n  docker compose -f docker-compose.yml config",
    ),
    (
        "manifest",
        "kestractl manifest\n  kestractl manifest --merge config/services-manifest.json",
    ),
    (
        "backup",
        "kestractl backup\n  kestractl backup --file /srv/backups/kestra-nightly.tar.gz --consistent\n  kestractl backup verify /srv/backups/kestra-2026-12-01.tar.gz",
    ),
    (
        "backup verify",
        "kestractl backup verify kestra-2026-12-01.tar.gz\n  kestractl backup verify kestra-2026-12-01.tar.gz -o json",
    ),
    (
        "restore",
        "kestractl restore kestra-2026-12-01.tar.gz\n  kestractl restore kestra-2026-12-01.tar.gz --yes --keep-previous",
    ),
    (
        "upgrade",
        "kestractl upgrade --to v2.0.5\n  kestractl upgrade --image registry.example.com/kestra:v2.0.5 --backup-file pre-upgrade.tar.gz",
    ),
    (
        "doctor",
        "kestractl doctor\n  kestractl doctor -o json | jq '.[] | select(.status != \"ok\")'",
    ),
    (
        "completions",
        "kestractl completions bash > /etc/bash_completion.d/kestractl\n  kestractl completions zsh > \"${fpath[1]}/_kestractl\"",
    ),
    (
        "man",
        "kestractl man > /usr/local/share/man/man1/kestractl.1",
    ),
    ("version", "kestractl version\n  kestractl version -o json"),
    (
        "server info",
        "kestractl server info\n  kestractl server info --server https://kestra.example.com -o json",
    ),
    ("config use", "kestractl config use prod"),
    ("config list", "kestractl config list"),
    (
        "config show",
        "kestractl config show\n  kestractl config show --context prod -o json",
    ),
    ("config remove", "kestractl config remove staging"),
    (
        "auth login",
        "kestractl auth login\n  printf '%s\\n' \"$PASSWORD\" | kestractl auth login --password-stdin",
    ),
    (
        "auth logout",
        "kestractl auth logout\n  kestractl auth logout --context prod",
    ),
    (
        "auth status",
        "kestractl auth status\n  kestractl auth status -o json",
    ),
    ("auth show", "kestractl auth show --reveal"),
    (
        "auth import-env",
        "kestractl auth import-env\n  kestractl auth import-env --file ops/.env --rewrite-env",
    ),
    (
        "auth import-kestractl",
        "kestractl auth import-kestractl\n  kestractl auth import-kestractl --overwrite --delete-source",
    ),
    (
        "auth rotate",
        "kestractl auth rotate\n  kestractl auth rotate --db\n  kestractl auth rotate --dry-run",
    ),
];

fn examples_for(path: &str) -> Option<&'static str> {
    EXAMPLES.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
}

/// Gives `cmd` (and its subcommands) hidden copies of the global options before clap propagates
/// them (clap skips an argument a subcommand already has), the "Inherited flags" line, and no
/// `--version`.
fn tidy_subcommand(cmd: &mut clap::Command, parent: &str, globals: &[clap::Arg], inherited: &str) {
    let mut owned = std::mem::replace(cmd, clap::Command::new("placeholder"));
    let path = format!("{parent} {}", owned.get_name()).trim().to_string();
    for arg in globals {
        owned = owned.arg(arg.clone().hide(true));
    }
    let after = match (owned.get_after_help(), examples_for(&path)) {
        (Some(text), _) => format!("{text}\n\n{inherited}"),
        (None, Some(examples)) => format!("Examples:\n  {examples}\n\n{inherited}"),
        (None, None) => inherited.to_string(),
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
        tidy_subcommand(sub, &path, globals, inherited);
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

#[derive(Debug, Subcommand)]
pub enum Command {
    Start(super::stack::start::Args),

    Status(super::stack::status::Args),

    Logs(super::stack::logs::Args),

    Stop(super::stack::stop::Args),

    Restart(super::stack::restart::Args),

    Compose(super::stack::compose::Args),

    Metrics(super::metrics::Args),

    Manifest(super::manifest::Args),

    Backup(super::backup::Args),

    Restore(super::backup::restore::Args),

    Upgrade(super::backup::upgrade::Args),

    Doctor(super::doctor::Args),

    Completions(super::completions::Args),

    Man(super::man::Args),

    Version(super::version::Args),

    /// Flows: deploy a folder with a plan, validate, list, get, delete, export
    #[command(subcommand)]
    Flows(super::flows::Command),

    /// Executions: list (the default), get, run [--wait], watch, logs [-f], kill, restart (alias: ex)
    #[command(alias = "ex")]
    Executions(super::executions::Args),

    /// Namespace files (the scripts and queries flows read): push a folder, list, get, delete
    #[command(subcommand)]
    Nsfiles(NsfilesCommand),

    /// Triggers: list them with their next and last dates, enable, disable, unlock
    #[command(subcommand)]
    Triggers(TriggersCommand),

    /// The KV store: a namespace's keys, one value, set (typed, with a TTL), delete
    #[command(subcommand)]
    Kv(KvCommand),

    /// The Kestra server: version, edition, whether the credentials work
    #[command(subcommand)]
    Server(ServerCommand),

    /// Contexts (server URL, tenant, username) in the config file; never passwords
    #[command(subcommand)]
    Config(ConfigCommand),

    /// Credentials: the OS keyring (login, logout, status, show), imports, rotation
    #[command(subcommand)]
    Auth(AuthCommand),
}
