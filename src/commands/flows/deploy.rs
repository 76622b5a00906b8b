//! `kestractl flows deploy`: read a folder of flows, check every file (locally and on the server) in one pass, plan against the server (create, update, unchanged, delete with --prune), then apply.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use super::{file_sets, invalid_input, print_problems, show_changes, validate_with_warnings};
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::flows::apply::{Outcome, apply};
use crate::flows::diff::{self, Change};
use crate::flows::plan::{Action, PlanItem, Summary, plan};
use crate::flows::{check, load, remote};
use crate::output::progress::Progress;
use crate::output::{Output, Render, Style, confirm, count};
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

#[derive(Debug, Serialize)]
struct PlanRow {
    file: Option<String>,
    namespace: String,
    id: String,
    action: Action,
    /// After the deploy: the revision the server answered with; otherwise the current one.
    revision: Option<i64>,
    /// `planned` (dry run), `unchanged`, `done`, `failed` or `skipped`.
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeployReport {
    dry_run: bool,
    plan: Vec<PlanRow>,
    summary: Summary,
    /// The namespace files of `_files/` folders, one push per namespace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<crate::nsfiles::push::PushReport>,
    /// With --diff: each change, an update with its unified diff.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changes: Vec<Change>,
    /// Each row's action as shown to a person (`create`, `updated`, `failed`…).
    #[serde(skip)]
    words: Vec<&'static str>,
}

fn action_word(action: Action, outcome: Option<&Outcome>) -> &'static str {
    match (outcome, action) {
        (Some(Outcome::Failed { .. }), _) => "failed",
        (Some(Outcome::Skipped), _) => "skipped",
        (None, Action::Create) => "create",
        (None, Action::Update) => "update",
        (None, Action::Delete) => "delete",
        (_, Action::Unchanged) => "unchanged",
        (Some(_), Action::Create) => "created",
        (Some(_), Action::Update) => "updated",
        (Some(_), Action::Delete) => "deleted",
    }
}

impl Render for DeployReport {
    fn human(&self, out: &Output) -> Result<()> {
        show_changes(out, &self.changes)?;
        let report = self;
        let rows: Vec<Vec<String>> = report
            .plan
            .iter()
            .zip(&report.words)
            .map(|(row, word)| {
                let style = match *word {
                    "create" | "created" => Style::Green,
                    "update" | "updated" => Style::Yellow,
                    "delete" | "deleted" | "failed" => Style::Red,
                    _ => Style::Dim,
                };
                vec![
                    row.file.clone().unwrap_or_else(|| "-".into()),
                    row.namespace.clone(),
                    row.id.clone(),
                    out.paint(style, word),
                    row.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                ]
            })
            .collect();
        out.table(&["FILE", "NAMESPACE", "FLOW", "ACTION", "REVISION"], &rows)?;
        let s = report.summary;
        let verb = if report.dry_run { "would be " } else { "" };
        let summary = format!(
            "{} {verb}created, {} {verb}updated, {} unchanged, {} {verb}deleted, {} failed{}",
            s.created,
            s.updated,
            s.unchanged,
            s.deleted,
            s.failed,
            if report.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        );
        if out.format == crate::output::Format::Table {
            out.print(&format!("{summary}\n"))?;
        } else {
            // Piped: stdout stays one row per flow for scripts; the log gets the totals last.
            out.note(&summary);
        }
        for pushed in &self.files {
            if out.format == crate::output::Format::Table {
                out.print("\n")?;
                out.table(&["FILE", "PATH", "ACTION"], &pushed.rows(out))?;
                pushed.show_failures(out);
                out.print(&format!("namespace files of {}\n", pushed.totals()))?;
            } else {
                pushed.show_failures(out);
                out.note(&format!("namespace files of {}", pushed.totals()));
            }
        }
        Ok(())
    }
}

