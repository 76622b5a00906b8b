//! `kestractl doctor`'s checks: each part kestractl depends on (the config file, the settings,
//! Docker and its socket, the ports, the keyring, the server, the credentials, Kestra's version,
//! the free disk space) judged from what the caller found, each with what to do if it fails.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::credentials::source::PasswordSource;
use crate::credentials::store::Availability;
use crate::error::{Error, Result};
use crate::kestra::{CredentialCheck, KestraClient, Request};
use crate::output::{Format, Output, Render, Style};
use crate::settings::stack::StackSettings;
use crate::settings::{ConfigFile, Settings};
use crate::stack::engine::Engine;
use crate::stack::ports;

/// Below this, Kestra's storage or work directory is about to run out.
const DISK_FAIL_BYTES: u64 = 1 << 30;
const DISK_WARN_BYTES: u64 = 5 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

pub fn ok(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        status: Status::Ok,
        detail: detail.into(),
        fix: None,
    }
}

pub fn bad(
    check: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    let fix = fix.into();
    Check {
        check,
        status,
        detail: detail.into(),
        fix: (!fix.is_empty()).then_some(fix),
    }
}

pub fn from_error(check: &'static str, e: &Error) -> Check {
    bad(
        check,
        Status::Fail,
        e.to_string(),
        e.hint().unwrap_or_default(),
    )
}

pub fn skipped(check: &'static str, why: &str) -> Check {
    Check {
        check,
        status: Status::Skip,
        detail: why.to_string(),
        fix: None,
    }
}

fn human_bytes(b: u64) -> String {
    let gib = b as f64 / f64::from(1u32 << 30);
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.0} MiB", b as f64 / f64::from(1u32 << 20))
    }
}

/// Free space where `dir` is (or would be: its nearest existing ancestor).
fn free_space(dir: &Path) -> Option<(u64, std::path::PathBuf)> {
    let existing = dir.ancestors().find(|p| p.exists())?.to_path_buf();
    #[cfg(unix)]
    {
        let stat = nix::sys::statvfs::statvfs(existing.as_path()).ok()?;
        // The C types differ by platform (u32 on some); the conversion is a no-op on 64-bit Linux.
        #[allow(clippy::useless_conversion)]
        let bytes = u64::from(stat.blocks_available()) * u64::from(stat.fragment_size());
        Some((bytes, existing))
    }
    #[cfg(not(unix))]
    {
        let _ = existing;
        None
    }
}

pub fn socket_check(engine: Result<&Engine>, host: &str) -> Check {
    let Some(path) = host.strip_prefix("unix://") else {
        return skipped("docker socket", &format!("the engine is remote ({host})"));
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return bad(
                "docker socket",
                Status::Fail,
                format!("{path}: {e}"),
                "start the Docker Engine, or point DOCKER_HOST at its socket",
            );
        }
    };
    #[cfg(unix)]
    let owner = {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        format!(
            "mode {:o}, owner uid {} gid {}",
            meta.permissions().mode() & 0o7777,
            meta.uid(),
            meta.gid()
        )
    };
    #[cfg(not(unix))]
    let owner = format!("{meta:?}");
    match engine {
        Ok(_) => ok(
            "docker socket",
            format!("{path} ({owner}); usable by this user"),
        ),
        Err(e) => bad(
            "docker socket",
            Status::Fail,
            format!("{path} ({owner}): {e}"),
            e.hint().unwrap_or_default(),
        ),
    }
}

