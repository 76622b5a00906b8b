//! `kestractl config …`: contexts in the config file: added, made current (and which is), listed,
//! removed, and the effective settings shown. Each command is one file here, with its arguments.
//!
//! These commands read the config file directly rather than through the resolved settings, so
//! they keep working when the current settings are broken (that is when they are needed).

mod add;
mod current;
mod list;
mod remove;
mod show;
mod r#use;

use crate::commands::group;
use crate::error::Error;
use crate::settings::ConfigFile;

group! {
    /// Contexts (server URL, tenant, username) in the config file; never passwords
    pub enum Command {
        Add(add::Args),
        Use(r#use::Args),
        Current(current::Args),
        List(list::Args),
        Show(show::Args),
        Remove(remove::Args),
    }
}

fn unknown_context(name: &str, config: &ConfigFile) -> Error {
    let known: Vec<_> = config.contexts.keys().cloned().collect();
    Error::usage(
        format!("there is no context named `{name}`"),
        if known.is_empty() {
            "there are no contexts yet; create one with `kestractl config add NAME --server URL`"
                .to_string()
        } else {
            format!("known contexts: {}", known.join(", "))
        },
    )
}
