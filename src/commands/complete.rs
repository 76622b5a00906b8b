//! Shell completion that knows the config and the server (clap's dynamic completion): the shell
//! calls `kestractl` back with `COMPLETE=<shell>` and the words typed so far, and these
//! completers answer with context names, execution states, log levels, paths and — when a
//! server answers within a short time — namespaces, flows and recent execution ids.
//!
//! A command's own arguments carry their completers (and value hints) on their fields
//! (`#[arg(add = ArgValueCompleter::new(complete::namespaces))]`); [`attach`], which
//! `kestractl::command()` applies, adds the one for the global `--context`.

use std::ffi::OsStr;
use std::time::Duration;

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::commands::Ctx;
use crate::flows::source::{check_id_pattern, check_namespace};
use crate::kestra::executions::ExecutionFilter;
use crate::kestra::state::ExecutionState;

/// A server that does not answer in this long is not waited for: a completion must be quick.
const SERVER_BUDGET: Duration = Duration::from_millis(1500);

/// What a candidate must look like. The shell inserts a candidate into the command line as it
/// is (neither bash nor zsh quotes what a completer returns), so a name a server (or a config
/// file) supplies is offered only when it matches the pattern Kestra itself allows for that kind
/// of name; anything else — `$(…)`, a quote, a space, a newline, an escape sequence — is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A context name, as `config add` accepts it.
    Context,
    /// A namespace (`^[a-z0-9][a-z0-9._-]*`).
    Namespace,
    /// `NAMESPACE/ID`.
    Flow,
    /// An execution id (base62, with `-` and `_` tolerated).
    Execution,
}

/// Whether `value` is a name of `kind` that is safe to put on a command line as it is.
fn is_safe(kind: Kind, value: &str) -> bool {
    match kind {
        Kind::Context => crate::settings::config_file::validate_context_name(value).is_ok(),
        Kind::Namespace => check_namespace(value).is_ok(),
        Kind::Flow => value
            .split_once('/')
            .is_some_and(|(ns, id)| check_namespace(ns).is_ok() && check_id_pattern(id).is_ok()),
        Kind::Execution => {
            (1..=64).contains(&value.len())
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        }
    }
}

/// The values of `kind` that start with what was typed; unsafe ones are never offered.
fn matching(
    kind: Kind,
    current: &OsStr,
    values: impl IntoIterator<Item = String>,
) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    values
        .into_iter()
        .filter(|v| is_safe(kind, v))
        .filter(|v| v.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The contexts of the config file (where `--context` and `config use` look).
pub fn contexts(current: &OsStr) -> Vec<CompletionCandidate> {
    let env = |k: &str| std::env::var(k).ok();
    let names = crate::settings::config_file::config_dir(&env)
        .ok()
        .map(|dir| dir.join(crate::settings::config_file::FILE_NAME))
        .and_then(|path| crate::settings::ConfigFile::load(&path).ok())
        .map(|c| c.contexts.into_keys().collect::<Vec<_>>())
        .unwrap_or_default();
    matching(Kind::Context, current, names)
}

/// `--state failed,RUN<tab>`: the last state of a comma-separated list.
pub fn states(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    let (done, last) = match typed.rsplit_once(',') {
        Some((d, l)) => (format!("{d},"), l.to_ascii_uppercase()),
        None => (String::new(), typed.to_ascii_uppercase()),
    };
    ExecutionState::KNOWN
        .iter()
        .map(ExecutionState::as_str)
        .filter(|s| s.starts_with(&last))
        .map(|s| CompletionCandidate::new(format!("{done}{s}")))
        .collect()
}

pub fn levels(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy().to_ascii_uppercase();
    ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
        .into_iter()
        .filter(|l| l.starts_with(&typed))
        .map(CompletionCandidate::new)
        .collect()
}

/// What to ask the server for.
#[derive(Clone, Copy)]
enum FromServer {
    Namespaces,
    Flows,
    Executions,
}

/// Values read from the server of the current settings, or nothing when it does not answer
/// within [`SERVER_BUDGET`] (or no credential is at hand): a completion never hangs.
fn from_server(what: FromServer) -> Vec<String> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime.block_on(async move {
        let ask = async move {
            let ctx = Ctx::new(crate::cli::GlobalArgs::default());
            let client = ctx.kestra_probe().await.ok()?;
            let values = match what {
                FromServer::Namespaces => client.flows().namespaces().await.ok()?,
                FromServer::Flows => client
                    .flows()
                    .search(None, 1, 200)
                    .await
                    .ok()?
                    .results
                    .into_iter()
                    .map(|f| format!("{}/{}", f.namespace, f.id))
                    .collect(),
                FromServer::Executions => client
                    .executions()
                    .search(&ExecutionFilter::default(), 1, 25)
                    .await
                    .ok()?
                    .results
                    .into_iter()
                    .filter_map(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
                    .collect(),
            };
            Some(values)
        };
        tokio::time::timeout(SERVER_BUDGET, ask)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    })
}

pub fn namespaces(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(
        Kind::Namespace,
        current,
        from_server(FromServer::Namespaces),
    )
}

pub fn flows(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(Kind::Flow, current, from_server(FromServer::Flows))
}

pub fn executions(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(
        Kind::Execution,
        current,
        from_server(FromServer::Executions),
    )
}

/// Applies `f` to the argument `id` of `cmd` and of every subcommand that has one.
fn everywhere(
    cmd: clap::Command,
    id: &'static str,
    f: &dyn Fn(clap::Arg) -> clap::Arg,
) -> clap::Command {
    let mut cmd = if cmd.get_arguments().any(|a| a.get_id() == id) {
        cmd.mut_arg(id, f)
    } else {
        cmd
    };
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |sub| everywhere(sub, id, f));
    }
    cmd
}

