//! `kestractl auth logout`: the current context's password removed from the keyring (and a
//! rotation's pending entry with it).

use crate::commands::{Ctx, Run};
use crate::credentials::store;
use crate::error::{Exit, Result};

/// Remove the stored password of the context, server and username
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl auth logout\n  kestractl auth logout --context prod"
)]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        logout(ctx).await
    }
}

async fn logout(ctx: &Ctx) -> Result<Exit> {
    let keyring = ctx.keyring().await?.require()?;
    let entry = ctx.basic_auth_entry().await?;
    let removed = keyring.delete(&entry).await?;
    let pending = keyring.delete(&store::pending_entry(&entry)).await?;
    let text = if removed || pending {
        format!(
            "Removed `{entry}` from the {}; commands now need --password-stdin or KESTRACTL_PASSWORD (or `kestractl auth login`).\n",
            keyring.backend().describe()
        )
    } else {
        format!(
            "Nothing to remove: the {} has no entry `{entry}`.\n",
            keyring.backend().describe()
        )
    };
    ctx.out.print(&text)?;
    Ok(Exit::Ok)
}
