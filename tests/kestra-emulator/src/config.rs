//! The subset of Kestra's `application.yml` the emulator reads, parsed the way Micronaut does:
//! several files merged in order (later wins), relaxed key binding (`basic-auth` == `basicAuth`
//! == `basic_auth`), dotted keys equivalent to nesting, and unknown keys ignored.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datasource {
    /// `jdbc:postgresql://host:port/db[?params]`, as Kestra's config carries it.
    pub url: String,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmulatorConfig {
    pub basic_auth: Option<BasicAuth>,
    /// Only one of `username`/`password` set (non-blank): not a usable credential, but Kestra still
    /// counts the instance as managed by its config file and reports the missing half at start
    /// (`/api/v1/basicAuthValidationErrors`). Blank values are `None` here.
    pub basic_auth_incomplete: Option<(Option<String>, Option<String>)>,
    /// Realm announced in `WWW-Authenticate`; Kestra's default is "Kestra".
    pub basic_auth_realm: Option<String>,
    /// Extra unauthenticated path prefixes (`kestra.server.basic-auth.open-urls`).
    pub open_urls: Vec<String>,
    pub datasource: Option<Datasource>,
    pub kestra_url: Option<String>,
    pub repository_type: Option<String>,
    pub queue_type: Option<String>,
    pub storage_type: Option<String>,
    pub storage_base_path: Option<String>,
    pub tmp_dir: Option<String>,
    /// `endpoints.all.port`, the management port a real Kestra would bind.
    pub management_port: Option<u16>,
    /// `micronaut.server.port`.
    pub server_port: Option<u16>,
    /// `endpoints.all.basic-auth.{username,password}`: Kestra's `BasicAuthEndpointsFilter` then
    /// asks it on every management endpoint, `/health` included.
    pub management_basic_auth: Option<BasicAuth>,
    /// `endpoints.all.sensitive` and `endpoints.prometheus.sensitive` as configured.
    pub endpoints_all_sensitive: Option<bool>,
    pub prometheus_sensitive: Option<bool>,
}

/// Micronaut's relaxed binding: case and `-`/`_` separators do not matter.
fn norm(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Insert `value` under a possibly dotted key, merging maps recursively (later wins).
fn merge_into(target: &mut Map<String, Value>, key: &str, value: Value) {
    let mut segments = key.split('.').map(norm).collect::<Vec<_>>();
    let Some(last) = segments.pop() else { return };
    let mut cur = target;
    for seg in segments {
        let entry = cur.entry(seg).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(m) = entry else { return };
        cur = m;
    }
    match value {
        Value::Object(incoming) => {
            let entry = cur.entry(last).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(m) = entry {
                for (k, v) in incoming {
                    merge_into(m, &k, v);
                }
            }
        }
        other => {
            cur.insert(last, other);
        }
    }
}

fn lookup<'a>(tree: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut cur = tree;
    let mut segs = path.split('.').peekable();
    while let Some(seg) = segs.next() {
        let v = cur.get(&norm(seg))?;
        if segs.peek().is_none() {
            return Some(v);
        }
        cur = v.as_object()?;
    }
    None
}

/// Scalars as Micronaut would convert them to a String property (numbers and booleans too),
/// with `${…}` placeholders resolved as Micronaut resolves them when the property is read.
fn lookup_str(tree: &Map<String, Value>, path: &str) -> Result<Option<String>> {
    let raw = match lookup(tree, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => return Ok(None),
    };
    resolve_placeholders(tree, &raw, &|name| std::env::var(name).ok())
        .map(Some)
        .with_context(|| format!("in the value of {path}"))
}

/// Micronaut's `DefaultPropertyPlaceholderResolver`, the part a configuration value meets:
/// `${name}` and `${name:default}`, `name` read from the configuration itself, else from the
/// environment (as written, then as `NAME_WITH_UNDERSCORES`). There is no escape for `${`; an
/// unknown name without a default stops start-up.
pub fn resolve_placeholders(
    tree: &Map<String, Value>,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            bail!("Incomplete placeholder definitions detected: {text}");
        };
        let expr = &after[..end];
        let (name, default) = match expr.split_once(':') {
            Some((n, d)) => (n.trim(), Some(d.trim_matches('`'))),
            None => (expr.trim(), None),
        };
        let from_tree = match lookup(tree, name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        let value = from_tree
            .or_else(|| env(name))
            .or_else(|| env(&name.to_ascii_uppercase().replace(['.', '-'], "_")))
            .or_else(|| default.map(str::to_string));
        match value {
            Some(v) => out.push_str(&v),
            None => bail!("Could not resolve placeholder ${{{expr}}}"),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup_bool(tree: &Map<String, Value>, path: &str) -> Result<Option<bool>> {
    match lookup(tree, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => bail!("{path}: {s:?} is not a boolean"),
        },
        Some(other) => bail!("{path}: {other} is not a boolean"),
    }
}

fn lookup_u16(tree: &Map<String, Value>, path: &str) -> Result<Option<u16>> {
    match lookup_str(tree, path)? {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse::<u16>()
            .map(Some)
            .with_context(|| format!("{path}: {s:?} is not a port number")),
    }
}

/// Parse one YAML document into a JSON tree; an empty file is an empty map, as for Micronaut.
fn parse_tree(s: &str) -> Result<Map<String, Value>> {
    if s.trim().is_empty() {
        return Ok(Map::new());
    }
    let v: Value = serde_saphyr::from_str(s).context("configuration is not valid YAML")?;
    match v {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                merge_into(&mut out, &k, v);
            }
            Ok(out)
        }
        _ => bail!("configuration root must be a mapping"),
    }
}

