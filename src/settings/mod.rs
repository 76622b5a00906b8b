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

/// A field of a context (its server, tenant, username).
type ContextField = fn(&Context) -> Option<&String>;

impl Layers<'_> {
    /// The first layer that sets a value: the flag (when there is one), the environment, the
    /// `.env`, then the selected context's field (when there is one).
    fn pick(
        &self,
        flag: Option<(&Option<String>, &str)>,
        vars: &[&str],
        context: Option<(&str, ContextField)>,
    ) -> Option<Candidate> {
        first([
            flag.and_then(|(value, name)| self.flag(value, name)),
            self.env(vars),
            self.dotenv(vars),
            context.and_then(|(ctx, field)| self.context_value(ctx, field)),
        ])
    }
}

fn or_default(candidate: Option<Candidate>, default: &str) -> Candidate {
    candidate.unwrap_or(Candidate {
        value: default.into(),
        source: Source::Default,
    })
}

/// The selected context: `--context`, `KESTRACTL_CONTEXT`, `.env`, the config's current one, or
/// the implicit default. Naming one that does not exist is a mistake; the implicit default
/// may be absent.
fn resolve_context(l: &Layers<'_>) -> Result<Candidate> {
    let context = first([
        l.pick(
            Some((&l.flags.context, "--context")),
            &["KESTRACTL_CONTEXT"],
            None,
        ),
        l.config.current_context.clone().map(|c| Candidate {
            value: c,
            source: Source::CurrentContext {
                path: l.config_path.to_path_buf(),
            },
        }),
    ]);
    let context = or_default(context, DEFAULT_CONTEXT);
    if l.config.contexts.contains_key(&context.value) || context.source == Source::Default {
        return Ok(context);
    }
    let known: Vec<_> = l.config.contexts.keys().cloned().collect();
    Err(settings_error(
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
    ))
}

/// The seed's KESTRA_HTTP_PORT says where the local stack's API listens; it only decides the
/// server when nothing names a server explicitly (a context for a remote server wins).
fn port_derived_server(l: &Layers<'_>) -> Result<Option<Candidate>> {
    let Some(c) = first([
        l.env(&["KESTRA_HTTP_PORT"]),
        l.dotenv(&["KESTRA_HTTP_PORT"]),
    ]) else {
        return Ok(None);
    };
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
    Ok(Some(Candidate {
        value: format!("http://localhost:{port}"),
        source: Source::Derived {
            from: c.source.to_string(),
        },
    }))
}

/// A `.env` is a file of the working directory, which a cloned repository can bring: it may
/// not point a context the operator selected at another server (the context's credential
/// would follow it).
fn refuse_dotenv_redirect(l: &Layers<'_>, ctx: &str, context_selected: bool) -> Result<()> {
    let own = l
        .config
        .contexts
        .get(ctx)
        .and_then(|c| c.server.as_ref())
        .filter(|_| context_selected);
    match (l.dotenv(&["KESTRACTL_SERVER"]), own) {
        (Some(from_dotenv), Some(own))
            if l.flags.server.is_none()
                && l.env(&["KESTRACTL_SERVER"]).is_none()
                && from_dotenv.value.trim_end_matches('/') != own.trim_end_matches('/') =>
        {
            Err(settings_error(
                &from_dotenv.source,
                format!(
                    "{} sets KESTRACTL_SERVER={} while the selected context `{ctx}` points at \
                     {own}: a .env of the working directory may not send the context's \
                     credentials elsewhere",
                    from_dotenv.source, from_dotenv.value
                ),
                "remove KESTRACTL_SERVER from that .env, or give the server explicitly with \
                 --server"
                    .into(),
            ))
        }
        _ => Ok(()),
    }
}

/// The server, and a warning when it was given as a page of Kestra's UI.
fn resolve_server(l: &Layers<'_>, ctx: &str) -> Result<(Resolved<Url>, Option<String>)> {
    let server = first([
        l.pick(
            Some((&l.flags.server, "--server")),
            &["KESTRACTL_SERVER"],
            Some((ctx, |c| c.server.as_ref())),
        ),
        port_derived_server(l)?,
    ]);
    let server = or_default(server, DEFAULT_SERVER);
    let ui_address = validate::server_of_ui_address(&server.value).map(|s| {
        format!(
            "{} is a page of Kestra's UI; using its server, {s}",
            server.source
        )
    });
    let value = validate::server_url(&server.value).map_err(|m| invalid(&server.source, m))?;
    Ok((
        Resolved {
            value,
            source: server.source,
        },
        ui_address,
    ))
}

