//! One flow's source: split out of its file with a YAML document splitter, read for `id`,
//! `namespace` and `tasks`, checked against Kestra's rules, and kept byte-for-byte (only
//! `--namespace` rewrites the top-level namespace value, and nothing else).

/// Ids Kestra reserves since 1.0 (they collide with API routes).
pub const RESERVED_IDS: [&str; 10] = [
    "pause",
    "resume",
    "force-run",
    "change-status",
    "kill",
    "executions",
    "search",
    "source",
    "disable",
    "enable",
];

/// A problem in a file, with a position when we know one (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Problem {
    fn at(line: usize, column: usize, message: impl Into<String>) -> Self {
        Problem {
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    fn general(message: impl Into<String>) -> Self {
        Problem {
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// A document of a file: where it starts (1-based line) and its exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'a> {
    pub first_line: usize,
    pub text: &'a str,
}

/// Whether a line (without its line ending) is a YAML document marker: `---` or `...` at column 0,
/// alone or followed by a space. Inside a block scalar such a line is necessarily indented, so a
/// `---` in an indented description never splits a flow (unlike a naive `split("---")`).
fn marker(line: &str) -> Option<bool> {
    let line = line.trim_end_matches(['\r', '\n']);
    for (prefix, start) in [("---", true), ("...", false)] {
        if let Some(rest) = line.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with([' ', '\t']))
        {
            return Some(start);
        }
    }
    None
}

/// Splits a file's text into its YAML documents. Blank and comment-only documents are dropped.
/// A `--- ` marker line carrying content (`--- id: x`) is unusual for flows and is kept with the
/// document it opens.
pub fn split_documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start: Option<(usize, usize)> = Some((0, 1)); // (byte offset, line)
    let mut offset = 0;
    fn push<'a>(docs: &mut Vec<Document<'a>>, all: &'a str, from: (usize, usize), to: usize) {
        let text = &all[from.0..to];
        let meaningful = text.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        });
        if meaningful {
            docs.push(Document {
                first_line: from.1,
                text,
            });
        }
    }
    for (line_no, line) in (1..).zip(text.split_inclusive('\n')) {
        let next = offset + line.len();
        match marker(line) {
            Some(true) => {
                if let Some(from) = start.take() {
                    push(&mut docs, text, from, offset);
                }
                let rest = line.trim_start_matches("---");
                if rest.trim().is_empty() {
                    start = Some((next, line_no + 1));
                } else {
                    // Content on the marker line belongs to the new document.
                    start = Some((offset + 3 + (rest.len() - rest.trim_start().len()), line_no));
                }
            }
            Some(false) => {
                if let Some(from) = start.take() {
                    push(&mut docs, text, from, offset);
                }
            }
            None => {}
        }
        offset = next;
    }
    if let Some(from) = start {
        push(&mut docs, text, from, text.len());
    }
    docs
}

/// What local validation needs from a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub id: String,
    pub namespace: String,
}

fn clean_library_message(message: &str) -> String {
    let m = message
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
        .replace("duplicate mapping key", "duplicate key");
    // The location is reported separately. It is cut at the *first* " at line ": an alias error
    // goes on with "(defined at line …) (used at line …)", and cutting at the last one left
    // "… (defined at line 7, column 7) (used" in the message.
    let m = match m.find(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m,
    };
    // The parser's limits speak Rust (`budget breached: Nodes { nodes: 250001 }`); say what they
    // mean for a flow file.
    if m.contains("recursion limit exceeded") || m.starts_with("budget breached: Depth") {
        return "nested too deeply (lists or mappings inside each other beyond the YAML parser's \
                limit); no flow needs this"
            .into();
    }
    if m.starts_with("budget breached") {
        return "too many values once its aliases (`*name`) are expanded (an alias bomb?); \
                write the values out or use fewer aliases"
            .into();
    }
    m
}

