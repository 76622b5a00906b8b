//! Settings of the local stack (containers, ports, images, directories), resolved with the same
//! precedence as the API settings: flags > environment > `.env` > defaults. The variable names are
//! the seed's (`KESTRA_HTTP_PORT`, `KESTRA_IMAGE`, …) so an existing `.env` keeps working.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{Candidate, Layers, Resolved, Source, first, invalid, parse_bool};
use crate::error::{Error, Result};

pub const DEFAULT_KESTRA_IMAGE: &str = "kestra/kestra:latest";
pub const DEFAULT_POSTGRES_IMAGE: &str = "postgres:15";
pub const DEFAULT_CONTAINER: &str = "tools-kestra";
pub const DEFAULT_VOLUME: &str = "kestra-postgres-data";
pub const DEFAULT_HTTP_PORT: u16 = 8080;
pub const DEFAULT_MANAGEMENT_PORT: u16 = 8081;
pub const DEFAULT_DB: &str = "kestra";

/// Flags of `start` that feed stack settings.
#[derive(Debug, Clone, Default)]
pub struct StackFlags {
    pub image: Option<String>,
    pub postgres_image: Option<String>,
    pub port: Option<String>,
    pub management_port: Option<String>,
    pub bind: Option<String>,
    pub cpus: Option<String>,
    pub memory: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StackSettings {
    pub kestra_container: Resolved<String>,
    pub postgres_container: String,
    pub network: String,
    pub volume: String,
    pub kestra_image: Resolved<String>,
    pub postgres_image: Resolved<String>,
    pub http_port: Resolved<u16>,
    pub management_port: Resolved<u16>,
    pub bind: Resolved<IpAddr>,
    pub db_name: Resolved<String>,
    pub db_user: Resolved<String>,
    pub storage_dir: Resolved<PathBuf>,
    pub workdir_dir: Resolved<PathBuf>,
    /// Where kestractl keeps the rendered Kestra config and the DB password file (0700).
    pub secrets_dir: PathBuf,
    pub cpus: Resolved<Option<f64>>,
    pub memory: Resolved<Option<u64>>,
    pub skip_kestra: Resolved<bool>,
    /// What a `.env` picked that matters, said once on stderr with the file's name.
    pub notices: Vec<String>,
}

impl StackSettings {
    /// The URL the UI and API are reached at from this machine.
    /// Whether `server` is this machine's stack: a loopback address (or this stack's own bind
    /// address) on the stack's API port. Anything else is a server kestractl does not run here,
    /// whose containers are not on this machine.
    pub fn serves(&self, server: &url::Url) -> bool {
        let port = server.port_or_known_default();
        let host_is_ours = super::validate::is_loopback(server)
            || server
                .host_str()
                .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok())
                .is_some_and(|ip| ip == self.bind.value);
        host_is_ours && port == Some(self.http_port.value)
    }

    pub fn local_url(&self) -> String {
        let host = match self.bind.value {
            IpAddr::V4(v4) if v4.is_unspecified() => "localhost".to_string(),
            IpAddr::V6(v6) if v6.is_unspecified() => "localhost".to_string(),
            IpAddr::V4(v4) if v4.is_loopback() => "localhost".to_string(),
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        format!("http://{host}:{}", self.http_port.value)
    }

    /// Where kestractl itself reaches the stack's API: on this machine, always. Loopback when the
    /// stack binds loopback or every address; the bind address itself when it is one of this
    /// machine's (the traffic never leaves it); any other address is refused: the stack's
    /// credential would go over the network, in plain HTTP, to whatever answers there.
    pub fn api_url(&self) -> Result<String> {
        let ip = self.bind.value;
        let host = if ip.is_loopback() || ip.is_unspecified() {
            "127.0.0.1".to_string()
        } else if super::validate::is_local_address(ip) {
            match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            }
        } else {
            return Err(Error::settings(
                format!(
                    "the stack's bind address {ip} ({}) is not an address of this machine: \
                     kestractl reaches the stack it runs here on this machine only, never over \
                     the network",
                    self.bind.source
                ),
                match &self.bind.source {
                    Source::DotEnv { path, .. } => format!(
                        "remove KESTRA_BIND from {} (or set it to 127.0.0.1, or an address of \
                         this machine)",
                        path.display()
                    ),
                    _ => "bind to 127.0.0.1 (the default) or to an address of this machine".into(),
                },
            ));
        };
        Ok(format!("http://{host}:{}", self.http_port.value))
    }