pub async fn port_checks(engine: Option<&Engine>, stack: &StackSettings) -> Vec<Check> {
    // Ports our own running Kestra holds are fine.
    let ours = match engine {
        Some(e) => e
            .inspect(&stack.kestra_container.value)
            .await
            .ok()
            .flatten()
            .map(|c| crate::stack::inspect::published_host_ports(&c))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for (check, ip, port, how) in [
        (
            "api port",
            stack.bind.value,
            stack.http_port.value,
            "--port or KESTRA_HTTP_PORT",
        ),
        (
            "management port",
            std::net::Ipv4Addr::LOCALHOST.into(),
            stack.management_port.value,
            "--management-port or KESTRA_MANAGEMENT_PORT",
        ),
    ] {
        if ours.contains(&port) {
            out.push(ok(
                check,
                format!(
                    "{ip}:{port} is held by this stack's Kestra ({})",
                    stack.kestra_container.value
                ),
            ));
            continue;
        }
        if ports::is_free(ip, port) {
            out.push(ok(check, format!("{ip}:{port} is free")));
            continue;
        }
        let holder = match engine {
            Some(e) => e
                .containers_publishing(port)
                .await
                .ok()
                .and_then(|cs| cs.into_iter().next())
                .and_then(|c| c.names.and_then(|n| n.into_iter().next()))
                .map(|n| format!("container `{}`", n.trim_start_matches('/'))),
            None => None,
        }
        .or_else(|| ports::process_listening(port))
        .unwrap_or_else(|| "another program".into());
        out.push(bad(
            check,
            Status::Fail,
            format!("{ip}:{port} is taken by {holder}"),
            format!("stop it, or choose another port with {how}"),
        ));
    }
    out
}

/// The config file: readable, and how many contexts it holds.
pub fn config_file(path: Result<PathBuf>) -> Check {
    let path = match path {
        Ok(p) => p,
        Err(e) => return from_error("config file", &e),
    };
    match ConfigFile::load(&path) {
        Ok(c) if path.exists() => ok(
            "config file",
            format!(
                "{} ({})",
                path.display(),
                crate::output::count(c.contexts.len(), "context")
            ),
        ),
        Ok(_) => ok(
            "config file",
            format!("{} (not created yet; defaults apply)", path.display()),
        ),
        Err(e) => from_error("config file", &e),
    }
}

/// The settings as resolved: the server, tenant, user and context in use.
pub fn settings(settings: Result<&Settings, &Error>) -> Check {
    match settings {
        Ok(s) => ok(
            "settings",
            format!(
                "server {}, tenant {}, user {} (context {})",
                crate::settings::display_url(&s.server.value),
                s.tenant.value,
                s.username.value,
                s.context.value
            ),
        ),
        Err(e) => from_error("settings", e),
    }
}

/// Why the local stack's checks do not apply: the server is another machine's Kestra.
pub fn remote(settings: Option<&Settings>, stack: Option<&StackSettings>) -> Option<String> {
    match (settings, stack) {
        (Some(set), Some(st)) if !st.serves(&set.server.value) => Some(format!(
            "the server ({}) is not this machine's stack: its containers are not managed here",
            crate::settings::display_url(&set.server.value)
        )),
        _ => None,
    }
}

/// The Docker Engine, its socket and the stack's ports.
pub async fn docker(
    engine: Result<&Engine, &Error>,
    host: &str,
    stack: Result<&StackSettings, &Error>,
) -> Vec<Check> {
    let mut checks = vec![match engine {
        Ok(e) => ok(
            "docker",
            format!("Docker {} (API {}) at {}", e.version, e.api_version, e.host),
        ),
        Err(e) => from_error("docker", e),
    }];
    checks.push(socket_check(
        engine.map_err(|e| Error::engine(e.to_string(), e.hint().unwrap_or_default())),
        host,
    ));
    match stack {
        Ok(s) => checks.extend(port_checks(engine.ok(), s).await),
        Err(e) => checks.push(from_error("ports", e)),
    }
    checks
}

/// The OS keyring kestractl would use.
pub fn keyring(keyring: Result<&Availability, &Error>) -> Check {
    match keyring {
        Ok(Availability::Ready(k)) => ok("keyring", k.backend().describe()),
        Ok(Availability::Disabled) => bad(
            "keyring",
            Status::Warn,
            "turned off (KESTRACTL_KEYRING=none)",
            "passwords then come from --password-stdin or KESTRACTL_PASSWORD only",
        ),
        Ok(a @ Availability::Unavailable(_)) => {
            let e = a.require().err();
            bad(
                "keyring",
                Status::Fail,
                a.summary(),
                e.and_then(|e| e.hint()).unwrap_or_default(),
            )
        }
        Err(e) => from_error("keyring", e),
    }
}

/// The server of the current context: reachable, the credentials accepted (`password` says
/// where a refused one came from), and a Kestra version kestractl supports.
pub async fn server(client: &KestraClient, password: Option<&PasswordSource>) -> Vec<Check> {
    if let Err(e) = client.send(&Request::get("/ping").anonymous()).await {
        return vec![
            from_error("server", &e.into()),
            skipped("credentials", "the server is not reachable"),
            skipped("kestra version", "the server is not reachable"),
        ];
    }
    vec![
        ok(
            "server",
            format!("{} answers", crate::settings::display_url(client.server())),
        ),
        credentials(client, password).await,
        version(client).await,
    ]
}

async fn credentials(client: &KestraClient, password: Option<&PasswordSource>) -> Check {
    let user = client.username();
    match client.check_credentials().await {
        Ok(CredentialCheck::Valid) => ok("credentials", format!("accepted for {user}")),
        Ok(CredentialCheck::ValidForbidden) => bad(
            "credentials",
            Status::Warn,
            format!("accepted for {user}, but this user may not list flows"),
            "use an account with more permissions",
        ),
        Ok(CredentialCheck::Refused) => bad(
            "credentials",
            Status::Fail,
            format!("refused for {user}"),
            refused_fix(password),
        ),
        Ok(CredentialCheck::Missing) => bad(
            "credentials",
            Status::Fail,
            "no password: none given and none in the keyring",
            "run `kestractl auth login` (or give --password-stdin / KESTRACTL_PASSWORD)",
        ),
        Err(e) => from_error("credentials", &e.into()),
    }
}

async fn version(client: &KestraClient) -> Check {
    match client.discover().await {
        Ok(d) => match &d.version {
            Some(v) if v.is_supported() => ok(
                "kestra version",
                format!("{v} ({} routes)", v.api().label()),
            ),
            Some(v) => bad(
                "kestra version",
                Status::Warn,
                format!("{v} is not a version kestractl is tested with"),
                "kestractl supports Kestra 1.3 and 2.0; upgrade Kestra, or expect some commands to fail",
            ),
            None => bad(
                "kestra version",
                Status::Warn,
                format!(
                    "unknown ({})",
                    d.config
                        .version
                        .clone()
                        .unwrap_or_else(|| "not reported".into())
                ),
                "",
            ),
        },
        Err(e) => {
            let e: Error = e.into();
            bad(
                "kestra version",
                Status::Skip,
                format!("not readable: {e}"),
                "",
            )
        }
    }
}

/// What to do about a refused password depends on where it came from: `auth login` fixes the
/// keyring's, not a variable that would still win over it.
fn refused_fix(password: Option<&PasswordSource>) -> String {
    let check_user = "and the username (`kestractl config show`)";
    match password {
        Some(PasswordSource::Env(var)) => format!(
            "the password comes from the environment variable {var}: correct it {check_user}, or \
             unset it to use the keyring (`kestractl auth login` stores one there)"
        ),
        Some(PasswordSource::Stdin) => {
            format!(
                "the password given on stdin (--password-stdin) was refused: check it {check_user}"
            )
        }
        Some(PasswordSource::DotEnv(path)) => format!(
            "the password comes from {path}: correct it there {check_user}, or move it into the \
             keyring with `kestractl auth import-env`"
        ),
        _ => format!("run `kestractl auth login` to store the right password, {check_user}"),
    }
}

/// Free space where Kestra keeps its files (the storage and work directories).
pub fn disks(stack: &StackSettings) -> Vec<Check> {
    [
        ("disk: storage", &stack.storage_dir.value),
        ("disk: workdir", &stack.workdir_dir.value),
    ]
    .into_iter()
    .map(|(check, dir)| match free_space(dir) {
        Some((free, at)) if free < DISK_FAIL_BYTES => bad(
            check,
            Status::Fail,
            format!("{} free at {}", human_bytes(free), at.display()),
            "free some space, or move the directory (KESTRA_STORAGE_DIR / KESTRA_WORKDIR_DIR)",
        ),
        Some((free, at)) if free < DISK_WARN_BYTES => bad(
            check,
            Status::Warn,
            format!("{} free at {}", human_bytes(free), at.display()),
            "Kestra's execution files grow; keep a few GiB free",
        ),
        Some((free, at)) => ok(
            check,
            format!("{} free at {}", human_bytes(free), at.display()),
        ),
        None => skipped(check, "cannot measure free space here"),
    })
    .collect()
}

/// Every check, in order; serialised as the list itself.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct DoctorReport(pub Vec<Check>);

impl DoctorReport {
    pub fn failed(&self) -> usize {
        self.0.iter().filter(|c| c.status == Status::Fail).count()
    }
}

impl Render for DoctorReport {
    fn human(&self, out: &Output) -> Result<()> {
        let checks = &self.0;
        let failed = self.failed();
        let mark = |s: Status| match s {
            Status::Ok => out.paint(Style::Green, "✓"),
            Status::Warn => out.paint(Style::Yellow, "!"),
            Status::Fail => out.paint(Style::Red, "✗"),
            Status::Skip => out.paint(Style::Dim, "-"),
        };
        if out.format == Format::Table {
            let mut text = String::new();
            let mut said: std::collections::HashSet<&str> = std::collections::HashSet::new();
            for c in checks {
                // A reason several skipped checks share is said once (-o json keeps each).
                let detail = if c.status == Status::Skip && !said.insert(c.detail.as_str()) {
                    "skipped, as above"
                } else {
                    c.detail.as_str()
                };
                text.push_str(&format!("{} {:<16} {}\n", mark(c.status), c.check, detail));
                if let Some(fix) = &c.fix
                    && c.status != Status::Ok
                {
                    text.push_str(&format!(
                        "  {:<16} {}\n",
                        "",
                        out.paint(Style::Dim, &format!("fix: {fix}"))
                    ));
                }
            }
            text.push_str(&if failed == 0 {
                "All checks passed.\n".to_string()
            } else {
                format!("{} failed.\n", crate::output::count(failed, "check"))
            });
            out.print(&text)?;
        } else {
            let rows: Vec<Vec<String>> = checks
                .iter()
                .map(|c| {
                    vec![
                        c.check.to_string(),
                        format!("{:?}", c.status).to_lowercase(),
                        c.detail.clone(),
                        c.fix.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.table(&["CHECK", "STATUS", "DETAIL", "FIX"], &rows)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: Status, fix: Option<&str>) -> Check {
        Check {
            check: "docker",
            status,
            detail: "Docker 27.0".into(),
            fix: fix.map(str::to_string),
        }
    }

    #[test]
    fn the_doctor_report_counts_failures_and_shows_fixes() {
        let (out, seen) = Output::capturing(Format::Table);
        let all_ok = DoctorReport(vec![check(Status::Ok, Some("never shown"))]);
        out.emit(&all_ok).unwrap();
        let text = seen.lock().unwrap().stdout.clone();
        assert!(text.ends_with("All checks passed.\n"), "{text}");
        assert!(!text.contains("never shown"), "{text}");

        let (out, seen) = Output::capturing(Format::Table);
        let failing = DoctorReport(vec![
            check(Status::Ok, None),
            check(Status::Fail, Some("start Docker")),
        ]);
        assert_eq!(failing.failed(), 1);
        out.emit(&failing).unwrap();
        let text = seen.lock().unwrap().stdout.clone();
        assert!(text.contains("fix: start Docker"), "{text}");
        assert!(text.ends_with("1 check failed.\n"), "{text}");

        // Piped: one tab-separated row per check, the fix in its own column.
        let (out, seen) = Output::capturing(Format::Plain);
        out.emit(&failing).unwrap();
        assert_eq!(
            seen.lock().unwrap().stdout,
            "docker\tok\tDocker 27.0\t\ndocker\tfail\tDocker 27.0\tstart Docker\n"
        );
    }
}
