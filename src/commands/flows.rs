//! `kestractl flows deploy|validate|list|get|delete|export`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::Ctx;
use crate::cli::{DeployArgs, FlowsCommand};
use crate::error::{Error, Exit, Result};
use crate::flows::apply::{Outcome, apply};
use crate::flows::diff::{self, Change};
use crate::flows::plan::{Action, PlanItem, Summary, plan};
use crate::flows::source::{check_id, check_id_pattern, check_namespace};
use crate::flows::{FileProblem, LocalFlow, load};
use crate::flows::{check, remote};
use crate::fsutil;
use crate::kestra::{ApiError, KestraClient};
use crate::output::progress::Progress;
use crate::output::{Output, Render, Style, confirm, count};

pub async fn run(ctx: &Ctx, cmd: FlowsCommand) -> Result<Exit> {
    match cmd {
        FlowsCommand::Deploy(args) => deploy(ctx, &args).await,
        FlowsCommand::Validate {
            path,
            namespace,
            offline,
        } => validate(ctx, &path, namespace.as_deref(), offline).await,
        FlowsCommand::Diff {
            path,
            namespace,
            prune,
        } => diff(ctx, &path, namespace.as_deref(), prune).await,
        FlowsCommand::Revisions(flow) => {
            let (namespace, id) = flow.resolve()?;
            revisions(ctx, &namespace, &id).await
        }
        FlowsCommand::Rollback { flow, to } => {
            let (namespace, id) = flow.resolve()?;
            rollback(ctx, &namespace, &id, to).await
        }
        FlowsCommand::List { namespace, quiet } => list(ctx, namespace.as_deref(), quiet).await,
        FlowsCommand::Get(flow) => {
            let (namespace, id) = flow.resolve()?;
            get(ctx, &namespace, &id).await
        }
        FlowsCommand::Delete(flow) => {
            let (namespace, id) = flow.resolve()?;
            delete(ctx, &namespace, &id).await
        }
        FlowsCommand::Enable(flow) => {
            let (namespace, id) = flow.resolve()?;
            set_disabled(ctx, &namespace, &id, false).await
        }
        FlowsCommand::Disable(flow) => {
            let (namespace, id) = flow.resolve()?;
            set_disabled(ctx, &namespace, &id, true).await
        }
        FlowsCommand::Export {
            dir,
            namespace,
            overwrite,
        } => export(ctx, &dir, namespace.as_deref(), overwrite).await,
    }
}

/// The server's validation, its warnings said on stderr.
async fn validate_with_warnings(
    ctx: &Ctx,
    client: &KestraClient,
    flows: &[LocalFlow],
) -> Result<Vec<FileProblem>> {
    let found = remote::validate(client, flows).await?;
    for w in &found.warnings {
        ctx.out.warn(w);
    }
    Ok(found.problems)
}

fn invalid_input(count: usize, what: &str) -> Error {
    Error::rejected(
        format!(
            "{count} problem{} in the flow files; {what}",
            if count == 1 { "" } else { "s" }
        ),
        "fix the files listed above and run it again",
        Exit::InvalidInput,
    )
}

fn print_problems(ctx: &Ctx, problems: &[FileProblem]) {
    show_problems(&ctx.out, problems);
}

