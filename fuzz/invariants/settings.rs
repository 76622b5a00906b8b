//! Settings parsers on arbitrary text: the config file (TOML), `.env`, durations, server URLs,
//! tenants, usernames, ports, memory sizes and CPU counts. Every parser sees the same input.
//!
//! Invariants:
//! - nothing panics;
//! - an error about the config file or `.env` never quotes the value of a `password` key;
//! - a server URL error never quotes the URL's password (checked with a canary spliced into the
//!   password position of a URL built from the input);
//! - an accepted config file saves and loads back to the same contexts;
//! - an accepted duration prints (`format_duration`) as text that parses back to the same
//!   duration, at the precision printed (milliseconds under a minute, seconds above), and printing
//!   that again gives the same text;
//! - accepted values satisfy their rules (URL scheme and no credentials, tenant and username
//!   patterns, port 1-65535, memory 6 MiB-1e15 bytes, CPUs in (0, 1024]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use kestractl::fuzzing::ConfigFile;
use kestractl::fuzzing::DotEnv;
use kestractl::fuzzing::{format_duration, parse_duration};
use kestractl::fuzzing::{parse_cpus, parse_memory, parse_port};
use kestractl::fuzzing::{server_url, tenant, username};

const CONFIG_PATH: &str = "/fuzz/config.toml";
/// Spliced into the password position of a URL; must never appear in a message.
const CANARY: &str = "Qz7canaryPw9";

/// Every `.env` error detail, digits replaced by `N`: a position, never the line's text.
const DOTENV_DETAILS: [&str; 6] = [
    "it could not be parsed",
    "stream did not contain valid UTF-N",
    "line N: a quoted value is never closed (a ' or \" without its closing quote)",
    "line N, column N: this line could not be parsed",
    "a quoted value is never closed (a ' or \" without its closing quote)",
    "a line could not be parsed (at character N of the line)",
];

fn dotenv_path() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(".env");
        (dir, path)
    });
    path
}

/// Whether `message` quotes `secret`, for secrets distinctive enough to tell: at least 6
/// characters with a letter and a digit, written once in the input (a value repeated elsewhere,
/// say as a context name, may be quoted for that other reason).
fn leaks(secret: &str, message: &str, input: &str) -> bool {
    secret.chars().count() >= 6
        && secret.chars().any(|c| c.is_ascii_digit())
        && secret.chars().any(|c| c.is_alphabetic())
        && input.matches(secret).count() == 1
        && message.contains(secret)
}

fn password_values(value: &toml::Value, under_password: bool, out: &mut Vec<String>) {
    match value {
        toml::Value::String(s) if under_password => out.push(s.clone()),
        toml::Value::Table(t) => {
            for (k, v) in t {
                let pw = under_password || k.to_ascii_lowercase().contains("password");
                password_values(v, pw, out);
            }
        }
        toml::Value::Array(a) => a
            .iter()
            .for_each(|v| password_values(v, under_password, out)),
        _ => {}
    }
}

fn config_file(text: &str) {
    let path = Path::new(CONFIG_PATH);
    match ConfigFile::parse(text, path) {
        Ok(config) => {
            assert!(
                config
                    .contexts
                    .keys()
                    .all(|n| !n.is_empty() && n.len() <= 64)
            );
            for ctx in config.contexts.values() {
                if let Some(s) = &ctx.server {
                    assert!(server_url(s).is_ok());
                }
                if let Some(t) = &ctx.tenant {
                    assert!(tenant(t).is_ok());
                }
            }
            // What `save` writes, read back.
            let body = toml::to_string_pretty(&config).expect("serialize an accepted config");
            let back = ConfigFile::parse(&body, path)
                .unwrap_or_else(|e| panic!("a saved config does not load: {e}\n{body}"));
            assert_eq!(back, config);
        }
        Err(e) => {
            let message = format!("{e} {}", e.hint().unwrap_or_default());
            let mut secrets = Vec::new();
            if let Ok(table) = text.parse::<toml::Table>() {
                password_values(&toml::Value::Table(table), false, &mut secrets);
            }
            for s in &secrets {
                assert!(
                    !leaks(s, &message, text),
                    "the config error quotes a password: {message}"
                );
            }
        }
    }
}