fn yaml_error(e: &serde_saphyr::Error, line_offset: usize) -> Problem {
    let inner = e.without_snippet();
    let message = clean_library_message(&inner.to_string());
    match e.location() {
        Some(loc) => Problem::at(
            usize::try_from(loc.line()).unwrap_or(0) + line_offset,
            usize::try_from(loc.column()).unwrap_or(0),
            format!("YAML: {message}"),
        ),
        None => Problem::general(format!("YAML: {message}")),
    }
}

/// The fields local validation reads, typed: a typed target keeps `id: n` the text `n` (an
/// untyped YAML 1.1 reading would turn it into a boolean).
#[derive(serde::Deserialize)]
struct TypedHead {
    id: Option<String>,
    namespace: Option<String>,
    tasks: Option<Vec<serde::de::IgnoredAny>>,
}

/// Words YAML reads as something other than a string when written plain.
const NOT_PLAIN_STRINGS: [&str; 10] = [
    "null", "true", "false", "yes", "no", "on", "off", "y", "n", "~",
];

/// A top-level value as a string, when it plainly is one: quoted on one line, or a plain word of
/// Kestra's id/namespace characters starting with a letter (so never a number, a date or a YAML
/// keyword). `None` for anything else.
fn plain_value(raw: &str) -> Option<&str> {
    let value = match raw.find(" #") {
        Some(i) => &raw[..i],
        None => raw,
    }
    .trim();
    let inner = match value.as_bytes().first() {
        Some(b'"') | Some(b'\'') => {
            let quote = &value[..1];
            value.strip_prefix(quote)?.strip_suffix(quote)?
        }
        Some(c) if c.is_ascii_alphabetic() => {
            if NOT_PLAIN_STRINGS.contains(&value.to_ascii_lowercase().as_str()) {
                return None;
            }
            value
        }
        _ => return None,
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    (!inner.is_empty() && inner.chars().all(allowed)).then_some(inner)
}

/// A flow's `id` and `namespace` read off its top-level lines, without parsing the YAML: the
/// fast path for sources the server already holds (an export has one flow per entry). `None`
/// whenever the text is not plainly one mapping of `key: value` lines at column 0 with both keys
/// written once as plain strings; the caller then uses [`parse_head`]. Where both answer, they
/// agree (a fuzz invariant).
pub fn scan_head(text: &str) -> Option<Head> {
    // Line breaks other than `\n` and `\r\n` (a lone `\r`, YAML 1.1's NEL and separators) would
    // put lines where this reading does not see them.
    let odd_break = text.char_indices().any(|(i, c)| {
        matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
            || (c == '\r' && !text[i + 1..].starts_with('\n'))
    });
    if odd_break {
        return None;
    }
    let (mut id, mut namespace) = (None, None);
    let mut seen_content = false;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with([' ', '#']) {
            continue;
        }
        if line == "---" && !seen_content {
            seen_content = true;
            continue;
        }
        seen_content = true;
        // Column 0 holds only `key:` or `key: value` of the top-level mapping.
        let (key, rest) = line.split_once(':')?;
        let simple_key = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !simple_key || !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        // Up to a trailing comment (a ` #` inside quotes leaves them open: not answered).
        let value = rest.find(" #").map_or(rest, |i| &rest[..i]).trim();
        // A value that could run onto the next lines at column 0: a quote or a flow collection
        // left open.
        let open = match value.as_bytes().first() {
            Some(b'"') => value.len() < 2 || !value.ends_with('"'),
            Some(b'\'') => value.len() < 2 || !value.ends_with('\''),
            Some(b'[') => !value.ends_with(']'),
            Some(b'{') => !value.ends_with('}'),
            _ => false,
        };
        if open {
            return None;
        }
        let slot = match key {
            "id" => &mut id,
            "namespace" => &mut namespace,
            _ => continue,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(plain_value(rest)?.to_string());
    }
    Some(Head {
        id: id?,
        namespace: namespace?,
    })
}

/// Reads a document's `id`, `namespace` and `tasks`, applying Kestra's rules. `first_line` maps
/// positions back to the file. Every problem is returned, not just the first.
pub fn parse_head(text: &str, first_line: usize) -> Result<Head, Vec<Problem>> {
    let line_offset = first_line.saturating_sub(1);
    // One parse in the common case: the typed head reads the whole document (the rest as
    // ignored values), so a valid flow is never parsed twice. Only when that fails is the
    // document parsed as plain YAML, to tell a syntax error (said in YAML's words) from a
    // well-formed document of the wrong shape.
    let head: TypedHead = match serde_saphyr::from_str(text) {
        Ok(head) => head,
        Err(typed) => {
            serde_saphyr::from_str::<serde::de::IgnoredAny>(text)
                .map_err(|e| vec![yaml_error(&e, line_offset)])?;
            return Err(vec![shape_problem(&typed, line_offset)]);
        }
    };
    let mut problems = Vec::new();
    // A problem of a key is reported at the key's line (a flow whose `namespace:` is on line 2
    // was reported at line 1); one of a missing key, at the document's start.
    let at_key = |key: &str, message: String| Problem {
        line: top_level_line(text, key).map(|l| l + line_offset),
        column: None,
        message,
    };
    let id = head.id.filter(|s| !s.is_empty());
    let namespace = head.namespace.filter(|s| !s.is_empty());
    match &id {
        None => problems.push(Problem::general("`id` is missing")),
        Some(id) => {
            if let Err(m) = check_id(id) {
                problems.push(at_key("id", m));
            }
        }
    }
    match &namespace {
        None => problems.push(Problem::general("`namespace` is missing")),
        Some(ns) => {
            if let Err(m) = check_namespace(ns) {
                problems.push(at_key("namespace", m));
            }
        }
    }
    match head.tasks {
        None => problems.push(Problem::general(
            "`tasks` is missing: a flow needs at least one task",
        )),
        Some(tasks) if tasks.is_empty() => problems.push(at_key(
            "tasks",
            "`tasks` is empty: a flow needs at least one task".into(),
        )),
        Some(_) => {}
    }
    match (id, namespace) {
        (Some(id), Some(namespace)) if problems.is_empty() => Ok(Head { id, namespace }),
        _ => Err(problems),
    }
}

/// A well-formed document that is not a flow's shape, said in a flow's terms.
fn shape_problem(e: &serde_saphyr::Error, line_offset: usize) -> Problem {
    let mut p = yaml_error(e, line_offset);
    p.message = p
        .message
        .replace("YAML: ", "")
        .replace(
            "expected string scalar",
            "expected a single text value here (`id` and `namespace` are text)",
        )
        .replace(
            "expected sequence start",
            "expected a list here (`tasks` is a list of tasks)",
        );
    if p.message.contains("mapping") || p.message.contains("struct") {
        p.message = "a flow must be a YAML mapping (`id: …`, `namespace: …`, `tasks: …`)".into();
    }
    p
}

/// The 1-based line of a document's top-level `key:` (at column 0), if it has one.
fn top_level_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .map(|i| i + 1)
}

