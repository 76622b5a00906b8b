//! `kestractl manifest [--merge FILE]`: the ops repository's services-manifest entry for this
//! stack, printed, or merged into an existing manifest without touching its other entries.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::output::{Output, Render};
use crate::settings::stack::StackFlags;
use crate::stack::services_manifest::{self, MergeError, Merged};

const LONG: &str = "Print the entry an ops repository's `config/services-manifest.json` \
needs for this stack: id `kestra-orchestrator`, stack `tools`, `managed`, the start, stop, status \
(`status --probe`) and logs commands, the health URL on the management port, the UI URL, the ports and the \
container names, from the same settings `start` uses (.env, environment).\n\n\
--merge FILE inserts or updates that one entry in an existing manifest (a JSON list of \
services, or an object holding one, e.g. under `services`), leaving every other entry as the \
text it was, and writes the file atomically with its permissions kept. A second run changes \
nothing. A file that is not JSON, or holds no list, is refused with the line and column and \
left untouched (exit 5).";

/// The ops repository's services-manifest entry (kestra-orchestrator, stack tools); --merge FILE updates it in place
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG, after_help = "Examples:\n  kestractl manifest\n  kestractl manifest --merge config/services-manifest.json")]
pub struct Args {
    /// Insert or update the entry in this manifest file instead of printing it
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub merge: Option<std::path::PathBuf>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        manifest(ctx, &self).await
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MergeReport {
    file: PathBuf,
    id: &'static str,
    action: Merged,
}

impl Render for MergeReport {
    fn human(&self, out: &Output) -> Result<()> {
        let what = match self.action {
            Merged::Added => "added to",
            Merged::Updated => "updated in",
            Merged::Unchanged => "already up to date in",
        };
        out.print(&format!("{} {what} {}\n", self.id, self.file.display()))
    }
}

async fn manifest(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    let entry = services_manifest::entry(&stack);
    let Some(file) = &args.merge else {
        let text = serde_json::to_string_pretty(&entry).map_err(anyhow::Error::from)?;
        ctx.out.print(&format!("{text}\n"))?;
        return Ok(Exit::Ok);
    };
    let action = merge_into(file, &entry)?;
    ctx.out.emit(&MergeReport {
        file: file.clone(),
        id: services_manifest::SERVICE_ID,
        action,
    })?;
    Ok(Exit::Ok)
}

/// A services manifest is a few KiB; a file far larger is not one.
const MAX_MANIFEST: u64 = 16 << 20;

fn merge_into(file: &Path, entry: &serde_json::Value) -> Result<Merged> {
    let text = match crate::fsutil::read_rewritable(file, MAX_MANIFEST)? {
        Some(t) => t,
        None => {
            return Err(Error::usage(
                format!("{} does not exist", file.display()),
                format!(
                    "--merge updates an existing manifest; start one with `echo '[]' > {}`, or \
                     print the entry alone with `kestractl manifest`",
                    file.display()
                ),
            ));
        }
    };
    let unchanged = "fix it and run again; it was not changed";
    let (merged, action) = services_manifest::merge(&text, entry).map_err(|e| match e {
        MergeError::Invalid(why) => Error::damaged(
            format!("{} is not valid JSON: {why}", file.display()),
            unchanged,
        ),
        MergeError::NoList => Error::damaged(
            format!(
                "{} holds no list of services (a JSON list, or an object with one, e.g. under \
                 `services`)",
                file.display()
            ),
            unchanged,
        ),
    })?;
    if action != Merged::Unchanged {
        crate::fsutil::write_atomic(file, merged.as_bytes(), mode_of(file))?;
    }
    Ok(action)
}

/// The file keeps its permissions.
fn mode_of(file: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(file)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        None
    }
}
