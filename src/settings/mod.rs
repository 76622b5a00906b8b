//! One resolved `Settings` from every place a value can come from, in one precedence order:
//!
//! flags > environment (`KESTRACTL_*`, then the seed's `KESTRA_*`) > `.env` in the working
//! directory > the config file's context > derived defaults > built-in defaults.
//!
//! Resolution is a pure function of those layers ([`resolve`]), so the order is unit-tested
//! without touching the process environment. Every value remembers where it came from, which
//! `kestractl config show` prints and error messages quote.

pub mod config_file;
pub mod dotenv;
pub mod duration;
pub mod stack;
pub mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::error::{Error, Result};
pub use config_file::{ConfigFile, Context};
pub use dotenv::DotEnv;

pub const DEFAULT_SERVER: &str = "http://localhost:8080";
pub const DEFAULT_TENANT: &str = "main";
/// Kestra's own compose files use this username; it satisfies the e-mail rule.
pub const DEFAULT_USERNAME: &str = "admin@kestra.io";
pub const DEFAULT_CONTEXT: &str = "default";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    Flag {
        flag: String,
    },
    Env {
        var: String,
    },
    DotEnv {
        var: String,
        path: PathBuf,
    },
    Config {
        context: String,
        path: PathBuf,
    },
    /// The config file's `current-context` key.
    CurrentContext {
        path: PathBuf,
    },
    Derived {
        from: String,
    },
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag { flag } => write!(f, "flag {flag}"),
            Source::Env { var } => write!(f, "environment {var}"),
            Source::DotEnv { var, path } => write!(f, "{} {var}", path.display()),
            Source::Config { context, path } => {
                write!(f, "{} context `{context}`", path.display())
            }
            Source::CurrentContext { path } => write!(f, "{} current-context", path.display()),
            Source::Derived { from } => write!(f, "derived from {from}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A setting's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<T> {
    pub value: T,
    pub source: Source,
}

/// The raw values of the global flags (clap types stay in `cli.rs`).
#[derive(Debug, Clone, Default)]
pub struct FlagValues {
    pub context: Option<String>,
    pub server: Option<String>,
    pub tenant: Option<String>,
    pub username: Option<String>,
    pub timeout: Option<String>,
    pub allow_insecure_http: bool,
}

/// Everything resolution reads. `env` is a lookup function so tests can pass a map.
pub struct Layers<'a> {
    pub flags: &'a FlagValues,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub dotenv: &'a DotEnv,
    pub config: &'a ConfigFile,
    pub config_path: &'a Path,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub context: Resolved<String>,
    pub server: Resolved<Url>,
    pub tenant: Resolved<String>,
    pub username: Resolved<String>,
    pub timeout: Resolved<Duration>,
    pub allow_insecure_http: Resolved<bool>,
    pub config_path: PathBuf,
    pub dotenv: DotEnv,
    /// Said once on stderr: a value of `.env` that was not taken, and why; what a `.env` chose
    /// that matters (a server, a context), naming the file.
    pub warnings: Vec<String>,
    /// Whether a credential may go to the server: not when a `.env` named it and it is not the
    /// selected context's own (a cloned repository can bring a `.env`; the password of the
    /// environment or the keyring must not follow it).
    pub server_vouched: bool,
}

/// One row of `config show`.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub key: &'static str,
    pub value: String,
    pub source: Source,
}

impl Settings {
    pub fn entries(&self) -> Vec<Entry> {
        let e = |key, value: String, source: &Source| Entry {
            key,
            value,
            source: source.clone(),
        };
        vec![
            e("context", self.context.value.clone(), &self.context.source),
            e(
                "server",
                display_url(&self.server.value),
                &self.server.source,
            ),
            e("tenant", self.tenant.value.clone(), &self.tenant.source),
            e(
                "username",
                self.username.value.clone(),
                &self.username.source,
            ),
            e(
                "timeout",
                duration::format_duration(self.timeout.value),
                &self.timeout.source,
            ),
            e(
                "allow-insecure-http",
                self.allow_insecure_http.value.to_string(),
                &self.allow_insecure_http.source,
            ),
        ]
    }
}