fn show_problems(out: &Output, problems: &[FileProblem]) {
    for p in problems {
        out.note(&format!("{} {p}", out.paint(Style::Red, "✗")));
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

/// The `_files/` folders under `root` with the namespace each ships to and its files; a folder
/// whose namespace cannot be told is a problem, reported with the flows' own.
fn file_sets(
    root: &Path,
    flows: &[crate::flows::LocalFlow],
    namespace: Option<&str>,
    problems: &mut Vec<crate::flows::FileProblem>,
) -> Result<Vec<(String, Vec<crate::nsfiles::LocalFile>)>> {
    let folders = crate::flows::discover::files_folders(root)?;
    let (targets, folder_problems) =
        crate::flows::files_namespaces(root, &folders, flows, namespace);
    problems.extend(folder_problems);
    targets
        .into_iter()
        .map(|(folder, ns)| Ok((ns, crate::nsfiles::discover(&folder)?)))
        .collect()
}

async fn deploy(ctx: &Ctx, args: &DeployArgs) -> Result<Exit> {
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

#[derive(Debug, Serialize)]
struct ValidationRow {
    file: String,
    namespace: Option<String>,
    id: Option<String>,
    valid: bool,
    problems: Vec<String>,
}

/// Changes as a reviewer reads them: a unified diff per update (coloured on a terminal), a line
/// per create and delete.
fn show_changes(out: &Output, changes: &[Change]) -> Result<()> {
    for c in changes {
        let text = match (&c.diff, c.action) {
            // Both sides' text (the server's source among them) made inert on a terminal,
            // before our own colour goes around it.
            (Some(diff), _) => out
                .outside_text(diff)
                .lines()
                .map(|l| {
                    let style = if l.starts_with("+++") || l.starts_with("---") {
                        Some(Style::Bold)
                    } else if l.starts_with('+') {
                        Some(Style::Green)
                    } else if l.starts_with('-') {
                        Some(Style::Red)
                    } else if l.starts_with("@@") {
                        Some(Style::Dim)
                    } else {
                        None
                    };
                    match style {
                        Some(s) => format!("{}\n", out.paint(s, l)),
                        None => format!("{l}\n"),
                    }
                })
                .collect::<String>(),
            (None, "create") => format!(
                "{}\n",
                out.paint(
                    Style::Green,
                    &format!(
                        "+ {}/{} (new, from {})",
                        c.namespace,
                        c.id,
                        c.file.as_deref().unwrap_or("-")
                    )
                )
            ),
            (None, _) => format!(
                "{}\n",
                out.paint(
                    Style::Red,
                    &format!(
                        "- {}/{} (deleted: the folder no longer has it)",
                        c.namespace, c.id
                    )
                )
            ),
        };
        out.print(&text)?;
    }
    Ok(())
}

/// `flows diff`: what a deploy would change, and the exit code CI gates on.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DiffReport {
    /// How many flows and namespace files a deploy would change.
    pending: usize,
    changes: Vec<Change>,
    unchanged: usize,
    /// The namespace files of `_files/` folders a deploy would write or delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    file_changes: Vec<FileChange>,
}

/// A namespace file a deploy would change (binary content: no unified diff).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileChange {
    namespace: String,
    path: String,
    action: &'static str,
    file: Option<String>,
}

impl Render for DiffReport {
    fn human(&self, out: &Output) -> Result<()> {
        show_changes(out, &self.changes)?;
        for f in &self.file_changes {
            let style = match f.action {
                "create" => Style::Green,
                "update" => Style::Yellow,
                _ => Style::Red,
            };
            out.print(&format!(
                "{} namespace file {}:{}\n",
                out.paint(style, f.action),
                f.namespace,
                f.path
            ))?;
        }
        let by = |a: &str| self.changes.iter().filter(|c| c.action == a).count();
        let files = if self.file_changes.is_empty() {
            String::new()
        } else {
            format!(
                "; {} to write or delete",
                count(self.file_changes.len(), "namespace file")
            )
        };
        out.note(&format!(
            "{} to create, {} to update, {} to delete, {} unchanged{files}",
            by("create"),
            by("update"),
            by("delete"),
            self.unchanged
        ));
        Ok(())
    }
}

async fn diff(ctx: &Ctx, path: &Path, namespace: Option<&str>, prune: bool) -> Result<Exit> {
    let (flows, mut problems) = load(path, namespace)?;
    let file_sets = file_sets(path, &flows, namespace, &mut problems)?;
    if !problems.is_empty() {
        print_problems(ctx, &problems);
        return Err(invalid_input(problems.len(), "nothing was compared"));
    }
    let client = ctx.kestra().await?;
    let namespaces: BTreeSet<String> = flows.iter().map(|f| f.namespace.clone()).collect();
    let remote = remote::read_namespaces(client, &namespaces).await?;
    let items = plan(&flows, &remote, prune);
    let changes = diff::changes(&items, &flows, &remote);
    let progress = Progress::new();
    let mut file_changes = Vec::new();
    // The `_files/` folders a deploy would push: their plans (reads only, nothing written).
    for (ns, local) in &file_sets {
        let planned = crate::nsfiles::push::plan(client, ns, local, prune, 32, &progress).await?;
        file_changes.extend(
            planned
                .items
                .iter()
                .filter(|i| i.action.is_write())
                .map(|i| FileChange {
                    namespace: ns.clone(),
                    path: i.path.clone(),
                    action: i.action.label(),
                    file: i
                        .local
                        .and_then(|l| local.get(l))
                        .map(|f| f.relative.clone()),
                }),
        );
    }
    progress.finish();
    let report = DiffReport {
        pending: changes.len() + file_changes.len(),
        unchanged: items.len() - changes.len(),
        changes,
        file_changes,
    };
    ctx.out.emit(&report)?;
    Ok(if report.pending == 0 {
        Exit::Ok
    } else {
        Exit::ChangesPending
    })
}

/// `flows revisions`: the server's list, oldest first; for people, a table with the current one
/// marked.
#[derive(Serialize)]
#[serde(transparent)]
struct RevisionList(Vec<crate::kestra::model::Flow>);

impl Render for RevisionList {
    fn human(&self, out: &Output) -> Result<()> {
        let now = time::OffsetDateTime::now_utc();
        let last = self.0.iter().filter_map(|f| f.revision).max();
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|f| {
                vec![
                    f.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                    out.time_cell(f.updated.as_deref(), now),
                    if f.revision == last { "current" } else { "" }.to_string(),
                ]
            })
            .collect();
        out.table(&["REVISION", "UPDATED", ""], &rows)
    }
}

