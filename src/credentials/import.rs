//! Moving plain-text passwords into the keyring: the seed's `.env` (`auth import-env`) and the
//! official kestractl's `~/.kestractl/config.yaml` (`auth import-kestractl`). Parsing, the rewrite
//! and the import's plan are pure; keyring writes go through [`Undo`], which puts every entry back
//! as it was when a later step fails ([`apply_kestractl`] writes an import of their contexts that
//! way; `auth import-env` does its `.env` rewrite the same way).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::credentials::store::{self, Keyring};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::config_file::{ConfigFile, Context, validate_context_name};
use crate::settings::{display_url, validate};

/// The `.env` keys `import-env` moves.
pub const BASIC_AUTH_KEY: &str = "KESTRA_BASICAUTH_PASSWORD";
pub const DB_KEY: &str = "KESTRA_DB_PASSWORD";

/// The key a `.env` line assigns (`KEY=…` or `export KEY=…`), if any.
fn assigned_key(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') {
        return None;
    }
    let t = t.strip_prefix("export ").map_or(t, str::trim_start);
    let end = t.find(|c: char| c == '=' || c.is_whitespace())?;
    let (key, rest) = t.split_at(end);
    rest.trim_start().starts_with('=').then_some(key)
}

/// Whether a quoted value starting in `value` (after `=`) closes on the same line.
fn opens_multiline(value: &str) -> Option<char> {
    let v = value.trim_start();
    let quote = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut escaped = false;
    for c in v[1..].chars() {
        if quote == '"' && c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        if c == quote && !escaped {
            return None;
        }
        escaped = false;
    }
    Some(quote)
}

