//! Text from outside made inert before a terminal sees it (a leaf: no other module of ours).
//!
//! Text from the server made inert before anything else sees it. A log line, a flow's
//! description, an execution's label can carry escape sequences (`ESC ] 0 ;` retitles a terminal;
//! others recolour it, move the cursor, clear lines), a carriage return that overwrites what was
//! printed, or bidirectional overrides that make text read differently from what it is. Every
//! string of every JSON answer and stream event is cleaned once, as it is decoded (pure).

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// What stands in for a removed character.
const REPLACEMENT: char = '\u{FFFD}';

/// Control characters other than tab and line feed (C0, DEL, C1), and the Unicode
/// bidirectional formatting characters.
fn is_hostile(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with hostile characters replaced by U+FFFD; a carriage return is kept only as part of
/// a CRLF line ending (a flow written on Windows), never alone.
pub fn clean_str(text: &str) -> Cow<'_, str> {
    let needs = text.chars().any(is_hostile)
        || text
            .char_indices()
            .any(|(i, c)| c == '\r' && !text[i + 1..].starts_with('\n'));
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            out.push(if chars.peek() == Some(&'\n') {
                '\r'
            } else {
                REPLACEMENT
            });
        } else if is_hostile(c) {
            out.push(REPLACEMENT);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Every string of `value`, keys included, cleaned.
pub fn clean_value(value: Value) -> Value {
    match value {
        Value::String(s) => match clean_str(&s) {
            Cow::Borrowed(_) => Value::String(s),
            Cow::Owned(c) => Value::String(c),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(clean_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (clean_str(&k).into_owned(), clean_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Decodes a JSON answer with every string cleaned.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let value: Value = serde_json::from_slice(bytes)?;
    serde_json::from_value(clean_value(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_overrides_are_made_inert() {
        assert_eq!(
            clean_str("plain text\twith tab\nand lines"),
            "plain text\twith tab\nand lines"
        );
        assert!(matches!(clean_str("ok"), Cow::Borrowed(_)));
        assert_eq!(clean_str("\u{1b}]0;pwned\u{7}"), "\u{fffd}]0;pwned\u{fffd}");
        assert_eq!(clean_str("\u{1b}[2Kgone"), "\u{fffd}[2Kgone");
        assert_eq!(clean_str("safe\rfake"), "safe\u{fffd}fake");
        assert_eq!(clean_str("crlf\r\nline"), "crlf\r\nline");
        assert_eq!(clean_str("abc\u{202e}fdp.exe"), "abc\u{fffd}fdp.exe");
        assert_eq!(clean_str("c1\u{9b}31m"), "c1\u{fffd}31m");
        assert_eq!(clean_str("é ü 日本"), "é ü 日本");
    }

    #[test]
    fn every_string_of_an_answer_is_cleaned() {
        #[derive(serde::Deserialize)]
        struct Log {
            message: String,
        }
        let body = br#"[{"message":"\u001b[31mred\u001b[0m","labels":{"k\u001b":"v\u202e"}}]"#;
        let logs: Vec<Log> = decode(body).unwrap();
        assert_eq!(logs[0].message, "\u{fffd}[31mred\u{fffd}[0m");
        let v: Value = decode(body).unwrap();
        assert_eq!(v[0]["labels"]["k\u{fffd}"], "v\u{fffd}");
    }
}
