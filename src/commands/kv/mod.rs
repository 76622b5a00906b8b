//! `kestractl kv …`: a namespace's KV store through Kestra's API (`kestra::kv`): its keys listed,
//! one value read, set (typed, with a TTL) and deleted. Each command is one file here, with its
//! arguments.

mod delete;
mod get;
mod list;
mod set;

use crate::commands::{complete, group};
use crate::error::{Error, Result};
use crate::kestra::ApiError;
use crate::kestra::kv;
use clap_complete::engine::ArgValueCompleter;

group! {
    /// The KV store: a namespace's keys, one value, set (typed, with a TTL), delete
    pub enum Command {
        List(list::Args),
        Get(get::Args),
        Set(set::Args),
        Delete(delete::Args),
    }
}

/// A namespace and one of its KV keys.
#[derive(Debug, Clone, clap::Args)]
pub struct KvKey {
    /// The namespace the key belongs to
    #[arg(value_name = "NAMESPACE", index = 1, add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: String,
    /// The key: letters, digits, `.`, `_`, `-`, starting with a letter or digit
    #[arg(value_name = "KEY", index = 2)]
    pub key: String,
}

fn check(k: &KvKey) -> Result<()> {
    crate::commands::namespace_arg(&k.namespace, "check the namespace")?;
    kv::check_key(&k.key).map_err(|m| Error::usage(m, "check the key"))
}

fn no_such_key(k: &KvKey) -> Error {
    Error::not_found(
        format!("there is no key {} in namespace {}", k.key, k.namespace),
        format!("`kestractl kv list {}` lists its keys", k.namespace),
    )
}

/// A 404 or 410 on one key, in the words of the key.
fn missing(k: &KvKey, e: ApiError) -> Error {
    let (ns, key) = (&k.namespace, &k.key);
    match e.status() {
        Some(404) => no_such_key(k),
        // `ResourceExpiredException`: Kestra deletes the key as it answers.
        Some(410) => Error::not_found(
            format!("key {key} of namespace {ns} has expired; Kestra has deleted it"),
            format!("set it again: `kestractl kv set {ns} {key} VALUE [--ttl DURATION]`"),
        ),
        _ => e.into(),
    }
}
