//! The desired stack as data: network, volume, directories and the two containers' create bodies,
//! derived from settings alone (pure, unit-tested). The engine compares each container's
//! `spec-hash` label with the desired one and recreates only what changed.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, HostConfigLogConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::kestra_config::{CONFIG_MOUNT, HEALTH_CHECK_MOUNT, STORAGE_MOUNT};
use crate::settings::stack::StackSettings;

/// Postgres is ready when it answers over TCP: during first initialisation the entrypoint runs a
/// temporary server on the Unix socket only, which must not count. The container's healthcheck
/// runs it, and so does kestractl's own readiness poll (`health::wait_postgres`).
pub const POSTGRES_READY: &str =
    "pg_isready -q -h 127.0.0.1 -d \"$POSTGRES_DB\" -U \"$POSTGRES_USER\"";

pub const LABEL_MANAGED: &str = "io.kestractl.managed";
pub const LABEL_STACK: &str = "io.kestractl.stack";
pub const LABEL_ROLE: &str = "io.kestractl.role";
pub const LABEL_HASH: &str = "io.kestractl.spec-hash";

/// Where the DB password file is mounted in the Postgres container (`POSTGRES_PASSWORD_FILE`).
pub const DB_PASSWORD_MOUNT: &str = "/run/secrets/kestra-db-password";
pub const PGDATA: &str = "/var/lib/postgresql/data";
pub const KESTRA_API_PORT: u16 = 8080;
pub const KESTRA_MANAGEMENT_PORT: u16 = 8081;

/// Log rotation for both containers (json-file), so a chatty Kestra cannot fill the disk.
pub const LOG_MAX_SIZE: &str = "20m";
pub const LOG_MAX_FILE: &str = "5";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Postgres,
    Kestra,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Postgres => "postgres",
            Role::Kestra => "kestra",
        }
    }
}

/// Files kestractl renders for the containers, and a revision that changes whenever their content
/// does (so a changed config recreates Kestra without putting a digest of secrets in a label).
#[derive(Debug, Clone)]
pub struct MountedFiles {
    pub kestra_config: PathBuf,
    pub db_password: PathBuf,
    /// The management credential for the container's health check (curl config syntax).
    pub health_check: PathBuf,
    pub config_revision: String,
    pub db_password_revision: String,
}

/// The local IDs of the two images. Part of each container's spec hash, so that a tag that moved
/// (a newer `latest` pulled) recreates the container instead of leaving the old image running.
/// Empty when unknown (the compose export does not ask Docker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageIds {
    pub postgres: String,
    pub kestra: String,
}

#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub body: ContainerCreateBody,
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct DesiredStack {
    pub network: String,
    pub volume: String,
    /// Host directories to create before starting (storage, workdir).
    pub dirs: Vec<PathBuf>,
    pub labels: HashMap<String, String>,
    pub postgres: ContainerSpec,
    /// `None` when `SKIP_KESTRA_AUTO_START` asks for Postgres only.
    pub kestra: Option<ContainerSpec>,
}

fn base_labels(stack: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_STACK.to_string(), stack.to_string()),
    ])
}

fn log_config() -> HostConfigLogConfig {
    HostConfigLogConfig {
        typ: Some("json-file".into()),
        config: Some(HashMap::from([
            ("max-size".to_string(), LOG_MAX_SIZE.to_string()),
            ("max-file".to_string(), LOG_MAX_FILE.to_string()),
        ])),
    }
}

const SECOND_NS: i64 = 1_000_000_000;