/// A URL as an operator typed it: without the trailing slash `Url` adds to a bare host.
pub fn display_url(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

struct Candidate {
    value: String,
    source: Source,
}

impl Layers<'_> {
    fn flag(&self, value: &Option<String>, flag: &str) -> Option<Candidate> {
        value.as_ref().map(|v| Candidate {
            value: v.clone(),
            source: Source::Flag { flag: flag.into() },
        })
    }

    /// The first of `vars` set (non-empty) in the process environment.
    fn env(&self, vars: &[&str]) -> Option<Candidate> {
        vars.iter().find_map(|var| {
            (self.env)(var)
                .filter(|v| !v.trim().is_empty())
                .map(|value| Candidate {
                    value,
                    source: Source::Env { var: (*var).into() },
                })
        })
    }

    fn dotenv(&self, vars: &[&str]) -> Option<Candidate> {
        let path = self.dotenv.path.clone()?;
        vars.iter().find_map(|var| {
            self.dotenv.get(var).map(|v| Candidate {
                value: v.to_string(),
                source: Source::DotEnv {
                    var: (*var).into(),
                    path: path.clone(),
                },
            })
        })
    }

    fn context_value(
        &self,
        name: &str,
        field: impl Fn(&Context) -> Option<&String>,
    ) -> Option<Candidate> {
        let ctx = self.config.contexts.get(name)?;
        field(ctx).map(|v| Candidate {
            value: v.clone(),
            source: Source::Config {
                context: name.into(),
                path: self.config_path.to_path_buf(),
            },
        })
    }
}

impl Layers<'_> {
    /// The context the settings come from, when it exists in the config file (the same choice
    /// as [`resolve`]: --context, KESTRACTL_CONTEXT, .env, then current-context).
    fn selected_context(&self) -> Option<String> {
        let name = first([
            self.flag(&self.flags.context, "--context"),
            self.env(&["KESTRACTL_CONTEXT"]),
            self.dotenv(&["KESTRACTL_CONTEXT"]),
        ])
        .map(|c| c.value)
        .or_else(|| self.config.current_context.clone())
        .unwrap_or_else(|| DEFAULT_CONTEXT.into());
        self.config.contexts.contains_key(&name).then_some(name)
    }
}

fn first(candidates: impl IntoIterator<Item = Option<Candidate>>) -> Option<Candidate> {
    candidates.into_iter().flatten().next()
}

fn invalid(source: &Source, message: String) -> Error {
    let hint = match source {
        Source::Flag { flag } => format!("correct the value of {flag}"),
        Source::Env { var } => format!("correct or unset the environment variable {var}"),
        Source::DotEnv { var, path } => format!("correct {var} in {}", path.display()),
        Source::Config { context, path } => format!(
            "correct context `{context}` in {} (or `kestractl config add {context} … --overwrite`)",
            path.display()
        ),
        Source::CurrentContext { path } => format!(
            "pick an existing context with `kestractl config use NAME` (config file {})",
            path.display()
        ),
        Source::Derived { from } => format!("correct {from}"),
        Source::Default => String::new(),
    };
    settings_error(source, format!("{message} (from {source})"), hint)
}

