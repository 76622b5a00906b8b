//! The command line (clap derive types only; no I/O here). Only commands that work appear.

pub mod values;

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Subcommand};

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

const NSFILES_PUSH_LONG: &str = "Push a folder as a namespace's files.\n\n\
Every file under DIR (hidden files and folders skipped) is stored at its path relative to DIR. \
The plan is made against the server first: a file absent there is created, one of another size \
updated, and one of the same size read back and compared byte for byte, so a file already there \
is not rewritten and its revision does not move. With --prune, the namespace's files that DIR \
no longer has are deleted, after a confirmation. Writes run concurrently; each file's result is \
reported, and the exit code is 1 if any write failed.\n\n\
Refused before anything is sent: a `_flows/` folder at the top of DIR (Kestra imports files there \
as flows), a name longer than 255 characters, and two files Kestra would store at the same path \
(it turns spaces in paths into `+`).\n\n\
`kestractl flows deploy` ships a `_files/` folder beside a namespace's flows the same way.";

#[derive(Debug, Clone, Args)]
pub struct NsfilesPushArgs {
    /// The namespace to push into
    // Explicit indices: completers are attached later and clap re-adds the arguments it changes.
    #[arg(value_name = "NAMESPACE", index = 1)]
    pub namespace: String,
    /// The folder whose files to push
    #[arg(value_name = "DIR", index = 2)]
    pub dir: PathBuf,
    /// Also delete the namespace's files that DIR no longer has (asks first)
    #[arg(long)]
    pub prune: bool,
    /// Show the plan and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Stop at the first failed write
    #[arg(long)]
    pub fail_fast: bool,
    /// How many reads and writes run at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// A namespace and a path among its files.
#[derive(Debug, Clone, Args)]
pub struct NsfilePath {
    /// The namespace the file belongs to
    #[arg(value_name = "NAMESPACE", index = 1)]
    pub namespace: String,
    /// The file's path in the namespace, e.g. scripts/etl.py
    #[arg(value_name = "PATH", index = 2)]
    pub path: String,
}

#[derive(Debug, Subcommand)]
pub enum NsfilesCommand {
    /// Push a folder as the namespace's files: plan, unchanged files not rewritten, --prune
    #[command(
        long_about = NSFILES_PUSH_LONG,
        after_help = "Examples:\n  kestractl nsfiles push company.team scripts/\n  kestractl nsfiles push company.team scripts/ --dry-run\n  kestractl nsfiles push company.team scripts/ --prune --yes"
    )]
    Push(NsfilesPushArgs),

    /// A namespace's files (all of them, or those under PATH): size and last update (alias: ls)
    #[command(
        alias = "ls",
        after_help = "Examples:\n  kestractl nsfiles list company.team\n  kestractl nsfiles list company.team scripts -q"
    )]
    List {
        /// The namespace whose files to list
        #[arg(value_name = "NAMESPACE", index = 1)]
        namespace: String,
        /// Only the files under this folder
        #[arg(value_name = "PATH", index = 2)]
        path: Option<String>,
        /// Only the paths, one per line (for scripts)
        #[arg(short, long)]
        quiet: bool,
    },

    /// Write a file's content to standard output
    #[command(
        after_help = "Examples:\n  kestractl nsfiles get company.team scripts/etl.py\n  kestractl nsfiles get company.team data/model.bin > model.bin"
    )]
    Get(NsfilePath),

    /// Delete a file, or a folder with everything under it (asks first; --yes to confirm) (alias: rm)
    #[command(
        alias = "rm",
        after_help = "Examples:\n  kestractl nsfiles delete company.team scripts/old.py\n  kestractl nsfiles delete company.team scripts --yes"
    )]
    Delete(NsfilePath),
}

/// A trigger named as `NAMESPACE FLOW TRIGGER` or `NAMESPACE/FLOW TRIGGER`.
#[derive(Debug, Clone, Args)]
pub struct TriggerRef {
    /// The flow's namespace, or NAMESPACE/FLOW in one word
    #[arg(value_name = "NAMESPACE", index = 1)]
    pub namespace: String,
    /// The flow's id (omit it with NAMESPACE/FLOW)
    #[arg(value_name = "FLOW", index = 2)]
    pub flow: String,
    /// The trigger's id in the flow
    #[arg(value_name = "TRIGGER", index = 3)]
    pub trigger: Option<String>,
}

