//! The module graph of `src/` (ARCHITECTURE.md): layers import one way only, and only the entry
//! points and the commands know the command line. Read from the source's `crate::` paths, so a
//! new upward import fails here rather than in a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that may import `cli` and `commands`: the binary, the library root and the commands.
const ENTRY_POINTS: [&str; 3] = ["main", "lib", "commands"];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/stack/engine.rs` → `stack`, `src/cli.rs` → `cli`.
fn top_module(file: &Path) -> String {
    let rel = file.strip_prefix(src_dir()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text.find(|c| !is_ident_char(c)).unwrap_or(text.len());
    &text[..end]
}

/// The first path segment of each item in a `{a::b, c, d::{e, f}}` group (`text` starts after
/// the opening brace).
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut at_item_start = true;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            c if c.is_whitespace() => {}
            _ if at_item_start && depth == 0 => {
                let head = ident(&text[i..]);
                if !head.is_empty() && head != "self" {
                    heads.push(head.to_string());
                }
                at_item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// Top-level modules a file's code names through `crate::` (comments left out), and, for a
/// file directly under `src/`, through `super::`.
fn imports(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let top_level_file = file.parent() == Some(src_dir().as_path());
    // Comments left out (a `//` inside a string cuts its line short: it cannot hide a path).
    let code: String = text
        .lines()
        .map(|line| line.find("//").map_or(line, |i| &line[..i]))
        .collect::<Vec<_>>()
        .join("\n");
    let mut prefixes = vec!["crate::"];
    if top_level_file {
        prefixes.push("super::");
    }
    let mut found = BTreeSet::new();
    for prefix in prefixes {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            // `crate::` inside an identifier (`mycrate::`) is not a path to this crate.
            let before = rest[..i].chars().next_back();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(is_ident_char) {
                continue;
            }
            match rest.strip_prefix('{') {
                Some(group) => found.extend(group_heads(group)),
                None => {
                    let head = ident(rest);
                    if !head.is_empty() {
                        found.insert(head.to_string());
                    }
                }
            }
        }
    }
    found
}

/// Every edge `from → to` between distinct top-level modules, with a file that makes it.
fn module_graph() -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| top_module(f)).collect();
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for file in &files {
        let from = top_module(file);
        let edges = graph.entry(from.clone()).or_default();
        for to in imports(file) {
            if to != from && modules.contains(&to) {
                edges.entry(to).or_insert_with(|| file.clone());
            }
        }
    }
    graph
}

/// A cycle through `start`, if there is one: the modules on it in order.
fn cycle_from(
    graph: &BTreeMap<String, BTreeMap<String, PathBuf>>,
    start: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let current = path.last().unwrap().clone();
    for next in graph.get(&current).into_iter().flat_map(|e| e.keys()) {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(next.clone());
            return Some(cycle);
        }
        if !path.contains(next) {
            path.push(next.clone());
            if let Some(cycle) = cycle_from(graph, start, path) {
                return Some(cycle);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = module_graph();
    for start in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, start, &mut vec![start.clone()]) {
            let witnesses: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} → {} ({})", w[0], w[1], graph[&w[0]][&w[1]].display()))
                .collect();
            panic!("import cycle: {}", witnesses.join(", "));
        }
    }
}

#[test]
fn only_entry_points_and_commands_import_the_command_line() {
    let graph = module_graph();
    let offenders: Vec<String> = graph
        .iter()
        .filter(|(from, _)| !ENTRY_POINTS.contains(&from.as_str()))
        .flat_map(|(from, edges)| {
            edges
                .iter()
                .filter(|(to, _)| *to == "cli" || *to == "commands")
                .map(move |(to, file)| format!("{from} → {to} ({})", file.display()))
        })
        .collect();
    assert!(offenders.is_empty(), "upward imports: {offenders:?}");
}

#[test]
fn the_reader_finds_grouped_and_nested_paths() {
    assert_eq!(
        group_heads("error::{Error, Result}, fsutil,\n  stack::{spec, files}}; use x"),
        ["error", "fsutil", "stack"]
    );
    assert_eq!(group_heads("self, a}"), ["a"]);
    assert_eq!(ident("stack::engine"), "stack");
    // The graph is not empty: the reader sees the edges the crate is built from.
    let graph = module_graph();
    assert!(graph["commands"].contains_key("stack"), "{graph:?}");
    assert!(graph["stack"].contains_key("error"), "{graph:?}");
}
