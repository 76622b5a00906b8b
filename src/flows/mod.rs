//! Local flow files: discovery, parsing, local validation, the plan against the server, and its
//! application.

pub mod apply;
pub mod check;
pub mod diff;
pub mod discover;
pub mod load;
pub mod locate;
pub mod plan;
pub mod remote;
pub mod report;
pub mod source;

use std::fmt;
use std::path::Path;

pub(crate) use load::parallel_map;
pub use load::{load, scan};

/// One flow document found on disk, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFlow {
    /// The file, relative to the folder given.
    pub file: String,
    pub first_line: usize,
    /// Exactly what will be sent (after the optional namespace rewrite).
    pub source: String,
    pub id: String,
    pub namespace: String,
}

/// A problem in a file, shown as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// The namespace each `_files` folder under `root` ships to: `namespace` when given, else the one
/// namespace of the flows in the folder that holds it. A folder with no flow beside it, or flows
/// of several namespaces, is a problem (nothing can be deployed until it is settled).
pub fn files_namespaces(
    root: &Path,
    folders: &[std::path::PathBuf],
    flows: &[LocalFlow],
    namespace: Option<&str>,
) -> (Vec<(std::path::PathBuf, String)>, Vec<FileProblem>) {
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    for folder in folders {
        let shown = discover::display_path(root, folder);
        let problem = |message: String| FileProblem {
            file: format!("{shown}/"),
            line: None,
            column: None,
            message,
        };
        if let Some(ns) = namespace {
            targets.push((folder.clone(), ns.to_string()));
            continue;
        }
        let holder = folder.parent().unwrap_or(root);
        let beside: std::collections::BTreeSet<&str> = flows
            .iter()
            .filter(|f| root.join(&f.file).parent() == Some(holder))
            .map(|f| f.namespace.as_str())
            .collect();
        match beside.len() {
            1 => {
                if let Some(ns) = beside.first() {
                    targets.push((folder.clone(), (*ns).to_string()));
                }
            }
            0 => problems.push(problem(
                "no flow beside it says which namespace its files belong to: put the \
                 namespace's flows in the same folder, or pass --namespace"
                    .into(),
            )),
            _ => problems.push(problem(format!(
                "the flows beside it belong to several namespaces ({}): keep one namespace's \
                 flows per folder with its _files",
                beside.into_iter().collect::<Vec<_>>().join(", ")
            ))),
        }
    }
    (targets, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn parallel_map_keeps_the_order_of_its_items() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(
            parallel_map(&items, |i| i * 2),
            (0..1000).map(|i| i * 2).collect::<Vec<_>>()
        );
        assert_eq!(parallel_map(&items[..3], |i| i + 1), vec![1, 2, 3]);
        assert!(parallel_map(&[] as &[usize], |i| *i).is_empty());
    }

    #[test]
    fn a_large_folder_loads_in_file_order_with_its_duplicates_named() {
        // Enough files for the parallel path: the result must not depend on which thread
        // parsed what.
        let mut files: Vec<(String, String)> = (0..200)
            .map(|i| {
                (
                    format!("f{i:03}.yml"),
                    format!("id: flow{i}\nnamespace: a.b\ntasks:\n  - id: t\n    type: x\n"),
                )
            })
            .collect();
        files.push((
            "z-dup.yml".into(),
            "id: flow7\nnamespace: a.b\ntasks:\n  - id: t\n    type: x\n".into(),
        ));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let dir = tree(&refs);
        let (flows, problems) = load(dir.path(), None).unwrap();
        let ids: Vec<String> = flows.iter().map(|f| f.id.clone()).collect();
        assert_eq!(
            ids,
            (0..200).map(|i| format!("flow{i}")).collect::<Vec<_>>()
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].file, "z-dup.yml");
        assert!(
            problems[0].message.contains("also defined in f007.yml:1"),
            "{problems:?}"
        );
    }

    #[test]
    fn loads_multi_document_files_in_order() {
        let dir = tree(&[
            ("b.yml", "id: b\nnamespace: n\ntasks: [x]\n"),
            (
                "a.yaml",
                "id: a1\nnamespace: n\ntasks: [x]\n---\nid: a2\nnamespace: m\ntasks: [x]\n",
            ),
        ]);
        let (flows, problems) = load(dir.path(), None).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let ids: Vec<_> = flows
            .iter()
            .map(|f| (f.file.as_str(), f.id.as_str(), f.first_line))
            .collect();
        assert_eq!(
            ids,
            [("a.yaml", "a1", 1), ("a.yaml", "a2", 5), ("b.yml", "b", 1)]
        );
        assert_eq!(flows[1].source, "id: a2\nnamespace: m\ntasks: [x]\n");
    }

    #[test]
    fn files_folders_ship_to_the_namespace_of_the_flows_beside_them() {
        let flow = |ns: &str, id: &str| format!("id: {id}\nnamespace: {ns}\ntasks: [x]\n");
        let dir = tree(&[
            ("team/a.yml", &flow("company.team", "a")),
            ("team/_files/q.sql", "select 1"),
            ("mixed/b.yml", &flow("x", "b")),
            ("mixed/c.yml", &flow("y", "c")),
            ("mixed/_files/q.sql", "select 1"),
            ("alone/_files/q.sql", "select 1"),
        ]);
        let root = dir.path();
        let (flows, problems) = load(root, None).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let folders = discover::files_folders(root).unwrap();
        let (targets, problems) = files_namespaces(root, &folders, &flows, None);
        assert_eq!(
            targets,
            [(root.join("team/_files"), "company.team".to_string())]
        );
        let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(
            said[0].starts_with("alone/_files/: no flow beside it"),
            "{said:?}"
        );
        assert!(said[1].contains("several namespaces (x, y)"), "{said:?}");
        // --namespace settles every folder.
        let (targets, problems) = files_namespaces(root, &folders, &flows, Some("one"));
        assert_eq!(targets.len(), 3);
        assert!(problems.is_empty());
    }

    #[test]
    fn duplicates_name_both_places() {
        let dir = tree(&[
            ("one.yml", "id: same\nnamespace: n\ntasks: [x]\n"),
            (
                "two.yml",
                "id: other\nnamespace: n\ntasks: [x]\n---\nid: same\nnamespace: n\ntasks: [x]\n",
            ),
        ]);
        let (flows, problems) = load(dir.path(), None).unwrap();
        assert_eq!(flows.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "two.yml:5: flow n/same is also defined in one.yml:1; each flow must be defined once"
        );
    }

    #[test]
    fn namespace_override_rewrites_and_can_create_duplicates() {
        let dir = tree(&[
            ("a.yml", "id: x\nnamespace: one\ntasks: [x]\n"),
            ("b.yml", "id: x\nnamespace: two\ntasks: [x]\n"),
        ]);
        let (flows, problems) = load(dir.path(), Some("merged")).unwrap();
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].source, "id: x\nnamespace: merged\ntasks: [x]\n");
        assert_eq!(problems.len(), 1);
        assert!(load(dir.path(), Some("Bad NS")).is_err());
    }

    #[test]
    fn empty_folder_and_empty_files() {
        let dir = tree(&[("readme.txt", "x")]);
        assert!(
            load(dir.path(), None)
                .unwrap_err()
                .to_string()
                .contains("no flow files")
        );
        let dir = tree(&[("e.yml", "# nothing\n")]);
        let (_, problems) = load(dir.path(), None).unwrap();
        assert_eq!(problems[0].to_string(), "e.yml: the file holds no flow");
    }
}
