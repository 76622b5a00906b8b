//! The command line (clap derive types only; no I/O here). Only commands that work appear.

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::output::Format;

const GLOBAL: &str = "Global options";

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
    after_help = "Exit codes: 0 ok, 1 error, 2 usage, 3 not ready / not found, 4 authentication, \
        5 invalid input, 6 execution unsuccessful, 130 interrupted.",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Use this context of the config file instead of the current one [env: KESTRACTL_CONTEXT]
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub context: Option<String>,

    /// Kestra server URL, e.g. http://localhost:8080 [env: KESTRACTL_SERVER]
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    pub server: Option<String>,

    /// Tenant of the API paths; Kestra OSS always uses `main` [env: KESTRACTL_TENANT]
    #[arg(long, global = true, value_name = "TENANT", help_heading = GLOBAL)]
    pub tenant: Option<String>,

    /// Basic Auth username (an e-mail address) [env: KESTRACTL_USERNAME, KESTRA_BASICAUTH_USERNAME]
    #[arg(long, global = true, value_name = "EMAIL", help_heading = GLOBAL)]
    pub username: Option<String>,

    /// Read the password from the first line of stdin (never pass it as an argument)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub password_stdin: bool,

    /// Output format [default: table on a terminal, plain tab-separated lines otherwise]
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT", help_heading = GLOBAL)]
    pub output: Option<Format>,

    /// No colours (also when NO_COLOR is set)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_color: bool,

    /// Log what kestractl does to stderr (-v requests, -vv more); never prints secrets
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Deadline for each API call, retries included: 30s, 2m, 500ms… [env: KESTRACTL_TIMEOUT] [default: 30s]
    #[arg(long, global = true, value_name = "DURATION", help_heading = GLOBAL)]
    pub timeout: Option<String>,

    /// Allow sending the password over plain http to a host other than this machine [env: KESTRACTL_ALLOW_INSECURE_HTTP]
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The Kestra server: version, edition, whether the credentials work
    #[command(subcommand)]
    Server(ServerCommand),

    /// Contexts (server URL, tenant, username) in the config file; never passwords
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Show the server's version and edition, and prove the credentials on a protected route
    #[command(
        long_about = "Show the server's version and edition, and prove the credentials.\n\n\
        The credentials are checked on a route that always requires them (Kestra 1.x serves its \
        configuration to anyone, so that answer proves nothing). Exits 4 if they are refused or \
        missing, 1 if the server cannot be reached within --timeout."
    )]
    Info,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Add a context from --server, --tenant and --username (current with --use, or if it is the first)
    #[command(
        after_help = "Example:\n  kestractl config add prod --server https://kestra.example.com --username ops@example.com --use"
    )]
    Add(ConfigAddArgs),

    /// Make a context the current one
    Use {
        /// Context name
        name: String,
    },

    /// List contexts (the current one is marked)
    #[command(visible_alias = "ls")]
    List,

    /// Show the effective settings and where each value comes from
    Show,

    /// Remove a context
    #[command(visible_alias = "rm")]
    Remove {
        /// Context name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ConfigAddArgs {
    /// Context name (letters, digits, `-`, `_`, `.`)
    pub name: String,

    /// Make it the current context
    #[arg(long = "use")]
    pub make_current: bool,

    /// Replace an existing context of the same name
    #[arg(long)]
    pub overwrite: bool,
}