impl TriggerRef {
    /// (namespace, flow, trigger), from three words or `NAMESPACE/FLOW TRIGGER`.
    pub fn resolve(&self) -> crate::error::Result<(String, String, String)> {
        match &self.trigger {
            Some(t) => {
                let (ns, flow) = values::flow_ref(&self.namespace, Some(&self.flow))?;
                Ok((ns, flow, t.clone()))
            }
            None => {
                let (ns, flow) = values::flow_ref(&self.namespace, None)?;
                Ok((ns, flow, self.flow.clone()))
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TriggersCommand {
    /// Triggers Kestra schedules: type, enabled, locked, next and last dates (alias: ls)
    #[command(
        alias = "ls",
        after_help = "Examples:\n  kestractl triggers list\n  kestractl triggers list --namespace company.team\n  kestractl triggers list --flow company.team/nightly -o json"
    )]
    List {
        /// Only this namespace and its children
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Only this flow (NAMESPACE/ID, or an id with --namespace)
        #[arg(long, value_name = "FLOW")]
        flow: Option<String>,
        /// Only NAMESPACE/FLOW/TRIGGER, one per line (for scripts)
        #[arg(short, long)]
        quiet: bool,
    },

    /// Let a disabled trigger fire again (a schedule's next date becomes now)
    #[command(
        after_help = "Examples:\n  kestractl triggers enable company.team nightly schedule\n  kestractl triggers enable company.team/nightly schedule"
    )]
    Enable(TriggerRef),

    /// Stop a trigger from firing, without touching its flow
    #[command(
        after_help = "Examples:\n  kestractl triggers disable company.team nightly schedule\n  kestractl triggers disable company.team/nightly schedule -o json"
    )]
    Disable(TriggerRef),

    /// Release a trigger stuck on an execution or evaluation (asks first; --yes)
    #[command(
        long_about = "Release a locked trigger. Kestra locks a trigger while it evaluates it and \
        while an execution it started runs (when the flow allows no concurrent runs); a trigger \
        left locked by a crash never fires again until it is unlocked. Unlocking one whose \
        execution still runs lets it fire alongside it, so kestractl shows the execution and asks.",
        after_help = "Examples:\n  kestractl triggers unlock company.team nightly schedule\n  kestractl triggers unlock company.team/nightly schedule --yes"
    )]
    Unlock(TriggerRef),
}

/// A namespace and one of its KV keys.
#[derive(Debug, Clone, Args)]
pub struct KvKey {
    /// The namespace the key belongs to
    #[arg(value_name = "NAMESPACE", index = 1)]
    pub namespace: String,
    /// The key: letters, digits, `.`, `_`, `-`, starting with a letter or digit
    #[arg(value_name = "KEY", index = 2)]
    pub key: String,
}

const KV_SET_LONG: &str = "Set a key's value in a namespace's KV store.\n\n\
VALUE is the value itself, @FILE to read it from a file, or @- to read it from standard input \
(use a file or stdin for anything sensitive: a value on the command line is visible to other \
users of the machine). Without --type the type follows the value: a JSON number, boolean, \
object or array keeps its type, an RFC 3339 date-time or a date becomes Kestra's DATETIME or DATE \
(a date-time is sent in UTC, which is how Kestra stores a DATETIME; one at exactly midnight UTC \
would be a DATE to Kestra, so --type datetime refuses it), \
an ISO-8601 duration such as PT30M is stored as text that Kestra reports as DURATION, anything \
else is text. --type string stores numbers and JSON as text. The value is checked \
against the type before anything is sent, and the type Kestra stored is read back and shown.";

#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// A namespace's keys (not its children's): description, updated, expiry (alias: ls)
    #[command(
        alias = "ls",
        after_help = "Examples:\n  kestractl kv list company.team\n  kestractl kv list company.team -q"
    )]
    List {
        /// The namespace whose keys to list
        namespace: String,
        /// Only the keys, one per line (for scripts)
        #[arg(short, long)]
        quiet: bool,
    },

    /// Print a value: text as is, anything else as JSON (the whole entry with -o json)
    #[command(
        after_help = "Examples:\n  kestractl kv get company.team db.url\n  kestractl kv get company.team settings -o json"
    )]
    Get(KvKey),

    /// Set a value (VALUE, @FILE or @- for stdin), its type inferred or given, with a TTL
    #[command(
        long_about = KV_SET_LONG,
        after_help = "Examples:\n  kestractl kv set company.team retries 3\n  kestractl kv set company.team greeting 'hello world'\n  kestractl kv set company.team zip 01234 --type string\n  kestractl kv set company.team settings @settings.json --ttl 7d\n  vault read -field=token secret/x | kestractl kv set company.team token @-"
    )]
    Set {
        #[command(flatten)]
        key: KvKey,
        /// The value, @FILE to read it from a file, or @- from standard input
        #[arg(value_name = "VALUE", index = 3, allow_hyphen_values = true)]
        value: String,
        /// Store it as this type (checked before sending) instead of inferring one
        #[arg(long = "type", value_enum, value_name = "TYPE")]
        kind: Option<crate::kestra::kv::KvType>,
        /// Kestra deletes the key this long after it is set (e.g. 1h, 7d)
        #[arg(long, value_name = "DURATION", value_parser = values::kv_ttl)]
        ttl: Option<Duration>,
        /// A description shown beside the key
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
    },

    /// Delete a key (asks first; --yes to confirm without a terminal) (alias: rm)
    #[command(
        alias = "rm",
        after_help = "Examples:\n  kestractl kv delete company.team db.url\n  kestractl kv delete company.team db.url --yes"
    )]
    Delete(KvKey),
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
        after_help = "Examples:\n  kestractl config add prod --server https://kestra.example.com --username ops@example.com --use"
    )]
    Add(ConfigAddArgs),

    /// Make a context the current one
    Use {
        /// Context name
        name: String,
    },

    /// List contexts (the current one is marked) (alias: ls)
    #[command(alias = "ls")]
    List,

    /// Show the effective settings and where each value comes from
    Show,

    /// Remove a context (alias: rm)
    #[command(alias = "rm")]
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

    /// The Kestra image the local stack runs in this context (KESTRA_IMAGE and --image win)
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
}

