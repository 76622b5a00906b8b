//! The config file: named contexts (server URL, tenant, username) and the current one.
//! It never holds a password; a `password` key is refused with the way to store one properly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FILE_NAME: &str = "config.toml";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The Kestra image the local stack runs for this context (`KESTRA_IMAGE` and `--image` win):
    /// where `upgrade` pins the image it moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// Where the config file lives: `KESTRACTL_CONFIG_DIR`, else the XDG config dir
/// (`$XDG_CONFIG_HOME/kestractl`, `~/.config/kestractl`; `%APPDATA%\kestractl` on Windows).
pub fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf> {
    let non_empty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some(dir) = non_empty("KESTRACTL_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = non_empty("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(xdg).join("kestractl"));
    }
    if cfg!(windows)
        && let Some(appdata) = non_empty("APPDATA")
    {
        return Ok(PathBuf::from(appdata).join("kestractl"));
    }
    if let Some(home) = non_empty("HOME") {
        return Ok(PathBuf::from(home).join(".config").join("kestractl"));
    }
    Err(Error::settings(
        "cannot find a config directory: neither KESTRACTL_CONFIG_DIR, XDG_CONFIG_HOME nor HOME is set",
        "set KESTRACTL_CONFIG_DIR to a directory kestractl may write its config.toml to",
    ))
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty config (first run).
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io("cannot read the config file", path, e)),
        };
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let fix = format!(
            "edit {} (or remove it and recreate contexts with `kestractl config add`)",
            path.display()
        );
        // A password in the config file is the one mistake we name specifically: it is what the
        // official kestractl does, and what this tool exists to avoid.
        if let Ok(raw) = text.parse::<toml::Table>()
            && let Some(toml::Value::Table(contexts)) = raw.get("contexts")
            && let Some(name) = contexts
                .iter()
                .find(|(_, ctx)| ctx.get("password").is_some())
                .map(|(name, _)| name)
        {
            return Err(Error::settings(
                format!(
                    "{}: context `{name}` has a `password` key; kestractl never keeps passwords in its config file",
                    path.display()
                ),
                "remove the `password` line and pass the password with --password-stdin or KESTRACTL_PASSWORD",
            ));
        }
        // Anywhere else, the parser's own message would quote the value (`[contexts]` then
        // `password = "…"` reads as a context given as a string).
        if let Ok(raw) = text.parse::<toml::Table>()
            && let Some(key) = password_key(&raw, "")
        {
            return Err(Error::settings(
                format!(
                    "{}: `{key}` looks like a password; kestractl never keeps passwords in its config file",
                    path.display()
                ),
                "remove that line and pass the password with --password-stdin or KESTRACTL_PASSWORD",
            ));
        }
        let config: ConfigFile = toml::from_str(text).map_err(|e| {
            Error::settings(
                format!(
                    "{} is not a valid kestractl config: {}",
                    path.display(),
                    e.message()
                ),
                fix.clone(),
            )
        })?;
        for (name, ctx) in &config.contexts {
            validate_context_name(name)
                .map_err(|m| Error::settings(format!("{}: {m}", path.display()), fix.clone()))?;
            if let Some(server) = &ctx.server {
                super::validate::server_url(server).map_err(|m| {
                    Error::settings(
                        format!("{}: context `{name}`: {m}", path.display()),
                        fix.clone(),
                    )
                })?;
            }
            if let Some(tenant) = &ctx.tenant {
                super::validate::tenant(tenant).map_err(|m| {
                    Error::settings(
                        format!("{}: context `{name}`: {m}", path.display()),
                        fix.clone(),
                    )
                })?;
            }
        }
        Ok(config)
    }

    /// Writes atomically (temp file in the same directory, then rename) so a crash or a full disk
    /// never leaves a half-written config behind.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create the config directory", dir, e))?;
        let body = toml::to_string_pretty(self).map_err(|e| anyhow::anyhow!(e))?;
        let text = format!(
            "# kestractl contexts. Managed by `kestractl config`; passwords are never stored here.\n{body}"
        );
        crate::fsutil::write_atomic(path, text.as_bytes(), None)
    }
}

