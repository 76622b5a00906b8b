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

// ---- The file-level graph: no circle between files --------------------------------------------

/// A file's module path from the crate root: `src/stack/engine.rs` → `[stack, engine]`,
/// `src/flows/mod.rs` → `[flows]`, `src/lib.rs` → `[]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src_dir()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments and its `#[cfg(test)]` module (tests may reach
/// anywhere); a `//` inside a string cuts its line short, which cannot hide a path.
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.find("//").map_or(line, |i| &line[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path of a use tree starting at `text` (just after `crate::`, `super::` or `self::`),
/// each relative to `base`: `a::{b, c::{d, self}}` → `a::b`, `a::c::d`, `a::c`.
fn use_tree(text: &str, base: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = base.to_vec();
    let mut i = 0;
    let bytes = text.as_bytes();
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i] as char).is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if text[i..].starts_with('{') {
            i += 1;
            loop {
                skip_ws(&mut i);
                if i >= text.len() || text[i..].starts_with('}') {
                    return i + 1;
                }
                i += use_tree(&text[i..], &path, out);
                skip_ws(&mut i);
                if text[i..].starts_with(',') {
                    i += 1;
                }
            }
        }
        let head = ident(&text[i..]);
        if head.is_empty() {
            out.push(path);
            return i.max(1);
        }
        i += head.len();
        if head != "self" {
            path.push(head.to_string());
        }
        if text[i..].starts_with("::") {
            i += 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// The module paths (from the crate root) a file names through `crate::`, `super::` and
/// `self::`.
fn named_paths(file: &Path) -> Vec<Vec<String>> {
    let code = code_of(file);
    let here = module_path(file);
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find(['c', 's']) {
        let before = rest[..i].chars().next_back();
        let candidate = &rest[i..];
        rest = &rest[i + 1..];
        if before.is_some_and(|c| is_ident_char(c) || c == ':') {
            continue;
        }
        let (mut base, mut text) = if let Some(t) = candidate.strip_prefix("crate::") {
            (Vec::new(), t)
        } else if let Some(t) = candidate.strip_prefix("self::") {
            (here.clone(), t)
        } else if candidate.starts_with("super::") {
            let mut base = here.clone();
            let mut t = candidate;
            while let Some(after) = t.strip_prefix("super::") {
                base.pop();
                t = after;
            }
            (base, t)
        } else {
            continue;
        };
        if text.starts_with("crate::") {
            base.clear();
            text = &text["crate::".len()..];
        }
        use_tree(text, &base, &mut out);
    }
    out
}

/// The file holding the deepest module of `path` (its items are named past it).
fn file_of(path: &[String]) -> Option<PathBuf> {
    for k in (1..=path.len()).rev() {
        let dir = path[..k - 1].iter().fold(src_dir(), |d, part| d.join(part));
        for candidate in [
            dir.join(format!("{}.rs", path[k - 1])),
            dir.join(&path[k - 1]).join("mod.rs"),
        ] {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Whether one file's module holds the other's (a folder's `mod.rs` and what is inside it):
/// that is the folder and its rooms, not an import between two of them.
fn nested(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn file_graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut graph: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let from = module_path(file);
        let edges = graph.entry(file.clone()).or_default();
        for path in named_paths(file) {
            if let Some(to) = file_of(&path)
                && to != *file
                && !nested(&from, &module_path(&to))
            {
                edges.insert(to);
            }
        }
    }
    graph
}

/// A circle of files, if the graph has one (depth-first, colouring what is on the way).
fn file_cycle(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    fn visit(
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        node: &PathBuf,
        on_way: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(at) = on_way.iter().position(|n| n == node) {
            let mut cycle = on_way[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        on_way.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, on_way, done) {
                return Some(cycle);
            }
        }
        on_way.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(graph, start, &mut Vec::new(), &mut done))
}

#[test]
fn the_file_graph_has_no_circle() {
    let graph = file_graph();
    if let Some(cycle) = file_cycle(&graph) {
        let names: Vec<String> = cycle
            .iter()
            .map(|f| f.strip_prefix(src_dir()).unwrap().display().to_string())
            .collect();
        panic!("files that import each other: {}", names.join(" → "));
    }
}

#[test]
fn the_file_reader_resolves_trees_and_relative_paths() {
    let mut out = Vec::new();
    use_tree("a::{b, c::{d, self}}, e", &[], &mut out);
    assert_eq!(out, [vec!["a", "b"], vec!["a", "c", "d"], vec!["a", "c"]]);
    let deploy = src_dir().join("commands/flows/deploy.rs");
    assert_eq!(module_path(&deploy), ["commands", "flows", "deploy"]);
    let paths = named_paths(&deploy);
    assert!(
        paths.iter().any(|p| p.starts_with(&["flows".to_string()])),
        "{paths:?}"
    );
    assert_eq!(
        file_of(&["flows".into(), "report".into(), "DeployReport".into()]),
        Some(src_dir().join("flows/report.rs"))
    );
    // The graph is not empty, and a planted circle is found.
    let mut graph = file_graph();
    let a = src_dir().join("flows/report.rs");
    let b = src_dir().join("flows/plan.rs");
    assert!(graph.values().map(BTreeSet::len).sum::<usize>() > 100);
    graph.entry(a.clone()).or_default().insert(b.clone());
    graph.entry(b).or_default().insert(a);
    assert!(file_cycle(&graph).is_some());
}

// ---- Commands stand alone -------------------------------------------------------------------

/// What the commands share: the context, the `Run` trait and the `group!` macro (in
/// `commands/mod.rs`), the shared argument types, completion and the root command.
const SHARED_COMMAND_MODULES: [&str; 4] = ["args", "ctx", "complete", "root"];

/// The command group a file under `src/commands/` belongs to (`flows` for
/// `commands/flows/deploy.rs`, `doctor` for `commands/doctor.rs`), none for `commands/mod.rs`.
fn command_group(module: &[String]) -> Option<&str> {
    match module {
        [first, group, ..] if first == "commands" => Some(group),
        _ => None,
    }
}

#[test]
fn a_command_imports_no_other_command() {
    let mut files = Vec::new();
    rust_files(&src_dir().join("commands"), &mut files);
    let groups: BTreeSet<String> = std::fs::read_dir(src_dir().join("commands"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.trim_end_matches(".rs").to_string()
        })
        .filter(|n| n != "mod" && !SHARED_COMMAND_MODULES.contains(&n.as_str()))
        .collect();
    assert!(
        groups.contains("flows") && groups.contains("doctor"),
        "{groups:?}"
    );
    let mut offenders = Vec::new();
    for file in &files {
        let here = module_path(file);
        let Some(own) = command_group(&here) else {
            continue;
        };
        if SHARED_COMMAND_MODULES.contains(&own) {
            continue;
        }
        for path in named_paths(file) {
            if let Some(other) = command_group(&path)
                && other != own
                && groups.contains(other)
            {
                offenders.push(format!(
                    "{} names commands::{}",
                    file.strip_prefix(src_dir()).unwrap().display(),
                    path[1..].join("::")
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a command imports another (move what they share to the library, or to commands/args.rs \
         or ctx/): {offenders:#?}"
    );
}

// ---- Sizes: files a reader takes in, functions that do one thing ------------------------------

/// The code with string and character literals and comments blanked (line breaks kept), so
/// braces are counted only where they are code.
fn blank_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_lines = |s: &[char], out: &mut String| {
        out.extend(s.iter().filter(|c| **c == '\n'));
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            keep_lines(&chars[start..i.min(chars.len())], &mut out);
        } else if c == 'r'
            && matches!(next, Some('#' | '"'))
            && !chars[..i].last().is_some_and(|p| is_ident_char(*p))
        {
            let start = i;
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            keep_lines(&chars[start..j.min(chars.len())], &mut out);
            i = j;
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            keep_lines(&chars[start..i.min(chars.len())], &mut out);
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal (a lifetime has no closing quote).
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Each named function of the code with the line it starts on and its length in lines.
fn function_lengths(code: &str) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    let lines: Vec<&str> = code.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let mut search = 0;
        while let Some(at) = line[search..].find("fn ") {
            let at = search + at;
            search = at + 3;
            if line[..at].chars().next_back().is_some_and(is_ident_char) {
                continue;
            }
            let name = ident(line[at + 3..].trim_start());
            if name.is_empty() {
                continue;
            }
            // From the signature to the brace that closes the body (none for a declaration).
            let (mut depth, mut opened) = (0i32, false);
            'body: for (m, text) in lines.iter().enumerate().skip(n) {
                let from = if m == n { at } else { 0 };
                for ch in text[from..].chars() {
                    match ch {
                        ';' if !opened => break 'body,
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if opened && depth == 0 {
                        found.push((name.to_string(), n + 1, m - n + 1));
                        break 'body;
                    }
                }
            }
        }
    }
    found
}

/// The lines of a file before its test module.
fn code_before_tests(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn files_and_functions_stay_small() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut over = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(src_dir()).unwrap();
        let in_commands = rel.starts_with("commands");
        let code = code_before_tests(file);
        let file_limit = if in_commands {
            Some(500)
        } else if rel.starts_with("cli") {
            Some(600)
        } else {
            None
        };
        let lines = code.lines().count();
        if let Some(limit) = file_limit.filter(|limit| lines > *limit) {
            over.push(format!(
                "{}: {lines} lines (at most {limit})",
                rel.display()
            ));
        }
        let function_limit = if in_commands { 100 } else { 150 };
        for (name, line, length) in function_lengths(&blank_literals(&code)) {
            if length > function_limit {
                over.push(format!(
                    "{}:{line} fn {name}: {length} lines (at most {function_limit})",
                    rel.display()
                ));
            }
        }
    }
    assert!(over.is_empty(), "split these into named steps: {over:#?}");
}

#[test]
fn the_size_reader_counts_code_not_literals() {
    let code = "fn a() {\n    let s = \"{\";\n    let c = '}';\n    // }\n}\nfn b();\n";
    let lengths = function_lengths(&blank_literals(code));
    assert_eq!(lengths, [("a".to_string(), 1, 5)]);
    let raw = "fn r<'a>(x: &'a str) {\n    let _ = r#\"}\"#;\n}\n";
    assert_eq!(
        function_lengths(&blank_literals(raw)),
        [("r".to_string(), 1, 3)]
    );
}