fn resolve_timeout(l: &Layers<'_>) -> Result<Resolved<Duration>> {
    let Some(c) = l.pick(
        Some((&l.flags.timeout, "--timeout")),
        &["KESTRACTL_TIMEOUT"],
        None,
    ) else {
        return Ok(Resolved {
            value: DEFAULT_TIMEOUT,
            source: Source::Default,
        });
    };
    let d = duration::parse_duration(&c.value).map_err(|m| invalid(&c.source, m))?;
    if d.is_zero() {
        return Err(invalid(&c.source, "a timeout of zero".into()));
    }
    Ok(Resolved {
        value: d,
        source: c.source,
    })
}

/// The plain-HTTP switch: the flag or the environment, never a `.env` (a security switch is the
/// operator's, not a working directory's).
fn resolve_insecure(l: &Layers<'_>) -> Result<Resolved<bool>> {
    let insecure = if l.flags.allow_insecure_http {
        Some(Candidate {
            value: "true".into(),
            source: Source::Flag {
                flag: "--allow-insecure-http".into(),
            },
        })
    } else {
        l.env(&["KESTRACTL_ALLOW_INSECURE_HTTP"])
    };
    Ok(match insecure {
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
    })
}

/// Whether a credential may go to the server: not when a `.env` named it and it is not the
/// selected context's own.
fn vouched_for(l: &Layers<'_>, ctx: &str, context_selected: bool, server: &Resolved<Url>) -> bool {
    let context_server = l
        .config
        .contexts
        .get(ctx)
        .and_then(|c| c.server.as_deref())
        .filter(|_| context_selected)
        .and_then(|own| validate::server_url(own).ok());
    match &server.source {
        Source::DotEnv { .. } => context_server.as_ref() == Some(&server.value),
        _ => true,
    }
}

/// What a `.env` chose (a context, a server) or tried to (a security switch), said once.
fn dotenv_warnings(
    l: &Layers<'_>,
    context: &Candidate,
    server: &Resolved<Url>,
    server_vouched: bool,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Source::DotEnv { var, path } = &context.source {
        warnings.push(format!(
            "{} {var} picks the context `{}`",
            path.display(),
            context.value
        ));
    }
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
    warnings
}

fn resolved(c: Candidate) -> Resolved<String> {
    Resolved {
        value: c.value,
        source: c.source,
    }
}

/// Resolves every setting from the layers, validating each value and naming its source on error.
pub fn resolve(l: &Layers<'_>) -> Result<Settings> {
    let f = l.flags;
    let context = resolve_context(l)?;
    let ctx = context.value.as_str();
    let context_selected = context.source != Source::Default;
    // In the order errors were always found: a bad port of the seed's before a redirection.
    let (server, ui_address) = resolve_server(l, ctx)?;
    refuse_dotenv_redirect(l, ctx, context_selected)?;
    let tenant = or_default(
        l.pick(
            Some((&f.tenant, "--tenant")),
            &["KESTRACTL_TENANT"],
            Some((ctx, |c| c.tenant.as_ref())),
        ),
        DEFAULT_TENANT,
    );
    validate::tenant(&tenant.value).map_err(|m| invalid(&tenant.source, m))?;
    let username = or_default(
        l.pick(
            Some((&f.username, "--username")),
            &["KESTRACTL_USERNAME", "KESTRA_BASICAUTH_USERNAME"],
            Some((ctx, |c| c.username.as_ref())),
        ),
        DEFAULT_USERNAME,
    );
    validate::username(&username.value).map_err(|m| invalid(&username.source, m))?;
    let timeout = resolve_timeout(l)?;
    let allow_insecure_http = resolve_insecure(l)?;
    let server_vouched = vouched_for(l, ctx, context_selected, &server);
    let mut warnings: Vec<String> = ui_address.into_iter().collect();
    warnings.extend(dotenv_warnings(l, &context, &server, server_vouched));
    Ok(Settings {
        context: resolved(context),
        server,
        tenant: resolved(tenant),
        username: resolved(username),
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
