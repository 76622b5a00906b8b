//! `kestractl kv list`: a namespace's keys (not its children's).

use serde::Serialize;

use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::kestra::kv::KvEntry;
use crate::output::{self, Output, Render};
use clap_complete::engine::ArgValueCompleter;

/// A namespace's keys (not its children's): description, updated, expiry (alias: ls)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "ls",
    after_help = "Examples:\n  kestractl kv list company.team\n  kestractl kv list company.team -q"
)]
pub struct Args {
    /// The namespace whose keys to list
    #[arg(add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: String,
    /// Only the keys, one per line (for scripts)
    #[arg(short, long)]
    pub quiet: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        list(ctx, &self.namespace, self.quiet).await
    }
}

async fn list(ctx: &Ctx, namespace: &str, quiet: bool) -> Result<Exit> {
    crate::commands::namespace_arg(namespace, "check the namespace")?;
    let client = ctx.kestra().await?;
    let entries = client.kv(namespace).list().await?;
    ctx.out.emit(&KeyList {
        entries,
        namespace: namespace.into(),
        quiet,
    })?;
    Ok(Exit::Ok)
}

/// The keys; as JSON, the list alone.
#[derive(Serialize)]
#[serde(transparent)]
struct KeyList {
    entries: Vec<KvEntry>,
    #[serde(skip)]
    namespace: String,
    #[serde(skip)]
    quiet: bool,
}

impl Render for KeyList {
    fn human(&self, out: &Output) -> Result<()> {
        if self.quiet {
            let keys: String = self
                .entries
                .iter()
                .map(|e| format!("{}\n", e.key))
                .collect();
            return out.print(&keys);
        }
        if self.entries.is_empty() {
            out.note(&format!("no keys in namespace {}", self.namespace));
            return Ok(());
        }
        let now = time::OffsetDateTime::now_utc();
        let rows: Vec<Vec<String>> = self
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.key.clone(),
                    e.description.clone().unwrap_or_default(),
                    out.time_cell(e.update_date.as_deref(), now),
                    match e.expiration_date.as_deref() {
                        Some(t) => out.time_cell(Some(t), now),
                        None => "never".into(),
                    },
                ]
            })
            .collect();
        out.table(&["KEY", "DESCRIPTION", "UPDATED", "EXPIRES"], &rows)?;
        out.note(&output::count(self.entries.len(), "key"));
        Ok(())
    }
}