impl EmulatorConfig {
    pub fn from_yaml_str(s: &str) -> Result<Self> {
        Self::from_tree(&parse_tree(s)?)
    }

    /// Merge files in order, later files overriding earlier ones (`MICRONAUT_CONFIG_FILES`).
    pub fn from_files(paths: &[PathBuf]) -> Result<Self> {
        let mut tree = Map::new();
        for p in paths {
            let text = read(p)?;
            for (k, v) in parse_tree(&text).with_context(|| format!("in {}", p.display()))? {
                merge_into(&mut tree, &k, v);
            }
        }
        Self::from_tree(&tree)
    }

    fn from_tree(t: &Map<String, Value>) -> Result<Self> {
        let username = lookup_str(t, "kestra.server.basic-auth.username")?;
        let password = lookup_str(t, "kestra.server.basic-auth.password")?;
        // Kestra ignores blank values (`StringUtils.isBlank`); a half-configured credential is
        // not usable (setup page instead) but still marks the instance as config-managed.
        let non_blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let (basic_auth, basic_auth_incomplete) = match (non_blank(username), non_blank(password)) {
            (Some(u), Some(p)) => (
                Some(BasicAuth {
                    username: u,
                    password: p,
                }),
                None,
            ),
            (None, None) => (None, None),
            half => (None, Some(half)),
        };
        let open_urls = match lookup(t, "kestra.server.basic-auth.open-urls") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::Object(m)) => m
                .values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
            _ => Vec::new(),
        };
        let datasource = match lookup_str(t, "datasources.postgres.url")? {
            Some(url) => Some(Datasource {
                url,
                username: lookup_str(t, "datasources.postgres.username")?.unwrap_or_default(),
                password: lookup_str(t, "datasources.postgres.password")?.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(EmulatorConfig {
            basic_auth,
            basic_auth_incomplete,
            basic_auth_realm: lookup_str(t, "kestra.server.basic-auth.realm")?,
            open_urls,
            datasource,
            kestra_url: lookup_str(t, "kestra.url")?,
            repository_type: lookup_str(t, "kestra.repository.type")?,
            queue_type: lookup_str(t, "kestra.queue.type")?,
            storage_type: lookup_str(t, "kestra.storage.type")?,
            storage_base_path: lookup_str(t, "kestra.storage.local.base-path")?,
            tmp_dir: lookup_str(t, "kestra.tasks.tmp-dir.path")?,
            management_port: lookup_u16(t, "endpoints.all.port")?,
            server_port: lookup_u16(t, "micronaut.server.port")?,
            management_basic_auth: match (
                lookup_str(t, "endpoints.all.basic-auth.username")?,
                lookup_str(t, "endpoints.all.basic-auth.password")?,
            ) {
                (Some(username), Some(password)) => Some(BasicAuth { username, password }),
                _ => None,
            },
            endpoints_all_sensitive: lookup_bool(t, "endpoints.all.sensitive")?,
            prometheus_sensitive: lookup_bool(t, "endpoints.prometheus.sensitive")?,
        })
    }

    /// `kestra.server.basic-auth.username` or `.password` is set: Kestra then writes the config's
    /// credential over the stored one at every start and refuses to change it through the API.
    pub fn basic_auth_managed_by_config(&self) -> bool {
        self.basic_auth.is_some() || self.basic_auth_incomplete.is_some()
    }

    pub fn realm(&self) -> &str {
        self.basic_auth_realm.as_deref().unwrap_or("Kestra")
    }
}

fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p)
        .with_context(|| format!("cannot read configuration file {}", p.display()))
}

/// Parts of a `jdbc:postgresql://host[:port]/db[?k=v&...]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    pub host: String,
    pub port: u16,
    pub database: String,
}

