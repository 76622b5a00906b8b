//! `kestractl flows deploy`: read a folder of flows, check every file (locally and on the server) in one pass, plan against the server (create, update, unchanged, delete with --prune), then apply.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{file_sets, invalid_input, print_problems, validate_with_warnings};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::flows::apply::{Written, apply};
use crate::flows::diff;
use crate::flows::plan::{Action, PlanItem, plan};
use crate::flows::report::DeployReport;
use crate::flows::{LocalFlow, check, load, remote};
use crate::kestra::KestraClient;
use crate::nsfiles::{LocalFile, push};
use crate::output::progress::Progress;
use crate::output::{confirm, count};
use crate::signals::Interrupt;

const LONG: &str = "Deploy every flow of a folder.\n\n\
Reads every *.yml and *.yaml under PATH (hidden files and folders skipped; several flows per file \
separated by `---` lines), validates them locally (YAML, ids, namespaces, tasks, duplicates) and \
then on the server, in batches. If anything is invalid, nothing is written and every problem is \
listed (exit 5).\n\n\
It then plans against the server, reading each namespace's sources in one request: create, \
update, unchanged (byte-for-byte the same: not rewritten, so its revision does not move) and, \
with --prune, delete (only flows of the namespaces PATH deploys, never `system`, after a \
confirmation). The plan is applied with concurrent writes; each flow's result is reported, and the \
exit code is 1 if any write failed.";

/// Deploy every flow of a folder: validate, plan against the server, then apply (alias: apply)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "apply",
    long_about = LONG,
    after_help = concat!("Examples:\n  ", "kestractl flows deploy flows/\n  kestractl flows deploy flows/ --dry-run --diff\n  kestractl flows deploy flows/team --namespace company.team --prune")
)]
pub struct Args {
    /// Folder (or file) of flows
    #[arg(default_value = "flows", value_hint = clap::ValueHint::DirPath)]
    pub path: PathBuf,

    /// Deploy every flow into this namespace (rewrites only their top-level `namespace:` value)
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Also delete the server's flows that the folder no longer has, in the namespaces it deploys
    #[arg(long)]
    pub prune: bool,

    /// Show the plan and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Stop at the first failed write
    #[arg(long)]
    pub fail_fast: bool,

    /// Show a unified diff of each flow the deploy updates (with --dry-run: would update)
    #[arg(long)]
    pub diff: bool,

    /// How many writes run at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

impl Run for Args {
    fn interrupt(&self) -> Interrupt {
        Interrupt::Stop {
            after: "flows written so far stay on the server: `kestractl flows deploy` again \
                    converges (unchanged flows are not rewritten)",
        }
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        deploy(ctx, &self).await
    }
}

async fn deploy(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let progress = Progress::new();
    let (flows, file_sets) = checked(ctx, args, &progress).await?;
    let client = ctx.kestra().await?;
    let namespaces: BTreeSet<String> = flows.iter().map(|f| f.namespace.clone()).collect();
    progress.step(&format!(
        "reading {} from the server",
        count(namespaces.len(), "namespace")
    ));
    let remote = remote::read_namespaces(client, &namespaces).await?;
    let items: Vec<PlanItem> = plan(&flows, &remote, args.prune);
    if !args.dry_run && !ctx.global.yes {
        confirm_deletions(ctx, &items, &progress).await?;
    }

    // Namespace files before flows: a flow started right after the deploy finds its files.
    let options = push::Options {
        prune: args.prune,
        dry_run: args.dry_run,
        fail_fast: args.fail_fast,
        concurrency: usize::from(args.concurrency),
        yes: ctx.global.yes,
    };
    let mut files = Vec::new();
    for (namespace, local) in &file_sets {
        files.push(push::push(client, namespace, local, &options, &progress, &ctx.out).await?);
    }
    let outcomes = if args.dry_run {
        None
    } else {
        Some(write_flows(client, &flows, &items, args, &progress).await)
    };
    progress.finish();

    let changes = if args.diff {
        diff::changes(&items, &flows, &remote)
    } else {
        Vec::new()
    };
    let report = DeployReport::new(&items, &flows, outcomes.as_deref(), files, changes);
    ctx.out.emit(&report)?;
    report.show_failures(&ctx.out);
    report.exit(args.fail_fast)
}

/// Loads the folder and checks every flow, locally and on the server, in one pass: every problem
/// of every file is listed, and nothing goes further if there is any. Returns the flows and the
/// `_files/` folders beside them.
async fn checked(
    ctx: &Ctx,
    args: &Args,
    progress: &Progress,
) -> Result<(Vec<LocalFlow>, Vec<(String, Vec<LocalFile>)>)> {
    let (flows, mut problems) = load(&args.path, args.namespace.as_deref())?;
    // `_files/` folders beside the flows: their namespace is settled, and their files found, before
    // anything is written.
    let file_sets = file_sets(&args.path, &flows, args.namespace.as_deref(), &mut problems)?;
    problems.extend(check::local_checks(&flows));
    let server = async {
        // No flow loaded (every file broken): nothing for the server to check.
        if flows.is_empty() {
            return Ok(Vec::new());
        }
        let client = ctx.kestra().await?;
        client.discover().await?;
        progress.step(&format!(
            "validating {} on the server",
            count(flows.len(), "flow")
        ));
        validate_with_warnings(ctx, client, &flows).await
    }
    .await;
    match server {
        Ok(found) => {
            let found = check::new_from_server(&problems, found);
            problems.extend(found);
        }
        // With local problems, a server that cannot check the rest does not hide them.
        Err(e) if !problems.is_empty() => {
            progress.finish();
            ctx.out.warn(&format!(
                "the server's checks could not run: {}",
                e.message()
            ));
        }
        Err(e) => return Err(e),
    }
    if !problems.is_empty() {
        progress.finish();
        let problems = check::sorted(problems);
        print_problems(ctx, &problems);
        return Err(invalid_input(problems.len(), "nothing was deployed"));
    }
    Ok((flows, file_sets))
}

/// With --prune, the flows the deploy would delete are listed and confirmed first.
async fn confirm_deletions(ctx: &Ctx, items: &[PlanItem], progress: &Progress) -> Result<()> {
    let deletions: Vec<&PlanItem> = items
        .iter()
        .filter(|i| i.action == Action::Delete)
        .collect();
    if deletions.is_empty() {
        return Ok(());
    }
    progress.finish();
    ctx.out.note(&format!(
        "--prune would delete {} the folder no longer has:",
        count(deletions.len(), "flow")
    ));
    for d in &deletions {
        ctx.out.note(&format!("  {}/{}", d.namespace, d.id));
    }
    confirm(
        "Deploy and delete them?",
        "--prune deletes flows",
        "nothing was deployed or deleted (deploy without --prune to keep them)",
    )
    .await
}

/// Applies the plan's writes, counting them on the progress line.
async fn write_flows(
    client: &KestraClient,
    flows: &[LocalFlow],
    items: &[PlanItem],
    args: &Args,
    progress: &Progress,
) -> Vec<Written> {
    let writes = items.iter().filter(|i| i.action.is_write()).count();
    let show = |done: usize, total: usize| {
        progress.step(&format!("writing flows: {done}/{total}"));
    };
    if writes > 0 {
        progress.step(&format!("writing flows: 0/{writes}"));
    }
    apply(
        client,
        flows,
        items,
        usize::from(args.concurrency),
        args.fail_fast,
        &show,
    )
    .await
}
