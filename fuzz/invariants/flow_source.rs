//! Flow files: the document splitter, the head parser, the `--namespace` rewrite and Kestra's id
//! and namespace rules, on arbitrary text.
//!
//! Invariants:
//! - nothing panics;
//! - every document's `text` is a slice of the input, documents come in order and never overlap,
//!   and `first_line` is the 1-based line of the document's first byte;
//! - `parse_head` reports positions inside the document (YAML counts a lone `\r` as a line break);
//! - `rewrite_namespace` changes nothing but the top-level `namespace:` line: the bytes before it
//!   and after it are equal, the line keeps its ending and trailing comment; and a flow that was
//!   valid before a rewrite to a valid namespace is, if the rewrite is done, valid afterwards, in
//!   that namespace, with the same id (a refused rewrite is reported to the operator);
//! - an accepted id or namespace matches Kestra's rules;
//! - `scan_head`, the fast path for the server's sources, agrees with `parse_head` wherever both
//!   answer.

use kestractl::fuzzing::{
    check_id, check_namespace, parse_head, rewrite_namespace, scan_head, split_documents,
};

/// Namespaces the rewrite is exercised with: valid ones, and one that is not (the library is
/// given only valid ones by `flows::load`, but it must not panic on anything).
/// `null` is a valid namespace that YAML reads as nothing when written plain.
const NAMESPACES: [&str; 5] = ["merged", "company.team-a_b", "null", "0x10", "Not valid\n"];

/// Runs every check on one input; panics on a broken invariant.
pub fn check(data: &[u8]) {
    // The input is a flow file as is (the corpus seeds are real flow files); the rewrite's
    // namespace is picked by its length.
    let selector = data.len();
    let input = String::from_utf8_lossy(data);
    let input: &str = &input;

    let docs = split_documents(input);
    let base = input.as_ptr() as usize;
    let mut previous_end = 0usize;
    for doc in &docs {
        let start = (doc.text.as_ptr() as usize)
            .checked_sub(base)
            .expect("a document starts before the input");
        let end = start + doc.text.len();
        assert!(end <= input.len(), "a document ends after the input");
        assert_eq!(&input[start..end], doc.text);
        assert!(
            start >= previous_end,
            "documents overlap or are out of order"
        );
        previous_end = end;
        assert_eq!(
            doc.first_line,
            input[..start].matches('\n').count() + 1,
            "first_line is not the line of the document's first byte"
        );
        assert!(
            doc.text.lines().any(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#')
            }),
            "an empty or comment-only document was kept"
        );

        // The YAML parser counts a lone `\r` as a line break too (YAML's rule); the splitter
        // counts `\n` only. Positions are bounded by the larger count.
        let lines = doc.text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1;
        let head = parse_head(doc.text, doc.first_line);
        let scanned = scan_head(doc.text);
        match &head {
            Ok(h) => {
                assert!(check_id(&h.id).is_ok());
                assert!(check_namespace(&h.namespace).is_ok());
                if let Some(s) = &scanned {
                    assert_eq!(s, h, "scan_head and parse_head disagree");
                }
            }
            Err(problems) => {
                assert!(!problems.is_empty(), "an error without a problem");
                for p in problems {
                    assert!(!p.message.is_empty());
                    if let Some(line) = p.line {
                        assert!(
                            line >= doc.first_line && line <= doc.first_line + lines,
                            "problem line {line} outside the document (lines {}..={})",
                            doc.first_line,
                            doc.first_line + lines
                        );
                    }
                }
            }
        }

        let ns = NAMESPACES[selector % NAMESPACES.len()];
        if let Some(out) = rewrite_namespace(doc.text, ns) {
            check_rewrite(doc.text, &out, ns);
            if let (Ok(before), true) = (&head, check_namespace(ns).is_ok()) {
                let after = parse_head(&out, doc.first_line)
                    .unwrap_or_else(|e| panic!("a valid flow is invalid once rewritten: {e:?}"));
                assert_eq!(
                    after.namespace, ns,
                    "the rewrite left the flow in another namespace"
                );
                assert_eq!(after.id, before.id, "the rewrite changed the flow's id");
            }
        }
    }

    // The rules on arbitrary text (the documents' own values are covered above).
    for candidate in input.lines().take(8) {
        if check_id(candidate).is_ok() {
            assert!(!candidate.is_empty() && candidate.len() <= 100);
            assert!(
                candidate
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            );
        }
        if check_namespace(candidate).is_ok() {
            assert!(!candidate.is_empty() && candidate.len() <= 150);
            assert!(
                candidate
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            );
        }
    }
}

/// `out` is `text` with exactly the first line starting with `namespace:` replaced by
/// `namespace: <ns>` plus that line's trailing comment and line ending.
fn check_rewrite(text: &str, out: &str, ns: &str) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("namespace:") {
            let (before, after) = (&text[..offset], &text[offset + line.len()..]);
            assert!(
                out.starts_with(before),
                "bytes before the namespace line changed"
            );
            assert!(
                out.ends_with(after),
                "bytes after the namespace line changed"
            );
            assert!(out.len() >= before.len() + after.len());
            let new_line = &out[before.len()..out.len() - after.len()];
            // The value as given, or quoted when YAML would read it otherwise (`null`).
            let plain = format!("namespace: {ns}");
            let quoted = format!("namespace: \"{ns}\"");
            let expected_start = if new_line.starts_with(&quoted) {
                quoted
            } else {
                plain
            };
            assert!(new_line.starts_with(&expected_start), "{new_line:?}");
            // The line's ending: its trailing run of `\r` and `\n`.
            let ending = &line[line.trim_end_matches(['\r', '\n']).len()..];
            assert!(new_line.ends_with(ending), "the line ending changed");
            // Whatever follows the new value is the old line's trailing comment, verbatim.
            let kept = &new_line[expected_start.len()..new_line.len() - ending.len()];
            assert!(
                kept.is_empty() || kept.trim_start().starts_with('#'),
                "{kept:?}"
            );
            assert!(line.contains(kept), "the trailing comment changed");
            return;
        }
        offset += line.len();
    }
    panic!("a rewrite without a namespace line");
}