/// The command line with the completer of the global `--context` (the commands' own are on
/// their fields).
pub fn attach(cmd: clap::Command) -> clap::Command {
    // `--context` is defined once with the global flags, in `cli`, which cannot see the config.
    everywhere(cmd, "context", &|a: clap::Arg| {
        a.add(ArgValueCompleter::new(contexts))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_complete_the_last_of_a_list() {
        let got: Vec<String> = states(OsStr::new("failed,RU"))
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["failed,RUNNING"]);
        assert_eq!(states(OsStr::new("")).len(), ExecutionState::KNOWN.len());
        assert!(states(OsStr::new("ZZZ")).is_empty());
    }

    #[test]
    fn only_names_kestra_allows_are_offered() {
        let offered = |kind, values: &[&str]| -> Vec<String> {
            matching(kind, OsStr::new(""), values.iter().map(|v| v.to_string()))
                .iter()
                .map(|c| c.get_value().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            offered(
                Kind::Namespace,
                &[
                    "company.team",
                    "c$(touch x)",
                    "a b",
                    "a\n--server=x",
                    "`id`",
                    "A",
                    "x;y"
                ]
            ),
            ["company.team"]
        );
        assert_eq!(
            offered(
                Kind::Flow,
                &[
                    "company/hello",
                    "company/$(id)",
                    "company/a'b",
                    "x",
                    "c/\u{1b}[2J"
                ]
            ),
            ["company/hello"]
        );
        assert_eq!(
            offered(
                Kind::Execution,
                &["4fGpDPJmkkZ8lAfd1a2QqE", "e1;rm", "$HOME", ""]
            ),
            ["4fGpDPJmkkZ8lAfd1a2QqE"]
        );
        assert_eq!(offered(Kind::Context, &["prod", "st ag", "p|q"]), ["prod"]);
        // Typed text narrows, it never widens what is safe.
        let narrowed: Vec<String> = matching(
            Kind::Namespace,
            OsStr::new("c"),
            ["company".to_string(), "c$(x)".to_string()],
        )
        .iter()
        .map(|c| c.get_value().to_string_lossy().into_owned())
        .collect();
        assert_eq!(narrowed, ["company"]);
    }

    #[test]
    fn every_completer_lands_on_an_argument_that_exists() {
        // `mut_arg` and `mut_subcommand` panic on a name that is not there: building the whole
        // command proves every path and id above.
        let mut cmd = attach(crate::commands::root::command());
        cmd.build();
    }
}
