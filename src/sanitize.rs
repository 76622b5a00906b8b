//! Text from outside made inert before a terminal sees it (a leaf: no other module of ours).
//!
//! Text from the server made inert before anything else sees it. A log line, a flow's
//! description, an execution's label can carry escape sequences (`ESC ] 0 ;` retitles a terminal;
//! others recolour it, move the cursor, clear lines), a carriage return that overwrites what was
//! printed, or bidirectional overrides that make text read differently from what it is. Every
//! string of every JSON answer and stream event is cleaned once, as it is decoded (pure).

use std::borrow::Cow;

use serde::de::DeserializeOwned;

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

/// Decodes a JSON answer with every string cleaned. The text is cleaned before it is parsed
/// ([`clean_json`]), so the answer is decoded once, straight into `T`: no intermediate tree of
/// the whole answer (which takes many times the answer's size in memory).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    if let Some(too_much) = too_heavy(bytes) {
        return Err(serde::de::Error::custom(too_much));
    }
    serde_json::from_slice(&clean_json(bytes))
}

/// The most memory an answer's decoded form may take, by [`decoded_size`]'s estimate.
pub const MAX_DECODED: u64 = 128 << 20;

/// Why an answer is not decoded, when its decoded form would take more than [`MAX_DECODED`]:
/// a few bytes of JSON (`{},` is three) become hundreds in memory, so a body within its size
/// cap could still take gigabytes once parsed.
pub fn too_heavy(bytes: &[u8]) -> Option<String> {
    let estimate = decoded_size(bytes);
    (estimate > MAX_DECODED).then(|| {
        format!(
            "the answer holds more JSON objects and values than kestractl decodes at once (about \
             {} MiB once decoded, the limit is {} MiB)",
            estimate >> 20,
            MAX_DECODED >> 20
        )
    })
}

/// An upper estimate of the memory JSON text takes once decoded, from its structure alone (one
/// pass, nothing allocated): its own bytes (strings), an object's map node for each `{`, and a
/// value's slot for each `[`, `,` and `:` (measured against `serde_json::Value`, the largest
/// form kestractl decodes into: a small object takes about 650 bytes, a value about 64).
pub fn decoded_size(bytes: &[u8]) -> u64 {
    const OBJECT: u64 = 700;
    const VALUE: u64 = 64;
    let (mut objects, mut values) = (0u64, 1u64);
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => objects += 1,
            b'[' | b',' | b':' => values += 1,
            _ => {}
        }
    }
    bytes.len() as u64 + objects * OBJECT + values * VALUE
}

/// What stands in for a removed character inside a JSON string: the escape of U+FFFD.
const ESCAPED_REPLACEMENT: &[u8] = b"\\ufffd";

/// JSON text with every string (keys included) cleaned as [`clean_str`] cleans text: a hostile
/// character, raw or escaped (`\u001b`, `\b`, `\f`), becomes U+FFFD, and a carriage return
/// is kept only before a line feed. Outside strings JSON allows only its own punctuation and
/// whitespace, so nothing else changes. Text that is not valid JSON is left for the parser to
/// refuse; cleaning never makes invalid JSON valid or valid JSON invalid.
pub fn clean_json(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut i = 0;
    // `out` holds everything before `copied_to` once a change was made.
    let mut copied_to = 0;
    let replace =
        |out: &mut Option<Vec<u8>>, from: usize, to: usize, with: &[u8], copied_to: &mut usize| {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            buf.extend_from_slice(&bytes[*copied_to..from]);
            buf.extend_from_slice(with);
            *copied_to = to;
        };
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            in_string = b == b'"';
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                i += 1;
            }
            b'\\' => {
                let Some(&e) = bytes.get(i + 1) else { break };
                match e {
                    b'u' => {
                        let Some(code) = hex4(bytes, i + 2) else {
                            i += 2;
                            continue;
                        };
                        let end = i + 6;
                        let hostile = match code {
                            0x0d => !next_is_line_feed(bytes, end),
                            // A surrogate half is never one of the hostile characters.
                            0xd800..=0xdfff => false,
                            c => char::from_u32(c).is_some_and(is_hostile),
                        };
                        if hostile {
                            replace(&mut out, i, end, ESCAPED_REPLACEMENT, &mut copied_to);
                        }
                        i = end;
                    }
                    b'b' | b'f' => {
                        replace(&mut out, i, i + 2, ESCAPED_REPLACEMENT, &mut copied_to);
                        i += 2;
                    }
                    b'r' if !next_is_line_feed(bytes, i + 2) => {
                        replace(&mut out, i, i + 2, ESCAPED_REPLACEMENT, &mut copied_to);
                        i += 2;
                    }
                    _ => i += 2,
                }
            }
            b if b < 0x80 => {
                // Raw control characters are not valid JSON in a string (the parser refuses
                // them); DEL is, and is hostile.
                if b == 0x7f {
                    replace(&mut out, i, i + 1, "\u{fffd}".as_bytes(), &mut copied_to);
                }
                i += 1;
            }
            _ => {
                let len = utf8_len(b);
                let c = bytes
                    .get(i..i + len)
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .and_then(|s| s.chars().next());
                match c {
                    Some(c) if is_hostile(c) => {
                        replace(&mut out, i, i + len, "\u{fffd}".as_bytes(), &mut copied_to);
                        i += len;
                    }
                    Some(_) => i += len,
                    // Not UTF-8: the parser refuses it.
                    None => i += 1,
                }
            }
        }
    }
    match out {
        None => Cow::Borrowed(bytes),
        Some(mut buf) => {
            buf.extend_from_slice(&bytes[copied_to..]);
            Cow::Owned(buf)
        }
    }
}