fn dotenv(bytes: &[u8], text: &str) {
    let path = dotenv_path();
    std::fs::write(path, bytes).expect("write the .env");
    match DotEnv::load(path) {
        Ok(env) => {
            // Every line-looking key reads back without panicking; values are non-blank.
            for line in text.lines() {
                if let Some((k, _)) = line.split_once('=') {
                    let k = k.trim().trim_start_matches("export ").trim();
                    if let Some(v) = env.get(k) {
                        assert!(!v.trim().is_empty());
                    }
                }
            }
        }
        Err(e) => {
            let message = format!("{e}");
            let prefix = format!("cannot read {}: ", path.display());
            let detail = message
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("unexpected .env error: {message}"));
            // Only the position, never the line: it may hold a password.
            let mut shape = String::new();
            for c in detail.chars() {
                if !c.is_ascii_digit() {
                    shape.push(c);
                } else if !shape.ends_with('N') {
                    shape.push('N');
                }
            }
            let known = DOTENV_DETAILS.contains(&shape.as_str());
            assert!(
                known,
                "the .env error says more than a position: {detail:?}"
            );
            assert!(e.hint().is_some_and(|h| !h.is_empty()));
        }
    }
}

fn duration(text: &str) {
    let Ok(d) = parse_duration(text) else { return };
    assert!(
        d <= Duration::from_secs(10 * 365 * 86_400),
        "{text:?} -> {d:?}"
    );
    let shown = format_duration(d);
    let back = parse_duration(&shown)
        .unwrap_or_else(|e| panic!("{text:?} -> {d:?} prints as {shown:?}, which is refused: {e}"));
    // Milliseconds under a second, tenths under ten seconds, whole seconds beyond.
    let printed_precision = if d < Duration::from_secs(1) {
        Duration::from_millis(u64::try_from(d.as_millis()).expect("bounded"))
    } else if d < Duration::from_secs(10) {
        Duration::from_millis(u64::try_from(d.as_millis() / 100 * 100).expect("bounded"))
    } else {
        Duration::from_secs(d.as_secs())
    };
    assert_eq!(
        back, printed_precision,
        "{text:?} -> {d:?} -> {shown:?} -> {back:?}"
    );
    assert_eq!(
        format_duration(back),
        shown,
        "printing is not stable for {text:?}"
    );
}

fn url(text: &str) {
    if let Ok(u) = server_url(text) {
        assert!(matches!(u.scheme(), "http" | "https"));
        assert!(u.username().is_empty() && u.password().is_none());
        assert!(u.query().is_none() && u.fragment().is_none());
        assert!(u.path() == "/" || !u.path().ends_with('/'), "{u}");
        let again = server_url(u.as_str()).unwrap_or_else(|e| panic!("{u} is refused: {e}"));
        assert_eq!(again, u);
    }
}

/// `<scheme>://<user>:<CANARY>@<rest>` from three NUL-separated parts of the input. The user part
/// cannot end the authority, so the canary is always in the userinfo.
fn url_with_password(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let scheme: String = parts
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+.-".contains(*c))
        .collect();
    let user: String = parts
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !"/?#@\\\0".contains(*c))
        .collect();
    let rest = parts.next().unwrap_or("");
    let url = format!("{scheme}://{user}:{CANARY}@{rest}");
    if url.matches(CANARY).count() != 1 {
        return;
    }
    if let Err(m) = server_url(&url) {
        assert!(!m.contains(CANARY), "the URL's password is quoted: {m}");
    }
}

/// Runs every check on one input; panics on a broken invariant.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text: &str = &text;

    config_file(text);
    dotenv(data, text);
    duration(text);
    url(text);
    url_with_password(data);

    if tenant(text).is_ok() {
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b))
        );
    }
    if username(text).is_ok() {
        assert!(text.len() <= 256 && text.contains('@'));
    }
    if let Ok(p) = parse_port(text) {
        assert_ne!(p, 0);
    }
    if let Ok(m) = parse_memory(text) {
        assert!(
            (6 << 20..=1_000_000_000_000_000).contains(&m),
            "{text:?} -> {m}"
        );
    }
    if let Ok(c) = parse_cpus(text) {
        assert!(c.is_finite() && c > 0.0 && c <= 1024.0);
    }
}