    /// The management port is published on 127.0.0.1 only, whatever `--bind` says.
    pub fn management_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.management_port.value)
    }
}

/// Container names follow Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_container_name(name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let ok = name.len() >= 2
        && name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid container name: letters, digits, `_`, `.`, `-`, starting with a letter or digit"
        ))
    }
}

/// An image reference: no spaces, not empty. The engine checks the rest when it pulls.
pub fn validate_image(image: &str) -> std::result::Result<(), String> {
    if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!(
            "`{image}` is not an image reference (e.g. kestra/kestra:v2.0.5)"
        ))
    } else {
        Ok(())
    }
}

/// Kestra's database and user names end up in a JDBC URL and in SQL identifiers.
fn validate_db_identifier(name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let ok = name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a usable database identifier: lower-case letters, digits and `_`, up to 63 characters"
        ))
    }
}

pub fn parse_port(text: &str) -> std::result::Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{text}` is not a TCP port (1-65535)"))
}

/// `--memory 2g`, `512m`, `1073741824`: bytes, with Docker's binary units.
pub fn parse_memory(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.trim_end_matches('b');
    let (number, factor) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a memory size (e.g. 512m, 2g)"))?;
    let bytes = value * factor as f64;
    // Docker refuses less than 6 MiB; Kestra needs far more, but that is the operator's call.
    if !bytes.is_finite() || bytes < (6 << 20) as f64 || bytes > 1e15 {
        return Err(format!("`{text}` is out of range (at least 6m)"));
    }
    Ok(bytes as u64)
}

pub fn parse_cpus(text: &str) -> std::result::Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of CPUs (e.g. 1.5)"))?;
    if !v.is_finite() || v <= 0.0 || v > 1024.0 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(v)
}

/// Where kestractl keeps per-stack data: `KESTRACTL_DATA_DIR`, else `$XDG_DATA_HOME/kestractl`,
/// else `~/.local/share/kestractl`.
pub fn data_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf> {
    let non_empty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some(d) = non_empty("KESTRACTL_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = non_empty("XDG_DATA_HOME") {
        return Ok(PathBuf::from(d).join("kestractl"));
    }
    if let Some(h) = non_empty("HOME") {
        return Ok(PathBuf::from(h).join(".local/share/kestractl"));
    }
    Err(Error::settings(
        "cannot find a data directory: neither KESTRACTL_DATA_DIR, XDG_DATA_HOME nor HOME is set",
        "set KESTRACTL_DATA_DIR to a directory kestractl may keep the stack's files in",
    ))
}

/// A directory setting: relative paths are taken from the `.env`'s directory when they come from
/// it (as the seed's scripts did), else from the working directory.
fn resolve_dir(c: &Candidate, cwd: &Path) -> PathBuf {
    let p = PathBuf::from(c.value.trim());
    if p.is_absolute() {
        return p;
    }
    let base = match &c.source {
        // The `.env`'s own folder; `.env` itself is usually named relatively (`./.env`), so
        // that folder is taken from the working directory: a relative bind source would be a
        // named volume to Docker, and `stop --volumes` would empty the wrong folder.
        Source::DotEnv { path, .. } => cwd.join(path.parent().unwrap_or(Path::new(""))),
        _ => cwd.to_path_buf(),
    };
    let joined = base.join(p);
    // Normalise `./` and `a/../` lexically; the directory may not exist yet.
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn resolved<T>(value: T, source: Source) -> Resolved<T> {
    Resolved { value, source }
}

/// The first of a flag (when the setting has one), the environment and the `.env` file.
fn pick(l: &Layers<'_>, flag: Option<(&Option<String>, &str)>, vars: &[&str]) -> Option<Candidate> {
    first([
        flag.and_then(|(v, name)| l.flag(v, name)),
        l.env(vars),
        l.dotenv(vars),
    ])
}

fn default(value: &str) -> Candidate {
    Candidate {
        value: value.to_string(),
        source: Source::Default,
    }
}

pub fn resolve_stack(l: &Layers<'_>, flags: &StackFlags, cwd: &Path) -> Result<StackSettings> {
    let container = pick(l, None, &["KESTRA_CONTAINER_NAME"]).unwrap_or(default(DEFAULT_CONTAINER));
    validate_container_name(&container.value).map_err(|m| invalid(&container.source, m))?;

    let image = pick(l, Some((&flags.image, "--image")), &["KESTRA_IMAGE"])
        .or_else(|| {
            let context = l.selected_context()?;
            l.context_value(&context, |c| c.image.as_ref())
        })
        .unwrap_or(default(DEFAULT_KESTRA_IMAGE));
    validate_image(&image.value).map_err(|m| invalid(&image.source, m))?;
    let pg_image = pick(
        l,
        Some((&flags.postgres_image, "--postgres-image")),
        &["KESTRA_POSTGRES_IMAGE"],
    )
    .unwrap_or(default(DEFAULT_POSTGRES_IMAGE));
    validate_image(&pg_image.value).map_err(|m| invalid(&pg_image.source, m))?;

    let (http_port, management_port) = ports(l, flags)?;
    let bind = bind_address(l, flags)?;

    let volume = pick(l, None, &["KESTRA_DB_VOLUME"]).unwrap_or(default(DEFAULT_VOLUME));
    validate_container_name(&volume.value)
        .map_err(|m| invalid(&volume.source, m.replace("container name", "volume name")))?;

    let db_name = pick(l, None, &["KESTRA_DB_NAME"]).unwrap_or(default(DEFAULT_DB));
    validate_db_identifier(&db_name.value).map_err(|m| invalid(&db_name.source, m))?;
    let db_user = pick(l, None, &["KESTRA_DB_USER"]).unwrap_or(default(DEFAULT_DB));
    validate_db_identifier(&db_user.value).map_err(|m| invalid(&db_user.source, m))?;

    let base = data_dir(l.env)?.join(&container.value);
    let (storage_dir, workdir_dir) = mounted_folders(l, &base, cwd)?;
    let (cpus, memory) = limits(l, flags)?;
    let skip = match pick(l, None, &["SKIP_KESTRA_AUTO_START"]) {
        Some(c) => resolved(
            parse_bool(&c.value).ok_or_else(|| {
                invalid(
                    &c.source,
                    format!("`{}` is not a boolean (use 1/0, true/false)", c.value),
                )
            })?,
            c.source,
        ),
        None => resolved(false, Source::Default),
    };

    let stack = StackSettings {
        postgres_container: format!("{}-postgres", container.value),
        network: format!("{}-net", container.value),
        volume: volume.value,
        secrets_dir: base.join("secrets"),
        kestra_container: resolved(container.value, container.source),
        kestra_image: resolved(image.value, image.source),
        postgres_image: resolved(pg_image.value, pg_image.source),
        http_port,
        management_port,
        bind,
        db_name: resolved(db_name.value, db_name.source),
        db_user: resolved(db_user.value, db_user.source),
        storage_dir,
        workdir_dir,
        cpus,
        memory,
        skip_kestra: skip,
        notices: Vec::new(),
    };
    Ok(StackSettings {
        notices: dotenv_choices(&stack, &base),
        ..stack
    })
}

/// The API port and the management port, which must differ.
fn ports(l: &Layers<'_>, flags: &StackFlags) -> Result<(Resolved<u16>, Resolved<u16>)> {
    let port_of = |c: Candidate| -> Result<Resolved<u16>> {
        let p = parse_port(&c.value).map_err(|m| invalid(&c.source, m))?;
        Ok(resolved(p, c.source))
    };
    let http_port = port_of(
        pick(l, Some((&flags.port, "--port")), &["KESTRA_HTTP_PORT"])
            .unwrap_or(default(&DEFAULT_HTTP_PORT.to_string())),
    )?;
    let management_port = port_of(
        pick(
            l,
            Some((&flags.management_port, "--management-port")),
            &["KESTRA_MANAGEMENT_PORT"],
        )
        .unwrap_or(default(&DEFAULT_MANAGEMENT_PORT.to_string())),
    )?;
    if http_port.value == management_port.value {
        return Err(Error::settings(
            format!(
                "the API port and the management port are both {} ({} and {})",
                http_port.value, http_port.source, management_port.source
            ),
            "give them different values (--port / KESTRA_HTTP_PORT, --management-port / KESTRA_MANAGEMENT_PORT)",
        ));
    }
    Ok((http_port, management_port))
}

fn bind_address(l: &Layers<'_>, flags: &StackFlags) -> Result<Resolved<IpAddr>> {
    let bind =
        pick(l, Some((&flags.bind, "--bind")), &["KESTRA_BIND"]).unwrap_or(default("127.0.0.1"));
    let address = bind.value.trim().parse::<IpAddr>().map_err(|_| {
        invalid(
            &bind.source,
            format!(
                "`{}` is not an IP address (e.g. 127.0.0.1, 0.0.0.0)",
                bind.value
            ),
        )
    })?;
    Ok(resolved(address, bind.source))
}

/// Kestra's storage and working folders, under kestractl's data folder unless chosen.
fn mounted_folders(
    l: &Layers<'_>,
    base: &Path,
    cwd: &Path,
) -> Result<(Resolved<PathBuf>, Resolved<PathBuf>)> {
    let dir = |vars: &[&str], leaf: &str| -> Resolved<PathBuf> {
        match pick(l, None, vars) {
            Some(c) => resolved(resolve_dir(&c, cwd), c.source),
            None => resolved(base.join(leaf), Source::Default),
        }
    };
    let storage_dir = dir(&["KESTRA_STORAGE_DIR"], "storage");
    let workdir_dir = dir(&["KESTRA_WORKDIR_DIR"], "workdir");
    // Both are bind-mounted into a container that runs as root beside the Docker socket: a
    // system folder there hands the machine to whatever runs in Kestra.
    for (folder, var) in [
        (&storage_dir, "KESTRA_STORAGE_DIR"),
        (&workdir_dir, "KESTRA_WORKDIR_DIR"),
    ] {
        if let Some(why) = system_folder(&folder.value, l.env) {
            return Err(invalid(
                &folder.source,
                format!(
                    "{var}={} is {why}: kestractl mounts it into Kestra's container, which runs \
                     as root",
                    folder.value.display()
                ),
            ));
        }
    }
    Ok((storage_dir, workdir_dir))
}

/// Kestra's CPU and memory limits (CPUs, bytes), none unless chosen.
type Limits = (Resolved<Option<f64>>, Resolved<Option<u64>>);

fn limits(l: &Layers<'_>, flags: &StackFlags) -> Result<Limits> {
    let cpus = match pick(l, Some((&flags.cpus, "--cpus")), &["KESTRA_CPUS"]) {
        Some(c) => resolved(
            Some(parse_cpus(&c.value).map_err(|m| invalid(&c.source, m))?),
            c.source,
        ),
        None => resolved(None, Source::Default),
    };
    let memory = match pick(l, Some((&flags.memory, "--memory")), &["KESTRA_MEMORY"]) {
        Some(c) => resolved(
            Some(parse_memory(&c.value).map_err(|m| invalid(&c.source, m))?),
            c.source,
        ),
        None => resolved(None, Source::Default),
    };
    Ok((cpus, memory))
}

/// What a `.env` chose for the stack that matters (an image to run, an address to publish on,
/// folders outside kestractl's own data), one line each naming the file: a `.env` is a file of
/// the working directory, which someone else may have written.
fn dotenv_choices(stack: &StackSettings, own_data: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    let mut say = |source: &Source, what: String| {
        if let Source::DotEnv { var, path } = source {
            notes.push(format!("{} {var} picks {what}", path.display()));
        }
    };
    say(
        &stack.kestra_image.source,
        format!("the Kestra image {}", stack.kestra_image.value),
    );
    say(
        &stack.postgres_image.source,
        format!("the Postgres image {}", stack.postgres_image.value),
    );
    say(
        &stack.bind.source,
        format!("the address Kestra is published on, {}", stack.bind.value),
    );
    for (folder, what) in [
        (&stack.storage_dir, "storage"),
        (&stack.workdir_dir, "work"),
    ] {
        if !folder.value.starts_with(own_data) {
            say(
                &folder.source,
                format!("{} as Kestra's {what} folder", folder.value.display()),
            );
        }
    }
    notes
}

/// Why `dir` may not be mounted into Kestra's container: `/`, a system folder, the home folder
/// itself, or a folder above one of them (or above the Docker socket). `None` when it may.
pub fn system_folder(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    const SYSTEM: [&str; 22] = [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/var/lib",
        "/var/lib/docker",
        "/var/run",
    ];
    // Lexically normalised (`/var/../` is `/`): the folder may not exist yet.
    let mut normal = PathBuf::new();
    for part in dir.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    let dir = normal;
    if SYSTEM.iter().any(|s| dir == Path::new(s)) {
        return Some(format!("the system folder {}", dir.display()));
    }
    let home = env("HOME")
        .filter(|h| !h.trim().is_empty())
        .map(PathBuf::from);
    if let Some(home) = home.filter(|h| h.starts_with(&dir)) {
        return Some(format!(
            "the home folder {} or a folder above it",
            home.display()
        ));
    }
    if Path::new("/var/run/docker.sock").starts_with(&dir)
        || Path::new("/run/docker.sock").starts_with(&dir)
    {
        return Some("a folder that holds the Docker socket".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ConfigFile, DotEnv, FlagValues};
    use std::collections::HashMap;

    fn run(
        env: &[(&str, &str)],
        dotenv: &[(&str, &str)],
        flags: StackFlags,
    ) -> Result<StackSettings> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |k: &str| env.get(k).cloned();
        let dot = if dotenv.is_empty() {
            DotEnv::default()
        } else {
            DotEnv::from_pairs("/srv/tools/.env", dotenv)
        };
        resolve_stack(
            &Layers {
                flags: &FlagValues::default(),
                env: &lookup,
                dotenv: &dot,
                config: &ConfigFile::default(),
                config_path: Path::new("/cfg/config.toml"),
            },
            &flags,
            Path::new("/home/op"),
        )
    }

    #[test]
    fn the_local_stack_serves_loopback_on_its_port_only() {
        let s = run(&[("HOME", "/home/op")], &[], StackFlags::default()).unwrap();
        let url = |u: &str| url::Url::parse(u).unwrap();
        for ours in [
            "http://localhost:8080",
            "http://127.0.0.1:8080/",
            "http://[::1]:8080",
        ] {
            assert!(s.serves(&url(ours)), "{ours}");
        }
        for theirs in [
            "http://localhost:9090",
            "https://kestra.example.com",
            "http://10.0.0.5:8080",
        ] {
            assert!(!s.serves(&url(theirs)), "{theirs}");
        }
        let bound = run(
            &[("HOME", "/home/op"), ("KESTRA_BIND", "10.0.0.5")],
            &[],
            StackFlags::default(),
        )
        .unwrap();
        assert!(bound.serves(&url("http://10.0.0.5:8080")));
    }

    #[test]
    fn defaults_match_the_seed() {
        let s = run(&[("HOME", "/home/op")], &[], StackFlags::default()).unwrap();
        assert_eq!(s.kestra_container.value, "tools-kestra");
        assert_eq!(s.postgres_container, "tools-kestra-postgres");
        assert_eq!(s.volume, "kestra-postgres-data");
        assert_eq!(s.kestra_image.value, "kestra/kestra:latest");
        assert_eq!(s.postgres_image.value, "postgres:15");
        assert_eq!((s.http_port.value, s.management_port.value), (8080, 8081));
        assert_eq!(s.bind.value.to_string(), "127.0.0.1");
        assert_eq!(
            s.storage_dir.value,
            PathBuf::from("/home/op/.local/share/kestractl/tools-kestra/storage")
        );
        assert_eq!(s.local_url(), "http://localhost:8080");
        assert_eq!(s.management_url(), "http://127.0.0.1:8081");
        // A specific --bind moves the API, never the management port (published on loopback).
        let s = run(
            &[("HOME", "/h"), ("KESTRA_BIND", "192.0.2.2")],
            &[],
            StackFlags::default(),
        )
        .unwrap();
        assert_eq!(s.local_url(), "http://192.0.2.2:8080");
        assert_eq!(s.management_url(), "http://127.0.0.1:8081");
        assert!(!s.skip_kestra.value);
    }

    /// Security, second pass (finding 3): kestractl's own calls reach the stack on this machine
    /// only; a bind address of another machine (a planted `.env`) is refused, naming the file.
    #[test]
    fn a_dotenv_may_not_mount_system_folders_and_its_choices_are_named() {
        for bad in [
            "/",
            "/etc",
            "/var/run",
            "/home",
            "/h",
            "/var/lib/docker/",
            "/var/../",
        ] {
            let err = run(
                &[("HOME", "/h")],
                &[("KESTRA_STORAGE_DIR", bad)],
                StackFlags::default(),
            )
            .unwrap_err();
            assert!(
                err.to_string().contains("KESTRA_STORAGE_DIR="),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("runs as root"), "{bad}: {err}");
            assert!(err.hint().unwrap().contains(".env"), "{bad}: {err:?}");
        }
        let err = run(
            &[("HOME", "/h"), ("KESTRA_WORKDIR_DIR", "/")],
            &[],
            StackFlags::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("system folder /"), "{err}");
        let s = run(
            &[("HOME", "/h")],
            &[
                ("KESTRA_IMAGE", "attacker.example/evil-kestra"),
                ("KESTRA_STORAGE_DIR", "/srv/kestra-storage"),
                ("KESTRA_BIND", "127.0.0.1"),
            ],
            StackFlags::default(),
        )
        .unwrap();
        let notes = s.notices.join("\n");
        assert!(
            notes.contains(
                "/srv/tools/.env KESTRA_IMAGE picks the Kestra image attacker.example/evil-kestra"
            ),
            "{notes}"
        );
        assert!(
            notes.contains("/srv/kestra-storage as Kestra's storage folder"),
            "{notes}"
        );
        assert!(notes.contains("KESTRA_BIND"), "{notes}");
        // Nothing to say when the `.env` picks nothing that matters.
        let s = run(
            &[("HOME", "/h")],
            &[("KESTRA_HTTP_PORT", "18080")],
            StackFlags::default(),
        )
        .unwrap();
        assert!(s.notices.is_empty(), "{:?}", s.notices);
    }

    #[test]
    fn the_stack_is_reached_on_this_machine_only() {
        let api = |env: &[(&str, &str)], dotenv: &[(&str, &str)]| {
            run(env, dotenv, StackFlags::default()).unwrap().api_url()
        };
        assert_eq!(
            api(&[("HOME", "/h")], &[]).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            api(&[("HOME", "/h"), ("KESTRA_BIND", "0.0.0.0")], &[]).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            api(&[("HOME", "/h"), ("KESTRA_BIND", "::1")], &[]).unwrap(),
            "http://127.0.0.1:8080"
        );
        let err = api(&[("HOME", "/h")], &[("KESTRA_BIND", "203.0.113.5")]).unwrap_err();
        assert!(
            err.to_string().contains("203.0.113.5")
                && err.to_string().contains("not an address of this machine"),
            "{err}"
        );
        assert!(
            err.hint().unwrap().contains("remove KESTRA_BIND from"),
            "{err:?}"
        );
    }

    #[test]
    fn flags_beat_env_beat_dotenv() {
        let flags = StackFlags {
            port: Some("9000".into()),
            ..StackFlags::default()
        };
        let s = run(
            &[
                ("HOME", "/h"),
                ("KESTRA_HTTP_PORT", "9100"),
                ("KESTRA_IMAGE", "kestra/kestra:v2.0.5"),
            ],
            &[
                ("KESTRA_HTTP_PORT", "9200"),
                ("KESTRA_IMAGE", "x:1"),
                ("KESTRA_MANAGEMENT_PORT", "9201"),
            ],
            flags,
        )
        .unwrap();
        assert_eq!(s.http_port.value, 9000);
        assert_eq!(s.kestra_image.value, "kestra/kestra:v2.0.5");
        assert_eq!(s.management_port.value, 9201);
    }

    #[test]
    fn a_relatively_named_dotenv_gives_absolute_dirs() {
        let p = resolve_dir(
            &Candidate {
                value: "./store".into(),
                source: Source::DotEnv {
                    path: PathBuf::from(".env"),
                    var: "KESTRA_STORAGE_DIR".into(),
                },
            },
            Path::new("/work/project"),
        );
        assert_eq!(p, PathBuf::from("/work/project/store"));
        assert!(p.is_absolute());
    }

    #[test]
    fn relative_dirs_from_dotenv_are_relative_to_its_folder() {
        let s = run(
            &[("HOME", "/h"), ("KESTRA_WORKDIR_DIR", "wd")],
            &[("KESTRA_STORAGE_DIR", "./data/../storage")],
            StackFlags::default(),
        )
        .unwrap();
        assert_eq!(s.storage_dir.value, PathBuf::from("/srv/tools/storage"));
        assert_eq!(s.workdir_dir.value, PathBuf::from("/home/op/wd"));
    }

    #[test]
    fn bad_values_are_refused_with_their_source() {
        for (env, needle) in [
            (("KESTRA_HTTP_PORT", "0"), "not a TCP port"),
            (("KESTRA_CONTAINER_NAME", "-x"), "container name"),
            (("KESTRA_IMAGE", "kestra kestra"), "image reference"),
            (("KESTRA_DB_USER", "Kestra"), "database identifier"),
            (("KESTRA_MEMORY", "lots"), "memory size"),
            (("KESTRA_MEMORY", "1k"), "out of range"),
            (("KESTRA_CPUS", "-1"), "out of range"),
            (("KESTRA_BIND", "localhost"), "not an IP address"),
            (("SKIP_KESTRA_AUTO_START", "perhaps"), "boolean"),
            (("KESTRA_MANAGEMENT_PORT", "8080"), "both 8080"),
        ] {
            let err = run(&[("HOME", "/h"), env], &[], StackFlags::default()).unwrap_err();
            assert!(err.to_string().contains(needle), "{env:?}: {err}");
        }
    }

    #[test]
    fn memory_and_cpus() {
        assert_eq!(parse_memory("2g").unwrap(), 2 << 30);
        assert_eq!(parse_memory("512M").unwrap(), 512 << 20);
        assert_eq!(parse_memory("1.5gb").unwrap(), 3 << 29);
        assert!(parse_memory("").is_err());
        assert_eq!(parse_cpus("1.5").unwrap(), 1.5);
    }
}

#[cfg(test)]
mod context_image_tests {
    use std::path::Path;

    use super::*;
    use crate::settings::{ConfigFile, Context, DotEnv, FlagValues};

    fn image_with(env: &[(&str, &str)], context_image: Option<&str>) -> Resolved<String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let mut config = ConfigFile::default();
        config.contexts.insert(
            "prod".into(),
            Context {
                server: Some("http://localhost:8080".into()),
                tenant: None,
                username: None,
                image: context_image.map(str::to_string),
            },
        );
        config.current_context = Some("prod".into());
        resolve_stack(
            &Layers {
                flags: &FlagValues::default(),
                env: &lookup,
                dotenv: &DotEnv::default(),
                config: &config,
                config_path: Path::new("/cfg/config.toml"),
            },
            &StackFlags::default(),
            Path::new("/home/op"),
        )
        .unwrap()
        .kestra_image
    }

    #[test]
    fn the_context_pins_the_image_below_the_environment() {
        let home = [("HOME", "/h")];
        let pinned = image_with(&home, Some("kestra/kestra:2.0.5"));
        assert_eq!(pinned.value, "kestra/kestra:2.0.5");
        assert!(matches!(pinned.source, Source::Config { ref context, .. } if context == "prod"));
        let env = image_with(
            &[("HOME", "/h"), ("KESTRA_IMAGE", "kestra/kestra:1.3.25")],
            Some("kestra/kestra:2.0.5"),
        );
        assert_eq!(env.value, "kestra/kestra:1.3.25");
        let none = image_with(&home, None);
        assert_eq!(none.value, DEFAULT_KESTRA_IMAGE);
        assert_eq!(none.source, Source::Default);
    }
}
