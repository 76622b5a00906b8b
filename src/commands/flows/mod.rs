//! `kestractl flows …`: a folder of flows checked, compared and deployed with a plan; the
//! server's flows listed, read, switched on and off, rolled back, deleted and exported. Each
//! command is one file here, with its arguments; the work is in the `flows` library.

mod delete;
mod deploy;
mod diff;
mod disable;
mod enable;
mod export;
mod get;
mod list;
mod revisions;
mod rollback;
mod validate;

use std::path::Path;

use serde::Serialize;

use crate::commands::{Ctx, group};
use crate::error::{Error, Exit, Result};
use crate::flows::source::{check_id, check_namespace};
use crate::flows::{FileProblem, LocalFlow, remote};
use crate::kestra::{ApiError, KestraClient};
use crate::output::{Output, Render, Style};

group! {
    /// Flows: deploy a folder with a plan, validate, list, get, delete, export
    pub enum Command {
        Deploy(deploy::Args),
        Revisions(revisions::Args),
        Rollback(rollback::Args),
        Diff(diff::Args),
        Validate(validate::Args),
        List(list::Args),
        Get(get::Args),
        Delete(delete::Args),
        Enable(enable::Args),
        Disable(disable::Args),
        Export(export::Args),
    }
}

/// The server's validation, its warnings said on stderr.
pub(super) async fn validate_with_warnings(
    ctx: &Ctx,
    client: &KestraClient,
    flows: &[&LocalFlow],
) -> Result<Vec<FileProblem>> {
    let found = remote::validate(client, flows).await?;
    for w in &found.warnings {
        ctx.out.warn(w);
    }
    Ok(found.problems)
}

pub(super) fn invalid_input(count: usize, what: &str) -> Error {
    Error::rejected(
        format!(
            "{count} problem{} in the flow files; {what}",
            if count == 1 { "" } else { "s" }
        ),
        "fix the files listed above and run it again",
        Exit::InvalidInput,
    )
}

pub(super) fn print_problems(ctx: &Ctx, problems: &[FileProblem]) {
    show_problems(&ctx.out, problems);
}

pub(super) fn show_problems(out: &Output, problems: &[FileProblem]) {
    for p in problems {
        out.note(&format!("{} {p}", out.paint(Style::Red, "✗")));
    }
}

/// The `_files/` folders under `root` with the namespace each ships to and its files; a folder
/// whose namespace cannot be told is a problem, reported with the flows' own.
pub(super) fn file_sets(
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

pub(super) fn check_names(namespace: &str, id: &str) -> Result<()> {
    check_namespace(namespace).map_err(|m| Error::usage(m, "check the namespace"))?;
    // Reserved ids may still exist on servers upgraded from before 1.0: only the pattern matters.
    if let Err(m) = check_id(id)
        && !m.contains("reserved")
    {
        return Err(Error::usage(m, "check the flow id"));
    }
    Ok(())
}

pub(super) fn not_found(namespace: &str, id: &str, e: ApiError) -> Error {
    if e.status() == Some(404) {
        Error::not_found(
            format!("there is no flow {namespace}/{id}"),
            format!("`kestractl flows list {namespace}` lists that namespace's flows"),
        )
    } else {
        e.into()
    }
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

pub(super) async fn set_disabled(
    ctx: &Ctx,
    namespace: &str,
    id: &str,
    disabled: bool,
) -> Result<Exit> {
    check_names(namespace, id)?;
    let client = ctx.kestra().await?;
    // Kestra's by-ids route answers an unknown flow with a bare "No value present"; the flow is
    // read first so the error names it, and so a flow already in that state is not written.
    let flow = client
        .flows()
        .get(namespace, id, false)
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
            .flows()
            .set_disabled(namespace, id, disabled)
            .await
            .map_err(|e| not_found(namespace, id, e))?;
        report.changed = count > 0;
        if report.changed {
            report.revision = client
                .flows()
                .get(namespace, id, false)
                .await
                .ok()
                .and_then(|f| f["revision"].as_i64());
        }
    }
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}