/// A stable hash of a create body: JSON with object keys sorted, so map iteration order (labels,
/// port bindings) cannot change it.
pub fn spec_hash(body: &ContainerCreateBody, extra: &str) -> String {
    fn write_sorted(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push(':');
                    write_sorted(&map[*k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_sorted(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let value = serde_json::to_value(body).unwrap_or(Value::Null);
    let mut text = String::new();
    write_sorted(&value, &mut text);
    text.push('\n');
    text.push_str(extra);
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..16]
        .to_string()
}

fn finish(
    role: Role,
    name: &str,
    image: &str,
    mut body: ContainerCreateBody,
    stack: &str,
    extra: &str,
) -> ContainerSpec {
    let mut labels = base_labels(stack);
    labels.insert(LABEL_ROLE.into(), role.label().into());
    body.labels = Some(labels.clone());
    let hash = spec_hash(&body, extra);
    labels.insert(LABEL_HASH.into(), hash.clone());
    body.labels = Some(labels);
    ContainerSpec {
        name: name.to_string(),
        image: image.to_string(),
        body,
        hash,
    }
}

/// The desired stack. `docker_socket` is the host path of the engine's unix socket when the
/// engine is local (Kestra's Docker task runner talks to it), `None` otherwise.
pub fn desired(
    s: &StackSettings,
    files: &MountedFiles,
    docker_socket: Option<&str>,
    images: &ImageIds,
) -> DesiredStack {
    let stack = s.kestra_container.value.as_str();
    let restart = Some(RestartPolicy {
        name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
        maximum_retry_count: None,
    });

    let postgres_body = ContainerCreateBody {
        image: Some(s.postgres_image.value.clone()),
        env: Some(vec![
            format!("POSTGRES_USER={}", s.db_user.value),
            format!("POSTGRES_DB={}", s.db_name.value),
            format!("POSTGRES_PASSWORD_FILE={DB_PASSWORD_MOUNT}"),
        ]),
        healthcheck: Some(HealthConfig {
            test: Some(vec!["CMD-SHELL".into(), POSTGRES_READY.into()]),
            interval: Some(SECOND_NS),
            timeout: Some(5 * SECOND_NS),
            retries: Some(60),
            start_period: Some(0),
            start_interval: None,
        }),
        host_config: Some(HostConfig {
            binds: Some(vec![
                format!("{}:{PGDATA}", s.volume),
                format!("{}:{DB_PASSWORD_MOUNT}:ro", files.db_password.display()),
            ]),
            network_mode: Some(s.network.clone()),
            restart_policy: restart.clone(),
            log_config: Some(log_config()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let postgres = finish(
        Role::Postgres,
        &s.postgres_container,
        &s.postgres_image.value,
        postgres_body,
        stack,
        &format!("{}\n{}", files.db_password_revision, images.postgres),
    );

    let kestra = (!s.skip_kestra.value).then(|| {
        let workdir = s.workdir_dir.value.display().to_string();
        let mut binds = vec![
            format!("{}:{CONFIG_MOUNT}:ro", files.kestra_config.display()),
            format!("{}:{HEALTH_CHECK_MOUNT}:ro", files.health_check.display()),
            format!("{}:{STORAGE_MOUNT}", s.storage_dir.value.display()),
            // Task runners bind-mount paths of this directory into their own containers through
            // the host's engine, so it must have the same path on both sides.
            format!("{workdir}:{workdir}"),
        ];
        if let Some(sock) = docker_socket {
            binds.push(format!("{sock}:/var/run/docker.sock"));
        }
        let binding = |ip: String, port: u16| {
            Some(vec![PortBinding {
                host_ip: Some(ip),
                host_port: Some(port.to_string()),
            }])
        };
        let port_bindings = HashMap::from([
            (
                format!("{KESTRA_API_PORT}/tcp"),
                binding(s.bind.value.to_string(), s.http_port.value),
            ),
            // Management endpoints (health, metrics, loggers) stay on loopback whatever --bind
            // says: Kestra 2.0 itself stopped publishing them.
            (
                format!("{KESTRA_MANAGEMENT_PORT}/tcp"),
                binding("127.0.0.1".into(), s.management_port.value),
            ),
        ]);
        let body = ContainerCreateBody {
            image: Some(s.kestra_image.value.clone()),
            cmd: Some(vec!["server".into(), "standalone".into()]),
            // The seed's choice: root, to reach the Docker socket (see README, security).
            user: Some("root".into()),
            env: Some(vec![format!("MICRONAUT_CONFIG_FILES={CONFIG_MOUNT}")]),
            exposed_ports: Some(vec![
                format!("{KESTRA_API_PORT}/tcp"),
                format!("{KESTRA_MANAGEMENT_PORT}/tcp"),
            ]),
            healthcheck: Some(HealthConfig {
                test: Some(vec![
                    "CMD-SHELL".into(),
                    // The management port asks the credential (kestra_config::Endpoints).
                    format!(
                        "curl -fsS -o /dev/null -K {HEALTH_CHECK_MOUNT} http://localhost:{KESTRA_MANAGEMENT_PORT}/health"
                    ),
                ]),
                interval: Some(5 * SECOND_NS),
                timeout: Some(5 * SECOND_NS),
                retries: Some(3),
                start_period: Some(120 * SECOND_NS),
                start_interval: None,
            }),
            host_config: Some(HostConfig {
                binds: Some(binds),
                port_bindings: Some(port_bindings),
                network_mode: Some(s.network.clone()),
                restart_policy: restart.clone(),
                log_config: Some(log_config()),
                nano_cpus: s.cpus.value.map(|c| (c * 1e9) as i64),
                memory: s.memory.value.map(|m| m as i64),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        finish(
            Role::Kestra,
            &s.kestra_container.value,
            &s.kestra_image.value,
            body,
            stack,
            &format!("{}\n{}", files.config_revision, images.kestra),
        )
    });

    DesiredStack {
        network: s.network.clone(),
        volume: s.volume.clone(),
        dirs: vec![
            s.storage_dir.value.clone(),
            s.workdir_dir.value.clone(),
            s.workdir_dir.value.join("tmp"),
        ],
        labels: base_labels(stack),
        postgres,
        kestra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::stack::{StackFlags, resolve_stack};
    use crate::settings::{ConfigFile, DotEnv, FlagValues, Layers};
    use std::path::Path;

    fn settings(env: &[(&str, &str)]) -> StackSettings {
        let mut all: Vec<(String, String)> = vec![("HOME".into(), "/home/op".into())];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let lookup = move |k: &str| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        resolve_stack(
            &Layers {
                flags: &FlagValues::default(),
                env: &lookup,
                dotenv: &DotEnv::default(),
                config: &ConfigFile::default(),
                config_path: Path::new("/c"),
            },
            &StackFlags::default(),
            Path::new("/home/op"),
        )
        .unwrap()
    }

    fn files(rev: &str) -> MountedFiles {
        files2(rev, rev)
    }

    fn files2(config_rev: &str, db_rev: &str) -> MountedFiles {
        MountedFiles {
            kestra_config: "/state/secrets/application.yml".into(),
            db_password: "/state/secrets/db-password".into(),
            health_check: "/state/secrets/management.curlrc".into(),
            config_revision: config_rev.into(),
            db_password_revision: db_rev.into(),
        }
    }

    #[test]
    fn postgres_gets_its_password_from_a_file_never_from_env() {
        let d = desired(
            &settings(&[]),
            &files("r1"),
            Some("/var/run/docker.sock"),
            &ImageIds::default(),
        );
        let env = d.postgres.body.env.clone().unwrap();
        assert!(
            env.contains(&"POSTGRES_PASSWORD_FILE=/run/secrets/kestra-db-password".to_string())
        );
        assert!(!env.iter().any(|e| e.starts_with("POSTGRES_PASSWORD=")));
        let hc = d.postgres.body.host_config.clone().unwrap();
        assert!(
            hc.binds
                .unwrap()
                .contains(&"kestra-postgres-data:/var/lib/postgresql/data".to_string())
        );
        assert!(hc.port_bindings.is_none(), "Postgres is not published");
        assert_eq!(d.postgres.name, "tools-kestra-postgres");
    }

    #[test]
    fn kestra_is_configured_by_a_mounted_file_with_loopback_ports() {
        let d = desired(
            &settings(&[]),
            &files("r1"),
            Some("/var/run/docker.sock"),
            &ImageIds::default(),
        );
        let k = d.kestra.unwrap();
        assert_eq!(k.body.cmd.clone().unwrap(), ["server", "standalone"]);
        assert_eq!(k.body.user.as_deref(), Some("root"));
        assert_eq!(
            k.body.env.clone().unwrap(),
            ["MICRONAUT_CONFIG_FILES=/etc/kestractl/application.yml"]
        );
        let hc = k.body.host_config.clone().unwrap();
        let binds = hc.binds.unwrap();
        assert!(binds.contains(
            &"/state/secrets/application.yml:/etc/kestractl/application.yml:ro".to_string()
        ));
        assert!(binds.contains(&"/var/run/docker.sock:/var/run/docker.sock".to_string()));
        let wd = "/home/op/.local/share/kestractl/tools-kestra/workdir";
        assert!(binds.contains(&format!("{wd}:{wd}")), "{binds:?}");
        let ports = hc.port_bindings.unwrap();
        let api = ports["8080/tcp"].clone().unwrap();
        assert_eq!(api[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(api[0].host_port.as_deref(), Some("8080"));
        let mgmt = ports["8081/tcp"].clone().unwrap();
        assert_eq!(mgmt[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            hc.log_config.unwrap().config.unwrap()["max-size"],
            LOG_MAX_SIZE
        );
    }

    #[test]
    fn management_stays_on_loopback_when_the_api_is_exposed() {
        let d = desired(
            &settings(&[("KESTRA_BIND", "0.0.0.0")]),
            &files("r1"),
            None,
            &ImageIds::default(),
        );
        let hc = d.kestra.unwrap().body.host_config.unwrap();
        let ports = hc.port_bindings.unwrap();
        assert_eq!(
            ports["8080/tcp"].clone().unwrap()[0].host_ip.as_deref(),
            Some("0.0.0.0")
        );
        assert_eq!(
            ports["8081/tcp"].clone().unwrap()[0].host_ip.as_deref(),
            Some("127.0.0.1")
        );
        assert!(!hc.binds.unwrap().iter().any(|b| b.contains("docker.sock")));
    }

    #[test]
    fn hashes_are_stable_and_change_only_with_their_container() {
        let s = settings(&[]);
        let a = desired(&s, &files("r1"), None, &ImageIds::default());
        let b = desired(&s, &files("r1"), None, &ImageIds::default());
        assert_eq!(
            a.kestra.as_ref().unwrap().hash,
            b.kestra.as_ref().unwrap().hash
        );
        assert_eq!(a.postgres.hash, b.postgres.hash);
        // A new Kestra image changes Kestra only.
        let c = desired(
            &settings(&[("KESTRA_IMAGE", "kestra/kestra:v2.0.5")]),
            &files("r1"),
            None,
            &ImageIds::default(),
        );
        assert_ne!(
            a.kestra.as_ref().unwrap().hash,
            c.kestra.as_ref().unwrap().hash
        );
        assert_eq!(a.postgres.hash, c.postgres.hash);
        // A new Kestra config recreates Kestra only; a new DB password file, Postgres only.
        let d = desired(&s, &files2("r2", "r1"), None, &ImageIds::default());
        assert_ne!(
            a.kestra.as_ref().unwrap().hash,
            d.kestra.as_ref().unwrap().hash
        );
        assert_eq!(a.postgres.hash, d.postgres.hash);
        let e = desired(&s, &files2("r1", "r2"), None, &ImageIds::default());
        assert_eq!(
            a.kestra.as_ref().unwrap().hash,
            e.kestra.as_ref().unwrap().hash
        );
        assert_ne!(a.postgres.hash, e.postgres.hash);
        // The label carries the hash.
        let labels = a.postgres.body.labels.clone().unwrap();
        assert_eq!(labels[LABEL_HASH], a.postgres.hash);
        assert_eq!(labels[LABEL_ROLE], "postgres");
    }

    #[test]
    fn a_moved_tag_changes_the_hash_of_its_container_only() {
        let s = settings(&[]);
        let old = desired(
            &s,
            &files("r1"),
            None,
            &ImageIds {
                postgres: "sha256:p".into(),
                kestra: "sha256:k1".into(),
            },
        );
        let new = desired(
            &s,
            &files("r1"),
            None,
            &ImageIds {
                postgres: "sha256:p".into(),
                kestra: "sha256:k2".into(),
            },
        );
        assert_ne!(old.kestra.unwrap().hash, new.kestra.unwrap().hash);
        assert_eq!(old.postgres.hash, new.postgres.hash);
    }

    #[test]
    fn skip_kestra_starts_postgres_only_and_limits_apply() {
        let d = desired(
            &settings(&[("SKIP_KESTRA_AUTO_START", "1")]),
            &files("r"),
            None,
            &ImageIds::default(),
        );
        assert!(d.kestra.is_none());
        let d = desired(
            &settings(&[("KESTRA_CPUS", "1.5"), ("KESTRA_MEMORY", "2g")]),
            &files("r"),
            None,
            &ImageIds::default(),
        );
        let hc = d.kestra.unwrap().body.host_config.unwrap();
        assert_eq!(hc.nano_cpus, Some(1_500_000_000));
        assert_eq!(hc.memory, Some(2 << 30));
    }
}