async fn revisions(ctx: &Ctx, namespace: &str, id: &str) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    let list = client
        .flow_revisions(namespace, id)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    if list.is_empty() {
        return Err(Error::not_found(
            format!("there is no flow {namespace}/{id}"),
            format!("`kestractl flows list {namespace}` lists the flows of that namespace"),
        ));
    }
    ctx.out.emit(&RevisionList(list))?;
    Ok(Exit::Ok)
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
        .flow_revisions(namespace, id)
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
        .update_flow(namespace, id, then)
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

async fn validate(ctx: &Ctx, path: &Path, namespace: Option<&str>, offline: bool) -> Result<Exit> {
    let (flows, mut problems) = load(path, namespace)?;
    let local = check::local_checks(&flows);
    if offline || flows.is_empty() {
        if offline {
            ctx.out.note(
                "checked offline: YAML, ids, namespaces, tasks present, task ids and top-level \
                 keys; the server also checks task types and properties",
            );
        }
    } else {
        // Every file that loaded is also checked on the server, in the same run; a server that
        // cannot check them does not hide the problems found here.
        let server = async {
            let client = ctx.kestra().await?;
            validate_with_warnings(ctx, client, &flows).await
        }
        .await;
        match server {
            Ok(found) => problems.extend(check::new_from_server(&local, found)),
            Err(e) if !problems.is_empty() || !local.is_empty() => ctx.out.warn(&format!(
                "the server's checks could not run: {}",
                e.message()
            )),
            Err(e) => return Err(e),
        }
    }
    problems.extend(local);
    let problems = check::sorted(problems);
    let mut rows: Vec<ValidationRow> = flows
        .iter()
        .map(|f| ValidationRow {
            problems: problems
                .iter()
                .filter(|p| check::is_about(p, f, &flows))
                .map(|p| p.message.clone())
                .collect(),
            file: f.file.clone(),
            namespace: Some(f.namespace.clone()),
            id: Some(f.id.clone()),
            valid: true,
        })
        .collect();
    for row in &mut rows {
        row.valid = row.problems.is_empty();
    }
    // Problems of files that did not even yield a flow.
    for p in &problems {
        if !flows.iter().any(|f| check::is_about(p, f, &flows)) {
            rows.push(ValidationRow {
                file: p.file.clone(),
                namespace: None,
                id: None,
                valid: false,
                problems: vec![p.to_string()],
            });
        }
    }
    let invalid = rows.iter().filter(|r| !r.valid).count();
    let problem_count = problems.len();
    ctx.out.emit(&ValidationReport { rows, problems })?;
    if invalid > 0 {
        return Err(invalid_input(problem_count, "see the list above"));
    }
    Ok(Exit::Ok)
}

/// `flows validate`: a row per flow (serialised as the list), and every problem for people.
#[derive(Serialize)]
#[serde(transparent)]
struct ValidationReport {
    rows: Vec<ValidationRow>,
    #[serde(skip)]
    problems: Vec<FileProblem>,
}

