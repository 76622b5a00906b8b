//! `kestractl kv get`: one value, as is for people (so `$(kestractl kv get …)` is the value).

use serde::Serialize;

use super::{KvKey, check, missing};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::kestra::kv::KvDetail;
use crate::output::{Output, Render};

/// Print a value: text as is, anything else as JSON (the whole entry with -o json)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl kv get company.team db.url\n  kestractl kv get company.team settings -o json"
)]
pub struct Args {
    #[command(flatten)]
    pub key: KvKey,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        get(ctx, &self.key).await
    }
}

async fn get(ctx: &Ctx, k: &KvKey) -> Result<Exit> {
    check(k)?;
    let client = ctx.kestra().await?;
    let detail = client
        .kv(&k.namespace)
        .get(&k.key)
        .await
        .map_err(|e| missing(k, e))?;
    ctx.out.emit(&ValueView {
        namespace: k.namespace.clone(),
        key: k.key.clone(),
        detail,
    })?;
    Ok(Exit::Ok)
}

/// One value; for people the value alone, so `$(kestractl kv get …)` is the value.
#[derive(Serialize)]
struct ValueView {
    namespace: String,
    key: String,
    #[serde(flatten)]
    detail: KvDetail,
}

impl Render for ValueView {
    fn human(&self, out: &Output) -> Result<()> {
        match &self.detail.value {
            serde_json::Value::String(s) => out.print(&format!("{s}\n")),
            other => out.print(&format!("{other}\n")),
        }
    }
}
