//! `kestractl flows revisions`: a flow's revisions, oldest first, the current one marked.

use serde::Serialize;

use super::{check_names, not_found};
use crate::commands::args::FlowRef;
use crate::commands::{Ctx, Run};
use crate::error::Error;
use crate::error::{Exit, Result};
use crate::output::{Output, Render};

/// A flow's revisions, oldest first, the current one marked
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = concat!("Examples:\n  ", "kestractl flows revisions company.team hello\n  kestractl flows revisions company.team/hello -o json"))]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let (namespace, id) = self.flow.resolve()?;
        revisions(ctx, &namespace, &id).await
    }
}

/// `flows revisions`: the server's list, oldest first; for people, a table with the current one
/// marked.
#[derive(Serialize)]
#[serde(transparent)]
struct RevisionList(Vec<crate::kestra::model::Flow>);

impl Render for RevisionList {
    fn human(&self, out: &Output) -> Result<()> {
        let now = time::OffsetDateTime::now_utc();
        let last = self.0.iter().filter_map(|f| f.revision).max();
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|f| {
                vec![
                    f.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                    out.time_cell(f.updated.as_deref(), now),
                    if f.revision == last { "current" } else { "" }.to_string(),
                ]
            })
            .collect();
        out.table(&["REVISION", "UPDATED", ""], &rows)
    }
}

async fn revisions(ctx: &Ctx, namespace: &str, id: &str) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    let list = client
        .flows()
        .revisions(namespace, id)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    if list.is_empty() {
        return Err(Error::not_found(
            format!("there is no flow {namespace}/{id}"),
            format!("`kestractl flows list {namespace}` lists the flows of that namespace"),
        ));
    }
    ctx.out.emit(&RevisionList(list))?;
    Ok(Exit::Ok)
}
