//! `kestractl auth show`: the stored password printed, only with --reveal (and asked first on a
//! terminal).

use std::io::IsTerminal;

use super::db_entry_of;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::output::confirm;
use crate::settings::stack::StackFlags;

/// Print the stored password (e.g. for the UI's login form); refuses without --reveal
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  kestractl auth show --reveal")]
pub struct Args {
    /// Really print the password (to stdout; asks first on a terminal unless --yes)
    #[arg(long)]
    pub reveal: bool,

    /// The managed stack's Postgres password instead of the Basic Auth one
    #[arg(long)]
    pub db: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        show(ctx, &self).await
    }
}

async fn show(ctx: &Ctx, args: &Args) -> Result<Exit> {
    if !args.reveal {
        return Err(Error::usage(
            "`auth show` prints a password and needs --reveal",
            "`kestractl auth show --reveal` prints it to stdout (asking first on a terminal); \
             `kestractl auth status` says whether one is stored without showing it",
        ));
    }
    let keyring = ctx.keyring().await?.require()?;
    let entry = if args.db {
        db_entry_of(&ctx.stack_settings(&StackFlags::default()).await?)
    } else {
        ctx.basic_auth_entry().await?
    };
    let Some(secret) = keyring.get(&entry).await? else {
        return Err(Error::not_found(
            format!(
                "the {} has no entry `{entry}`",
                keyring.backend().describe()
            ),
            if args.db {
                "`kestractl start` stores the stack's Postgres password (and `auth import-env` \
                 moves KESTRA_DB_PASSWORD there)"
            } else {
                "store one with `kestractl auth login` (a first `kestractl start` generates and \
                 stores one); check --context/--server/--username with `kestractl auth status`"
            },
        ));
    };
    if std::io::stdout().is_terminal() && !ctx.global.yes {
        confirm(
            &format!("Print the password of `{entry}` on this terminal?"),
            "`auth show --reveal` shows a password",
            "nothing was shown",
        )
        .await?;
    }
    ctx.out.print(&format!("{}\n", secret.expose()))?;
    Ok(Exit::Ok)
}
