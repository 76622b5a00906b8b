//! `kestractl nsfiles push`: a folder pushed as a namespace's files, with a plan (the push is
//! library work: `nsfiles::push`, which `flows deploy` runs for a `_files/` folder too).

use std::path::PathBuf;

use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::nsfiles::{self, push};
use crate::output::progress::Progress;
use clap_complete::engine::ArgValueCompleter;

const LONG: &str = "Push a folder as a namespace's files.\n\n\
Every file under DIR (hidden files and folders skipped) is stored at its path relative to DIR. \
The plan is made against the server first: a file absent there is created, one of another size \
updated, and one of the same size read back and compared byte for byte, so a file already there \
is not rewritten and its revision does not move. With --prune, the namespace's files that DIR \
no longer has are deleted, after a confirmation. Writes run concurrently; each file's result is \
reported, and the exit code is 1 if any write failed.\n\n\
Refused before anything is sent: a `_flows/` folder at the top of DIR (Kestra imports files there \
as flows), a name longer than 255 characters, and two files Kestra would store at the same path \
(it turns spaces in paths into `+`).\n\n\
`kestractl flows deploy` ships a `_files/` folder beside a namespace's flows the same way.";

/// Push a folder as the namespace's files: plan, unchanged files not rewritten, --prune
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = LONG,
    after_help = "Examples:\n  kestractl nsfiles push company.team scripts/\n  kestractl nsfiles push company.team scripts/ --dry-run\n  kestractl nsfiles push company.team scripts/ --prune --yes"
)]
pub struct Args {
    /// The namespace to push into
    #[arg(value_name = "NAMESPACE", index = 1, add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: String,
    /// The folder whose files to push
    #[arg(value_name = "DIR", index = 2, value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
    /// Also delete the namespace's files that DIR no longer has (asks first)
    #[arg(long)]
    pub prune: bool,
    /// Show the plan and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Stop at the first failed write
    #[arg(long)]
    pub fail_fast: bool,
    /// How many reads and writes run at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        push_command(ctx, &self).await
    }
}

async fn push_command(ctx: &Ctx, args: &Args) -> Result<Exit> {
    crate::commands::namespace_arg(&args.namespace, "check the namespace")?;
    let local = nsfiles::discover(&args.dir)?;
    let client = ctx.kestra().await?;
    let progress = Progress::new();
    let report = push::push(
        client,
        &args.namespace,
        &local,
        &push::Options {
            prune: args.prune,
            dry_run: args.dry_run,
            fail_fast: args.fail_fast,
            concurrency: usize::from(args.concurrency),
            yes: ctx.global.yes,
        },
        &progress,
        &ctx.out,
    )
    .await?;
    progress.finish();
    ctx.out.emit(&report)?;
    Ok(if report.failed() {
        Exit::Error
    } else {
        Exit::Ok
    })
}