/// The `.env` text without the lines that assign `keys` (a quoted value spanning lines goes with
/// its line). Every other byte is kept: comments, order, blank lines, line endings.
pub fn without_keys(text: &str, keys: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping: Option<char> = None;
    for line in text.split_inclusive('\n') {
        if let Some(quote) = skipping {
            if line.contains(quote) {
                skipping = None;
            }
            continue;
        }
        match assigned_key(line) {
            Some(key) if keys.contains(&key) => {
                let value = &line[line.find('=').map_or(line.len(), |i| i + 1)..];
                skipping = opens_multiline(value);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Every key and value of a `.env` text, as kestractl reads it (dotenvy). Errors never quote
/// the content (a line may hold a password).
pub fn parse_dotenv(text: &str, path: &Path) -> Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        let (k, v) = item.map_err(|e| {
            Error::settings(
                // Where, never what: the line may hold the password being imported.
                format!(
                    "cannot read {}: {}",
                    path.display(),
                    crate::settings::dotenv::parse_error_detail(Some(text), &e)
                ),
                "fix the line (KEY=value, one per line; quote values with spaces) or move the file away",
            )
        })?;
        values.insert(k, v);
    }
    Ok(values)
}

/// The `.env` rewritten without `keys`, checked: it parses, lacks those keys, and every other key
/// keeps its value. Refuses (changing nothing) when the rewrite would change anything else.
pub fn rewrite_dotenv(text: &str, path: &Path, keys: &[&str]) -> Result<String> {
    let before = parse_dotenv(text, path)?;
    let rewritten = without_keys(text, keys);
    let after = parse_dotenv(&rewritten, path).ok();
    let expected: HashMap<&String, &String> = before
        .iter()
        .filter(|(k, _)| !keys.contains(&k.as_str()))
        .collect();
    let same = after.as_ref().is_some_and(|a| {
        a.len() == expected.len() && a.iter().all(|(k, v)| expected.get(k) == Some(&v))
    });
    if !same {
        return Err(Error::settings(
            format!(
                "cannot rewrite {} safely: removing the password lines would change other settings",
                path.display()
            ),
            "remove KESTRA_BASICAUTH_PASSWORD and KESTRA_DB_PASSWORD from it by hand (the keyring \
             already holds them only if this command said so), or import without --rewrite-env",
        ));
    }
    Ok(rewritten)
}

/// Where `import-env --rewrite-env` keeps the original.
pub fn backup_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| ".env".to_string(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!("{name}.kestractl-backup"))
}

// ---- the official kestractl's config ----

#[derive(Debug, Deserialize)]
struct KctlFile {
    #[serde(default)]
    contexts: Option<BTreeMap<String, Option<KctlContext>>>,
    #[serde(default)]
    default_context: Option<String>,
}

#[derive(Debug, Deserialize)]
struct KctlContext {
    host: Option<String>,
    tenant: Option<String>,
    auth_method: Option<String>,
    username: Option<String>,
    password: Option<String>,
    token: Option<String>,
}

/// One context of their file, checked.
#[derive(Debug, Clone)]
pub struct Imported {
    pub name: String,
    /// The server URL as we display it (validated).
    pub server: String,
    pub tenant: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// A context of their file that cannot be imported, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct KctlImport {
    pub contexts: Vec<Imported>,
    pub skipped: Vec<Skipped>,
    pub default_context: Option<String>,
}

/// Parses the official kestractl's config. A file that is not that format is an error (nothing is
/// imported); a context that cannot be used here is skipped with the reason.
pub fn parse_kestractl(text: &str, path: &Path) -> Result<KctlImport> {
    let bad = |what: &str| {
        Error::settings(
            format!(
                "{} is not an official kestractl config: {what}",
                path.display()
            ),
            "point --file at the official kestractl's config.yaml (`contexts:` with \
             host/tenant/username/password, `default_context:`)",
        )
    };
    // serde's messages can quote the offending value (a password); report only where it is.
    let file: KctlFile = serde_saphyr::from_str(text).map_err(|e| {
        let location = e
            .to_string()
            .lines()
            .find_map(|l| {
                let i = l.find("line ")?;
                Some(
                    l[i..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || " ,".contains(*c))
                        .collect::<String>(),
                )
            })
            .map(|l| format!(" (at {})", l.trim_end_matches([',', ' '])))
            .unwrap_or_default();
        bad(&format!("it is not valid YAML of that shape{location}"))
    })?;
    let Some(contexts) = file.contexts else {
        return Err(bad("it has no `contexts`"));
    };
    let mut out = KctlImport {
        default_context: file.default_context,
        ..KctlImport::default()
    };
    for (name, ctx) in contexts {
        let skip = |reason: String| Skipped {
            name: name.clone(),
            reason,
        };
        let Some(ctx) = ctx else {
            out.skipped.push(skip("it is empty".into()));
            continue;
        };
        if let Err(m) = validate_context_name(&name) {
            out.skipped.push(skip(m));
            continue;
        }
        let method = ctx.auth_method.as_deref().unwrap_or(
            if ctx.token.is_some() && ctx.password.is_none() {
                "token"
            } else {
                "basicAuth"
            },
        );
        if !method.eq_ignore_ascii_case("basicauth") {
            out.skipped.push(skip(format!(
                "auth_method `{method}`: kestractl supports Basic Auth only (tokens are Kestra EE)"
            )));
            continue;
        }
        let Some(host) = ctx.host.as_deref().filter(|h| !h.trim().is_empty()) else {
            out.skipped.push(skip("it has no host".into()));
            continue;
        };
        let server = match validate::server_url(host.trim()) {
            Ok(url) => display_url(&url),
            Err(m) => {
                out.skipped.push(skip(format!("host: {m}")));
                continue;
            }
        };
        if let Some(t) = &ctx.tenant
            && let Err(m) = validate::tenant(t)
        {
            out.skipped.push(skip(format!("tenant: {m}")));
            continue;
        }
        let username = ctx.username.filter(|u| !u.trim().is_empty());
        if let Some(u) = &username
            && let Err(m) = validate::username(u)
        {
            out.skipped.push(skip(format!("username: {m}")));
            continue;
        }
        let password = ctx.password.filter(|p| !p.is_empty()).map(Secret::new);
        if password.is_some() && username.is_none() {
            out.skipped
                .push(skip("it has a password but no username".into()));
            continue;
        }
        out.contexts.push(Imported {
            name,
            server,
            tenant: ctx.tenant,
            username,
            password,
        });
    }
    Ok(out)
}

/// One context of their file to write here: the context as it will be stored and what writing it
/// does (`created`, `replaced` or `unchanged`).
#[derive(Debug)]
pub struct Planned<'a> {
    pub import: &'a Imported,
    pub context: Context,
    pub action: &'static str,
}

