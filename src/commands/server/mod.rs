//! `kestractl server …`: the Kestra server itself. Each command is one file here, with its
//! arguments.

mod info;

use crate::commands::group;

group! {
    /// The Kestra server: version, edition, whether the credentials work
    pub enum Command {
        Info(info::Args),
    }
}