async fn deploy(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let (flows, mut problems) = load(&args.path, args.namespace.as_deref())?;
    // `_files/` folders beside the flows: their namespace is settled, and their files found, before
    // anything is written.
    let file_sets = file_sets(&args.path, &flows, args.namespace.as_deref(), &mut problems)?;
    problems.extend(check::local_checks(&flows));
    // Every problem of every file in one pass: the local ones and the server's, then nothing
    // is written if there is any. With local problems, a server that cannot check the rest
    // does not hide them.
    let progress = Progress::new();
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
        Err(e) if !problems.is_empty() => {
            progress.finish();
            ctx.out.warn(&format!(
                "the server's checks could not run: {}",
                e.message()
            ));
        }
        Err(e) => return Err(e),
    }
    let client = ctx.kestra().await?;
    if !problems.is_empty() {
        progress.finish();
        let problems = check::sorted(problems);
        print_problems(ctx, &problems);
        return Err(invalid_input(problems.len(), "nothing was deployed"));
    }
    let namespaces: BTreeSet<String> = flows.iter().map(|f| f.namespace.clone()).collect();
    progress.step(&format!(
        "reading {} from the server",
        count(namespaces.len(), "namespace")
    ));
    let remote = remote::read_namespaces(client, &namespaces).await?;
    let items: Vec<PlanItem> = plan(&flows, &remote, args.prune);

    let deletions: Vec<&PlanItem> = items
        .iter()
        .filter(|i| i.action == Action::Delete)
        .collect();
    if !args.dry_run && !deletions.is_empty() && !ctx.global.yes {
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
        .await?;
    }

    // Namespace files before flows: a flow started right after the deploy finds its files.
    let mut files = Vec::new();
    for (namespace, local) in &file_sets {
        let opts = crate::nsfiles::push::Options {
            prune: args.prune,
            dry_run: args.dry_run,
            fail_fast: args.fail_fast,
            concurrency: usize::from(args.concurrency),
            yes: ctx.global.yes,
        };
        files.push(
            crate::nsfiles::push::push(client, namespace, local, &opts, &progress, &ctx.out)
                .await?,
        );
    }

    let outcomes: Option<Vec<Outcome>> = if args.dry_run {
        None
    } else {
        let writes = items.iter().filter(|i| i.action.is_write()).count();
        let show = |done: usize, total: usize| {
            progress.step(&format!("writing flows: {done}/{total}"));
        };
        if writes > 0 {
            progress.step(&format!("writing flows: 0/{writes}"));
        }
        Some(
            apply(
                client,
                &flows,
                &items,
                usize::from(args.concurrency),
                args.fail_fast,
                &show,
            )
            .await,
        )
    };
    progress.finish();

    let mut summary = Summary::default();
    let mut rows = Vec::new();
    let mut words = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let outcome = outcomes.as_ref().map(|o| &o[i]);
        let (revision, result, error) = match outcome {
            None => (
                item.revision,
                if item.action == Action::Unchanged {
                    "unchanged"
                } else {
                    "planned"
                },
                None,
            ),
            Some(Outcome::Unchanged) => (item.revision, "unchanged", None),
            Some(Outcome::Done { revision }) => (revision.or(item.revision), "done", None),
            Some(Outcome::Failed { error }) => (item.revision, "failed", Some(error.clone())),
            Some(Outcome::Skipped) => (item.revision, "skipped", None),
        };
        match (result, item.action) {
            ("failed", _) => summary.failed += 1,
            ("skipped", _) => {}
            (_, Action::Create) => summary.created += 1,
            (_, Action::Update) => summary.updated += 1,
            (_, Action::Unchanged) => summary.unchanged += 1,
            (_, Action::Delete) => summary.deleted += 1,
        }
        words.push(action_word(item.action, outcome));
        rows.push(PlanRow {
            file: item.local.map(|l| flows[l].file.clone()),
            namespace: item.namespace.clone(),
            id: item.id.clone(),
            action: item.action,
            revision,
            result,
            error,
        });
    }
    let report = DeployReport {
        dry_run: args.dry_run,
        plan: rows,
        summary,
        files,
        changes: if args.diff {
            diff::changes(&items, &flows, &remote)
        } else {
            Vec::new()
        },
        words,
    };
    ctx.out.emit(&report)?;
    let failures: Vec<&PlanRow> = report.plan.iter().filter(|r| r.error.is_some()).collect();
    for f in &failures {
        ctx.out.note(&format!(
            "{} {}: {}/{}: {}",
            ctx.out.paint(Style::Red, "✗"),
            f.file.as_deref().unwrap_or("-"),
            f.namespace,
            f.id,
            f.error.as_deref().unwrap_or("")
        ));
    }
    if !failures.is_empty() {
        let skipped = report.plan.iter().filter(|r| r.result == "skipped").count();
        return Err(Error::server(
            format!(
                "{} failed to deploy{}",
                count(failures.len(), "flow"),
                if skipped > 0 && args.fail_fast {
                    format!(" and {skipped} were not attempted (--fail-fast)")
                } else if skipped > 0 {
                    format!(" and {skipped} were not attempted: the server stopped answering")
                } else {
                    String::new()
                }
            ),
            {
                let written = report.plan.iter().filter(|r| r.result == "done").count();
                if written == 0 {
                    "nothing was written; fix the cause and run deploy again".into()
                } else {
                    format!(
                        "the other {} written; fix the cause and run deploy again (unchanged \
                         flows are not rewritten)",
                        if written == 1 {
                            "change was".to_string()
                        } else {
                            format!("{written} changes were")
                        }
                    )
                }
            },
        ));
    }
    let failed_files: usize = report.files.iter().map(|f| f.summary.failed).sum();
    if failed_files > 0 {
        return Err(Error::server(
            format!("{} failed to push", count(failed_files, "namespace file")),
            "the flows were deployed; fix the cause and run deploy again (files and flows \
             already there are not rewritten)",
        ));
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;

    fn report(dry_run: bool) -> DeployReport {
        let row = |id: &str, action: Action, result: &'static str| PlanRow {
            file: Some(format!("{id}.yml")),
            namespace: "company.team".into(),
            id: id.into(),
            action,
            revision: Some(2),
            result,
            error: None,
        };
        DeployReport {
            dry_run,
            plan: vec![
                row("a", Action::Create, "done"),
                row("b", Action::Unchanged, "unchanged"),
            ],
            files: Vec::new(),
            summary: Summary {
                created: 1,
                unchanged: 1,
                ..Summary::default()
            },
            changes: Vec::new(),
            words: vec!["created", "unchanged"],
        }
    }

    #[test]
    fn a_deploy_report_renders_for_people_and_for_scripts() {
        let (out, seen) = Output::capturing(Format::Table);
        out.emit(&report(false)).unwrap();
        let text = seen.lock().unwrap().stdout.clone();
        assert!(
            text.starts_with("FILE   NAMESPACE     FLOW  ACTION     REVISION\n"),
            "{text}"
        );
        assert!(
            text.contains("a.yml  company.team  a     created    2\n"),
            "{text}"
        );
        assert!(
            text.ends_with("1 created, 0 updated, 1 unchanged, 0 deleted, 0 failed\n"),
            "{text}"
        );
        // A dry run says so; piped, rows are tab-separated and the summary goes to the log.
        let (out, seen) = Output::capturing(Format::Table);
        out.emit(&report(true)).unwrap();
        assert!(seen.lock().unwrap().stdout.contains(
            "1 would be created, 0 would be updated, 1 unchanged, 0 would be deleted, 0 failed \
             (dry run: nothing written)"
        ));
        let (out, seen) = Output::capturing(Format::Plain);
        out.emit(&report(false)).unwrap();
        assert_eq!(
            seen.lock().unwrap().stdout,
            "a.yml\tcompany.team\ta\tcreated\t2\nb.yml\tcompany.team\tb\tunchanged\t2\n"
        );
        assert_eq!(
            seen.lock().unwrap().stderr,
            "1 created, 0 updated, 1 unchanged, 0 deleted, 0 failed\n"
        );
        // -o json: the plan as data, without the words meant for people.
        let (out, seen) = Output::capturing(Format::Json);
        out.emit(&report(false)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&seen.lock().unwrap().stdout).unwrap();
        assert_eq!(v["summary"]["created"], 1);
        assert_eq!(v["plan"][1]["action"], "unchanged");
        assert!(v.get("words").is_none());
    }
}
