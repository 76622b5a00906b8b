//! Reading a folder of flows: every file read and split into documents, each document's head
//! (`id`, `namespace`) read off its top lines, then every document parsed and checked; all of it
//! on every core, the results taken in file order so duplicates and problems come out the same on
//! any machine.
//!
//! In two steps for a deploy ([`scan`], then [`Scanned::finish`]): between them the caller reads
//! the server, and a document whose text is exactly the server's copy is not parsed again (the
//! server accepted that very text; parsing was most of a large redeploy's time).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::source::{self, Head};
use super::{FileProblem, LocalFlow, check, discover};
use crate::error::{Error, Result};

/// Every flow under `root` with every local problem (YAML syntax, Kestra's id and namespace rules,
/// missing tasks, the same flow defined twice). `namespace` rewrites each flow's namespace.
pub fn load(root: &Path, namespace: Option<&str>) -> Result<(Vec<LocalFlow>, Vec<FileProblem>)> {
    Ok(scan(root, namespace)?.finish(|_, _| false, false))
}

/// A folder read and split into documents, each document's head known when its top lines say
/// it plainly, nothing parsed yet but the documents whose head could only be read by parsing.
pub struct Scanned {
    docs: Vec<Doc>,
}

/// One document of a file.
struct Doc {
    file: String,
    first_line: usize,
    text: String,
    state: State,
}

enum State {
    /// Head read off the top lines; the document is not parsed yet.
    Scanned(Head),
    /// Parsed (its head needed it), with its result.
    Parsed(std::result::Result<Head, Vec<source::Problem>>),
    /// The file could not be read, or holds no flow, or cannot take `--namespace`.
    Unusable(Option<usize>, String),
}

/// Reads every flow file under `root` (applying the `--namespace` rewrite) and reads each
/// document's head.
pub fn scan(root: &Path, namespace: Option<&str>) -> Result<Scanned> {
    if let Some(ns) = namespace {
        source::check_namespace(ns).map_err(|m| Error::usage(m, "fix --namespace"))?;
    }
    let files = discover::discover(root)?;
    if files.is_empty() {
        return Err(Error::usage(
            format!("no flow files (*.yml, *.yaml) under {}", root.display()),
            "put your flows there, or give their folder: `kestractl flows deploy PATH`",
        ));
    }
    let docs = parallel_map(&files, |path| scan_file(root, path, namespace))
        .into_iter()
        .flatten()
        .collect();
    Ok(Scanned { docs })
}

/// The documents of one file, each with its head.
fn scan_file(root: &Path, path: &Path, namespace: Option<&str>) -> Vec<Doc> {
    let file = discover::display_path(root, path);
    let unusable = |line: Option<usize>, message: String| Doc {
        file: file.clone(),
        first_line: line.unwrap_or(1),
        text: String::new(),
        state: State::Unusable(line, message),
    };
    let text = match discover::read_text(path) {
        Ok(t) => t,
        Err(m) => return vec![unusable(None, m)],
    };
    let docs = source::split_documents(&text);
    if docs.is_empty() {
        return vec![unusable(None, "the file holds no flow".into())];
    }
    docs.into_iter()
        .map(|doc| {
            let text = match namespace {
                Some(ns) => match source::rewrite_namespace(doc.text, ns) {
                    Some(t) => t,
                    None => {
                        return unusable(
                            Some(doc.first_line),
                            "--namespace needs a top-level `namespace: value` line to rewrite"
                                .into(),
                        );
                    }
                },
                None => doc.text.to_string(),
            };
            let state = match source::scan_head(&text) {
                Some(head) => State::Scanned(head),
                None => State::Parsed(source::parse_head(&text, doc.first_line)),
            };
            Doc {
                file: file.clone(),
                first_line: doc.first_line,
                text,
                state,
            }
        })
        .collect()
}

