//! Bringing the local stack to its desired state, a part at a time: preflight (containers of our
//! names that kestractl did not make, ports), images, the network and volume, and containers,
//! recreated only where their spec hash changed. `kestractl start` orchestrates these; the
//! readiness wait is `health`'s.

use std::time::{Duration, Instant};

use bollard::models::ContainerInspectResponse;
use serde::Serialize;

use super::engine::{Engine, PullEvent};
use super::inspect::{is_managed, published_host_ports};
use super::ports;
use super::spec::{ContainerSpec, DesiredStack, LABEL_HASH};
use super::{files, health};
use crate::error::{Error, Result};
use crate::output::Output;
use crate::output::progress::Progress;
use crate::settings::duration::format_duration;
use crate::settings::stack::StackSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullPolicy {
    /// Pull every time (the seed's behaviour); use the local image if the registry is unreachable
    Always,
    /// Pull only images that are not here yet
    Missing,
    /// Never pull; fail if an image is missing
    Never,
}

/// Whether an image reference floats: no tag, or `latest`, and no digest. Pulled on every start,
/// such an image can bring a new Kestra whose first start migrates the database for good.
pub fn floating_tag(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    // The tag follows the last `:` of the last path segment (a registry's `host:port/` is not a
    // tag).
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

/// What bringing the stack up did to one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Recreated,
    Started,
    Unchanged,
    Skipped,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Recreated => "recreated (its settings changed; data kept)",
            Action::Started => "started",
            Action::Unchanged => "already running, unchanged",
            Action::Skipped => "skipped (SKIP_KESTRA_AUTO_START)",
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartReport {
    pub kind: &'static str,
    pub name: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// Refuses a container of our name that kestractl did not create.
pub fn refuse_foreign(inspect: Option<&ContainerInspectResponse>, name: &str) -> Result<()> {
    if let Some(c) = inspect
        && !is_managed(c)
    {
        return Err(Error::taken(
            format!("a container named {name} exists and was not created by kestractl"),
            format!(
                "kestractl will not touch it. Remove or rename it (`docker rm -f {name}` after \
                 checking what it is), or give the stack another name with KESTRA_CONTAINER_NAME"
            ),
        ));
    }
    Ok(())
}

/// Fails if a host port is taken by anything but our own running Kestra, naming the holder.
pub async fn check_port(
    engine: &Engine,
    ip: std::net::IpAddr,
    port: u16,
    ours: &[u16],
    (variable, flag): (&str, &str),
) -> Result<()> {
    if ours.contains(&port) || !engine.is_local() || ports::is_free(ip, port) {
        return Ok(());
    }
    let holder = match engine.containers_publishing(port).await?.first() {
        Some(c) => {
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_else(|| "?".into());
            format!("container `{name}`")
        }
        None => ports::process_listening(port).unwrap_or_else(|| "another program".into()),
    };
    let hint = match ports::free_port(ip) {
        Some(free) => format!(
            "stop it, or move the stack to a free port: {variable}={free} in .env (or {flag} \
             {free}). Nothing was created"
        ),
        None => format!(
            "stop it, or move the stack to another port ({variable} in .env, or {flag}). Nothing was created"
        ),
    };
    Err(Error::taken(
        format!("port {port} on {ip} is already taken by {holder}"),
        hint,
    ))
}

/// Makes `image` present as `policy` asks, with pull progress. A failed `always` pull of an
/// image already here warns and goes on with the local copy.
pub async fn ensure_image(
    engine: &Engine,
    image: &str,
    policy: PullPolicy,
    progress: &Progress,
) -> Result<()> {
    ensure_images(engine, &[image], policy, progress).await
}

/// [`ensure_image`] for several images; a pull that fails for an image already on this machine
/// (`--pull always` with no registry answering) is said once for all of them, on one line.
pub async fn ensure_images(
    engine: &Engine,
    images: &[&str],
    policy: PullPolicy,
    progress: &Progress,
) -> Result<()> {
    let mut kept = Vec::new();
    let mut reason = None;
    for image in images {
        if let Some(why) = pull_one(engine, image, policy, progress).await? {
            kept.push(*image);
            reason.get_or_insert(why);
        }
    }
    if let Some(why) = reason {
        Output::warn_line(&format!(
            "cannot pull {} ({why}): using the {} already on this machine",
            kept.join(", "),
            if kept.len() == 1 { "copy" } else { "copies" }
        ));
    }
    Ok(())
}

/// Pulls `image` as `policy` says; `Some(why)` when the pull failed but a copy is on this
/// machine and the policy lets it be used.
async fn pull_one(
    engine: &Engine,
    image: &str,
    policy: PullPolicy,
    progress: &Progress,
) -> Result<Option<String>> {
    let present = engine.image_present(image).await?;
    let must_pull = match policy {
        PullPolicy::Never => {
            if !present {
                return Err(Error::engine(
                    format!("image {image} is not on this machine and --pull never was given"),
                    format!("pull it (`docker pull {image}`) or use --pull missing"),
                ));
            }
            false
        }
        PullPolicy::Missing => !present,
        PullPolicy::Always => true,
    };
    if !must_pull {
        return Ok(None);
    }
    let mut layers: std::collections::BTreeMap<String, (i64, i64)> =
        std::collections::BTreeMap::new();
    let mut complete = 0usize;
    let started = Instant::now();
    let result = engine
        .pull(image, |e: PullEvent| {
            if let Some(layer) = &e.layer {
                if let (Some(c), Some(t)) = (e.current, e.total) {
                    layers.insert(layer.clone(), (c, t));
                }
                if e.status == "Pull complete" || e.status == "Already exists" {
                    complete += 1;
                    if let Some(entry) = layers.get_mut(layer) {
                        entry.0 = entry.1;
                    }
                }
            }
            let (done, total) = layers
                .values()
                .fold((0i64, 0i64), |(d, t), (c, tt)| (d + c, t + tt));
            progress.step(&format!(
                "pulling {image}: {} complete, {} of {} MB",
                crate::output::count(complete, "layer"),
                done >> 20,
                total >> 20
            ));
        })
        .await;
    match result {
        Ok(()) => {
            progress.done(&format!(
                "Image {image}: pulled in {}",
                format_duration(started.elapsed())
            ));
            Ok(None)
        }
        // One line of why (the engine's message can run over several).
        Err(e) if present && policy == PullPolicy::Always => Ok(Some(
            e.message()
                .trim_start_matches(&format!("cannot pull {image}: "))
                .lines()
                .next()
                .unwrap_or("the registry did not answer")
                .to_string(),
        )),
        Err(e) => Err(e),
    }
}

/// Creates, recreates or starts one container so it matches `spec`.
pub async fn ensure_container(
    engine: &Engine,
    spec: &ContainerSpec,
    existing: Option<&ContainerInspectResponse>,
    progress: &Progress,
) -> Result<Action> {
    let prepared = prepare_container(engine, spec, existing, progress).await?;
    finish_container(engine, spec, prepared).await
}

/// A container made to match its spec but not started yet: what was done, and whether it still
/// needs a start.
#[derive(Clone, Copy)]
pub struct Prepared {
    action: Action,
    start: bool,
}

/// Everything `ensure_container` does but the final start: creating, or stopping and removing an
/// outdated container and creating its successor. Split so that Kestra's container is created
/// while Postgres initialises and started the moment Postgres answers.
async fn prepare_container(
    engine: &Engine,
    spec: &ContainerSpec,
    existing: Option<&ContainerInspectResponse>,
    progress: &Progress,
) -> Result<Prepared> {
    let Some(current) = existing else {
        progress.step(&format!("creating {}", spec.name));
        engine.create(spec).await?;
        return Ok(Prepared {
            action: Action::Created,
            start: true,
        });
    };
    let hash = current
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(LABEL_HASH));
    if hash != Some(&spec.hash) {
        progress.step(&format!("recreating {} (its settings changed)", spec.name));
        engine.stop(&spec.name, Duration::from_secs(30)).await?;
        engine.remove(&spec.name).await?;
        engine.create(spec).await?;
        return Ok(Prepared {
            action: Action::Recreated,
            start: true,
        });
    }
    let state = current.state.as_ref();
    let running = state.and_then(|s| s.running).unwrap_or(false);
    // Docker reports a crash-looping container as running; after the cause was fixed (a
    // password, a volume), it needs a fresh start, not "unchanged".
    let crash_looping = state.and_then(|s| s.restarting).unwrap_or(false);
    if crash_looping {
        progress.step(&format!("restarting {} (it was crash-looping)", spec.name));
        engine.stop(&spec.name, Duration::from_secs(30)).await?;
    } else if !running {
        progress.step(&format!("starting {}", spec.name));
    }
    Ok(Prepared {
        action: if crash_looping || !running {
            Action::Started
        } else {
            Action::Unchanged
        },
        start: crash_looping || !running,
    })
}

/// Starts a prepared container when it needs it.
async fn finish_container(
    engine: &Engine,
    spec: &ContainerSpec,
    prepared: Prepared,
) -> Result<Action> {
    if prepared.start {
        engine.start(&spec.name).await?;
    }
    Ok(prepared.action)
}

/// The stack's containers as Docker has them now.
pub struct Existing {
    pub postgres: Option<ContainerInspectResponse>,
    pub kestra: Option<ContainerInspectResponse>,
}

/// Reads the stack's containers and refuses one of our names that kestractl did not create, then
/// (unless Kestra is skipped) a host port another program holds. Nothing is created here.
pub async fn preflight(engine: &Engine, stack: &StackSettings) -> Result<Existing> {
    let existing = Existing {
        postgres: engine.inspect(&stack.postgres_container).await?,
        kestra: engine.inspect(&stack.kestra_container.value).await?,
    };
    refuse_foreign(existing.postgres.as_ref(), &stack.postgres_container)?;
    refuse_foreign(existing.kestra.as_ref(), &stack.kestra_container.value)?;
    if !stack.skip_kestra.value {
        let ours = existing
            .kestra
            .as_ref()
            .map(published_host_ports)
            .unwrap_or_default();
        check_port(
            engine,
            stack.bind.value,
            stack.http_port.value,
            &ours,
            ("KESTRA_HTTP_PORT", "--port"),
        )
        .await?;
        check_port(
            engine,
            std::net::Ipv4Addr::LOCALHOST.into(),
            stack.management_port.value,
            &ours,
            ("KESTRA_MANAGEMENT_PORT", "--management-port"),
        )
        .await?;
    }
    Ok(existing)
}

/// The network or volume part's report.
fn shared_part(kind: &'static str, name: &str, created: bool) -> PartReport {
    PartReport {
        kind,
        name: name.to_string(),
        action: if created {
            Action::Created
        } else {
            Action::Unchanged
        },
        image: None,
    }
}

/// Data folders, network, volume and Postgres (waited for until healthy, by `deadline`), then
/// Kestra's container when the stack has one. Returns every part's report; Kestra's readiness is
/// left to the caller, which knows the credentials to prove it with.
pub async fn up(
    engine: &Engine,
    desired: &DesiredStack,
    existing: &Existing,
    deadline: Instant,
    progress: &Progress,
) -> Result<Vec<PartReport>> {
    for dir in &desired.dirs {
        files::prepare_data_dir(dir)?;
    }
    let created = engine
        .ensure_network(&desired.network, &desired.labels)
        .await?;
    let mut parts = vec![shared_part("network", &desired.network, created)];
    let created = engine
        .ensure_volume(&desired.volume, &desired.labels)
        .await?;
    parts.push(shared_part("volume", &desired.volume, created));

    // Kestra's container is created while Postgres starts and initialises (it is not started
    // before Postgres answers: Kestra migrates its database on start).
    let prepare_kestra = async {
        match &desired.kestra {
            Some(kestra) => prepare_container(engine, kestra, existing.kestra.as_ref(), progress)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let postgres_up = async {
        let action = ensure_container(
            engine,
            &desired.postgres,
            existing.postgres.as_ref(),
            progress,
        )
        .await?;
        let waited =
            health::wait_postgres(engine, &desired.postgres.name, deadline, progress).await?;
        Ok::<_, crate::error::Error>((action, waited))
    };
    let (kestra_prepared, (action, pg_wait)) = tokio::try_join!(prepare_kestra, postgres_up)?;
    progress.done(&format!(
        "Postgres {}: {}; ready{}",
        desired.postgres.name,
        action.word(),
        if action == Action::Unchanged {
            String::new()
        } else {
            format!(" after {}", format_duration(pg_wait))
        }
    ));
    parts.push(PartReport {
        kind: "container",
        name: desired.postgres.name.clone(),
        action,
        image: Some(desired.postgres.image.clone()),
    });

    if let (Some(kestra), Some(prepared)) = (&desired.kestra, kestra_prepared) {
        let action = finish_container(engine, kestra, prepared).await?;
        progress.done(&format!("Kestra {}: {}", kestra.name, action.word()));
        parts.push(PartReport {
            kind: "container",
            name: kestra.name.clone(),
            action,
            image: Some(kestra.image.clone()),
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floating_tags_are_latest_or_none() {
        for image in [
            "kestra/kestra",
            "kestra/kestra:latest",
            "registry.local:5000/kestra/kestra",
            "registry.local:5000/kestra/kestra:latest",
        ] {
            assert!(floating_tag(image), "{image}");
        }
        for image in [
            "kestra/kestra:1.3.25",
            "kestra/kestra:v2.0.5-full",
            "registry.local:5000/kestra/kestra:1.3.25",
            "kestra/kestra@sha256:0123456789abcdef",
            "kestra/kestra:latest@sha256:0123456789abcdef",
        ] {
            assert!(!floating_tag(image), "{image}");
        }
    }
}