/// What importing their contexts does, decided against the config before anything changes.
#[derive(Debug, Default)]
pub struct KctlPlan<'a> {
    pub apply: Vec<Planned<'a>>,
    /// Contexts of their file whose name exists here with other settings (without `overwrite`).
    pub conflicts: Vec<&'a Imported>,
}

impl KctlPlan<'_> {
    /// Whether a context to write has a password (for the keyring).
    pub fn needs_keyring(&self) -> bool {
        self.apply.iter().any(|p| p.import.password.is_some())
    }
}

/// The plan of an import of `parsed` into `config`: a context absent here is created, one with
/// the same settings left unchanged, and one with other settings replaced only with `overwrite`
/// (otherwise it is a conflict, left out). An image pinned here stays (their CLI knows none).
pub fn plan_kestractl<'a>(
    parsed: &'a KctlImport,
    config: &ConfigFile,
    overwrite: bool,
) -> KctlPlan<'a> {
    let mut plan = KctlPlan::default();
    for c in &parsed.contexts {
        let existing = config.contexts.get(&c.name);
        let context = Context {
            server: Some(c.server.clone()),
            tenant: c.tenant.clone(),
            username: c.username.clone(),
            image: existing.and_then(|x| x.image.clone()),
        };
        let action = match existing {
            None => "created",
            Some(existing) if *existing == context => "unchanged",
            Some(_) if overwrite => "replaced",
            Some(_) => {
                plan.conflicts.push(c);
                continue;
            }
        };
        plan.apply.push(Planned {
            import: c,
            context,
            action,
        });
    }
    plan
}

/// Writes a plan: each context's password into the keyring (`keyring` is needed when
/// [`KctlPlan::needs_keyring`]), its context into `config`, `default_context` made current when
/// none is and it exists, and the config saved to `config_path` (when there was anything to
/// write). A failure puts every keyring entry back as it was. Returns what happened to each
/// planned context's password, in the plan's order: `stored`, `replaced`, `unchanged`, or `none`.
pub async fn apply_kestractl(
    plan: &KctlPlan<'_>,
    default_context: Option<&str>,
    config: &mut ConfigFile,
    config_path: &Path,
    keyring: Option<&Keyring>,
) -> Result<Vec<&'static str>> {
    let mut undo = keyring.map(Undo::new);
    let mut passwords = Vec::with_capacity(plan.apply.len());
    for p in &plan.apply {
        let c = p.import;
        let mut password = "none";
        if let (Some(secret), Some(u), Some(username)) = (&c.password, undo.as_mut(), &c.username) {
            let entry = store::basic_auth_entry(&c.name, username, &c.server);
            match u.set(&entry, secret).await {
                Ok(previous) => password = replaced_word(&previous, secret),
                Err(e) => {
                    return Err(match undo.take() {
                        Some(u) => u.fail(e).await,
                        None => e,
                    });
                }
            }
        }
        config.contexts.insert(c.name.clone(), p.context.clone());
        passwords.push(password);
    }
    if config.current_context.is_none()
        && let Some(d) = default_context
        && config.contexts.contains_key(d)
    {
        config.current_context = Some(d.to_string());
    }
    if !plan.apply.is_empty()
        && let Err(e) = config.save(config_path)
    {
        return Err(match undo {
            Some(u) => u.fail(e).await,
            None => e,
        });
    }
    Ok(passwords)
}

/// Keyring entries written so far, with what they held before, to put back if a later step fails.
pub struct Undo<'a> {
    keyring: &'a Keyring,
    written: Vec<(String, Option<Secret>)>,
}

impl<'a> Undo<'a> {
    pub fn new(keyring: &'a Keyring) -> Self {
        Undo {
            keyring,
            written: Vec::new(),
        }
    }

