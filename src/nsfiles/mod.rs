//! Pushing a folder as a namespace's files: find the local files, plan against the server's
//! (create, update, unchanged, delete with prune), then write concurrently. Like a flow deploy, a
//! file whose content is already on the server is not rewritten, so its revision does not move.
//!
//! The plan is in two steps: [`plan`] decides from names and sizes alone (a different size is an
//! update without reading anything), and files of the same size are read from the server and
//! compared byte for byte ([`settle`]).

pub mod apply;
pub mod discover;
pub mod push;

use serde::Serialize;

pub use apply::{apply, settle, settle_from};
pub use discover::{LocalFile, discover};

use crate::kestra::nsfiles::RemoteFile;

/// What a push does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    /// Same size on both sides: the server's content must be read to know.
    Compare,
    Unchanged,
    Delete,
}

impl Action {
    pub fn is_write(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }

    /// The action in the shared engine's terms: a compare left unsettled writes nothing.
    pub fn sync(self) -> crate::sync::Action {
        match self {
            Action::Create => crate::sync::Action::Create,
            Action::Update => crate::sync::Action::Update,
            Action::Compare | Action::Unchanged => crate::sync::Action::Unchanged,
            Action::Delete => crate::sync::Action::Delete,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Compare => "compare",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
        }
    }
}

/// One file of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The path as Kestra stores it (`/scripts/etl.py`).
    pub path: String,
    /// Index into the local files, for everything but a delete.
    pub local: Option<usize>,
    pub action: Action,
}

/// The first plan, from names and sizes: a local file absent remotely is a create, one of another
/// size an update, one of the same size a compare; with `prune`, a remote file absent locally is a
/// delete. Local order first, then deletions in path order.
pub fn plan(local: &[LocalFile], remote: &[RemoteFile], prune: bool) -> Vec<Item> {
    let remote_size: std::collections::HashMap<&str, u64> =
        remote.iter().map(|r| (r.path.as_str(), r.size)).collect();
    let mut items: Vec<Item> = local
        .iter()
        .enumerate()
        .map(|(i, l)| Item {
            path: l.server.clone(),
            local: Some(i),
            action: match remote_size.get(l.server.as_str()) {
                None => Action::Create,
                Some(&size) if size != l.size => Action::Update,
                Some(_) => Action::Compare,
            },
        })
        .collect();
    if prune {
        let here: std::collections::HashSet<&str> =
            local.iter().map(|l| l.server.as_str()).collect();
        items.extend(
            remote
                .iter()
                .filter(|r| !here.contains(r.path.as_str()))
                .map(|r| Item {
                    path: r.path.clone(),
                    local: None,
                    action: Action::Delete,
                }),
        );
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(server: &str, size: u64) -> LocalFile {
        LocalFile {
            relative: server.trim_start_matches('/').into(),
            server: server.into(),
            path: server.trim_start_matches('/').into(),
            size,
        }
    }

    fn remote(path: &str, size: u64) -> RemoteFile {
        RemoteFile {
            path: path.into(),
            size,
            updated: None,
        }
    }

    #[test]
    fn plans_from_names_and_sizes() {
        let l = [local("/a.sql", 3), local("/b.py", 5), local("/c/d.txt", 1)];
        let r = [
            remote("/a.sql", 3),
            remote("/b.py", 6),
            remote("/old.txt", 2),
        ];
        let p = plan(&l, &r, false);
        let actions: Vec<(&str, Action)> = p.iter().map(|i| (i.path.as_str(), i.action)).collect();
        assert_eq!(
            actions,
            [
                ("/a.sql", Action::Compare),
                ("/b.py", Action::Update),
                ("/c/d.txt", Action::Create)
            ]
        );
        let p = plan(&l, &r, true);
        assert_eq!(p.last().unwrap().path, "/old.txt");
        assert_eq!(p.last().unwrap().action, Action::Delete);
        assert_eq!(p.last().unwrap().local, None);
    }
}
