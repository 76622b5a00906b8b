//! The docker-compose file equivalent to the desired stack, derived from the same specs `start`
//! creates (so the two cannot drift). No secret is inline: the DB password is a compose secret
//! and Kestra's config a read-only bind of the files kestractl renders. The format is the Compose
//! Specification without `version`, which Compose v1.27+ and v2 both accept.

use serde_json::{Map, Value, json};

use super::spec::{ContainerSpec, DB_PASSWORD_MOUNT, DesiredStack, MountedFiles};

const DB_SECRET: &str = "kestra-db-password";

fn seconds(ns: Option<i64>) -> Option<String> {
    ns.map(|n| format!("{}s", n / 1_000_000_000))
}

/// Compose interpolates `$VAR`; a literal `$` for the container's shell is written `$$`.
fn escape(s: &str) -> String {
    s.replace('$', "$$")
}

fn service(spec: &ContainerSpec, depends_on: Option<&str>) -> Value {
    let body = &spec.body;
    let mut svc = Map::new();
    svc.insert("image".into(), json!(spec.image));
    svc.insert("container_name".into(), json!(spec.name));
    if let Some(user) = &body.user {
        svc.insert("user".into(), json!(user));
    }
    if let Some(cmd) = &body.cmd {
        svc.insert("command".into(), json!(cmd));
    }
    if let Some(env) = &body.env {
        let map: Map<String, Value> = env
            .iter()
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| (k.to_string(), json!(escape(v))))
            .collect();
        svc.insert("environment".into(), Value::Object(map));
    }
    let hc = body.host_config.clone().unwrap_or_default();
    let mut volumes = Vec::new();
    let mut secrets = Vec::new();
    for bind in hc.binds.iter().flatten() {
        let parts: Vec<&str> = bind.split(':').collect();
        let (source, target, ro) = match parts.as_slice() {
            [s, t] => (*s, *t, false),
            [s, t, mode] => (*s, *t, mode.contains("ro")),
            _ => continue,
        };
        if target == DB_PASSWORD_MOUNT {
            secrets.push(json!({"source": DB_SECRET, "target": DB_SECRET}));
        } else if source.starts_with('/') {
            let mut v = json!({"type": "bind", "source": source, "target": target});
            if ro {
                v["read_only"] = json!(true);
            }
            volumes.push(v);
        } else {
            volumes.push(json!({"type": "volume", "source": source, "target": target}));
        }
    }
    if !volumes.is_empty() {
        svc.insert("volumes".into(), Value::Array(volumes));
    }
    if !secrets.is_empty() {
        svc.insert("secrets".into(), Value::Array(secrets));
    }
    if let Some(bindings) = &hc.port_bindings {
        let mut ports: Vec<String> = bindings
            .iter()
            .flat_map(|(container, list)| {
                let container = container.trim_end_matches("/tcp").to_string();
                list.iter().flatten().map(move |b| {
                    format!(
                        "{}:{}:{container}",
                        b.host_ip.as_deref().unwrap_or("127.0.0.1"),
                        b.host_port.as_deref().unwrap_or("")
                    )
                })
            })
            .collect();
        ports.sort();
        svc.insert("ports".into(), json!(ports));
    }
    if let Some(h) = &body.healthcheck {
        let mut m = Map::new();
        if let Some(test) = &h.test {
            m.insert(
                "test".into(),
                json!(test.iter().map(|t| escape(t)).collect::<Vec<_>>()),
            );
        }
        for (key, value) in [
            ("interval", seconds(h.interval)),
            ("timeout", seconds(h.timeout)),
            ("start_period", seconds(h.start_period)),
        ] {
            if let Some(v) = value {
                m.insert(key.into(), json!(v));
            }
        }
        if let Some(r) = h.retries {
            m.insert("retries".into(), json!(r));
        }
        svc.insert("healthcheck".into(), Value::Object(m));
    }
    if let Some(dep) = depends_on {
        svc.insert(
            "depends_on".into(),
            json!({ dep: {"condition": "service_healthy"} }),
        );
    }
    svc.insert("restart".into(), json!("unless-stopped"));
    if let Some(log) = &hc.log_config {
        svc.insert(
            "logging".into(),
            json!({"driver": log.typ, "options": log.config}),
        );
    }
    if let Some(n) = hc.nano_cpus {
        svc.insert("cpus".into(), json!(n as f64 / 1e9));
    }
    if let Some(m) = hc.memory {
        svc.insert("mem_limit".into(), json!(m));
    }
    Value::Object(svc)
}

/// The compose file text.
pub fn render(desired: &DesiredStack, files: &MountedFiles) -> anyhow::Result<String> {
    let mut services = Map::new();
    services.insert("postgres".into(), service(&desired.postgres, None));
    if let Some(k) = &desired.kestra {
        services.insert("kestra".into(), service(k, Some("postgres")));
    }
    let doc = json!({
        "services": services,
        "networks": {"default": {"name": desired.network}},
        "volumes": {desired.volume.clone(): {"name": desired.volume}},
        "secrets": {DB_SECRET: {"file": files.db_password.display().to_string()}},
    });
    let body = serde_saphyr::to_string(&doc)
        .map_err(|e| anyhow::anyhow!("cannot render the compose file: {e}"))?;
    Ok(format!(
        "# The stack `kestractl start` runs, for docker-compose (v1.27+ or v2).\n\
         # No secret is inline: Kestra's config and the DB password are files kestractl renders in\n\
         # {} (a 0700 directory; the config 0600, the DB password readable by Postgres' own user);\n\
         # `kestractl start --no-wait` creates them.\n{body}",
        files
            .kestra_config
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    ))
}