impl JdbcUrl {
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url.strip_prefix("jdbc:postgresql://").with_context(|| {
            format!("datasource url {url:?} is not jdbc:postgresql://host:port/db")
        })?;
        let rest = rest.split('?').next().unwrap_or_default();
        let (hostport, db) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                p.parse::<u16>()
                    .with_context(|| format!("datasource url {url:?}: bad port {p:?}"))?,
            ),
            _ => (hostport.to_string(), 5432),
        };
        if host.is_empty() {
            bail!("datasource url {url:?} has no host");
        }
        // The JDBC driver defaults the database to the user name; Kestra configs always name it.
        Ok(JdbcUrl {
            host,
            port,
            database: if db.is_empty() {
                "postgres".into()
            } else {
                db.to_string()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_resolve_like_micronaut() {
        let tree = parse_tree("a:\n  b: inner\n").unwrap();
        let env = |k: &str| (k == "HOME" || k == "MY_VAR").then(|| format!("<{k}>"));
        let r = |t: &str| resolve_placeholders(&tree, t, &env);
        assert_eq!(r("plain$text{}").unwrap(), "plain$text{}");
        assert_eq!(r("x${a.b}y").unwrap(), "xinnery");
        assert_eq!(r("${HOME}").unwrap(), "<HOME>");
        assert_eq!(r("${my.var}").unwrap(), "<MY_VAR>");
        assert_eq!(r("${nope:fallback}").unwrap(), "fallback");
        assert!(
            r("Pass${word}1")
                .unwrap_err()
                .to_string()
                .contains("Could not resolve placeholder ${word}")
        );
        assert!(r("open ${ only").is_err());
        // A password holding `${` in a config file stops start-up.
        let err = EmulatorConfig::from_yaml_str(
            "kestra:\n  server:\n    basic-auth:\n      username: a@b.io\n      password: Pass${word}1\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("Could not resolve placeholder"),
            "{err:#}"
        );
    }

    const OFFICIAL: &str = r#"
datasources:
  postgres:
    url: jdbc:postgresql://postgres:5432/kestra
    driverClassName: org.postgresql.Driver
    username: kestra
    password: k3str4
kestra:
  server:
    basicAuth:
      enabled: false
      username: "admin@kestra.io"
      password: kestra
  repository:
    type: postgres
  storage:
    type: local
    local:
      basePath: "/app/storage"
  queue:
    type: postgres
  tasks:
    tmpDir:
      path: /tmp/kestra-wd/tmp
  url: http://localhost:8080/
"#;

    #[test]
    fn reads_official_compose_config_camel_case() {
        let c = EmulatorConfig::from_yaml_str(OFFICIAL).unwrap();
        assert_eq!(
            c.basic_auth,
            Some(BasicAuth {
                username: "admin@kestra.io".into(),
                password: "kestra".into()
            })
        );
        let ds = c.datasource.unwrap();
        assert_eq!(ds.url, "jdbc:postgresql://postgres:5432/kestra");
        assert_eq!(ds.username, "kestra");
        assert_eq!(c.kestra_url.as_deref(), Some("http://localhost:8080/"));
        assert_eq!(c.storage_base_path.as_deref(), Some("/app/storage"));
        assert_eq!(c.tmp_dir.as_deref(), Some("/tmp/kestra-wd/tmp"));
        assert_eq!(c.queue_type.as_deref(), Some("postgres"));
    }

    #[test]
    fn kebab_and_dotted_keys_and_merge() {
        let a = "kestra:\n  server:\n    basic-auth:\n      username: a@b.c\n      password: one\n";
        let b = "kestra.server.basic-auth.password: two\nunknown: {x: 1}\n";
        let dir = std::env::temp_dir().join(format!("emu-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pa, pb) = (dir.join("a.yml"), dir.join("b.yml"));
        std::fs::write(&pa, a).unwrap();
        std::fs::write(&pb, b).unwrap();
        let c = EmulatorConfig::from_files(&[pa, pb]).unwrap();
        assert_eq!(c.basic_auth.unwrap().password, "two");
    }

    #[test]
    fn blank_and_half_credentials() {
        let c = EmulatorConfig::from_yaml_str(
            "kestra.server.basic-auth.username: ' '\nkestra.server.basic-auth.password: ''\n",
        )
        .unwrap();
        assert_eq!(
            (c.basic_auth.is_some(), c.basic_auth_managed_by_config()),
            (false, false)
        );
        let c =
            EmulatorConfig::from_yaml_str("kestra.server.basic-auth.username: a@b.c\n").unwrap();
        assert_eq!(c.basic_auth, None);
        assert_eq!(
            c.basic_auth_incomplete,
            Some((Some("a@b.c".to_string()), None))
        );
        assert!(c.basic_auth_managed_by_config());
    }

    #[test]
    fn jdbc_url() {
        let u = JdbcUrl::parse("jdbc:postgresql://db:6543/kestra?sslmode=disable").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_str()),
            ("db", 6543, "kestra")
        );
        let u = JdbcUrl::parse("jdbc:postgresql://db/k").unwrap();
        assert_eq!(u.port, 5432);
        assert!(JdbcUrl::parse("jdbc:mysql://x/y").is_err());
    }
}