impl Scanned {
    /// The namespaces the documents name (a broken document names none).
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.docs
            .iter()
            .filter_map(|d| match &d.state {
                State::Scanned(h) | State::Parsed(Ok(h)) => Some(h.namespace.clone()),
                _ => None,
            })
            .collect()
    }

    /// The documents that read as flows and that `known` does not hold, as they would be sent:
    /// what a deploy will write, before anything is parsed (so the server can check them while
    /// they are parsed here).
    pub fn pending(&self, known: impl Fn(&Head, &str) -> bool) -> Vec<LocalFlow> {
        self.docs
            .iter()
            .filter_map(|d| match &d.state {
                State::Scanned(h) | State::Parsed(Ok(h)) if !known(h, &d.text) => {
                    Some(as_flow(d, h))
                }
                _ => None,
            })
            .collect()
    }

    /// The flows and every problem. A document `known` holds (given its head and text: the
    /// server's copy is exactly this text) is taken as it is; every other one is parsed, and with `checks` also gets the local
    /// checks Kestra's own would make (`check::local_checks`). A flow defined twice is a problem
    /// either way.
    pub fn finish(
        self,
        known: impl Fn(&Head, &str) -> bool + Sync,
        checks: bool,
    ) -> (Vec<LocalFlow>, Vec<FileProblem>) {
        let settled = parallel_map(&self.docs, |doc| settle(doc, &known, checks));
        let mut flows = Vec::new();
        let mut problems = Vec::new();
        let mut seen: HashMap<(String, String), (String, usize)> = HashMap::new();
        for (doc, (flow, found)) in self.docs.into_iter().zip(settled) {
            problems.extend(found);
            let Some(head) = flow else { continue };
            let key = (head.namespace.clone(), head.id.clone());
            if let Some((other, line)) = seen.get(&key) {
                problems.push(FileProblem {
                    file: doc.file.clone(),
                    line: Some(doc.first_line),
                    column: None,
                    message: format!(
                        "flow {}/{} is also defined in {other}:{line}; each flow must be defined once",
                        head.namespace, head.id
                    ),
                });
                continue;
            }
            seen.insert(key, (doc.file.clone(), doc.first_line));
            flows.push(LocalFlow {
                file: doc.file,
                first_line: doc.first_line,
                source: doc.text,
                id: head.id,
                namespace: head.namespace,
            });
        }
        (flows, problems)
    }
}

/// One document's head when it is a flow, and its problems.
fn settle(
    doc: &Doc,
    known: &(impl Fn(&Head, &str) -> bool + Sync),
    checks: bool,
) -> (Option<Head>, Vec<FileProblem>) {
    let problem = |p: source::Problem| FileProblem {
        file: doc.file.clone(),
        line: p.line.or(Some(doc.first_line)),
        column: p.column,
        message: p.message,
    };
    let parsed = match &doc.state {
        State::Unusable(line, message) => {
            return (
                None,
                vec![FileProblem {
                    file: doc.file.clone(),
                    line: *line,
                    column: None,
                    message: message.clone(),
                }],
            );
        }
        State::Scanned(head) => {
            if known(head, &doc.text) {
                return (Some(head.clone()), Vec::new());
            }
            source::parse_head(&doc.text, doc.first_line)
        }
        State::Parsed(result) => result.clone(),
    };
    match parsed {
        Ok(head) => {
            let found = if checks {
                check::local_checks(std::slice::from_ref(&as_flow(doc, &head)))
            } else {
                Vec::new()
            };
            (Some(head), found)
        }
        Err(list) => (None, list.into_iter().map(problem).collect()),
    }
}

/// The document as a flow with this head (a copy of its text, for the checks).
fn as_flow(doc: &Doc, head: &Head) -> LocalFlow {
    LocalFlow {
        file: doc.file.clone(),
        first_line: doc.first_line,
        source: doc.text.clone(),
        id: head.id.clone(),
        namespace: head.namespace.clone(),
    }
}

/// `f` over `items` on every available core, the results in the items' order.
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Below a few dozen items a thread costs more than it saves.
    if threads < 2 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(results) => results,
                // A worker can only panic on a bug; carried on as the same panic.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    /// Reads off its top lines, but a key is given twice below them: only parsing finds it.
    const BROKEN_BELOW_THE_HEAD: &str =
        "id: a\nnamespace: n.s\ntasks:\n  - id: t\n    type: x\n    type: y\n";

    #[test]
    fn a_document_the_server_holds_as_it_is_is_not_parsed_again() {
        let dir = folder(&[("a.yml", BROKEN_BELOW_THE_HEAD)]);
        let scanned = scan(dir.path(), None).unwrap();
        assert_eq!(
            scanned.namespaces().into_iter().collect::<Vec<_>>(),
            ["n.s"]
        );
        let (flows, problems) = scanned.finish(
            |head, text| head.id == "a" && text == BROKEN_BELOW_THE_HEAD,
            true,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].source, BROKEN_BELOW_THE_HEAD);

        // Not the server's copy: parsed, and its problem found.
        let (flows, problems) = scan(dir.path(), None).unwrap().finish(|_, _| false, true);
        assert!(flows.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].file, "a.yml");
    }

    #[test]
    fn checks_run_on_what_is_parsed_and_duplicates_are_found_either_way() {
        let twice =
            "id: b\nnamespace: n.s\ntasks:\n  - id: t\n    type: x\n  - id: t\n    type: x\n";
        let dir = folder(&[("b.yml", twice), ("c.yml", twice)]);
        let (flows, problems) = scan(dir.path(), None).unwrap().finish(|_, _| false, true);
        assert_eq!(flows.len(), 1);
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages.iter().filter(|m| m.contains("used twice")).count() == 2,
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("also defined in b.yml")),
            "{messages:?}"
        );
        // Both known: no check runs, but one flow defined twice is still a problem.
        let (_, problems) = scan(dir.path(), None).unwrap().finish(|_, _| true, true);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("also defined in b.yml"));
    }
}
