//! Kestra's error bodies, old and new, parsed into one shape.
//!
//! - 2.x: RFC 9457 `application/problem+json` — `type` (a URI; its last segment is what to branch
//!   on), `title`, `status`, `detail`, `instance`, optional `errors[]`.
//! - ≤1.x: Micronaut's `JsonError` — `message`, `_embedded.errors[].{message,path}`.
//! - Anything else (an HTML login page from a proxy, an empty 401, plain text) is described, not
//!   dumped.

use serde::Deserialize;
use serde_json::Value;

/// The most of a non-JSON body we quote back to the operator.
const SNIPPET: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    /// Last segment of an RFC 9457 `type` URI (`unauthenticated`, `not-found`, …).
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    /// Individual violations (`path: message`), in the server's order.
    pub errors: Vec<String>,
    /// Set when the body was not JSON: a short description of what it was.
    pub non_json: Option<String>,
}

/// The most of one field (title, detail, one violation) a summary shows, in characters, and the
/// most violations it lists: a server's error body cannot flood the terminal.
const FIELD_CHARS: usize = 500;
const MAX_ERRORS: usize = 20;

/// A field as one line of at most [`FIELD_CHARS`] characters (then `…`). Control characters
/// (ANSI escapes, carriage returns, newlines) become spaces: a body cannot move the cursor or
/// recolour the operator's terminal.
pub fn one_line(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(FIELD_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(FIELD_CHARS).is_some() {
        out.push('…');
    }
    out
}

impl Problem {
    /// One-line summary plus violations, for error messages; bounded, and free of control
    /// characters but the newlines between violations.
    pub fn summary(&self) -> String {
        let title = self.title.as_deref().map(one_line);
        let detail = self.detail.as_deref().map(one_line);
        let mut head = match (&title, &detail) {
            (Some(t), Some(d)) if !d.contains(t.as_str()) => format!("{t}: {d}"),
            (_, Some(d)) => d.clone(),
            (Some(t), None) => t.clone(),
            (None, None) => self.non_json.as_deref().map(one_line).unwrap_or_default(),
        };
        let extra: Vec<String> = self
            .errors
            .iter()
            .map(|e| one_line(e))
            .filter(|e| !head.contains(e.as_str()))
            .collect();
        for e in extra.iter().take(MAX_ERRORS) {
            head.push_str("\n  - ");
            head.push_str(e);
        }
        if extra.len() > MAX_ERRORS {
            head.push_str(&format!("\n  … and {} more", extra.len() - MAX_ERRORS));
        }
        head
    }
}

#[derive(Deserialize)]
struct Rfc9457 {
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<Value>,
}

#[derive(Deserialize)]
struct Legacy {
    message: Option<String>,
    #[serde(rename = "_embedded")]
    embedded: Option<LegacyEmbedded>,
}

#[derive(Deserialize)]
struct LegacyEmbedded {
    #[serde(default)]
    errors: Vec<LegacyItem>,
}

#[derive(Deserialize)]
struct LegacyItem {
    message: Option<String>,
    path: Option<String>,
}

fn sub_error(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            let text = ["detail", "message", "title"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))?;
            let path = ["path", "pointer", "field"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str));
            Some(match path {
                Some(p) if !text.contains(p) => format!("{p}: {text}"),
                _ => text.to_string(),
            })
        }
        _ => None,
    }
}

