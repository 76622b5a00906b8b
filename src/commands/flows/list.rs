//! `kestractl flows list`: flows of all namespaces, or of NS and its children.

use serde::Serialize;

use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::output::{Output, Render};
use clap_complete::engine::ArgValueCompleter;

/// List flows (all namespaces, or NS and its children) (alias: ls)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "ls",
    after_help = "Examples:\n  kestractl flows list\n  kestractl flows list company.team\n  kestractl flows list -q | xargs -n1 kestractl flows get"
)]
pub struct Args {
    /// Namespace (prefix: child namespaces are included)
    #[arg(add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: Option<String>,
    /// Only NAMESPACE/ID, one per line (for scripts)
    #[arg(short, long)]
    pub quiet: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        list(ctx, self.namespace.as_deref(), self.quiet).await
    }
}

async fn list(ctx: &Ctx, namespace: Option<&str>, quiet: bool) -> Result<Exit> {
    let client = ctx.kestra().await?;
    const PAGE: u32 = 100;
    let mut page = 1;
    let mut seen = 0usize;
    let mut all = Vec::new();
    loop {
        let result = client.flows().search(namespace, page, PAGE).await?;
        let n = result.results.len();
        seen += n;
        crate::kestra::limits::check_listed(
            seen,
            || {
                client.url(&format!(
                    "{}/flows/search",
                    crate::kestra::routes::tenant_base(client.tenant())
                ))
            },
            "flows",
            "list one namespace at a time (kestractl flows list NS)",
        )?;
        if quiet {
            let text: String = result
                .results
                .iter()
                .map(|f| format!("{}/{}\n", f.namespace, f.id))
                .collect();
            ctx.out.print(&text)?;
        } else if ctx.out.format == crate::output::Format::Jsonl {
            let mut text = String::new();
            for f in &result.results {
                text.push_str(&serde_json::to_string(f).map_err(anyhow::Error::from)?);
                text.push('\n');
            }
            ctx.out.print(&text)?;
        } else {
            all.extend(result.results);
        }
        let total = result.total.and_then(|t| usize::try_from(t).ok());
        if n == 0 || total.is_some_and(|t| seen >= t) || n < PAGE as usize && total.is_none() {
            break;
        }
        page += 1;
    }
    // jsonl and -q have streamed every page already.
    if quiet || ctx.out.format == crate::output::Format::Jsonl {
        if seen == 0 && !quiet {
            ctx.out.note("No flows.");
        }
    } else {
        ctx.out.emit(&FlowList(all))?;
    }
    Ok(Exit::Ok)
}

/// The flows as the server listed them; for people, a table.
#[derive(Serialize)]
#[serde(transparent)]
struct FlowList(Vec<crate::kestra::model::Flow>);

impl Render for FlowList {
    fn human(&self, out: &Output) -> Result<()> {
        if self.0.is_empty() {
            out.note("No flows.");
            return Ok(());
        }
        let now = time::OffsetDateTime::now_utc();
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|f| {
                vec![
                    f.namespace.clone(),
                    f.id.clone(),
                    f.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                    if f.disabled == Some(true) {
                        "disabled".into()
                    } else {
                        "enabled".into()
                    },
                    out.time_cell(f.updated.as_deref(), now),
                ]
            })
            .collect();
        out.table(
            &["NAMESPACE", "FLOW", "REVISION", "STATE", "UPDATED"],
            &rows,
        )
    }
}
