//! Where in a flow's text a server problem is, and the top-level keys Kestra does not know.
//!
//! Kestra's validation answers with messages, not positions: `Unrecognized field "typ" (class
//! io.kestra.core.models.flows.Flow)…`, `tasks[0].id: must match …`, `Invalid type: …`
//! (`ConstraintViolationException` messages, see the emulator's `validate.rs`). Pointing the
//! operator at line 1 of the flow for a typo on line 14 wastes their time, so the key the
//! message names is looked up in the text. Pure, line-based: the text has already been read as
//! YAML, so its keys sit at the start of their lines.

/// The flow properties of Kestra 1.3 and 2.0 together (`io.kestra.core.models.flows.Flow` and
/// its 2.0 successor); a top-level key outside both is a typo on any server.
pub const FLOW_PROPERTIES: &[&str] = &[
    "id",
    "namespace",
    "revision",
    "description",
    "inputs",
    "outputs",
    "variables",
    "tasks",
    "errors",
    "finally",
    "afterExecution",
    "listeners",
    "triggers",
    "pluginDefaults",
    "taskDefaults",
    "concurrency",
    "retry",
    "sla",
    "checks",
    "labels",
    "disabled",
    "deleted",
    "draft",
    "workerGroup",
    "workerSelector",
    "policyRefs",
    "quotas",
    "tenantId",
];

/// Indentation and the key of a `key:` (or `- key:`) line; `None` for other lines.
fn key_of(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start().len();
    let rest = line.trim_start();
    let (indent, rest) = match rest.strip_prefix("- ") {
        Some(after) => (
            indent + 2 + (after.len() - after.trim_start().len()),
            after.trim_start(),
        ),
        None => (indent, rest),
    };
    if rest.starts_with('#') {
        return None;
    }
    let colon = rest.find(':')?;
    let key = rest[..colon].trim().trim_matches(['"', '\'']);
    let after = &rest[colon + 1..];
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && (after.is_empty() || after.starts_with([' ', '\t']));
    valid.then_some((indent, key))
}

/// The 1-based line (within `doc`) of the key a server message names, when it can be found.
pub fn line_of(doc: &str, message: &str) -> Option<usize> {
    let lines: Vec<&str> = doc.lines().collect();
    // `Unrecognized field "typ" (class …Flow)`: a top-level key; else the first such key.
    if let Some(rest) = message.split("Unrecognized field \"").nth(1) {
        let field = rest.split('"').next()?;
        let top = message.contains("models.flows.Flow)");
        return lines
            .iter()
            .position(|l| key_of(l).is_some_and(|(i, k)| k == field && (!top || i == 0)))
            .map(|i| i + 1);
    }
    // `Invalid type: io.kestra.…`: the line carrying that type; `Invalid type: null`: the first
    // task without one (at its mistyped `typ:` when there is one).
    if let Some(rest) = message.split("Invalid type: ").nth(1) {
        let ty = rest.split([',', ' ']).next()?.trim();
        if ty == "null" {
            return untyped_item(&lines).map(|i| i + 1);
        }
        return lines
            .iter()
            .position(|l| key_of(l).is_some_and(|(_, k)| k == "type") && l.contains(ty))
            .map(|i| i + 1);
    }
    // `tasks[0].id: must match …`: walk the path.
    let (path, _) = message.split_once(": ")?;
    if !path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
    {
        return None;
    }
    walk(&lines, path).map(|i| i + 1)
}

/// The first list item with an `id:` but no `type:` among its own keys (a task or trigger Kestra
/// cannot type): the line of a key that looks like a mistyped `type`, else the item's line.
fn untyped_item(lines: &[&str]) -> Option<usize> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    for (start, line) in lines.iter().enumerate() {
        let Some((key_indent, "id")) = key_of(line) else {
            continue;
        };
        if !line.trim_start().starts_with("- ") {
            continue;
        }
        let item_indent = indent(line);
        let block: Vec<usize> = std::iter::once(start)
            .chain((start + 1..lines.len()).take_while(|&i| {
                let t = lines[i].trim_start();
                t.is_empty() || t.starts_with('#') || indent(lines[i]) > item_indent
            }))
            .collect();
        let own_keys: Vec<(usize, &str)> = block
            .iter()
            .filter_map(|&i| {
                key_of(lines[i])
                    .filter(|(ind, _)| *ind == key_indent)
                    .map(|(_, k)| (i, k))
            })
            .collect();
        if own_keys.iter().any(|(_, k)| *k == "type") {
            continue;
        }
        let typo = own_keys
            .iter()
            .find(|(_, k)| *k != "id" && strsim::damerau_levenshtein(k, "type") <= 2);
        return Some(typo.map_or(start, |(i, _)| *i));
    }
    None
}

