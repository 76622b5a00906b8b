//! The plan: what deploying a folder would do to the server, flow by flow (pure).
//!
//! A flow is `unchanged` when the server's source is byte-for-byte the local one; it is then not
//! written at all, so its revision does not move. `--prune` deletes only flows of namespaces that
//! the folder deploys (exact match), never in `system`.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::LocalFlow;

/// Kestra's system-flow namespace: never pruned.
pub const SYSTEM_NAMESPACE: &str = "system";

pub use crate::sync::Action;

/// What the server holds for one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFlow {
    pub namespace: String,
    pub id: String,
    pub revision: Option<i64>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// Index into the local flows; `None` for deletions.
    pub local: Option<usize>,
    pub namespace: String,
    pub id: String,
    pub action: Action,
    /// The server's revision before the deploy.
    pub revision: Option<i64>,
}

/// Plans local flows against what the server holds in their namespaces.
pub fn plan(local: &[LocalFlow], remote: &[RemoteFlow], prune: bool) -> Vec<PlanItem> {
    let by_key: HashMap<(&str, &str), &RemoteFlow> = remote
        .iter()
        .map(|r| ((r.namespace.as_str(), r.id.as_str()), r))
        .collect();
    let mut items: Vec<PlanItem> = local
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let current = by_key.get(&(f.namespace.as_str(), f.id.as_str()));
            let action = match current {
                None => Action::Create,
                Some(r) if r.source.as_deref() == Some(f.source.as_str()) => Action::Unchanged,
                Some(_) => Action::Update,
            };
            PlanItem {
                local: Some(i),
                namespace: f.namespace.clone(),
                id: f.id.clone(),
                action,
                revision: current.and_then(|r| r.revision),
            }
        })
        .collect();
    if prune {
        let deployed: HashSet<&str> = local.iter().map(|f| f.namespace.as_str()).collect();
        let wanted: HashSet<(&str, &str)> = local
            .iter()
            .map(|f| (f.namespace.as_str(), f.id.as_str()))
            .collect();
        let mut deletions: BTreeMap<(&str, &str), &RemoteFlow> = BTreeMap::new();
        for r in remote {
            let key = (r.namespace.as_str(), r.id.as_str());
            if deployed.contains(key.0) && key.0 != SYSTEM_NAMESPACE && !wanted.contains(&key) {
                deletions.insert(key, r);
            }
        }
        items.extend(deletions.into_values().map(|r| PlanItem {
            local: None,
            namespace: r.namespace.clone(),
            id: r.id.clone(),
            action: Action::Delete,
            revision: r.revision,
        }));
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(ns: &str, id: &str, src: &str) -> LocalFlow {
        LocalFlow {
            file: format!("{id}.yml"),
            first_line: 1,
            source: src.into(),
            id: id.into(),
            namespace: ns.into(),
        }
    }

    fn remote(ns: &str, id: &str, rev: i64, src: &str) -> RemoteFlow {
        RemoteFlow {
            namespace: ns.into(),
            id: id.into(),
            revision: Some(rev),
            source: Some(src.into()),
        }
    }

    #[test]
    fn create_update_unchanged_by_exact_bytes() {
        let l = [
            local("n", "new", "a"),
            local("n", "same", "b"),
            local("n", "changed", "c2"),
            local("n", "crlf", "x\r\n"),
        ];
        let r = [
            remote("n", "same", 3, "b"),
            remote("n", "changed", 1, "c1"),
            remote("n", "crlf", 2, "x\n"),
            remote("n", "extra", 5, "e"),
        ];
        let p = plan(&l, &r, false);
        let actions: Vec<_> = p
            .iter()
            .map(|i| (i.id.as_str(), i.action, i.revision))
            .collect();
        assert_eq!(
            actions,
            [
                ("new", Action::Create, None),
                ("same", Action::Unchanged, Some(3)),
                ("changed", Action::Update, Some(1)),
                ("crlf", Action::Update, Some(2)),
            ]
        );
    }

    #[test]
    fn prune_only_touches_deployed_namespaces_and_never_system() {
        let l = [local("team.a", "keep", "k"), local("system", "mine", "m")];
        let r = [
            remote("team.a", "keep", 1, "k"),
            remote("team.a", "stale", 1, "s"),
            remote("team.a.child", "child", 1, "c"),
            remote("team.b", "other", 1, "o"),
            remote("system", "sys", 1, "s"),
        ];
        let p = plan(&l, &r, true);
        let deletes: Vec<_> = p
            .iter()
            .filter(|i| i.action == Action::Delete)
            .map(|i| format!("{}/{}", i.namespace, i.id))
            .collect();
        assert_eq!(deletes, ["team.a/stale"]);
        assert!(
            plan(&l, &r, false)
                .iter()
                .all(|i| i.action != Action::Delete)
        );
    }
}
