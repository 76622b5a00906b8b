//! `kestractl flows rollback`: an earlier revision's source written, byte for byte, as the flow's new revision (the diff shown, asked first).

use serde::Serialize;

use super::{check_names, not_found};
use crate::commands::args::FlowRef;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::flows::diff::{self, Change};
use crate::flows::report::show_changes;
use crate::output::{Output, Render, confirm};

/// Write an earlier revision's source as the flow's new revision (shows the diff, asks first)
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = concat!("Examples:\n  ", "kestractl flows rollback company.team hello --to 3\n  kestractl flows rollback company.team/hello --to 3 --yes"))]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,
    /// The revision whose source to restore
    #[arg(long, value_name = "REVISION")]
    pub to: i64,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let (namespace, id) = self.flow.resolve()?;
        rollback(ctx, &namespace, &id, self.to).await
    }
}

/// `flows rollback`: the new revision written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RollbackReport {
    namespace: String,
    id: String,
    restored_from: i64,
    /// The revision the server gave the restored source; `None` when nothing had to change.
    revision: Option<i64>,
}

impl Render for RollbackReport {
    fn human(&self, out: &Output) -> Result<()> {
        let line = match self.revision {
            Some(r) => format!(
                "{}/{} is now revision {r}, with the source of revision {}",
                self.namespace, self.id, self.restored_from
            ),
            None => format!(
                "{}/{} already has the source of revision {}: nothing was written",
                self.namespace, self.id, self.restored_from
            ),
        };
        out.print(&format!("{line}\n"))
    }
}

async fn rollback(ctx: &Ctx, namespace: &str, id: &str, to: i64) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    let list = client
        .flows()
        .revisions(namespace, id)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    let (Some(current), Some(target)) = (
        list.iter().max_by_key(|f| f.revision),
        list.iter().find(|f| f.revision == Some(to)),
    ) else {
        let known: Vec<String> = list
            .iter()
            .filter_map(|f| f.revision.map(|r| r.to_string()))
            .collect();
        return Err(Error::not_found(
            format!("{namespace}/{id} has no revision {to}"),
            if known.is_empty() {
                format!("`kestractl flows list {namespace}` lists the flows of that namespace")
            } else {
                format!("its revisions: {}", known.join(", "))
            },
        ));
    };
    let (Some(now), Some(then)) = (current.source.as_deref(), target.source.as_deref()) else {
        return Err(Error::server(
            format!("the server sent the revisions of {namespace}/{id} without their source"),
            "check the server's version with `kestractl server info`",
        ));
    };
    if now == then {
        ctx.out.emit(&RollbackReport {
            namespace: namespace.into(),
            id: id.into(),
            restored_from: to,
            revision: None,
        })?;
        return Ok(Exit::Ok);
    }
    // What will change, before anything does.
    let label = format!("{namespace}/{id}");
    let changes = [Change {
        namespace: namespace.into(),
        id: id.into(),
        action: "update",
        file: None,
        diff: Some(diff::unified(
            &label,
            ("current", &format!("revision {to}")),
            now,
            then,
        )),
    }];
    if !ctx.out.is_structured() {
        show_changes(&ctx.out, &changes)?;
    }
    if !ctx.global.yes {
        confirm(
            &format!("Write revision {to}'s source as the new revision of {label}?"),
            "a rollback writes a new revision",
            "nothing was written",
        )
        .await?;
    }
    let written = client
        .flows()
        .update(namespace, id, then)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    ctx.out.emit(&RollbackReport {
        namespace: namespace.into(),
        id: id.into(),
        restored_from: to,
        revision: written.revision,
    })?;
    Ok(Exit::Ok)
}
