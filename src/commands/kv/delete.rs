//! `kestractl kv delete`: a key deleted, after a question.

use super::{KvKey, check, missing, no_such_key};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::confirm;

/// Delete a key (asks first; --yes to confirm without a terminal) (alias: rm)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "rm",
    after_help = "Examples:\n  kestractl kv delete company.team db.url\n  kestractl kv delete company.team db.url --yes"
)]
pub struct Args {
    #[command(flatten)]
    pub key: KvKey,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        delete(ctx, &self.key).await
    }
}

async fn delete(ctx: &Ctx, k: &KvKey) -> Result<Exit> {
    check(k)?;
    let client = ctx.kestra().await?;
    // Check it exists first: a confirmation for a key that is not there would mislead.
    client
        .kv(&k.namespace)
        .get(&k.key)
        .await
        .map_err(|e| missing(k, e))?;
    if !ctx.global.yes {
        confirm(
            &format!("Delete key {} of namespace {}?", k.key, k.namespace),
            "deleting a key",
            "nothing was deleted",
        )
        .await?;
    }
    let deleted = client.kv(&k.namespace).delete(&k.key).await?;
    if !deleted {
        // Gone between the check and the delete (expired, or deleted by someone else).
        return Err(no_such_key(k));
    }
    ctx.out.note(&format!(
        "Deleted key {} of namespace {}",
        k.key, k.namespace
    ));
    Ok(Exit::Ok)
}
