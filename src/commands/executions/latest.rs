//! `kestractl executions latest`: the latest execution of a flow.

use serde::Serialize;

use crate::commands::args::FlowRef;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::kestra::executions::LatestExecution;
use crate::kestra::state::ExecutionState;
use crate::output::{Output, Render};

/// The latest execution of a flow (the one that ended, or started, last)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl executions latest company.team nightly\n  kestractl executions latest company.team/nightly -q"
)]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,
    /// Only its id (for scripts)
    #[arg(short, long)]
    pub quiet: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        latest(ctx, &self.flow, self.quiet).await
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Latest {
    execution: LatestExecution,
    #[serde(skip)]
    quiet: bool,
}

impl Render for Latest {
    fn human(&self, out: &Output) -> Result<()> {
        let e = &self.execution;
        if self.quiet {
            return out.print(&format!("{}\n", e.id));
        }
        let now = time::OffsetDateTime::now_utc();
        out.record(&[
            ("Id", e.id.clone()),
            ("Flow", format!("{}/{}", e.namespace, e.flow_id)),
            (
                "State",
                e.status
                    .as_ref()
                    .map_or_else(|| "-".into(), ExecutionState::to_string),
            ),
            ("Started", out.time_cell(e.start_date.as_deref(), now)),
        ])
    }
}

async fn latest(ctx: &Ctx, flow: &FlowRef, quiet: bool) -> Result<Exit> {
    let (namespace, id) = flow.resolve()?;
    let client = ctx.kestra().await?;
    let found = client
        .executions()
        .latest(&[(namespace.as_str(), id.as_str())])
        .await?
        .into_iter()
        .find(|e| e.namespace == namespace && e.flow_id == id);
    let Some(execution) = found else {
        return Err(Error::not_found(
            format!("flow {namespace}/{id} has no execution"),
            format!(
                "`kestractl executions run {namespace} {id}` starts one; `kestractl flows list \
                 {namespace}` lists the namespace's flows"
            ),
        ));
    };
    ctx.out.emit(&Latest { execution, quiet })?;
    Ok(Exit::Ok)
}