/// Parses an error body. `content_type` is the response's header, if any.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Problem {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Problem::default();
    }
    if ct.contains("json") || trimmed.starts_with('{') {
        if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
            let is_problem = ct.contains("problem+json")
                || value.get("type").is_some() && value.get("title").is_some();
            if is_problem && let Ok(p) = serde_json::from_value::<Rfc9457>(value.clone()) {
                return Problem {
                    kind: p
                        .kind
                        .as_deref()
                        .and_then(|t| t.trim_end_matches('/').rsplit('/').next())
                        .map(str::to_string),
                    title: p.title,
                    detail: p.detail,
                    errors: p.errors.iter().filter_map(sub_error).collect(),
                    non_json: None,
                };
            }
            if let Ok(l) = serde_json::from_value::<Legacy>(value.clone())
                && (l.message.is_some() || l.embedded.is_some())
            {
                let errors = l
                    .embedded
                    .map(|e| {
                        e.errors
                            .into_iter()
                            .filter_map(|i| match (i.path, i.message) {
                                (Some(p), Some(m)) if !m.contains(&p) => Some(format!("{p}: {m}")),
                                (_, m) => m,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Problem {
                    detail: l.message,
                    errors,
                    ..Problem::default()
                };
            }
            if let Some(msg) = value
                .get("error")
                .or_else(|| value.get("detail"))
                .and_then(Value::as_str)
            {
                return Problem {
                    detail: Some(msg.to_string()),
                    ..Problem::default()
                };
            }
        } else {
            return Problem {
                non_json: Some(format!(
                    "the body is not valid JSON (it starts with `{}`)",
                    snippet(trimmed)
                )),
                ..Problem::default()
            };
        }
    }
    if ct.contains("html") || trimmed.starts_with('<') {
        return Problem {
            non_json: Some(
                "the server answered with an HTML page instead of Kestra's JSON (a login proxy or a \
                 web server in front of Kestra?)"
                    .into(),
            ),
            ..Problem::default()
        };
    }
    Problem {
        non_json: Some(format!("the server said: {}", snippet(trimmed))),
        ..Problem::default()
    }
}

fn snippet(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SNIPPET)
        .collect();
    if text.chars().count() > SNIPPET {
        format!("{one_line}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9457_with_errors() {
        let body = br#"{"type":"https://kestra.io/docs/api-reference/problems/validation-failed","title":"Validation failed","status":422,"detail":"Invalid flow","instance":"/api/v1/main/flows","errors":[{"detail":"must not be empty","path":"tasks"}]}"#;
        let p = parse(Some("application/problem+json"), body);
        assert_eq!(p.kind.as_deref(), Some("validation-failed"));
        assert_eq!(
            p.summary(),
            "Validation failed: Invalid flow\n  - tasks: must not be empty"
        );
    }

    #[test]
    fn rfc9457_unauthenticated() {
        let body = br#"{"type":"https://kestra.io/docs/api-reference/problems/unauthenticated","title":"Authentication required","status":401,"detail":"Invalid credentials","instance":"/api/v1/main/flows"}"#;
        let p = parse(Some("application/problem+json"), body);
        assert_eq!(p.kind.as_deref(), Some("unauthenticated"));
        assert_eq!(p.summary(), "Authentication required: Invalid credentials");
    }

    #[test]
    fn micronaut_json_error() {
        let body = br#"{"message":"Invalid entity: flow.id: must match","_links":{"self":{"href":"/api/v1/main/flows","templated":false}},"_embedded":{"errors":[{"message":"must match \"^[a-zA-Z0-9][a-zA-Z0-9._-]*\"","path":"flow.id"}]}}"#;
        let p = parse(Some("application/json"), body);
        assert_eq!(p.kind, None);
        assert!(
            p.summary()
                .starts_with("Invalid entity: flow.id: must match")
        );
        assert!(p.summary().contains("flow.id: must match \"^"));
    }

    #[test]
    fn html_truncated_and_empty_bodies() {
        let p = parse(
            Some("text/html"),
            b"<html><body>Please log in</body></html>",
        );
        assert!(p.summary().contains("HTML page"));
        let p = parse(Some("application/json"), br#"{"results":[{"id":"#);
        assert!(p.summary().contains("not valid JSON"), "{}", p.summary());
        assert_eq!(parse(None, b"").summary(), "");
        let long = "x".repeat(1000);
        let p = parse(Some("text/plain"), long.as_bytes());
        assert!(p.summary().len() < 260);
    }

    /// Found by the `problem` fuzz target: a body's title or detail reached the terminal whole,
    /// escape sequences and all, however long.
    #[test]
    fn summaries_are_bounded_and_inert() {
        let body = format!(
            r#"{{"type":"x/y","title":"T\u001b[31m","detail":"line1\nline2\r\u0007{}","errors":[{}]}}"#,
            "d".repeat(10_000),
            (0..50)
                .map(|i| format!(r#""violation {i}""#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let summary = parse(Some("application/problem+json"), body.as_bytes()).summary();
        let lines: Vec<&str> = summary.lines().collect();
        assert!(
            lines[0].starts_with("T [31m: line1 line2  ddd"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[0].chars().count(), "T [31m: ".chars().count() + 501);
        assert!(lines[0].ends_with('…'));
        assert_eq!(lines.len(), 1 + 20 + 1);
        assert_eq!(lines[1], "  - violation 0");
        assert_eq!(lines[21], "  … and 30 more");
        assert!(!summary.chars().any(|c| c.is_control() && c != '\n'));
    }

    #[test]
    fn unknown_json_shapes_fall_back_to_common_keys() {
        let p = parse(Some("application/json"), br#"{"error":"Bad gateway"}"#);
        assert_eq!(p.summary(), "Bad gateway");
    }
}
