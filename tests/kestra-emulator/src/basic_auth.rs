//! Kestra's one Basic Auth credential (`BasicAuthService`): it lives in the settings store, not in
//! the config. A config credential is written over the stored one at every start ("managed by
//! config"); otherwise whatever was set up earlier through `POST /api/v1/{tenant}/basicAuth` (the
//! UI's setup page) is used as is. The filter, `/configs` and the setup route all read the store.
//!
//! Kestra keeps a salted hash (SHA-512 on 1.x, bcrypt on 2.0), never the password: so does the
//! emulator (salted SHA-512), so a database dump of it holds no password, as a real one holds none.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::config::{BasicAuth, EmulatorConfig};
use crate::store::Store;

/// `BasicAuthService.BASIC_AUTH_SETTINGS_KEY`.
pub const SETTINGS_KEY: &str = "kestra.server.basic-auth";
/// `BasicAuthService.BASIC_AUTH_ERROR_CONFIG`: why the config's credential was refused at start.
pub const ERROR_KEY: &str = "kestra.server.authentication-configuration-error";

const MAX_LEN: usize = 256;

/// The stored credential: the username and a salted hash of the password.
#[derive(Debug, Clone)]
pub struct Stored {
    pub username: String,
    password_hash: String,
}

impl Stored {
    /// Whether `password` is the one whose hash is stored.
    pub fn verifies(&self, password: &str) -> bool {
        let mut parts = self.password_hash.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("sha512"), Some(salt), Some(digest)) => digest_of(salt, password) == digest,
            _ => false,
        }
    }
}

