//! What a deploy would change, as people review it: a unified diff of each flow it would update
//! (the server's source against the local one), and the flows it would create or delete. Pure.

use serde::Serialize;

use super::LocalFlow;
use super::plan::{Action, PlanItem, RemoteFlow};

/// One flow a deploy would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub namespace: String,
    pub id: String,
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    /// The local file, for a create or an update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// For an update: the unified diff from the server's source to the local one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A unified diff (3 lines of context) from `old` to `new`, its headers naming each side:
/// `--- {label} ({old_side})` and `+++ {label} ({new_side})`.
pub fn unified(label: &str, sides: (&str, &str), old: &str, new: &str) -> String {
    let (old_side, new_side) = sides;
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{label} ({old_side})"),
            &format!("{label} ({new_side})"),
        )
        .to_string()
}

/// The changes of a plan, in its order; unchanged flows are left out.
pub fn changes(items: &[PlanItem], local: &[LocalFlow], remote: &[RemoteFlow]) -> Vec<Change> {
    items
        .iter()
        .filter_map(|item| {
            let file = item.local.and_then(|i| local.get(i));
            let action = match item.action {
                Action::Create => "create",
                Action::Update => "update",
                Action::Delete => "delete",
                Action::Unchanged => return None,
            };
            let diff = (item.action == Action::Update).then(|| {
                let old = remote
                    .iter()
                    .find(|r| r.namespace == item.namespace && r.id == item.id)
                    .and_then(|r| r.source.as_deref())
                    .unwrap_or("");
                let new = file.map_or("", |f| f.source.as_str());
                let label = format!("{}/{}", item.namespace, item.id);
                unified(&label, ("server", "local"), old, new)
            });
            Some(Change {
                namespace: item.namespace.clone(),
                id: item.id.clone(),
                action,
                file: file.map(|f| f.file.clone()),
                diff,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(id: &str, source: &str) -> LocalFlow {
        LocalFlow {
            file: format!("{id}.yml"),
            first_line: 1,
            source: source.into(),
            id: id.into(),
            namespace: "team".into(),
        }
    }

    #[test]
    fn an_update_carries_its_unified_diff() {
        let d = unified(
            "team/a",
            ("server", "local"),
            "id: a\nmessage: old\n",
            "id: a\nmessage: new\n",
        );
        assert!(
            d.starts_with("--- team/a (server)\n+++ team/a (local)\n"),
            "{d}"
        );
        assert!(d.contains("-message: old\n+message: new\n"), "{d}");
    }

    #[test]
    fn changes_leave_unchanged_flows_out() {
        let locals = [local("a", "id: a\nv: 2\n"), local("b", "id: b\n")];
        let remote = [
            RemoteFlow {
                namespace: "team".into(),
                id: "a".into(),
                revision: Some(1),
                source: Some("id: a\nv: 1\n".into()),
            },
            RemoteFlow {
                namespace: "team".into(),
                id: "gone".into(),
                revision: Some(3),
                source: Some("id: gone\n".into()),
            },
        ];
        let items = crate::flows::plan::plan(&locals, &remote, true);
        let c = changes(&items, &locals, &remote);
        let summary: Vec<(&str, &str)> = c.iter().map(|c| (c.id.as_str(), c.action)).collect();
        assert_eq!(
            summary,
            [("a", "update"), ("b", "create"), ("gone", "delete")]
        );
        assert!(c[0].diff.as_deref().unwrap().contains("-v: 1\n+v: 2\n"));
        assert_eq!(c[1].diff, None);
        assert_eq!(c[1].file.as_deref(), Some("b.yml"));
    }
}