/// A bad value typed on the command line is a usage error (exit 2, "bad arguments" in the
/// README's exit codes), like clap's own; from a file or the environment it is bad settings
/// (exit 1). Without this, `--timeout soon` exited 1 while `--since yesterday` exited 2.
fn settings_error(source: &Source, message: String, hint: String) -> Error {
    match source {
        Source::Flag { .. } => Error::usage(message, hint),
        _ => Error::settings(message, hint),
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Resolves every setting from the layers, validating each value and naming its source on error.
pub fn resolve(l: &Layers<'_>) -> Result<Settings> {
    let f = l.flags;

    let context = first([
        l.flag(&f.context, "--context"),
        l.env(&["KESTRACTL_CONTEXT"]),
        l.dotenv(&["KESTRACTL_CONTEXT"]),
        l.config.current_context.clone().map(|c| Candidate {
            value: c,
            source: Source::CurrentContext {
                path: l.config_path.to_path_buf(),
            },
        }),
    ])
    .unwrap_or(Candidate {
        value: DEFAULT_CONTEXT.into(),
        source: Source::Default,
    });
    let context_exists = l.config.contexts.contains_key(&context.value);
    // Naming a context that does not exist is a mistake; the implicit default context may be absent.
    if !context_exists && context.source != Source::Default {
        let known: Vec<_> = l.config.contexts.keys().cloned().collect();
        return Err(settings_error(
            &context.source,
            format!(
                "there is no context named `{}` (from {})",
                context.value, context.source
            ),
            if known.is_empty() {
                "create one with `kestractl config add NAME --server URL`".to_string()
            } else {
                format!(
                    "known contexts: {}; see `kestractl config list`",
                    known.join(", ")
                )
            },
        ));
    }
    let ctx = context.value.as_str();

    // The seed's KESTRA_HTTP_PORT says where the local stack's API listens; it only decides the
    // server when nothing names a server explicitly (a context for a remote server wins).
    let port_derived = first([
        l.env(&["KESTRA_HTTP_PORT"]),
        l.dotenv(&["KESTRA_HTTP_PORT"]),
    ])
    .map(|c| -> Result<Candidate> {
        let port: u16 = c
            .value
            .trim()
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                invalid(
                    &c.source,
                    format!("`{}` is not a TCP port (1-65535)", c.value),
                )
            })?;
        Ok(Candidate {
            value: format!("http://localhost:{port}"),
            source: Source::Derived {
                from: c.source.to_string(),
            },
        })
    })
    .transpose()?;
    // A `.env` is a file of the working directory, which a cloned repository can bring: it may
    // not point a context the operator selected at another server (the context's credential
    // would follow it).
    let context_selected = context.source != Source::Default;
    if let (Some(from_dotenv), Some(own)) = (
        l.dotenv(&["KESTRACTL_SERVER"]),
        l.config
            .contexts
            .get(ctx)
            .and_then(|c| c.server.as_ref())
            .filter(|_| context_selected),
    ) && f.server.is_none()
        && l.env(&["KESTRACTL_SERVER"]).is_none()
        && from_dotenv.value.trim_end_matches('/') != own.trim_end_matches('/')
    {
        return Err(settings_error(
            &from_dotenv.source,
            format!(
                "{} sets KESTRACTL_SERVER={} while the selected context `{ctx}` points at {own}: a \
                 .env of the working directory may not send the context's credentials elsewhere",
                from_dotenv.source, from_dotenv.value
            ),
            "remove KESTRACTL_SERVER from that .env, or give the server explicitly with --server"
                .into(),
        ));
    }
    let server = first([
        l.flag(&f.server, "--server"),
        l.env(&["KESTRACTL_SERVER"]),
        l.dotenv(&["KESTRACTL_SERVER"]),
        l.context_value(ctx, |c| c.server.as_ref()),
        port_derived,
    ])
    .unwrap_or(Candidate {
        value: DEFAULT_SERVER.into(),
        source: Source::Default,
    });
    let ui_address = validate::server_of_ui_address(&server.value).map(|s| {
        format!(
            "{} is a page of Kestra's UI; using its server, {s}",
            server.source
        )
    });
    let server = Resolved {
        value: validate::server_url(&server.value).map_err(|m| invalid(&server.source, m))?,
        source: server.source,
    };

    let tenant = first([
        l.flag(&f.tenant, "--tenant"),
        l.env(&["KESTRACTL_TENANT"]),
        l.dotenv(&["KESTRACTL_TENANT"]),
        l.context_value(ctx, |c| c.tenant.as_ref()),
    ])
    .unwrap_or(Candidate {
        value: DEFAULT_TENANT.into(),
        source: Source::Default,
    });
    validate::tenant(&tenant.value).map_err(|m| invalid(&tenant.source, m))?;

    let username = first([
        l.flag(&f.username, "--username"),
        l.env(&["KESTRACTL_USERNAME", "KESTRA_BASICAUTH_USERNAME"]),
        l.dotenv(&["KESTRACTL_USERNAME", "KESTRA_BASICAUTH_USERNAME"]),
        l.context_value(ctx, |c| c.username.as_ref()),
    ])
    .unwrap_or(Candidate {
        value: DEFAULT_USERNAME.into(),
        source: Source::Default,
    });
    validate::username(&username.value).map_err(|m| invalid(&username.source, m))?;

    let timeout = first([
        l.flag(&f.timeout, "--timeout"),
        l.env(&["KESTRACTL_TIMEOUT"]),
        l.dotenv(&["KESTRACTL_TIMEOUT"]),
    ]);
    let timeout = match timeout {
        Some(c) => {
            let d = duration::parse_duration(&c.value).map_err(|m| invalid(&c.source, m))?;
            if d.is_zero() {
                return Err(invalid(&c.source, "a timeout of zero".into()));
            }
            Resolved {
                value: d,
                source: c.source,
            }
        }
        None => Resolved {
            value: DEFAULT_TIMEOUT,
            source: Source::Default,
        },
    };

    let insecure = if f.allow_insecure_http {
        Some(Candidate {
            value: "true".into(),
            source: Source::Flag {
                flag: "--allow-insecure-http".into(),
            },
        })
    } else {
        // Never from `.env`: a security switch is the operator's, not a working directory's.
        l.env(&["KESTRACTL_ALLOW_INSECURE_HTTP"])
    };
    let mut warnings: Vec<String> = ui_address.into_iter().collect();
    if let Source::DotEnv { var, path } = &context.source {
        warnings.push(format!(
            "{} {var} picks the context `{}`",
            path.display(),
            context.value
        ));
    }
    let context_server = l
        .config
        .contexts
        .get(ctx)
        .and_then(|c| c.server.as_deref())
        .filter(|_| context_selected)
        .and_then(|own| validate::server_url(own).ok());
    let server_vouched = match &server.source {
        Source::DotEnv { .. } => context_server.as_ref() == Some(&server.value),
        _ => true,
    };
    if let Source::DotEnv { var, path } = &server.source {
        warnings.push(format!(
            "{} {var} picks the server {}{}",
            path.display(),
            display_url(&server.value),
            if server_vouched {
                ""
            } else {
                "; no password is sent to a server a .env names (give it with --server, \
                 KESTRACTL_SERVER, or a context)"
            }
        ));
    }
    if let Some(ignored) = l.dotenv(&["KESTRACTL_ALLOW_INSECURE_HTTP"]) {
        warnings.push(format!(
            "{} sets KESTRACTL_ALLOW_INSECURE_HTTP: ignored, a security switch is never read from \
             a .env (give --allow-insecure-http, or set it in the environment)",
            ignored.source
        ));
    }
    let allow_insecure_http = match insecure {
        Some(c) => Resolved {
            value: parse_bool(&c.value).ok_or_else(|| {
                invalid(
                    &c.source,
                    format!("`{}` is not a boolean (use 1/0, true/false)", c.value),
                )
            })?,
            source: c.source,
        },
        None => Resolved {
            value: false,
            source: Source::Default,
        },
    };

    Ok(Settings {
        context: Resolved {
            value: context.value,
            source: context.source,
        },
        server,
        tenant: Resolved {
            value: tenant.value,
            source: tenant.source,
        },
        username: Resolved {
            value: username.value,
            source: username.source,
        },
        timeout,
        allow_insecure_http,
        config_path: l.config_path.to_path_buf(),
        dotenv: l.dotenv.clone(),
        warnings,
        server_vouched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fixture {
        flags: FlagValues,
        env: HashMap<String, String>,
        dotenv: DotEnv,
        config: ConfigFile,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                flags: FlagValues::default(),
                env: HashMap::new(),
                dotenv: DotEnv::default(),
                config: ConfigFile::default(),
            }
        }
        fn env(mut self, k: &str, v: &str) -> Self {
            self.env.insert(k.into(), v.into());
            self
        }
        fn dotenv(mut self, pairs: &[(&str, &str)]) -> Self {
            self.dotenv = DotEnv::from_pairs("/work/.env", pairs);
            self
        }
        fn context(mut self, name: &str, server: &str, username: Option<&str>) -> Self {
            self.config.contexts.insert(
                name.into(),
                Context {
                    server: Some(server.into()),
                    tenant: None,
                    username: username.map(Into::into),
                    image: None,
                },
            );
            self.config.current_context = Some(name.into());
            self
        }
        fn resolve(&self) -> Result<Settings> {
            let env = |k: &str| self.env.get(k).cloned();
            resolve(&Layers {
                flags: &self.flags,
                env: &env,
                dotenv: &self.dotenv,
                config: &self.config,
                config_path: Path::new("/cfg/config.toml"),
            })
        }
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let s = Fixture::new().resolve().unwrap();
        assert_eq!(s.server.value.as_str(), "http://localhost:8080/");
        assert_eq!(s.server.source, Source::Default);
        assert_eq!(s.tenant.value, "main");
        assert_eq!(s.username.value, DEFAULT_USERNAME);
        assert_eq!(s.context.value, "default");
        // The implicit default context resolves though the config file does not hold it.
        assert!(
            !Fixture::new()
                .config
                .contexts
                .contains_key(&s.context.value)
        );
        assert_eq!(s.timeout.value, DEFAULT_TIMEOUT);
        assert!(!s.allow_insecure_http.value);
    }

    #[test]
    fn security_switches_are_not_read_from_dotenv() {
        let fx = Fixture::new().dotenv(&[("KESTRACTL_ALLOW_INSECURE_HTTP", "1")]);
        let s = fx.resolve().unwrap();
        assert!(!s.allow_insecure_http.value);
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("ignored"), "{:?}", s.warnings);
        let fx = Fixture::new().env("KESTRACTL_ALLOW_INSECURE_HTTP", "1");
        let s = fx.resolve().unwrap();
        assert!(s.allow_insecure_http.value);
        assert!(s.warnings.is_empty());
        // The same server in `.env` as in the selected context is no redirection.
        let fx = Fixture::new()
            .context("c", "http://config:1", None)
            .dotenv(&[("KESTRACTL_SERVER", "http://config:1/")]);
        assert_eq!(
            fx.resolve().unwrap().server.value.host_str(),
            Some("config")
        );
    }

    /// Security, second pass (finding 4): what a `.env` picks is named, and a server it names
    /// gets no credential unless it is the selected context's own.
    #[test]
    fn a_dotenv_server_or_context_is_named_and_its_server_is_not_vouched_for() {
        let fx = Fixture::new().dotenv(&[("KESTRACTL_SERVER", "http://elsewhere:8080")]);
        let s = fx.resolve().unwrap();
        assert!(!s.server_vouched);
        assert!(
            s.warnings.iter().any(|w| w
                .contains("/work/.env KESTRACTL_SERVER picks the server http://elsewhere:8080")
                && w.contains("no password is sent")),
            "{:?}",
            s.warnings
        );
        // The selected context's own server, also in the `.env`: vouched for.
        let fx = Fixture::new()
            .context("c", "http://config:1", None)
            .dotenv(&[("KESTRACTL_SERVER", "http://config:1/")]);
        assert!(fx.resolve().unwrap().server_vouched);
        // Anything else that names the server vouches for it.
        let fx = Fixture::new().env("KESTRACTL_SERVER", "http://env:2");
        assert!(fx.resolve().unwrap().server_vouched);
        assert!(Fixture::new().resolve().unwrap().server_vouched);
        // A context switched by a `.env` is named.
        let mut fx = Fixture::new()
            .context("prod", "https://prod", None)
            .context("dev", "http://dev:1", None)
            .dotenv(&[("KESTRACTL_CONTEXT", "prod")]);
        fx.config.current_context = Some("dev".into());
        let s = fx.resolve().unwrap();
        assert_eq!(s.context.value, "prod");
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("/work/.env KESTRACTL_CONTEXT picks the context `prod`")),
            "{:?}",
            s.warnings
        );
    }

    /// The whole precedence ladder for `server`, one layer removed at a time.
    #[test]
    fn server_precedence_flag_env_dotenv_config_derived_default() {
        let mut fx = Fixture::new()
            .context("c", "http://config:1", None)
            .env("KESTRACTL_SERVER", "http://env:2")
            .dotenv(&[
                ("KESTRACTL_SERVER", "http://dotenv:3"),
                ("KESTRA_HTTP_PORT", "18080"),
            ]);
        fx.flags.server = Some("http://flag:4".into());
        let host = |fx: &Fixture| {
            fx.resolve()
                .unwrap()
                .server
                .value
                .host_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(host(&fx), "flag");
        fx.flags.server = None;
        assert_eq!(host(&fx), "env");
        fx.env.remove("KESTRACTL_SERVER");
        // A `.env` may not point the selected context at another server (security finding 4).
        let err = fx.resolve().unwrap_err();
        assert!(
            err.to_string()
                .contains("while the selected context `c` points at http://config:1"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("--server"));
        fx.dotenv = DotEnv::from_pairs("/work/.env", &[("KESTRA_HTTP_PORT", "18080")]);
        assert_eq!(host(&fx), "config");
        // Without a selected context (the default one), `.env` names the server.
        let mut unselected = Fixture::new().dotenv(&[("KESTRACTL_SERVER", "http://dotenv:3")]);
        assert_eq!(host(&unselected), "dotenv");
        unselected.flags.server = Some("http://flag:4".into());
        assert_eq!(host(&unselected), "flag");
        fx.config = ConfigFile::default();
        let s = fx.resolve().unwrap();
        assert_eq!(s.server.value.as_str(), "http://localhost:18080/");
        assert!(matches!(s.server.source, Source::Derived { .. }));
        fx.dotenv = DotEnv::default();
        assert_eq!(fx.resolve().unwrap().server.source, Source::Default);
    }

    #[test]
    fn username_precedence_includes_the_seed_variable() {
        let mut fx = Fixture::new()
            .context("c", "http://x:1", Some("ctx@example.com"))
            .dotenv(&[("KESTRA_BASICAUTH_USERNAME", "dotenv@example.com")])
            .env("KESTRA_BASICAUTH_USERNAME", "seed@example.com")
            .env("KESTRACTL_USERNAME", "ours@example.com");
        assert_eq!(fx.resolve().unwrap().username.value, "ours@example.com");
        fx.env.remove("KESTRACTL_USERNAME");
        assert_eq!(fx.resolve().unwrap().username.value, "seed@example.com");
        fx.env.clear();
        assert_eq!(fx.resolve().unwrap().username.value, "dotenv@example.com");
        fx.dotenv = DotEnv::default();
        let s = fx.resolve().unwrap();
        assert_eq!(s.username.value, "ctx@example.com");
        assert!(matches!(s.username.source, Source::Config { .. }));
        fx.flags.username = Some("flag@example.com".into());
        assert_eq!(fx.resolve().unwrap().username.value, "flag@example.com");
    }

    #[test]
    fn context_selection_and_unknown_context() {
        let mut fx =
            Fixture::new()
                .context("a", "http://a:1", None)
                .context("b", "http://b:1", None);
        // current-context is b (last added)
        assert_eq!(fx.resolve().unwrap().server.value.host_str(), Some("b"));
        fx.env.insert("KESTRACTL_CONTEXT".into(), "a".into());
        assert_eq!(fx.resolve().unwrap().server.value.host_str(), Some("a"));
        fx.flags.context = Some("nope".into());
        let err = fx.resolve().unwrap_err();
        assert!(err.to_string().contains("no context named `nope`"), "{err}");
        assert!(err.hint().unwrap().contains("a, b"), "{:?}", err.hint());
    }

    #[test]
    fn invalid_values_name_their_source_and_fix() {
        let fx = Fixture::new().dotenv(&[("KESTRA_HTTP_PORT", "eighty")]);
        let err = fx.resolve().unwrap_err();
        assert!(err.to_string().contains("not a TCP port"), "{err}");
        assert!(
            err.to_string().contains("/work/.env KESTRA_HTTP_PORT"),
            "{err}"
        );
        assert!(
            err.hint()
                .unwrap()
                .contains("KESTRA_HTTP_PORT in /work/.env")
        );

        let fx = Fixture::new().env("KESTRACTL_TENANT", "Main");
        let err = fx.resolve().unwrap_err();
        assert!(
            err.to_string().contains("environment KESTRACTL_TENANT"),
            "{err}"
        );

        let mut fx = Fixture::new();
        fx.flags.timeout = Some("soon".into());
        let err = fx.resolve().unwrap_err();
        assert!(err.to_string().contains("flag --timeout"), "{err}");
        fx.flags.timeout = Some("0s".into());
        assert!(fx.resolve().is_err());

        let mut fx = Fixture::new();
        fx.flags.username = Some("admin".into());
        assert!(fx.resolve().unwrap_err().to_string().contains("e-mail"));

        let fx = Fixture::new().env("KESTRACTL_ALLOW_INSECURE_HTTP", "maybe");
        assert!(fx.resolve().unwrap_err().to_string().contains("boolean"));
    }

    #[test]
    fn timeout_and_insecure_flag() {
        let mut fx = Fixture::new()
            .env("KESTRACTL_TIMEOUT", "5s")
            .env("KESTRACTL_ALLOW_INSECURE_HTTP", "1");
        let s = fx.resolve().unwrap();
        assert_eq!(s.timeout.value, Duration::from_secs(5));
        assert!(s.allow_insecure_http.value);
        fx.flags.timeout = Some("250ms".into());
        assert_eq!(
            fx.resolve().unwrap().timeout.value,
            Duration::from_millis(250)
        );
    }

    #[test]
    fn entries_cover_every_setting_with_a_source() {
        let s = Fixture::new().resolve().unwrap();
        let keys: Vec<_> = s.entries().iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "context",
                "server",
                "tenant",
                "username",
                "timeout",
                "allow-insecure-http"
            ]
        );
    }
}
