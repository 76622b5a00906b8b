//! `kestractl nsfiles delete`: a file, or a folder with everything under it, after a question.

use super::{NsfilePath, missing};
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::kestra::nsfiles::server_path;
use crate::output::{self, confirm};

/// Delete a file, or a folder with everything under it (asks first; --yes to confirm) (alias: rm)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "rm",
    after_help = "Examples:\n  kestractl nsfiles delete company.team scripts/old.py\n  kestractl nsfiles delete company.team scripts --yes"
)]
pub struct Args {
    #[command(flatten)]
    pub file: NsfilePath,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        delete(ctx, &self.file).await
    }
}

async fn delete(ctx: &Ctx, p: &NsfilePath) -> Result<Exit> {
    crate::commands::namespace_arg(&p.namespace, "check the namespace")?;
    let path = server_path(&p.path);
    if path == "/" {
        return Err(Error::usage(
            "kestractl does not delete a namespace's whole file tree at once",
            "delete its folders one by one, or push an empty folder with --prune",
        ));
    }
    let client = ctx.kestra().await?;
    // Kestra answers 200 for a path that does not exist: it is checked first, so a typo says so.
    let stats = client
        .nsfiles(&p.namespace)
        .stats(&path)
        .await
        .map_err(|e| missing(&p.namespace, &path, e))?;
    let what = if stats.is_directory() {
        let inside = client.nsfiles(&p.namespace).tree(&path).await?.len();
        format!(
            "folder {path} of {} and the {} under it",
            p.namespace,
            output::count(inside, "file")
        )
    } else {
        format!("{path} of {}", p.namespace)
    };
    if !ctx.global.yes {
        confirm(
            &format!("Delete {what}?"),
            "deleting namespace files",
            "nothing was deleted",
        )
        .await?;
    }
    client.nsfiles(&p.namespace).delete(&path).await?;
    ctx.out.note(&format!("Deleted {what}"));
    Ok(Exit::Ok)
}
