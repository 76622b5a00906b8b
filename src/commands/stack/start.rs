//! `kestractl start`: preflight, then ensure every part, then wait for readiness.

use std::time::{Duration, Instant};

use bollard::models::ContainerInspectResponse;
use serde::Serialize;

use super::{flags_of, is_managed, published_host_ports};
use crate::cli::{PullPolicy, StartArgs};
use crate::commands::Ctx;
use crate::error::{Error, Exit, Result};
use crate::kestra::{ClientConfig, KestraClient};
use crate::output::Style;
use crate::output::progress::Progress;
use crate::secrets::Secret;
use crate::secrets::generate::generate_password;
use crate::settings::duration::{format_duration, parse_duration};
use crate::settings::stack::StackSettings;
use crate::settings::{Settings, validate};
use crate::stack::engine::{Engine, PullEvent};
use crate::stack::kestra_config::{self, KestraConfigInput};
use crate::stack::spec::{self, ContainerSpec, LABEL_HASH};
use crate::stack::{files, health, ports};

/// What `start` did to one part.
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
    fn word(self) -> &'static str {
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
struct PartReport {
    kind: &'static str,
    name: String,
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StartReport {
    engine: String,
    parts: Vec<PartReport>,
    url: String,
    username: String,
    /// `true` once readiness was proved; `false` with --no-wait.
    ready: bool,
    elapsed_ms: u128,
}

/// Where the Basic Auth password came from, for the closing message.
enum PasswordOrigin {
    Given(String),
    RunningConfig,
}

/// The Basic Auth password: given explicitly, else the one the running stack was configured
/// with (so a plain `start` keeps the credential instead of changing it).
async fn basic_auth_password(ctx: &Ctx, stack: &StackSettings) -> Result<(Secret, PasswordOrigin)> {
    if let Some(p) = ctx.password().await? {
        return Ok((
            p.secret.clone(),
            PasswordOrigin::Given(p.source.to_string()),
        ));
    }
    if let Some(pw) = files::read_config(&stack.secrets_dir)
        .as_deref()
        .and_then(kestra_config::basic_auth_password_of)
    {
        return Ok((pw, PasswordOrigin::RunningConfig));
    }
    Err(Error::settings(
        "Kestra must not start without Basic Auth credentials, and no password was given",
        "give the password Kestra should require with --password-stdin \
         (`kestractl start --password-stdin < pwfile`), KESTRACTL_PASSWORD, or \
         KESTRA_BASICAUTH_PASSWORD in .env as the seed had it",
    ))
}

/// The Postgres password: `KESTRA_DB_PASSWORD` (environment, then `.env`, with a warning), else
/// the one kestractl generated before, else a new random one.
fn db_password(ctx: &Ctx, settings: &Settings, stack: &StackSettings) -> Secret {
    if let Some(pw) = ctx.env("KESTRA_DB_PASSWORD").filter(|p| !p.is_empty()) {
        ctx.out
            .warn("using KESTRA_DB_PASSWORD from the environment (plain text)");
        return Secret::new(pw);
    }
    if let (Some(pw), Some(path)) = (
        settings.dotenv.get("KESTRA_DB_PASSWORD"),
        &settings.dotenv.path,
    ) {
        ctx.out.warn(&format!(
            "using KESTRA_DB_PASSWORD from {}, where it sits in plain text",
            path.display()
        ));
        return Secret::new(pw);
    }
    files::read_db_password(&stack.secrets_dir).unwrap_or_else(|| generate_password(32))
}

/// Refuses a container of our name that kestractl did not create.
fn refuse_foreign(inspect: Option<&ContainerInspectResponse>, name: &str) -> Result<()> {
    if let Some(c) = inspect
        && !is_managed(c)
    {
        return Err(Error::Engine {
            message: format!("a container named {name} exists and was not created by kestractl"),
            hint: format!(
                "kestractl will not touch it. Remove or rename it (`docker rm -f {name}` after \
                 checking what it is), or give the stack another name with KESTRA_CONTAINER_NAME"
            ),
        });
    }
    Ok(())
}

/// Fails if a host port is taken by anything but our own running Kestra, naming the holder.
async fn check_port(
    engine: &Engine,
    ip: std::net::IpAddr,
    port: u16,
    ours: &[u16],
    how_to_change: &str,
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
    let alternative = port.checked_add(10_000).unwrap_or(18080);
    Err(Error::Settings {
        message: format!("port {port} on {ip} is already taken by {holder}"),
        hint: format!(
            "stop it, or pick another port: {how_to_change} {alternative}. Nothing was created"
        ),
    })
}

async fn ensure_image(
    engine: &Engine,
    image: &str,
    policy: PullPolicy,
    ctx: &Ctx,
    progress: &Progress,
) -> Result<()> {
    let present = engine.image_present(image).await?;
    let must_pull = match policy {
        PullPolicy::Never => {
            if !present {
                return Err(Error::Engine {
                    message: format!(
                        "image {image} is not on this machine and --pull never was given"
                    ),
                    hint: format!("pull it (`docker pull {image}`) or use --pull missing"),
                });
            }
            false
        }
        PullPolicy::Missing => !present,
        PullPolicy::Always => true,
    };
    if !must_pull {
        return Ok(());
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
                "pulling {image}: {complete} layer(s) complete, {} of {} MB",
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
            Ok(())
        }
        Err(e) if present && policy == PullPolicy::Always => {
            ctx.out.warn(&format!(
                "{e}; using the copy of {image} already on this machine"
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Creates, recreates or starts one container so it matches `spec`.
async fn ensure_container(
    engine: &Engine,
    spec: &ContainerSpec,
    existing: Option<&ContainerInspectResponse>,
    progress: &Progress,
) -> Result<Action> {
    let Some(current) = existing else {
        progress.step(&format!("creating {}", spec.name));
        engine.create(spec).await?;
        engine.start(&spec.name).await?;
        return Ok(Action::Created);
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
        engine.start(&spec.name).await?;
        return Ok(Action::Recreated);
    }
    let running = current
        .state
        .as_ref()
        .and_then(|s| s.running)
        .unwrap_or(false);
    if running {
        Ok(Action::Unchanged)
    } else {
        progress.step(&format!("starting {}", spec.name));
        engine.start(&spec.name).await?;
        Ok(Action::Started)
    }
}

pub async fn run(ctx: &Ctx, args: &StartArgs) -> Result<Exit> {
    let progress = Progress::new();
    let report = start(ctx, args, &progress).await?;
    progress.finish();
    render(ctx, &report)?;
    if args.attach {
        return attach(ctx).await;
    }
    Ok(Exit::Ok)
}

/// `--attach`: follow both containers' logs in the foreground; Ctrl-C stops the stack cleanly
/// (the seed's `run.sh` without `--detach`).
async fn attach(ctx: &Ctx) -> Result<Exit> {
    ctx.out
        .note("Following the logs; Ctrl-C stops the stack (data is kept).");
    let follow = crate::cli::LogsArgs {
        service: None,
        follow: true,
        tail: Some(0),
        since: None,
    };
    tokio::select! {
        result = super::logs::run(ctx, &follow) => result,
        _ = tokio::signal::ctrl_c() => {
            ctx.out.note("Stopping the stack…");
            let stop = crate::cli::StopArgs {
                remove: false,
                volumes: false,
                grace: "30s".into(),
            };
            super::stop::run(ctx, &stop).await
        }
    }
}

async fn start(ctx: &Ctx, args: &StartArgs, progress: &Progress) -> Result<StartReport> {
    let started = Instant::now();
    let wait_timeout =
        parse_duration(&args.wait_timeout).map_err(|m| Error::usage(m, "fix --wait-timeout"))?;
    let settings = ctx.settings().await?;
    let stack = ctx.stack_settings(&flags_of(args)).await?;
    let username = settings.username.value.clone();
    validate::username(&username).map_err(|m| Error::settings(m, "fix the username"))?;

    // Credentials first: nothing is created for a stack that could not be secured.
    let (password, origin) = basic_auth_password(ctx, &stack).await?;
    if let Some(problem) = kestra_config::password_problem(&password) {
        return Err(Error::settings(
            format!("the Basic Auth password would be refused by Kestra: {problem}"),
            "choose a password of at least 8 characters with upper- and lower-case letters and a digit",
        ));
    }
    let db_password = db_password(ctx, settings, &stack);

    // Preflight: Docker, foreign containers, ports. Nothing is created before these pass.
    progress.step("connecting to the Docker Engine");
    let engine = ctx.engine().await?;
    let pg_existing = engine.inspect(&stack.postgres_container).await?;
    let kestra_existing = engine.inspect(&stack.kestra_container.value).await?;
    refuse_foreign(pg_existing.as_ref(), &stack.postgres_container)?;
    refuse_foreign(kestra_existing.as_ref(), &stack.kestra_container.value)?;
    if !stack.skip_kestra.value {
        let ours = kestra_existing
            .as_ref()
            .map(published_host_ports)
            .unwrap_or_default();
        check_port(
            engine,
            stack.bind.value,
            stack.http_port.value,
            &ours,
            "--port or KESTRA_HTTP_PORT, e.g.",
        )
        .await?;
        check_port(
            engine,
            std::net::Ipv4Addr::LOCALHOST.into(),
            stack.management_port.value,
            &ours,
            "--management-port or KESTRA_MANAGEMENT_PORT, e.g.",
        )
        .await?;
    }

    progress.step("checking images");
    ensure_image(
        engine,
        &stack.postgres_image.value,
        args.pull,
        ctx,
        progress,
    )
    .await?;
    if !stack.skip_kestra.value {
        ensure_image(engine, &stack.kestra_image.value, args.pull, ctx, progress).await?;
    }

    // Render the mounted files, then the desired containers.
    let workdir = stack.workdir_dir.value.display().to_string();
    let config = kestra_config::render(&KestraConfigInput {
        postgres_host: &stack.postgres_container,
        db_name: &stack.db_name.value,
        db_user: &stack.db_user.value,
        db_password: &db_password,
        username: &username,
        password: &password,
        workdir: &workdir,
        url: &stack.local_url(),
    })?;
    let mounted = files::write(&stack.secrets_dir, &config, &db_password)?;
    let desired = spec::desired(&stack, &mounted, engine.local_socket().as_deref());

    let mut parts = Vec::new();
    for dir in &desired.dirs {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    }
    let created = engine
        .ensure_network(&desired.network, &desired.labels)
        .await?;
    parts.push(PartReport {
        kind: "network",
        name: desired.network.clone(),
        action: if created {
            Action::Created
        } else {
            Action::Unchanged
        },
        image: None,
    });
    let created = engine
        .ensure_volume(&desired.volume, &desired.labels)
        .await?;
    parts.push(PartReport {
        kind: "volume",
        name: desired.volume.clone(),
        action: if created {
            Action::Created
        } else {
            Action::Unchanged
        },
        image: None,
    });

    let deadline = Instant::now() + wait_timeout;
    let action =
        ensure_container(engine, &desired.postgres, pg_existing.as_ref(), progress).await?;
    let pg_wait = health::wait_postgres(engine, &desired.postgres.name, deadline, progress).await?;
    progress.done(&format!(
        "Postgres {}: {}; healthy{}",
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

    let mut ready = false;
    match &desired.kestra {
        None => parts.push(PartReport {
            kind: "container",
            name: stack.kestra_container.value.clone(),
            action: Action::Skipped,
            image: None,
        }),
        Some(kestra) => {
            let action =
                ensure_container(engine, kestra, kestra_existing.as_ref(), progress).await?;
            progress.done(&format!("Kestra {}: {}", kestra.name, action.word()));
            if matches!(action, Action::Created | Action::Recreated) {
                ctx.out.note(&ctx.out.paint(
                    Style::Dim,
                    "note: Kestra runs as root with the Docker socket mounted (as the seed did), which gives \
                     it control of this machine's Docker; see README \"Security\"",
                ));
            }
            parts.push(PartReport {
                kind: "container",
                name: kestra.name.clone(),
                action,
                image: Some(kestra.image.clone()),
            });
            if !args.no_wait {
                let client = KestraClient::new(ClientConfig {
                    server: validate::server_url(&stack.local_url()).map_err(|m| {
                        Error::settings(m, "check KESTRA_BIND and KESTRA_HTTP_PORT")
                    })?,
                    tenant: settings.tenant.value.clone(),
                    username: username.clone(),
                    password: Some(password.clone()),
                    timeout: Duration::from_secs(5),
                    allow_insecure_http: true,
                })?;
                let waited = health::wait_kestra(
                    engine,
                    &kestra.name,
                    &stack.management_url(),
                    &client,
                    deadline,
                    progress,
                )
                .await?;
                progress.done(&format!("Kestra ready after {}", format_duration(waited)));
                ready = true;
            }
        }
    }
    if let PasswordOrigin::Given(source) = &origin {
        tracing::debug!("Basic Auth password from {source}");
    }
    Ok(StartReport {
        engine: format!(
            "Docker {} (API {}) at {}",
            engine.version, engine.api_version, engine.host
        ),
        parts,
        url: stack.local_url(),
        username,
        ready,
        elapsed_ms: started.elapsed().as_millis(),
    })
}

fn render(ctx: &Ctx, report: &StartReport) -> Result<()> {
    if ctx.out.is_structured() {
        return ctx.out.structured(report);
    }
    let line = if report.ready {
        format!(
            "Kestra is ready at {} (user {}), in {}\n",
            report.url,
            report.username,
            format_duration(Duration::from_millis(
                u64::try_from(report.elapsed_ms).unwrap_or(u64::MAX)
            ))
        )
    } else if report.parts.iter().any(|p| p.action == Action::Skipped) {
        "Postgres is up; Kestra was not started (SKIP_KESTRA_AUTO_START)\n".to_string()
    } else {
        format!(
            "Kestra is starting at {} (not waited for: --no-wait); `kestractl status` tells when it is ready\n",
            report.url
        )
    };
    ctx.out.print(&line)
}