fn digest_of(salt: &str, password: &str) -> String {
    use sha2::{Digest, Sha512};
    let mut h = Sha512::new();
    h.update(salt.as_bytes());
    h.update(password.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha512:<salt>:<hex digest>` with a new random salt.
fn hash(password: &str) -> String {
    use rand::RngExt;
    let salt: String = (0..16)
        .map(|_| format!("{:02x}", rand::rng().random::<u8>()))
        .collect();
    format!("sha512:{salt}:{}", digest_of(&salt, password))
}

/// The stored credential, if any.
pub fn stored(store: &Store) -> Option<Stored> {
    let v = store.setting(SETTINGS_KEY)?;
    Some(Stored {
        username: v.get("username")?.as_str()?.to_string(),
        password_hash: v.get("password")?.as_str()?.to_string(),
    })
}

/// `isBasicAuthInitialized`: a stored credential with neither part blank.
pub fn is_initialized(store: &Store) -> bool {
    stored(store)
        .is_some_and(|c| !c.username.trim().is_empty() && !c.password_hash.trim().is_empty())
}

/// The config errors recorded at start (`GET /api/v1/basicAuthValidationErrors`).
pub fn config_errors(store: &Store) -> Vec<String> {
    match store.setting(ERROR_KEY) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `^[a-zA-Z0-9_!#$%&'*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+$`, written out: neither class contains `@`,
/// so a match is exactly one `@` between two non-empty runs.
fn is_email(s: &str) -> bool {
    let local_ok = |c: char| c.is_ascii_alphanumeric() || "_!#$%&'*+/=?`{|}~^.-".contains(c);
    let domain_ok = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && local.chars().all(local_ok)
                && domain.chars().all(domain_ok)
        }
        None => false,
    }
}

/// `(?=.{8,})(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).*` under Java's `matches()`: `.` stops at line
/// terminators, so a password containing one never matches; `.` counts code points.
fn is_strong(s: &str) -> bool {
    let terminator = |c: char| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
    !s.chars().any(terminator)
        && s.chars().count() >= 8
        && s.chars().any(|c| c.is_ascii_lowercase())
        && s.chars().any(|c| c.is_ascii_uppercase())
        && s.chars().any(|c| c.is_ascii_digit())
}

/// `BasicAuthService.save`'s checks, every failing one listed, in Kestra's order.
pub fn validate(username: Option<&str>, password: Option<&str>) -> Vec<String> {
    validate_with(username, password, KESTRA_MIN_PASSWORD)
}

/// Kestra's minimum password length (`(?=.{8,})`).
pub const KESTRA_MIN_PASSWORD: usize = 8;

/// [`validate`] with another minimum length: a stand-in for a Kestra whose password rule is
/// stricter than the released ones (the `password_min_length` knob), so tests can meet a server
/// that refuses a credential kestractl believes valid.
pub fn validate_with(
    username: Option<&str>,
    password: Option<&str>,
    min_password: usize,
) -> Vec<String> {
    let mut errors = Vec::new();
    if username.is_some_and(|u| !is_email(u)) {
        errors.push(
            "Invalid username for Basic Authentication. Please provide a valid email address."
                .to_string(),
        );
    }
    if username.is_none() {
        errors.push(
            "No user name set for Basic Authentication. Please provide a user name.".to_string(),
        );
    }
    if password.is_none() {
        errors.push(
            "No password set for Basic Authentication. Please provide a password.".to_string(),
        );
    }
    let long_enough = |p: &str| p.chars().count() >= min_password;
    if password.is_some_and(|p| !is_strong(p) || !long_enough(p)) {
        errors.push(
            "Invalid password for Basic Authentication. The password must have 8 chars, one upper, one lower and one number"
                .to_string(),
        );
    }
    // Java's String.length(): UTF-16 code units.
    let too_long = |s: Option<&str>| s.is_some_and(|s| s.encode_utf16().count() > MAX_LEN);
    if too_long(username) || too_long(password) {
        errors
            .push("The length of email or password should not exceed 256 characters.".to_string());
    }
    errors
}

/// Store a credential that passed [`validate`].
pub async fn save(store: &Store, username: &str, password: &str) -> Result<()> {
    store
        .put_setting(
            SETTINGS_KEY,
            json!({"username": username, "password": hash(password)}),
        )
        .await
}

/// Start-up, in `BasicAuthService.init`'s terms: first `preset` (a credential stored before this
/// start, as the UI's setup page would have left it), then the config's credential if it sets
/// one. A config credential that fails validation is not stored (any earlier one stays) and its
/// errors are recorded; a valid one clears them.
pub async fn init(
    store: &Store,
    config: &EmulatorConfig,
    preset: Option<&BasicAuth>,
    min_password: usize,
) -> Result<()> {
    if let Some(p) = preset {
        let errors = validate(Some(&p.username), Some(&p.password));
        if !errors.is_empty() {
            // The API never stores such a credential, so a test asking for one is mistaken.
            bail!(
                "preset Basic Auth credential is invalid: {}",
                errors.join(", ")
            );
        }
        save(store, &p.username, &p.password).await?;
    }
    let (username, password) = match (&config.basic_auth, &config.basic_auth_incomplete) {
        (Some(c), _) => (Some(c.username.as_str()), Some(c.password.as_str())),
        (None, Some((u, p))) => (u.as_deref(), p.as_deref()),
        (None, None) => return Ok(()),
    };
    let errors = validate_with(username, password, min_password);
    if errors.is_empty() {
        if let (Some(u), Some(p)) = (username, password) {
            save(store, u, p).await?;
        }
        if store.setting(ERROR_KEY).is_some() {
            store.delete_setting(ERROR_KEY).await?;
        }
    } else {
        store.put_setting(ERROR_KEY, json!(errors)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_stored_hashed_and_still_verify() {
        let stored = Stored {
            username: "admin@kestra.io".into(),
            password_hash: hash("Admin1234"),
        };
        assert!(!stored.password_hash.contains("Admin1234"));
        assert!(stored.verifies("Admin1234"));
        assert!(!stored.verifies("Admin12345"));
        assert_ne!(hash("Admin1234"), hash("Admin1234"), "salted");
    }

    #[test]
    fn email_rule() {
        assert!(is_email("admin@kestra.io"));
        assert!(is_email("a.b+c{d}@x-y.z"));
        assert!(!is_email("admin"));
        assert!(!is_email("@kestra.io"));
        assert!(!is_email("a@"));
        assert!(!is_email("a@b@c"));
        assert!(!is_email("a b@c"));
        assert!(!is_email("a@b_c"));
    }

    #[test]
    fn password_rule() {
        assert!(is_strong("Admin1234"));
        assert!(!is_strong("Admin12"));
        assert!(!is_strong("admin1234"));
        assert!(!is_strong("ADMIN1234"));
        assert!(!is_strong("Adminxxxx"));
        assert!(!is_strong("Admin1234\n"));
        // Counted in characters, not bytes; only ASCII letters count as upper or lower.
        assert!(is_strong("Ab1ééééé"));
        assert!(!is_strong("Ab1éééé"));
        assert!(!is_strong("Ädmin1234"));
    }

    /// The same verdicts kestractl's tests use, computed with Kestra's patterns in Java.
    #[test]
    fn rules_match_kestra_exactly() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/kestra/basic-auth-rules.json"
        );
        let rules: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for case in rules["passwords"].as_array().unwrap() {
            let value = case["value"].as_str().unwrap();
            let accepted = validate(Some("admin@kestra.io"), Some(value)).is_empty();
            assert_eq!(accepted, case["accepted"].as_bool().unwrap(), "{value:?}");
        }
        for case in rules["usernames"].as_array().unwrap() {
            let value = case["value"].as_str().unwrap();
            assert_eq!(
                is_email(value),
                case["pattern"].as_bool().unwrap(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn every_failing_rule_is_listed_in_order() {
        assert!(validate(Some("admin@kestra.io"), Some("Admin1234")).is_empty());
        let e = validate(None, None);
        assert_eq!(e.len(), 2);
        assert!(e[0].starts_with("No user name"));
        assert!(e[1].starts_with("No password"));
        let long = format!("{}@kestra.io", "a".repeat(250));
        let e = validate(Some(&long), Some("weak"));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("Invalid password"));
        assert!(e[1].starts_with("The length of email or password"));
        let e = validate(Some("admin"), Some("weak"));
        assert!(e[0].starts_with("Invalid username"));
        assert!(e[1].starts_with("Invalid password"));
    }
}