impl Render for ValidationReport {
    fn human(&self, out: &Output) -> Result<()> {
        let table: Vec<Vec<String>> = self
            .rows
            .iter()
            .filter(|r| r.id.is_some())
            .map(|r| {
                vec![
                    r.file.clone(),
                    r.namespace.clone().unwrap_or_default(),
                    r.id.clone().unwrap_or_default(),
                    if r.valid {
                        out.paint(Style::Green, "valid")
                    } else {
                        out.paint(Style::Red, "invalid")
                    },
                ]
            })
            .collect();
        out.table(&["FILE", "NAMESPACE", "FLOW", "RESULT"], &table)?;
        // The problems last, where a reader's eye ends, with their count.
        show_problems(out, &self.problems);
        if !self.problems.is_empty() {
            let files: BTreeSet<&str> = self.problems.iter().map(|p| p.file.as_str()).collect();
            out.note(&format!(
                "{} in {}",
                count(self.problems.len(), "problem"),
                count(files.len(), "file")
            ));
        }
        Ok(())
    }
}

async fn list(ctx: &Ctx, namespace: Option<&str>, quiet: bool) -> Result<Exit> {
    let client = ctx.kestra().await?;
    const PAGE: u32 = 100;
    let mut page = 1;
    let mut seen = 0usize;
    let mut all = Vec::new();
    loop {
        let result = client.search_flows(namespace, page, PAGE).await?;
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

fn check_names(namespace: &str, id: &str) -> Result<()> {
    check_namespace(namespace).map_err(|m| Error::usage(m, "check the namespace"))?;
    // Reserved ids may still exist on servers upgraded from before 1.0: only the pattern matters.
    if let Err(m) = check_id(id)
        && !m.contains("reserved")
    {
        return Err(Error::usage(m, "check the flow id"));
    }
    Ok(())
}

fn not_found(namespace: &str, id: &str, e: ApiError) -> Error {
    if e.status() == Some(404) {
        Error::not_found(
            format!("there is no flow {namespace}/{id}"),
            format!("`kestractl flows list {namespace}` lists that namespace's flows"),
        )
    } else {
        e.into()
    }
}

async fn get(ctx: &Ctx, namespace: &str, id: &str) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    let flow = client
        .get_flow(namespace, id, true)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    ctx.out.emit(&FlowView(flow))?;
    Ok(Exit::Ok)
}

/// A flow as the server sent it; for people, its source as is.
#[derive(Serialize)]
#[serde(transparent)]
struct FlowView(serde_json::Value);

impl Render for FlowView {
    fn human(&self, out: &Output) -> Result<()> {
        out.print(
            self.0
                .get("source")
                .and_then(|s| s.as_str())
                .unwrap_or_default(),
        )
    }
}

async fn delete(ctx: &Ctx, namespace: &str, id: &str) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    // Check it exists first: a confirmation for a flow that is not there would mislead.
    client
        .get_flow(namespace, id, false)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    if !ctx.global.yes {
        confirm(
            &format!("Delete flow {namespace}/{id}?"),
            "deleting a flow",
            "nothing was deleted",
        )
        .await?;
    }
    client
        .delete_flow(namespace, id)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    ctx.out.note(&format!("Deleted flow {namespace}/{id}"));
    Ok(Exit::Ok)
}

/// `flows enable` / `flows disable`: what changed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DisabledReport {
    namespace: String,
    id: String,
    disabled: bool,
    /// `false` when the flow already was in that state (nothing written).
    changed: bool,
    revision: Option<i64>,
}

impl Render for DisabledReport {
    fn human(&self, out: &Output) -> Result<()> {
        let (state, verb) = if self.disabled {
            ("disabled", "Disabled")
        } else {
            ("enabled", "Enabled")
        };
        if !self.changed {
            out.note(&format!(
                "{}/{} is already {state}: nothing was written",
                self.namespace, self.id
            ));
            return Ok(());
        }
        let revision = self
            .revision
            .map(|r| format!(" (revision {r})"))
            .unwrap_or_default();
        out.note(&format!(
            "{verb} flow {}/{}{revision}",
            self.namespace, self.id
        ));
        if self.disabled {
            out.note(
                "Kestra wrote `disabled: true` into its source: a `flows deploy` of a file \
                 without that line enables it again",
            );
        }
        Ok(())
    }
}