/// Follows `a.b[2].c` through the lines: each key inside the block of the previous step, each
/// index the n-th list item under its key. The 0-based line of the last step.
fn walk(lines: &[&str], path: &str) -> Option<usize> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    // Where the block of a line indented `floor` ends: the next non-blank line at or left of it.
    let block_end = |from: usize, floor: usize| {
        (from..lines.len())
            .find(|&i| {
                let t = lines[i].trim_start();
                !t.is_empty() && !t.starts_with('#') && indent(lines[i]) <= floor
            })
            .unwrap_or(lines.len())
    };
    let (mut at, mut end) = (0usize, lines.len());
    let mut floor: Option<usize> = None; // None: top level (indentation 0)
    let mut found = None;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let key_line = (at..end).find(|&i| {
            key_of(lines[i])
                .is_some_and(|(ind, k)| k == name && floor.map_or(ind == 0, |f| ind > f))
        })?;
        let (key_indent, _) = key_of(lines[key_line])?;
        found = Some(key_line);
        at = key_line + 1;
        end = block_end(at, indent(lines[key_line]).min(key_indent));
        floor = Some(key_indent);
        if let Some(n) = index {
            // The list items directly under the key: `- ` at the first item's indentation.
            let first = (at..end).find(|&i| lines[i].trim_start().starts_with("- "))?;
            let item_indent = indent(lines[first]);
            let item = (first..end)
                .filter(|&i| {
                    indent(lines[i]) == item_indent && lines[i].trim_start().starts_with("- ")
                })
                .nth(n)?;
            found = Some(item);
            at = item;
            end = block_end(item + 1, item_indent);
            floor = Some(item_indent);
        }
    }
    found
}

/// Top-level keys that are no Kestra flow property, each with its 1-based line in `doc` and the
/// closest known property when one is near.
pub fn unknown_top_level_keys(doc: &str) -> Vec<(String, usize, Option<&'static str>)> {
    doc.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (indent, key) = key_of(l)?;
            (indent == 0 && !l.starts_with("- ") && !FLOW_PROPERTIES.contains(&key)).then(|| {
                let near = FLOW_PROPERTIES
                    .iter()
                    .map(|p| (strsim::damerau_levenshtein(key, p), *p))
                    .filter(|(d, p)| *d <= 2.max(p.len() / 4))
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, p)| p);
                (key.to_string(), i + 1, near)
            })
        })
        .collect()
}

/// Keys whose value is a list of tasks (a flow's own, and those flowable tasks nest).
const TASK_LISTS: [&str; 6] = [
    "tasks",
    "errors",
    "finally",
    "afterExecution",
    "then",
    "else",
];

/// Task ids used more than once in a flow, which Kestra refuses ("Duplicate task id with name
/// [x]"): each with the 1-based line of its second use in `doc`. Tasks are found where Kestra
/// keeps them: the flow's task lists and, inside a task, its own (`then`, `else`, a `Switch`'s
/// `cases`, a `Parallel`'s `tasks`…).
pub fn duplicate_task_ids(doc: &str) -> Vec<(String, usize)> {
    use serde_json::Value;
    fn walk(v: &Value, ids: &mut Vec<String>) {
        let Value::Object(map) = v else { return };
        for (key, child) in map {
            let lists: Vec<&Vec<Value>> = match (key.as_str(), child) {
                (k, Value::Array(items)) if TASK_LISTS.contains(&k) => vec![items],
                ("cases", Value::Object(cases)) => {
                    cases.values().filter_map(Value::as_array).collect()
                }
                _ => continue,
            };
            for task in lists.into_iter().flatten() {
                if let Some(id) = task.get("id").and_then(Value::as_str) {
                    ids.push(id.to_string());
                }
                walk(task, ids);
            }
        }
    }
    let Ok(value) = serde_saphyr::from_str::<Value>(doc) else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    walk(&value, &mut ids);
    let mut seen = std::collections::HashSet::new();
    let mut reported = std::collections::HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if !seen.insert(id.clone()) && reported.insert(id.clone()) {
            let line = id_lines(doc, &id).get(1).copied().unwrap_or(1);
            out.push((id, line));
        }
    }
    out
}

