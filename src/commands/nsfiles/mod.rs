//! `kestractl nsfiles …`: a namespace's files through Kestra's API: a folder pushed with a plan
//! (the push itself is library work, `nsfiles::push`, which `flows deploy` runs for a `_files/`
//! folder too), the files listed, one read, one or a folder deleted. Each command is one file
//! here, with its arguments.

mod delete;
mod get;
mod list;
mod push;

use crate::commands::{complete, group};
use crate::error::Error;
use crate::kestra::ApiError;
use clap_complete::engine::ArgValueCompleter;

group! {
    /// Namespace files (the scripts and queries flows read): push a folder, list, get, delete
    pub enum Command {
        Push(push::Args),
        List(list::Args),
        Get(get::Args),
        Delete(delete::Args),
    }
}

/// A namespace and a path among its files.
#[derive(Debug, Clone, clap::Args)]
pub struct NsfilePath {
    /// The namespace the file belongs to
    #[arg(value_name = "NAMESPACE", index = 1, add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: String,
    /// The file's path in the namespace, e.g. scripts/etl.py
    #[arg(value_name = "PATH", index = 2)]
    pub path: String,
}

fn no_such(namespace: &str, path: &str) -> Error {
    Error::not_found(
        format!("there is no {path} in namespace {namespace}"),
        format!("`kestractl nsfiles list {namespace}` lists its files"),
    )
}

fn missing(namespace: &str, path: &str, e: ApiError) -> Error {
    if e.status() == Some(404) {
        no_such(namespace, path)
    } else {
        e.into()
    }
}