/// The dotted path of the first key, at any depth, whose name contains `password`.
fn password_key(table: &toml::Table, prefix: &str) -> Option<String> {
    table.iter().find_map(|(k, v)| {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if k.to_ascii_lowercase().contains("password") {
            return Some(path);
        }
        match v {
            toml::Value::Table(t) => password_key(t, &path),
            toml::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, item)| match item {
                    toml::Value::Table(t) => password_key(t, &format!("{path}[{i}]")),
                    _ => None,
                })
            }
            _ => None,
        }
    })
}

pub fn validate_context_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid context name: use 1-64 letters, digits, `-`, `_` or `.`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/cfg/config.toml")
    }

    #[test]
    fn parses_contexts() {
        let c = ConfigFile::parse(
            "current-context = \"prod\"\n[contexts.prod]\nserver = \"https://k.example.com\"\ntenant = \"main\"\nusername = \"ops@example.com\"\n",
            &p(),
        )
        .unwrap();
        assert_eq!(c.current_context.as_deref(), Some("prod"));
        assert_eq!(
            c.contexts["prod"].server.as_deref(),
            Some("https://k.example.com")
        );
    }

    #[test]
    fn refuses_a_password_with_guidance() {
        let err = ConfigFile::parse(
            "[contexts.default]\nserver = \"http://localhost:8080\"\npassword = \"Admin1234\"\n",
            &p(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`password` key"), "{text}");
        assert!(!text.contains("Admin1234"), "the secret leaked: {text}");
        assert!(err.hint().unwrap().contains("--password-stdin"));
    }

    /// Found by the `settings` fuzz target: `[contexts]` then `password = "…"` was refused by
    /// the TOML reader with a message quoting the value ("invalid type: string \"…\"").
    #[test]
    fn a_password_anywhere_is_refused_without_its_value() {
        for (text, key) in [
            (
                "[contexts]\npassword = \"Hunter2pass\"\n",
                "`contexts.password`",
            ),
            ("DB_PASSWORD = \"Hunter2pass\"\n", "`DB_PASSWORD`"),
            (
                "[contexts.a.x]\nkestra_password = [\"Hunter2pass\"]\n",
                "`contexts.a.x.kestra_password`",
            ),
        ] {
            let err = ConfigFile::parse(text, &p()).unwrap_err();
            let message = format!("{err} {}", err.hint().unwrap_or_default());
            assert!(message.contains(key), "{message}");
            assert!(
                !message.contains("Hunter2pass"),
                "the secret leaked: {message}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file() {
        let err = ConfigFile::parse("[contexts.a]\nhost = \"x\"\n", &p()).unwrap_err();
        assert!(err.to_string().contains("/cfg/config.toml"), "{err}");
        assert!(err.to_string().contains("host"), "{err}");
        let err = ConfigFile::parse("[contexts.a]\nserver = \"ftp://x\"\n", &p()).unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
        let err = ConfigFile::parse("[contexts.a]\ntenant = \"Main\"\n", &p()).unwrap_err();
        assert!(err.to_string().contains("tenant"), "{err}");
        let err = ConfigFile::parse("this is = = not toml", &p()).unwrap_err();
        assert!(
            err.to_string().contains("not a valid kestractl config"),
            "{err}"
        );
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        let mut c = ConfigFile::default();
        c.contexts.insert(
            "local".into(),
            Context {
                server: Some("http://localhost:8080".into()),
                tenant: None,
                username: Some("admin@kestra.io".into()),
                image: Some("kestra/kestra:1.3.25".into()),
            },
        );
        c.current_context = Some("local".into());
        c.save(&path).unwrap();
        assert_eq!(ConfigFile::load(&path).unwrap(), c);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn missing_file_is_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ConfigFile::load(&dir.path().join("nope.toml")).unwrap(),
            ConfigFile::default()
        );
    }

    #[test]
    fn config_dir_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            config_dir(&env(&[
                ("KESTRACTL_CONFIG_DIR", "/a"),
                ("XDG_CONFIG_HOME", "/b"),
                ("HOME", "/c")
            ]))
            .unwrap(),
            PathBuf::from("/a")
        );
        assert_eq!(
            config_dir(&env(&[("XDG_CONFIG_HOME", "/b"), ("HOME", "/c")])).unwrap(),
            PathBuf::from("/b/kestractl")
        );
        assert_eq!(
            config_dir(&env(&[("HOME", "/c")])).unwrap(),
            PathBuf::from("/c/.config/kestractl")
        );
        assert!(config_dir(&env(&[])).is_err());
    }
}