/// Kestra's flow id rule: `^[a-zA-Z0-9][a-zA-Z0-9._-]*`, 1-100 characters, not reserved.
pub fn check_id(id: &str) -> Result<(), String> {
    check_id_pattern(id)?;
    if RESERVED_IDS.contains(&id) {
        return Err(format!(
            "id `{id}` is reserved by Kestra since 1.0 (it collides with an API route); rename the flow"
        ));
    }
    Ok(())
}

/// Kestra's flow id pattern and length, without the reserved names (a server may hold flows
/// created before they were reserved).
pub fn check_id_pattern(id: &str) -> Result<(), String> {
    let mut chars = id.chars();
    let pattern = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !pattern {
        return Err(format!(
            "id `{id}` is not valid: letters, digits, `.`, `_` and `-`, starting with a letter or digit"
        ));
    }
    if id.len() > 100 {
        return Err(format!(
            "id `{id}` is longer than Kestra's limit of 100 characters"
        ));
    }
    Ok(())
}

/// Kestra's namespace rule: `^[a-z0-9][a-z0-9._-]*`, 1-150 characters (lower case only).
pub fn check_namespace(ns: &str) -> Result<(), String> {
    let mut chars = ns.chars();
    let pattern = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !pattern {
        return Err(format!(
            "namespace `{ns}` is not valid: lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit"
        ));
    }
    if ns.len() > 150 {
        return Err(format!(
            "namespace `{ns}` is longer than Kestra's limit of 150 characters"
        ));
    }
    Ok(())
}