// ---- auth (credentials in the OS keyring) ----

const AUTH_LOGIN_LONG: &str = "Verify a password against the server, then store it in the OS \
keyring.\n\n\
The password is read from the terminal without echo, or from the first line of stdin with \
--password-stdin (it is never an argument). It is checked on a protected API route first: a \
refused password exits 4 and nothing is stored. The entry is keyed by the context, the username \
and the server (service `kestractl`, user `<context>/<username>@<server>`), so give the same \
--context/--server/--username (or none) to the commands that should use it.";

const AUTH_ROTATE_LONG: &str = "Change a credential of the stack kestractl manages, with verify \
and rollback.\n\n\
Basic Auth (the default): a new 32-character password is generated and staged in the keyring as \
pending; Kestra's config file is rendered with it and only the Kestra container is recreated; the \
new password must be accepted and the old one refused; then the keyring's entry is replaced \
(pending → current). With --db, the Postgres password is changed instead: ALTER ROLE inside the \
Postgres container (a SCRAM verifier sent on stdin, never the password, never in argv), then \
Kestra's datasource, then Kestra is recreated and verified.\n\n\
Any failure restores the previous config and container, verifies the old credentials work again, \
drops the pending entry and exits non-zero naming the step. At every step exactly one credential \
works and the keyring holds it. API clients other than kestractl need the new password \
afterwards.\n\n\
For any other server (--server or a context), the Basic Auth password is changed through its API \
(POST /api/v1/{tenant}/basicAuth with the current password), staged, verified and committed the \
same way; a failure after the change puts the previous password back through the API. Only for \
a server that reports its credential was set up in its UI or API (isBasicAuthManagedByConfig: \
false): one whose credential is in its config file would restore it at its next start.";

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Verify a password against the server, then store it in the OS keyring (prompts on a terminal)
    #[command(long_about = AUTH_LOGIN_LONG)]
    Login,

    /// Remove the stored password of the context, server and username
    Logout,

    /// Keyring in use, whether a password is stored and works, and where a command would get it
    Status,

    /// Print the stored password (e.g. for the UI's login form); refuses without --reveal
    Show(AuthShowArgs),

    /// Move KESTRA_BASICAUTH_PASSWORD and KESTRA_DB_PASSWORD from .env into the keyring
    #[command(name = "import-env")]
    ImportEnv(ImportEnvArgs),

    /// Import the official kestractl's contexts (~/.kestractl/config.yaml): contexts here, passwords to the keyring
    #[command(name = "import-kestractl")]
    ImportKestractl(ImportKestractlArgs),

    /// Rotate the Basic Auth (or --db the stack's Postgres) password, verified, rolled back on failure
    #[command(long_about = AUTH_ROTATE_LONG)]
    Rotate(RotateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AuthShowArgs {
    /// Really print the password (to stdout; asks first on a terminal unless --yes)
    #[arg(long)]
    pub reveal: bool,

    /// The managed stack's Postgres password instead of the Basic Auth one
    #[arg(long)]
    pub db: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImportEnvArgs {
    /// Also rewrite the .env without the two passwords (the original is kept as .env.kestractl-backup, 0600)
    #[arg(long)]
    pub rewrite_env: bool,

    /// The .env file to read
    #[arg(long, value_name = "FILE", default_value = ".env")]
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ImportKestractlArgs {
    /// The official kestractl's config [default: ~/.kestractl/config.yaml]
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Replace contexts of the same name that differ
    #[arg(long)]
    pub overwrite: bool,

    /// Delete their file once everything in it was imported (never otherwise)
    #[arg(long)]
    pub delete_source: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    /// Rotate the Postgres password instead of Kestra's Basic Auth password
    #[arg(long)]
    pub db: bool,

    /// Show the steps and change nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub readiness: ReadinessWait,
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
