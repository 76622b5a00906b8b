//! `kestractl flows validate`: check flow files locally and on the server, every problem of every file in one pass, without deploying.

use std::path::PathBuf;

use serde::Serialize;

use super::{invalid_input, show_problems, validate_with_warnings};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::flows::{FileProblem, check, load};
use crate::output::count;
use crate::output::{Output, Render, Style};
use clap_complete::engine::ArgValueCompleter;
use std::collections::BTreeSet;
use std::path::Path;

/// Validate flow files locally and on the server, without deploying (alias: check)
#[derive(Debug, Clone, clap::Args)]
#[command(alias = "check", after_help = concat!("Examples:\n  ", "kestractl flows validate flows/\n  kestractl flows validate flows/ --offline   # in a pre-commit hook\n  kestractl flows validate flows/ -o json"))]
pub struct Args {
    /// Folder or file of flows
    #[arg(default_value = "flows", value_hint = clap::ValueHint::AnyPath)]
    pub path: PathBuf,
    /// Check them as if deployed into this namespace
    #[arg(long, value_name = "NS", add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: Option<String>,
    /// Without a server (pre-commit hooks): YAML, ids, namespaces, tasks present, known
    /// top-level keys; the server's checks of tasks and plugins are skipped
    #[arg(long)]
    pub offline: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        validate(ctx, &self.path, self.namespace.as_deref(), self.offline).await
    }
}

#[derive(Debug, Serialize)]
struct ValidationRow {
    file: String,
    namespace: Option<String>,
    id: Option<String>,
    valid: bool,
    problems: Vec<String>,
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
            validate_with_warnings(ctx, client, &flows.iter().collect::<Vec<_>>()).await
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