/// Replaces the value of the top-level `namespace:` line, keeping every other byte (including a
/// trailing comment and the line ending). `None` when there is no such line to rewrite, or when
/// the rewritten document would not be in `namespace` (a `namespace:` line at column 0 can be the
/// continuation of a multi-line quoted value rather than the flow's key).
pub fn rewrite_namespace(text: &str, namespace: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Namespace {
        namespace: Option<String>,
    }
    let read = |t: &str| {
        serde_saphyr::from_str::<Namespace>(t)
            .ok()
            .map(|n| n.namespace)
    };
    let plain = replace_namespace_line(text, namespace)?;
    match read(&plain) {
        Some(found) if found.as_deref() == Some(namespace) => Some(plain),
        // A value YAML reads otherwise when plain (`null`) is written quoted.
        Some(_) => {
            let quoted = replace_namespace_line(text, &format!("\"{namespace}\""))?;
            (read(&quoted)?.as_deref() == Some(namespace)).then_some(quoted)
        }
        // A rewrite that breaks a valid document edited something else than the key.
        None if read(text).is_some() => None,
        // The document's own YAML error, which the caller reports.
        None => Some(plain),
    }
}

fn replace_namespace_line(text: &str, value: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + value.len());
    let mut done = false;
    for line in text.split_inclusive('\n') {
        if !done && let Some(rest) = line.strip_prefix("namespace:") {
            let body_end = rest.trim_end_matches(['\r', '\n']).len();
            let (body, ending) = rest.split_at(body_end);
            // A trailing comment keeps its exact spacing.
            let comment = body
                .find(" #")
                .map_or("", |i| &body[body[..i].trim_end().len()..]);
            let old = body[..body.len() - comment.len()].trim();
            if old.is_empty() || old.starts_with(['|', '>', '&', '*', '!']) {
                return None;
            }
            out.push_str("namespace: ");
            out.push_str(value);
            out.push_str(comment);
            out.push_str(ending);
            done = true;
        } else {
            out.push_str(line);
        }
    }
    done.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_head_reads_plain_top_level_lines() {
        let head = |id: &str, ns: &str| Head {
            id: id.into(),
            namespace: ns.into(),
        };
        let flow = "id: hello\nnamespace: company.team\n\ntasks:\n  - id: t\n    type: x\n";
        assert_eq!(scan_head(flow), Some(head("hello", "company.team")));
        let quoted = "# c\n---\nnamespace: 'company.team' # the team\nid: \"my-flow_2\"\r\n";
        assert_eq!(scan_head(quoted), Some(head("my-flow_2", "company.team")));
        // Anything that is not plainly a string, or not plainly a top-level line: not answered
        // (the caller parses the YAML).
        for text in [
            "id: 123\nnamespace: a\n",
            "id: null\nnamespace: a\n",
            "id: x\nnamespace: a\nid: y\n",
            "id: x\n",
            "id: &a x\nnamespace: a\n",
            "description: \"open\nid: x\nnamespace: a\n",
            "id: x\nnamespace: a\n---\nid: y\n",
            "\"id\": x\nnamespace: a\n",
            "id:x\nnamespace: a\n",
            "- id: x\n",
            "id: |\n  x\nnamespace: a\n",
        ] {
            assert_eq!(scan_head(text), None, "{text:?}");
        }
        // Where both answer, they agree.
        let parsed = parse_head(flow, 1).unwrap();
        assert_eq!(scan_head(flow), Some(parsed));
    }

    #[test]
    fn splits_on_column_zero_markers_only() {
        let text = "id: a\nnamespace: n\ndescription: |\n  before\n  ---\n  after\ntasks: [x]\n---\n# only a comment\n---\nid: b\n...\nignored: trailer\n--- \nid: c\r\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3, "{docs:?}");
        assert_eq!(docs[0].first_line, 1);
        assert!(docs[0].text.contains("  ---\n  after\n"));
        assert_eq!(docs[1].text, "id: b\n");
        assert_eq!(docs[1].first_line, 11);
        assert_eq!(docs[2].text, "id: c\r\n");
        assert_eq!(docs[2].first_line, 15);
    }

    #[test]
    fn a_single_document_is_the_whole_file() {
        let text = "id: a\nnamespace: n\ntasks: [x]";
        assert_eq!(
            split_documents(text),
            vec![Document {
                first_line: 1,
                text
            }]
        );
        assert!(split_documents("").is_empty());
        assert!(split_documents("# nothing\n\n").is_empty());
        // "---x" and "----" are not markers.
        assert_eq!(split_documents("a: 1\n----\nb: 2\n").len(), 1);
    }

    #[test]
    fn parses_valid_heads() {
        let head = parse_head(
            "id: hello\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n",
            1,
        )
        .unwrap();
        assert_eq!(head.id, "hello");
        assert_eq!(head.namespace, "company.team");
        // Numbers are fine as ids.
        assert_eq!(
            parse_head("id: 123\nnamespace: n\ntasks: [x]\n", 1)
                .unwrap()
                .id,
            "123"
        );
    }

    #[test]
    fn reports_every_problem_with_positions_for_yaml_errors() {
        let errs = parse_head("id: a\nid: b\n", 10).unwrap_err();
        assert_eq!(errs[0].line, Some(11));
        assert!(errs[0].message.contains("duplicate key: id"), "{errs:?}");
        assert!(!errs[0].message.contains("DuplicateKeyPolicy"));

        let errs = parse_head("id: Bad Id\nnamespace: Upper\ntasks: []\n", 1).unwrap_err();
        let all: Vec<_> = errs.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(errs.len(), 3, "{all:?}");
        assert!(all[0].contains("id `Bad Id` is not valid"));
        assert!(all[1].contains("namespace `Upper`"));
        assert!(all[2].contains("`tasks` is empty"));

        let errs = parse_head("namespace: n\n", 1).unwrap_err();
        assert!(errs.iter().any(|p| p.message.contains("`id` is missing")));
        assert!(
            errs.iter()
                .any(|p| p.message.contains("`tasks` is missing"))
        );

        let errs = parse_head("id: pause\nnamespace: n\ntasks: [x]\n", 1).unwrap_err();
        assert!(errs[0].message.contains("reserved"));
        let errs = parse_head("- a\n- b\n", 1).unwrap_err();
        assert!(errs[0].message.contains("mapping"));
        // YAML 1.1 booleans stay text where text is expected.
        assert_eq!(
            parse_head("id: yes\nnamespace: n\ntasks: [x]\n", 1)
                .unwrap()
                .id,
            "yes"
        );
        let errs = parse_head("id:\n  nested: 1\nnamespace: n\ntasks: [x]\n", 1).unwrap_err();
        assert!(errs[0].message.contains("single text value"), "{errs:?}");
        let errs = parse_head("id: a\nnamespace: n\ntasks: 5\n", 1).unwrap_err();
        assert!(errs[0].message.contains("a list"), "{errs:?}");
        let errs = parse_head("id: [a\nnamespace: n\n", 3).unwrap_err();
        assert!(errs[0].line.unwrap() >= 3, "{errs:?}");

        // The parser's limits, in words (not `budget breached: Nodes { … }`).
        let deep = format!(
            "id: a\nnamespace: n\ntasks: {}{}\n",
            "[".repeat(500),
            "]".repeat(500)
        );
        let errs = parse_head(&deep, 1).unwrap_err();
        assert!(errs[0].message.contains("nested too deeply"), "{errs:?}");
        let mut bomb = String::from("id: a\nnamespace: n\nl0: &l0 [x,x,x,x,x,x,x,x,x]\n");
        for i in 1..7 {
            let p = i - 1;
            bomb.push_str(&format!(
                "l{i}: &l{i} [*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p}]\n"
            ));
        }
        bomb.push_str("tasks: *l6\n");
        let errs = parse_head(&bomb, 1).unwrap_err();
        assert!(errs[0].message.contains("alias bomb"), "{errs:?}");
        assert!(!errs[0].message.contains("(used"), "{errs:?}");
    }

    #[test]
    fn id_and_namespace_limits() {
        assert!(check_id(&"a".repeat(100)).is_ok());
        assert!(check_id(&"a".repeat(101)).is_err());
        assert!(check_id("-a").is_err());
        assert!(check_namespace(&"a".repeat(150)).is_ok());
        assert!(check_namespace(&"a".repeat(151)).is_err());
        assert!(check_namespace("a_b-c.d9").is_ok());
    }

    #[test]
    fn namespace_rewrite_touches_only_that_value() {
        let text = "id: a\r\nnamespace: old.ns   # team\r\ndescription: \"namespace: keep\"\r\ntasks: [x]\r\n";
        let out = rewrite_namespace(text, "new.ns").unwrap();
        assert_eq!(
            out,
            "id: a\r\nnamespace: new.ns   # team\r\ndescription: \"namespace: keep\"\r\ntasks: [x]\r\n"
        );
        assert_eq!(
            rewrite_namespace("id: a\nnamespace: 'q'\n", "z").unwrap(),
            "id: a\nnamespace: z\n"
        );
        assert!(rewrite_namespace("{id: a, namespace: b}", "z").is_none());
        assert!(rewrite_namespace("namespace:\n  x\n", "z").is_none());
        // An indented namespace key (inside a task) is not the flow's.
        assert!(rewrite_namespace("tasks:\n  - namespace: x\n", "z").is_none());
    }

    /// Found with the `flow_source` fuzz target's invariant (a valid flow rewritten to a valid
    /// namespace is in that namespace, or refused): a `namespace:` line continuing a multi-line
    /// quoted description was rewritten while the real key stayed, so `--namespace merged`
    /// deployed the flow into `real`; and `--namespace null` wrote a YAML null.
    #[test]
    fn namespace_rewrite_never_leaves_the_flow_elsewhere() {
        let text =
            "id: a\ndescription: \"first\nnamespace: fake #\"\nnamespace: real\ntasks: [x]\n";
        assert_eq!(parse_head(text, 1).unwrap().namespace, "real");
        assert_eq!(rewrite_namespace(text, "merged"), None);
        // Refused too when the rewrite would break the quoted value instead.
        let text = "id: a\ndescription: \"first\nnamespace: fake\"\nnamespace: real\ntasks: [x]\n";
        assert_eq!(rewrite_namespace(text, "merged"), None);
        let out = rewrite_namespace("id: a\nnamespace: x # c\ntasks: [x]\n", "null").unwrap();
        assert_eq!(out, "id: a\nnamespace: \"null\" # c\ntasks: [x]\n");
        assert_eq!(parse_head(&out, 1).unwrap().namespace, "null");
        // A document that is not valid YAML is rewritten; its own error is reported by the caller.
        let out = rewrite_namespace("id: [a\nnamespace: x\n", "z").unwrap();
        assert_eq!(out, "id: [a\nnamespace: z\n");
    }
}
