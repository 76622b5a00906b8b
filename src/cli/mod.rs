//! The command line (clap derive types only; no I/O here). Only commands that work appear.

pub mod values;

use std::time::Duration;

use clap::{ArgAction, Args};

use crate::output::Format;
pub use crate::stack::up::PullPolicy;

pub const GLOBAL: &str = "Global options";

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

    /// Answer yes to confirmations (deleting flows or data); needed when there is no terminal
    #[arg(short = 'y', long, global = true, help_heading = GLOBAL)]
    pub yes: bool,

    /// No colours (also when NO_COLOR is set)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_color: bool,

    /// Log what kestractl does to stderr (-v requests, -vv more); never prints secrets
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Deadline for each API call, retries included: 30s, 2m, 500ms… [env: KESTRACTL_TIMEOUT] [default: 30s]
    // Every duration option takes a value starting with `-`, so that `--wait-timeout -1s` reaches
    // kestractl's own check ("negative") instead of clap's "unexpected argument '-1'" and its
    // wrong tip (`-- -1`).
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "DURATION", help_heading = GLOBAL)]
    pub timeout: Option<String>,

    /// Allow sending the password over plain http to a host other than this machine [env: KESTRACTL_ALLOW_INSECURE_HTTP]
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub allow_insecure_http: bool,
}

/// A container of the stack, for `logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    Kestra,
    Postgres,
}

/// `--wait-timeout` of the commands that (re)start Kestra and wait for it: `start`, `restart`,
/// `auth rotate`.
#[derive(Debug, Clone, Args)]
pub struct ReadinessWait {
    /// How long Kestra may take to become ready once (re)started
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        default_value = "3m",
        value_parser = values::wait_timeout
    )]
    pub wait_timeout: Duration,
}