    /// Stores `secret` in `entry`; returns what it replaced (`None`: new, `Some(same)`: unchanged).
    pub async fn set(&mut self, entry: &str, secret: &Secret) -> Result<Option<Secret>> {
        let previous = self.keyring.get(entry).await?;
        if previous.as_ref() != Some(secret) {
            self.keyring.set(entry, secret).await?;
            self.written.push((entry.to_string(), previous.clone()));
        }
        Ok(previous)
    }

    /// Puts every entry back as it was; the first error is returned after trying them all.
    async fn revert(self) -> Result<()> {
        let mut first = None;
        for (entry, previous) in self.written.into_iter().rev() {
            let result = match previous {
                Some(p) => self.keyring.set(&entry, &p).await,
                None => self.keyring.delete(&entry).await.map(|_| ()),
            };
            if let Err(e) = result {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// After a failure: revert, and say so in the error.
    pub async fn fail(self, e: Error) -> Error {
        match self.revert().await {
            Ok(()) => e,
            Err(undo) => Error::keyring(
                format!("{e}; and putting the keyring back failed too: {undo}"),
                e.hint().unwrap_or_default(),
            ),
        }
    }
}

/// What a write did to an entry: `stored` (new), `unchanged` or `replaced`.
pub fn replaced_word(previous: &Option<Secret>, new: &Secret) -> &'static str {
    match previous {
        None => "stored",
        Some(p) if p == new => "unchanged",
        Some(_) => "replaced",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 2] = [BASIC_AUTH_KEY, DB_KEY];

    #[test]
    fn removes_only_the_password_lines() {
        let text = "# seed\nKESTRA_HTTP_PORT=18080\r\nexport KESTRA_BASICAUTH_PASSWORD='Secr3t'\n\nKESTRA_DB_PASSWORD=\"multi\nline\"\nKESTRA_DB_PASSWORD_HINT=x\nOTHER = 1\n  KESTRA_DB_PASSWORD = spaced\n";
        let out = without_keys(text, &KEYS);
        assert_eq!(
            out,
            "# seed\nKESTRA_HTTP_PORT=18080\r\n\nKESTRA_DB_PASSWORD_HINT=x\nOTHER = 1\n"
        );
        let rewritten = rewrite_dotenv(text, Path::new(".env"), &KEYS).unwrap();
        assert_eq!(rewritten, out);
        let vals = parse_dotenv(&rewritten, Path::new(".env")).unwrap();
        assert_eq!(vals["KESTRA_HTTP_PORT"], "18080");
        assert!(!vals.contains_key(DB_KEY));
    }

    #[test]
    fn a_file_without_the_keys_is_unchanged() {
        let text = "A=1\n# KESTRA_DB_PASSWORD=commented\nB=\"x y\"";
        assert_eq!(without_keys(text, &KEYS), text);
    }

    #[test]
    fn a_bad_dotenv_is_refused_without_quoting_it() {
        let err = rewrite_dotenv(
            "KESTRA_DB_PASSWORD='Secr3t-unterminated\nA=1\n",
            Path::new("/w/.env"),
            &KEYS,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("Secr3t"), "{err}");
    }

    #[test]
    fn parses_the_official_format() {
        let text = "contexts:\n  default:\n    host: http://localhost:8080/\n    tenant: main\n    auth_method: basicAuth\n    username: admin@kestra.io\n    password: Admin1234\n  ee:\n    host: https://kestra.example.com\n    auth_method: token\n    token: abc\n  bad name:\n    host: http://x\n  nohost:\n    username: a@b.c\n  noauth:\n    host: https://k.example.com\ndefault_context: default\n";
        let imp = parse_kestractl(text, Path::new("/h/.kestractl/config.yaml")).unwrap();
        assert_eq!(imp.default_context.as_deref(), Some("default"));
        let names: Vec<_> = imp.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["default", "noauth"]);
        let d = &imp.contexts[0];
        assert_eq!(d.server, "http://localhost:8080");
        assert_eq!(d.password.as_ref().unwrap().expose(), "Admin1234");
        assert!(imp.contexts[1].password.is_none());
        let skipped: Vec<_> = imp.skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(skipped, ["bad name", "ee", "nohost"]);
        assert!(imp.skipped[1].reason.contains("token"));
    }

    #[test]
    fn not_their_format_is_an_error_that_quotes_no_secret() {
        let p = Path::new("/h/config.yaml");
        let err = parse_kestractl("contexts: [1, 2\npassword: Secr3t", p).unwrap_err();
        assert!(err.to_string().contains("/h/config.yaml"), "{err}");
        assert!(!err.to_string().contains("Secr3t"), "{err}");
        let err = parse_kestractl("contexts:\n  a:\n    password: [Secr3t]\n", p).unwrap_err();
        assert!(!err.to_string().contains("Secr3t"), "{err}");
        assert!(parse_kestractl("just: text\n", p).is_err());
    }

    /// The mode of a file (0600 when unknown), to keep it across a rewrite.
    fn mode_of(path: &Path) -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o777)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            0o600
        }
    }

    #[test]
    fn atomic_write_sets_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        crate::fsutil::write_atomic(&p, b"A=1\n", Some(0o600)).unwrap();
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "A=1\n");
        assert_eq!(
            backup_path(&p).file_name().unwrap(),
            ".env.kestractl-backup"
        );
    }

    #[tokio::test]
    async fn undo_puts_every_entry_back_as_it_was() {
        let k = Keyring::mock();
        k.set("a", &Secret::new("old-a")).await.unwrap();
        let mut undo = Undo::new(&k);
        let prev = undo.set("a", &Secret::new("new-a")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-a")), "replaced");
        let prev = undo.set("b", &Secret::new("new-b")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-b")), "stored");
        // Writing the same value again is not a change and is not undone.
        let prev = undo.set("a", &Secret::new("new-a")).await.unwrap();
        assert_eq!(replaced_word(&prev, &Secret::new("new-a")), "unchanged");
        let e = undo
            .fail(Error::settings("the .env could not be written", "fix it"))
            .await;
        assert!(e.to_string().contains(".env"));
        assert_eq!(k.get("a").await.unwrap().unwrap().expose(), "old-a");
        assert!(k.get("b").await.unwrap().is_none());
    }

    #[test]
    fn the_plan_creates_keeps_replaces_only_with_overwrite_and_keeps_a_pinned_image() {
        let imported = |name: &str, server: &str| Imported {
            name: name.into(),
            server: server.into(),
            tenant: None,
            username: Some("ops@example.com".into()),
            password: Some(Secret::new("pw")),
        };
        let parsed = KctlImport {
            contexts: vec![
                imported("new", "https://a.example.com"),
                imported("same", "https://b.example.com"),
                imported("other", "https://c.example.com"),
            ],
            ..KctlImport::default()
        };
        let mut config = ConfigFile::default();
        let here = |server: &str| Context {
            server: Some(server.into()),
            tenant: None,
            username: Some("ops@example.com".into()),
            image: None,
        };
        config
            .contexts
            .insert("same".into(), here("https://b.example.com"));
        config.contexts.insert(
            "other".into(),
            Context {
                image: Some("kestra/kestra:2.0.5".into()),
                ..here("https://old.example.com")
            },
        );
        let actions = |plan: &KctlPlan<'_>| -> Vec<(String, &'static str)> {
            plan.apply
                .iter()
                .map(|p| (p.import.name.clone(), p.action))
                .collect()
        };
        let plan = plan_kestractl(&parsed, &config, false);
        assert_eq!(
            actions(&plan),
            [("new".into(), "created"), ("same".into(), "unchanged")]
        );
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].name, "other");
        assert!(plan.needs_keyring());
        let plan = plan_kestractl(&parsed, &config, true);
        assert_eq!(plan.apply[2].action, "replaced");
        assert_eq!(
            plan.apply[2].context.image.as_deref(),
            Some("kestra/kestra:2.0.5")
        );
        assert!(plan.conflicts.is_empty());
    }
}