/// The 1-based lines of `doc` that set an `id` to `id` (`id: x`, `- id: x`, quoted or not).
fn id_lines(doc: &str, id: &str) -> Vec<usize> {
    doc.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches('-').trim_start();
            l.strip_prefix("id:").is_some_and(|rest| {
                let value = rest.split(" #").next().unwrap_or("").trim();
                value.trim_matches(['"', '\'']) == id
            })
        })
        .map(|(i, _)| i + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = "id: hello\nnamespace: company.team\ndescription: |\n  tasks: not a key\ntasks:\n  - id: first\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n  - id: Bad Id\n    typ: io.kestra.plugin.core.log.Log\n    nested:\n      - id: inner\n        type: io.kestra.plugin.core.nope\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Schedule\n";

    #[test]
    fn a_path_leads_to_its_line() {
        assert_eq!(
            line_of(FLOW, "tasks[1].id: must match \"^[a-zA-Z0-9]…\""),
            Some(9)
        );
        assert_eq!(line_of(FLOW, "tasks[0].type: must not be null"), Some(7));
        assert_eq!(line_of(FLOW, "triggers[0].type: oops"), Some(16));
        assert_eq!(line_of(FLOW, "id: must match"), Some(1));
        assert_eq!(line_of(FLOW, "tasks[5].id: out of range"), None);
    }

    #[test]
    fn unrecognized_fields_and_types_are_found() {
        let doc = "id: a\nnamespace: n\ntypo: x\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.nope\n";
        assert_eq!(
            line_of(
                doc,
                "Unrecognized field \"typo\" (class io.kestra.core.models.flows.Flow), not marked as ignorable"
            ),
            Some(3)
        );
        assert_eq!(
            line_of(doc, "Invalid type: io.kestra.plugin.core.nope"),
            Some(6)
        );
        // A task without a type: at its mistyped key, else at the task.
        let typo = "id: a\nnamespace: n\ntasks:\n  - id: ok\n    type: x\n  - id: t\n    message: hi\n    typ: y\n";
        assert_eq!(line_of(typo, "Invalid type: null"), Some(8));
        let bare =
            "id: a\nnamespace: n\ntasks:\n  - id: ok\n    type: x\n  - id: t\n    message: hi\n";
        assert_eq!(line_of(bare, "Invalid type: null"), Some(6));
        assert_eq!(line_of(doc, "Illegal flow yaml: something"), None);
        assert_eq!(
            line_of(doc, "Invalid Flow: Duplicate task id with name [t]"),
            None
        );
    }

    #[test]
    fn duplicate_task_ids_are_found_where_kestra_keeps_tasks() {
        let doc = "id: f\nnamespace: n\ntasks:\n  - id: a\n    type: x\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n      - id: \"a\"\n        type: x\n  - id: s\n    type: io.kestra.plugin.core.flow.Switch\n    cases:\n      one:\n        - id: p\n          type: x\nerrors:\n  - id: e\n    type: x\ntriggers:\n  - id: a\n    type: y\n";
        assert_eq!(
            duplicate_task_ids(doc),
            vec![("a".to_string(), 9), ("p".to_string(), 15)]
        );
        assert!(duplicate_task_ids(FLOW).is_empty());
        assert!(duplicate_task_ids("not: [valid").is_empty());
    }

    #[test]
    fn unknown_top_level_keys_with_suggestions() {
        let doc = "id: a\nnamespace: n\ndescripton: x\ntasks:\n  - id: t\n    type: x\nzzz: 1\nlabels:\n  team: a\n";
        assert_eq!(
            unknown_top_level_keys(doc),
            vec![
                ("descripton".to_string(), 3, Some("description")),
                ("zzz".to_string(), 7, None)
            ]
        );
        assert!(unknown_top_level_keys(FLOW).is_empty());
    }
}
