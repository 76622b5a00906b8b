//! `kestractl flows delete`: a flow deleted, after a question.

use super::{check_names, not_found};
use crate::commands::args::FlowRef;
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::confirm;

/// Delete a flow (asks first; --yes to confirm without a terminal) (alias: rm)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "rm",
    after_help = "Examples:\n  kestractl flows delete company.team hello\n  kestractl flows delete company.team/hello --yes"
)]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let (namespace, id) = self.flow.resolve()?;
        delete(ctx, &namespace, &id).await
    }
}

async fn delete(ctx: &Ctx, namespace: &str, id: &str) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    // Check it exists first: a confirmation for a flow that is not there would mislead.
    client
        .flows()
        .get(namespace, id, false)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    if !ctx.global.yes {
        confirm(
            &format!("Delete flow {namespace}/{id}?"),
            "deleting a flow",
            "nothing was deleted",
        )
        .await?;
    }
    client
        .flows()
        .delete(namespace, id)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    ctx.out.note(&format!("Deleted flow {namespace}/{id}"));
    Ok(Exit::Ok)
}
