//! What a deploy did (or, dry, would do), for people and scripts: a row per flow with its action,
//! revision and result, the totals, the namespace files pushed beside, and the error that sets the
//! exit code when a write failed.

use serde::Serialize;

use super::LocalFlow;
use super::apply::Written;
use super::diff::Change;
use super::plan::{Action, PlanItem};
use crate::error::{Error, Exit, Result};
use crate::nsfiles::push::PushReport;
use crate::output::{Format, Output, Render, Style, count};
use crate::sync::{Outcome, Totals};

#[derive(Debug, Serialize)]
pub struct PlanRow {
    pub file: Option<String>,
    pub namespace: String,
    pub id: String,
    pub action: Action,
    /// After the deploy: the revision the server answered with; otherwise the current one.
    pub revision: Option<i64>,
    /// `planned` (dry run), `unchanged`, `done`, `failed` or `skipped`.
    pub result: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    pub dry_run: bool,
    pub plan: Vec<PlanRow>,
    pub summary: Totals,
    /// The namespace files of `_files/` folders, one push per namespace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PushReport>,
    /// With --diff: each change, an update with its unified diff.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

impl Render for DeployReport {
    fn human(&self, out: &Output) -> Result<()> {
        show_changes(out, &self.changes)?;
        let report = self;
        let rows: Vec<Vec<String>> = report
            .plan
            .iter()
            .map(|row| {
                let word = row.result.word(row.action);
                vec![
                    row.file.clone().unwrap_or_else(|| "-".into()),
                    row.namespace.clone(),
                    row.id.clone(),
                    out.paint(row.result.style(row.action), word),
                    row.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                ]
            })
            .collect();
        out.table(&["FILE", "NAMESPACE", "FLOW", "ACTION", "REVISION"], &rows)?;
        let summary = report.summary.line(report.dry_run);
        if out.format == Format::Table {
            out.print(&format!("{summary}\n"))?;
        } else {
            // Piped: stdout stays one row per flow for scripts; the log gets the totals last.
            out.note(&summary);
        }
        for pushed in &self.files {
            if out.format == Format::Table {
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

impl DeployReport {
    /// The report of a plan: `outcomes` is `None` for a dry run (nothing written).
    pub fn new(
        items: &[PlanItem],
        flows: &[LocalFlow],
        outcomes: Option<&[Written]>,
        files: Vec<PushReport>,
        changes: Vec<Change>,
    ) -> Self {
        let mut summary = Totals::default();
        let mut plan = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let row = PlanRow::new(item, flows, outcomes.map(|o| &o[i]));
            summary.add(item.action, row.result);
            plan.push(row);
        }
        DeployReport {
            dry_run: outcomes.is_none(),
            plan,
            summary,
            files,
            changes,
        }
    }

    /// Each failed write on the log, one line per flow.
    pub fn show_failures(&self, out: &Output) {
        for f in self.plan.iter().filter(|r| r.error.is_some()) {
            out.note(&format!(
                "{} {}: {}/{}: {}",
                out.paint(Style::Red, "✗"),
                f.file.as_deref().unwrap_or("-"),
                f.namespace,
                f.id,
                f.error.as_deref().unwrap_or("")
            ));
        }
    }

    /// `Ok` when every write went through; otherwise the error that says what was written and
    /// what to do (exit 1).
    pub fn exit(&self, fail_fast: bool) -> Result<Exit> {
        let failed = self.plan.iter().filter(|r| r.error.is_some()).count();
        if failed > 0 {
            let skipped = self
                .plan
                .iter()
                .filter(|r| r.result == Outcome::Skipped)
                .count();
            let not_attempted = match (skipped, fail_fast) {
                (0, _) => String::new(),
                (_, true) => format!(" and {skipped} were not attempted (--fail-fast)"),
                (_, false) => {
                    format!(" and {skipped} were not attempted: the server stopped answering")
                }
            };
            let written = self
                .plan
                .iter()
                .filter(|r| r.result == Outcome::Done)
                .count();
            let hint = match written {
                0 => "nothing was written; fix the cause and run deploy again".to_string(),
                1 => "the other change was written; fix the cause and run deploy again \
                      (unchanged flows are not rewritten)"
                    .to_string(),
                n => format!(
                    "the other {n} changes were written; fix the cause and run deploy again \
                     (unchanged flows are not rewritten)"
                ),
            };
            return Err(Error::server(
                format!("{} failed to deploy{not_attempted}", count(failed, "flow")),
                hint,
            ));
        }
        let failed_files: usize = self.files.iter().map(|f| f.summary.failed).sum();
        if failed_files > 0 {
            return Err(Error::server(
                format!("{} failed to push", count(failed_files, "namespace file")),
                "the flows were deployed; fix the cause and run deploy again (files and flows \
                 already there are not rewritten)",
            ));
        }
        Ok(Exit::Ok)
    }
}

impl PlanRow {
    fn new(item: &PlanItem, flows: &[LocalFlow], written: Option<&Written>) -> Self {
        let (result, revision, error) = match written {
            None if item.action == Action::Unchanged => (Outcome::Unchanged, item.revision, None),
            None => (Outcome::Planned, item.revision, None),
            Some(w) => (
                w.outcome,
                w.value.flatten().or(item.revision),
                w.error.clone(),
            ),
        };
        PlanRow {
            file: item.local.map(|l| flows[l].file.clone()),
            namespace: item.namespace.clone(),
            id: item.id.clone(),
            action: item.action,
            revision,
            result,
            error,
        }
    }
}

/// Changes as a reviewer reads them: a unified diff per update (coloured on a terminal), a line
/// per create and delete.
pub fn show_changes(out: &Output, changes: &[Change]) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dry_run: bool) -> DeployReport {
        let row = |id: &str, action: Action, result: Outcome| PlanRow {
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
                row("a", Action::Create, Outcome::Done),
                row("b", Action::Unchanged, Outcome::Unchanged),
            ],
            files: Vec::new(),
            summary: Totals {
                created: 1,
                unchanged: 1,
                ..Totals::default()
            },
            changes: Vec::new(),
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