/// The value of the four hex digits at `at`.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Whether the JSON string text at `at` starts with a line feed (`\n` or `\u000a`).
fn next_is_line_feed(bytes: &[u8], at: usize) -> bool {
    let rest = &bytes[at.min(bytes.len())..];
    rest.starts_with(b"\\n") || (rest.starts_with(b"\\u") && hex4(bytes, at + 2) == Some(0x0a))
}

/// The length of the UTF-8 sequence a leading byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every string of `value`, keys included, cleaned.
    fn clean_value(value: Value) -> Value {
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

    /// The text-level cleaning agrees with cleaning the parsed value, whatever the strings hold.
    #[test]
    fn cleaning_the_text_equals_cleaning_the_value() {
        let pieces = [
            "a", "\u{1b}", "\u{7}", "\r", "\n", "\r\n", "\t", "\u{8}", "\u{c}", "\u{7f}", "\u{9b}",
            "\u{85}", "\u{202e}", "\u{2066}", "\u{61c}", "\u{200f}", "é", "日", "😀", "\"", "\\",
            "/", "\u{fffd}", "\u{0}",
        ];
        // Every string of up to three pieces, as a value and as a key, escaped by serde_json
        // and, separately, with every non-ASCII character written as `\uXXXX`.
        let mut strings = vec![String::new()];
        for a in pieces {
            strings.push(a.to_string());
            for b in pieces {
                strings.push(format!("{a}{b}"));
                for c in ["\r", "\n", "x", "\u{202e}"] {
                    strings.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in &strings {
            let value = serde_json::json!({ s.clone(): [s, {"k": s}], "n": 1 });
            let expected = clean_value(value.clone());
            for text in [value.to_string(), ascii_escaped(&value.to_string())] {
                let got: Value = decode(text.as_bytes()).unwrap();
                assert_eq!(got, expected, "{s:?} as {text}");
            }
        }
    }

    /// JSON text with every non-ASCII character, and every control character serde_json
    /// leaves raw, written as a `\uXXXX` escape (surrogate pairs above the BMP).
    fn ascii_escaped(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            if c.is_ascii() && c != '\u{7f}' {
                out.push(c);
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
        }
        out
    }

    #[test]
    fn text_that_needs_nothing_is_not_copied_and_bad_json_stays_bad() {
        assert!(matches!(
            clean_json(br#"{"a":"b","c":[1,2]}"#),
            Cow::Borrowed(_)
        ));
        assert!(decode::<Value>(b"{\"a\":\"\x01\"}").is_err());
        assert!(decode::<Value>(b"{\"a\":\"\\u12\"}").is_err());
        assert!(decode::<Value>(b"{\"a\":\"\xff\"}").is_err());
        assert!(decode::<Value>(b"\"\\").is_err());
        assert_eq!(
            decode::<Value>(br#""\\u001b""#).unwrap(),
            Value::String("\\u001b".into()),
            "an escaped backslash followed by text is text"
        );
    }

    #[test]
    fn answers_that_would_take_too_much_memory_are_not_decoded() {
        // Four million empty objects: 12 MiB of text, gigabytes as values.
        let mut bomb = b"[".to_vec();
        for _ in 0..4_000_000 {
            bomb.extend_from_slice(b"{},");
        }
        bomb.extend_from_slice(b"{}]");
        let err = decode::<Value>(&bomb).unwrap_err().to_string();
        assert!(err.contains("more JSON objects and values"), "{err}");
        // Structure inside strings is text, and text is cheap.
        let text = format!("{{\"s\":\"{}\"}}", "{},".repeat(4_000_000));
        assert!(decoded_size(text.as_bytes()) < 16 << 20);
        assert!(decode::<Value>(text.as_bytes()).is_ok());
        assert!(decoded_size(br#"{"a":[1,2,{"b":"x\"{"}]}"#) < 2_000);
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
