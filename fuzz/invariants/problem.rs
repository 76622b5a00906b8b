//! Kestra error bodies (RFC 9457 problem+json, Micronaut's JsonError, HTML, text, junk) with an
//! arbitrary content type.
//!
//! Invariants: nothing panics; the summary an error message shows is bounded whatever the body's
//! size (a head line of at most title and detail, each cut to 500 characters, then at most 20
//! violations of at most 500 characters and one "… and N more" line), and holds no control
//! characters (a body cannot move the terminal's cursor or change its colours) other than the
//! newlines that separate the listed violations.

use kestractl::fuzzing::parse_problem as parse;

/// One field's bound in characters (with its "…"), and the bound on listed violations.
const FIELD: usize = 501;
const VIOLATIONS: usize = 20;

const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/json"),
    Some("application/problem+json"),
    Some("text/html; charset=utf-8"),
    Some("text/plain"),
    Some(""),
    Some("APPLICATION/PROBLEM+JSON"),
];

/// Runs every check on one input; panics on a broken invariant.
pub fn check(data: &[u8]) {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    // Selector 0xff: the content type is the input's first line, the body the rest.
    let (content_type, body): (Option<String>, &[u8]) = if *selector == 0xff {
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (
                Some(String::from_utf8_lossy(&rest[..i]).into_owned()),
                &rest[i + 1..],
            ),
            None => (Some(String::from_utf8_lossy(rest).into_owned()), &[][..]),
        }
    } else {
        (
            CONTENT_TYPES[usize::from(*selector) % CONTENT_TYPES.len()].map(str::to_string),
            rest,
        )
    };
    let problem = parse(content_type.as_deref(), body);
    let summary = problem.summary();
    let mut lines = summary.split('\n');
    let head = lines.next().unwrap_or_default();
    assert!(
        head.chars().count() <= 2 * FIELD + 2,
        "a head line of {} characters",
        head.chars().count()
    );
    let rest: Vec<&str> = lines.collect();
    assert!(
        rest.len() <= VIOLATIONS + 1,
        "{} violation lines",
        rest.len()
    );
    for line in rest {
        assert!(
            line.starts_with("  - ") || line.starts_with("  … and "),
            "{line:?}"
        );
        assert!(
            line.chars().count() <= FIELD + 4,
            "a violation line of {} characters",
            line.chars().count()
        );
    }
    assert!(
        !summary.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in the summary: {summary:?}"
    );
    if let Some(n) = &problem.non_json {
        assert!(
            n.chars().count() <= 300,
            "non-JSON description of {} characters",
            n.chars().count()
        );
    }
}