async fn set_disabled(ctx: &Ctx, namespace: &str, id: &str, disabled: bool) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    // Kestra's by-ids route answers an unknown flow with a bare "No value present"; the flow is
    // read first so the error names it, and so a flow already in that state is not written.
    let flow = client
        .get_flow(namespace, id, false)
        .await
        .map_err(|e| not_found(namespace, id, e))?;
    let is_disabled = |f: &serde_json::Value| f["disabled"].as_bool().unwrap_or(false);
    let mut report = DisabledReport {
        namespace: namespace.into(),
        id: id.into(),
        disabled,
        changed: false,
        revision: flow["revision"].as_i64(),
    };
    if is_disabled(&flow) != disabled {
        let count = client
            .set_flow_disabled(namespace, id, disabled)
            .await
            .map_err(|e| not_found(namespace, id, e))?;
        report.changed = count > 0;
        if report.changed {
            report.revision = client
                .get_flow(namespace, id, false)
                .await
                .ok()
                .and_then(|f| f["revision"].as_i64());
        }
    }
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

async fn export(ctx: &Ctx, dir: &Path, namespace: Option<&str>, overwrite: bool) -> Result<Exit> {
    if let Some(ns) = namespace {
        check_namespace(ns).map_err(|m| Error::usage(m, "fix --namespace"))?;
    }
    let client = ctx.kestra().await?;
    let namespaces: Vec<String> = match namespace {
        Some(ns) => vec![ns.to_string()],
        None => client.distinct_namespaces().await?,
    };
    let remote = remote::read_namespaces(client, &namespaces.iter().cloned().collect()).await?;
    // The server names the files: a namespace or id that is not one Kestra allows (`..`, a
    // slash, an absolute path) could write anywhere, so the whole export is refused before
    // anything is written.
    let unsafe_names: Vec<String> = remote
        .iter()
        .filter(|f| check_namespace(&f.namespace).is_err() || check_id_pattern(&f.id).is_err())
        .map(|f| format!("{:?}/{:?}", f.namespace, f.id))
        .collect();
    if let Some(first) = unsafe_names.first() {
        return Err(Error::unsafe_(
            format!(
                "the server answered {} whose namespace or id Kestra does not allow, e.g. {first}: as file names they could write outside {}; nothing was written",
                count(unsafe_names.len(), "flow"),
                dir.display()
            ),
            "check that --server is the Kestra you meant; a real Kestra never stores such names",
        ));
    }
    // Decide every file before writing one, so a conflict leaves the folder untouched.
    let mut writes = Vec::new();
    let mut conflicts = Vec::new();
    for flow in &remote {
        let Some(source) = &flow.source else { continue };
        let file = format!("{}.yml", flow.id);
        let path = fsutil::join_under(dir, &[flow.namespace.as_str(), file.as_str()])
            .map_err(|m| Error::unsafe_(m, "check that --server is the Kestra you meant"))?;
        // A link planted where a file goes would carry the write elsewhere.
        if let Some(parent) = path.parent() {
            fsutil::exists_not_link(parent)?;
        }
        let exists = fsutil::exists_not_link(&path)?;
        match exists.then(|| std::fs::read_to_string(&path)) {
            Some(Ok(existing)) if existing == *source => {}
            Some(Ok(_)) if !overwrite => conflicts.push(path.display().to_string()),
            _ => writes.push((path, source.clone())),
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::usage(
            format!(
                "{} with other content already {}, e.g. {}; nothing was written",
                count(conflicts.len(), "file"),
                if conflicts.len() == 1 {
                    "exists"
                } else {
                    "exist"
                },
                conflicts[0]
            ),
            "pass --overwrite to replace them, or export into an empty folder",
        ));
    }
    if !writes.is_empty() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    }
    for (path, source) in &writes {
        if let Some(parent) = path.parent() {
            fsutil::create_dir_no_link(parent)?;
        }
        // A new file renamed over the old name: an existing name is replaced, never followed.
        fsutil::write_atomic(path, source.as_bytes(), None)?;
    }
    ctx.out.emit(&ExportReport {
        directory: dir.display().to_string(),
        flows: remote.len(),
        namespaces,
        written: writes.len(),
    })?;
    Ok(Exit::Ok)
}

/// What `flows export` wrote (fields in the order `-o json` has always shown them).
#[derive(Serialize)]
struct ExportReport {
    directory: String,
    flows: usize,
    namespaces: Vec<String>,
    written: usize,
}

impl Render for ExportReport {
    fn human(&self, out: &Output) -> Result<()> {
        out.print(&format!(
            "Exported {} of {} to {} ({} written, the rest already identical)\n",
            count(self.flows, "flow"),
            count(self.namespaces.len(), "namespace"),
            self.directory,
            count(self.written, "file")
        ))
    }
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
