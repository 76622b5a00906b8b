//! `kestractl auth`: credentials in the OS keyring (login, logout, status, show), moving
//! plain-text passwords into it (import-env, import-kestractl), and rotation of the managed
//! stack's credentials (rotate). One file per subcommand; the keyring itself is `secrets::store`,
//! rotation is `crate::rotation`.

mod import;
mod login;
mod rotate;
mod status;

use super::Ctx;
use crate::cli::AuthCommand;
use crate::error::{Exit, Result};
use crate::secrets::store;
use crate::settings::stack::StackSettings;
use crate::settings::{self, Settings};

pub async fn run(ctx: &Ctx, cmd: AuthCommand) -> Result<Exit> {
    match cmd {
        AuthCommand::Login => login::login(ctx).await,
        AuthCommand::Logout => login::logout(ctx).await,
        AuthCommand::Status => status::status(ctx).await,
        AuthCommand::Show(args) => status::show(ctx, &args).await,
        AuthCommand::ImportEnv(args) => import::import_env(ctx, &args).await,
        AuthCommand::ImportKestractl(args) => import::import_kestractl(ctx, &args).await,
        AuthCommand::Rotate(args) => rotate::rotate_cmd(ctx, &args).await,
    }
}

fn server_of(s: &Settings) -> String {
    settings::display_url(&s.server.value)
}

/// The managed stack's Postgres entry.
fn db_entry_of(stack: &StackSettings) -> String {
    store::db_entry(&stack.kestra_container.value, &stack.db_user.value)
}
