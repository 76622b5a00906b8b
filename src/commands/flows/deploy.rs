//! `kestractl flows deploy`: read a folder of flows, check every file (locally and on the server) in one pass, plan against the server (create, update, unchanged, delete with --prune), then apply.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use super::{file_sets, invalid_input, print_problems};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::flows::apply::{Written, apply};
use crate::flows::diff;
use crate::flows::plan::{Action, PlanItem, RemoteFlow, plan};
use crate::flows::remote::Validated;
use crate::flows::report::DeployReport;
use crate::flows::source::Head;
use crate::flows::{FileProblem, LocalFlow, check, remote, scan};
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
    let (flows, remote, items, file_sets) = checked(ctx, args, &progress).await?;
    let client = ctx.kestra().await?;
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

/// What a checked deploy will do: the flows, the server's copies, the plan, and the `_files/`
/// folders beside the flows.
type Checked = (
    Vec<LocalFlow>,
    Vec<RemoteFlow>,
    Vec<PlanItem>,
    Vec<(String, Vec<LocalFile>)>,
);

/// Reads the folder and the server, plans, then checks every flow the deploy will write (creates
/// and updates; an unchanged flow is the server's own copy already, not even parsed again),
/// locally and on the server, in one pass: every problem of every file is listed, and nothing is
/// written if there is any. The server checks the flows to write while they are parsed here.
async fn checked(ctx: &Ctx, args: &Args, progress: &Progress) -> Result<Checked> {
    let scanned = scan(&args.path, args.namespace.as_deref())?;
    // `_files/` folders beside the flows: their namespace is settled (from the flows' heads), and
    // their files found, before anything is sent.
    let mut folder_problems = Vec::new();
    let file_sets = file_sets(
        &args.path,
        &scanned.pending(|_, _| false),
        args.namespace.as_deref(),
        &mut folder_problems,
    )?;
    let namespaces = scanned.namespaces();
    let read = if namespaces.is_empty() {
        Ok(Vec::new())
    } else {
        read_server(ctx, &namespaces, progress).await
    };
    let mut copies = ServerCopies::new();
    for r in read.iter().flatten() {
        if let Some(source) = &r.source {
            copies
                .entry(r.namespace.clone())
                .or_default()
                .insert(r.id.clone(), source.clone());
        }
    }
    let pending = scanned.pending(|head, text| is_copy(&copies, head, text));
    let parse = tokio::task::spawn_blocking(move || {
        scanned.finish(|head, text| is_copy(&copies, head, text), true)
    });
    let validate = async {
        if read.is_err() || pending.is_empty() {
            return Ok(None);
        }
        progress.step(&format!(
            "validating {} on the server",
            count(pending.len(), "flow")
        ));
        let refs: Vec<&LocalFlow> = pending.iter().collect();
        remote::validate(ctx.kestra().await?, &refs).await.map(Some)
    };
    let (parsed, validated) = tokio::join!(parse, validate);
    let (flows, mut problems) = match parsed {
        Ok(done) => done,
        // Parsing can only panic on a bug: carried on as the same panic.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    problems.extend(folder_problems);
    // No flow loaded while some file is broken: nothing for the server to plan or check.
    let server = if flows.is_empty() && !problems.is_empty() {
        Ok(None)
    } else {
        read.and_then(|remote| {
            let validated = validated?;
            Ok(Some(planned(ctx, args, &flows, remote, validated)))
        })
    };
    let planned = match server {
        Ok(Some((remote, items, found))) => {
            let found = check::new_from_server(&problems, found);
            problems.extend(found);
            Some((remote, items))
        }
        Ok(None) => None,
        // With local problems, a server that cannot check the rest does not hide them.
        Err(e) if !problems.is_empty() => {
            progress.finish();
            ctx.out.warn(&format!(
                "the server's checks could not run: {}",
                e.message()
            ));
            None
        }
        Err(e) => return Err(e),
    };
    match planned {
        Some((remote, items)) if problems.is_empty() => Ok((flows, remote, items, file_sets)),
        _ => {
            progress.finish();
            let problems = check::sorted(problems);
            print_problems(ctx, &problems);
            Err(invalid_input(problems.len(), "nothing was deployed"))
        }
    }
}

/// The server's sources by namespace, then id (looked up by borrowed names: twice per document).
type ServerCopies = HashMap<String, HashMap<String, String>>;

/// Whether the server holds exactly `text` for this head.
fn is_copy(copies: &ServerCopies, head: &Head, text: &str) -> bool {
    copies
        .get(&head.namespace)
        .and_then(|flows| flows.get(&head.id))
        .is_some_and(|source| source == text)
}

/// What the server holds in the folder's namespaces (after the version probe).
async fn read_server(
    ctx: &Ctx,
    namespaces: &BTreeSet<String>,
    progress: &Progress,
) -> Result<Vec<RemoteFlow>> {
    let client = ctx.kestra().await?;
    client.discover().await?;
    progress.step(&format!(
        "reading {} from the server",
        count(namespaces.len(), "namespace")
    ));
    remote::read_namespaces(client, namespaces).await
}

/// The plan against the server's copies of the flows' namespaces, and what the server said of
/// the flows it writes (creates and updates: the flows checked while they were parsed, of which
/// only those that loaded and will be written count; their warnings are said here).
fn planned(
    ctx: &Ctx,
    args: &Args,
    flows: &[LocalFlow],
    remote: Vec<RemoteFlow>,
    validated: Option<Validated>,
) -> (Vec<RemoteFlow>, Vec<PlanItem>, Vec<FileProblem>) {
    let items: Vec<PlanItem> = plan(flows, &remote, args.prune);
    let writes: Vec<&LocalFlow> = items
        .iter()
        .filter(|i| matches!(i.action, Action::Create | Action::Update))
        .filter_map(|i| i.local.and_then(|l| flows.get(l)))
        .collect();
    let Some(validated) = validated else {
        return (remote, items, Vec::new());
    };
    for w in validated.warnings.iter().filter(|w| {
        writes
            .iter()
            .any(|f| w.starts_with(&format!("{}:{}: ", f.file, f.first_line)))
    }) {
        ctx.out.warn(w);
    }
    let found = validated
        .problems
        .into_iter()
        .filter(|p| writes.iter().any(|f| check::is_about(p, f, flows)))
        .collect();
    (remote, items, found)
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
