//! `kestractl flows get`: a flow's YAML source (its JSON with -o json).

use serde::Serialize;

use super::{check_names, not_found};
use crate::commands::args::FlowRef;
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::{Output, Render};

/// Print a flow's YAML source (its JSON with -o json) (alias: show)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "show",
    after_help = "Examples:\n  kestractl flows get company.team hello\n  kestractl flows get company.team/hello -o json"
)]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let (namespace, id) = self.flow.resolve()?;
        get(ctx, &namespace, &id).await
    }
}

async fn get(ctx: &Ctx, namespace: &str, id: &str) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    let flow = client
        .flows()
        .get(namespace, id, true)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    ctx.out.emit(&FlowView(flow))?;
    Ok(Exit::Ok)
}

/// A flow as the server sent it; for people, its source as is.
#[derive(Serialize)]
#[serde(transparent)]
struct FlowView(serde_json::Value);

impl Render for FlowView {
    fn human(&self, out: &Output) -> Result<()> {
        out.print(
            self.0
                .get("source")
                .and_then(|s| s.as_str())
                .unwrap_or_default(),
        )
    }
}
