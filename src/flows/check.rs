//! Local flow checks that need no server, and how their findings meet the server's: what
//! Kestra would refuse in any version (an unknown top-level key, a task id used twice), the
//! server's problems that do not repeat them, and every problem in file and line order (pure).

use super::locate;
use super::{FileProblem, LocalFlow};

/// Whether problem `p` is about flow `f`: same file, at or after its first line and before the
/// next flow of that file.
pub fn is_about(p: &FileProblem, f: &LocalFlow, flows: &[LocalFlow]) -> bool {
    let Some(line) = p.line else { return false };
    p.file == f.file
        && line >= f.first_line
        && !flows
            .iter()
            .any(|g| g.file == f.file && g.first_line > f.first_line && g.first_line <= line)
}

/// What Kestra would refuse in any version, found without a server: a top-level key it does not
/// know (with the nearest one it does), and a task id used twice.
pub fn local_checks(flows: &[LocalFlow]) -> Vec<FileProblem> {
    // Finding task ids parses each flow again: on every core, in the flows' order.
    super::parallel_map(flows, checks_of)
        .into_iter()
        .flatten()
        .collect()
}

/// `local_checks` of one flow.
fn checks_of(f: &LocalFlow) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    for (key, line, near) in locate::unknown_top_level_keys(&f.source) {
        problems.push(FileProblem {
            file: f.file.clone(),
            line: Some(f.first_line + line - 1),
            column: Some(1),
            message: format!(
                "`{key}` is not a flow property Kestra knows{}",
                near.map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default()
            ),
        });
    }
    for (id, line) in locate::duplicate_task_ids(&f.source) {
        problems.push(FileProblem {
            file: f.file.clone(),
            line: Some(f.first_line + line - 1),
            column: None,
            message: format!("task id `{id}` is used twice; each task of a flow needs its own"),
        });
    }
    problems
}

/// The server's problems that do not repeat one found locally (Kestra's own words for an unknown
/// key, `Unrecognized field "descriptoin" (class io.kestra.core.models.flows.Flow)…`, say less
/// than the local line that suggests `description`).
pub fn new_from_server(local: &[FileProblem], server: Vec<FileProblem>) -> Vec<FileProblem> {
    // The name between the markers of Kestra's message, e.g. `Unrecognized field "x"`.
    let named = |text: &str, open: &str, close: char| {
        let start = text.find(open)? + open.len();
        let len = text[start..].find(close)?;
        Some(text[start..start + len].to_string())
    };
    server
        .into_iter()
        .filter(|s| {
            let said_locally = |needle: String| {
                local
                    .iter()
                    .any(|l| l.file == s.file && l.message.contains(&needle))
            };
            let key = named(&s.message, "Unrecognized field \"", '"')
                .map(|k| said_locally(format!("`{k}` is not a flow property")));
            let task = named(&s.message, "Duplicate task id with name [", ']')
                .map(|t| said_locally(format!("task id `{t}`")));
            !key.or(task).unwrap_or(false)
        })
        .collect()
}

/// Every problem of every file in one pass, grouped by file and in line order.
pub fn sorted(mut problems: Vec<FileProblem>) -> Vec<FileProblem> {
    problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    problems
}
