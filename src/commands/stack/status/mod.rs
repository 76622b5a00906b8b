//! `kestractl status`: each container's state, health, uptime, image, ports and resources, plus
//! Kestra's version and readiness. Exit 0 when ready, 3 otherwise; `-o json` for scripts.

use std::time::Duration;

use bollard::models::ContainerInspectResponse;
use serde::Serialize;

mod probe;
mod remote;

use probe::{health_of, probe};
use remote::remote;

use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::kestra::CredentialCheck;
use crate::output::{Output, Render, Style};
use crate::settings::duration::format_duration;
use crate::settings::stack::{StackFlags, StackSettings};
use crate::stack::engine::Engine;
use crate::stack::health::{self, ContainerState, state_of};
use crate::stack::inspect::{is_managed, port_descriptions};
use crate::stack::local_api::local_client;
use crate::stack::{files, kestra_config};

const LONG: &str = "State, health, uptime, image and image id, ports, CPU and memory of \
both containers, Kestra's version and whether the credentials work, and the URLs (UI, \
management, health). Exit 0 when ready, 3 when not.\n\n\
--probe is for service launchers and health-check scripts: one request to Kestra's management \
/health (2 s timeout) with the stack's credential (the management port asks it), and only when \
that does not answer, or answers 401 because this user cannot read the credential, the \
container's state from Docker, with Docker's own health check. Exit 0 when /health says UP (or, \
without the credential, Docker says healthy); 3 otherwise (the output says the container's \
state: running, exited, missing); 1 when neither /health nor Docker answers.";

/// State, health, uptime, ports and resources of both containers; exit 0 when ready, 3 if not
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG, after_help = "Examples:\n  kestractl status\n  kestractl status -o json | jq .kestra.health\n  kestractl status --probe   # for launchers: exit 0 when UP")]
pub struct Args {
    /// One fast health check for launchers: management /health, else the container's state
    #[arg(long)]
    pub probe: bool,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        status(ctx, &self).await
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub role: &'static str,
    pub name: String,
    pub exists: bool,
    pub managed: bool,
    /// `running`, `exited`, `created`, `missing`, …
    pub state: String,
    /// Docker healthcheck status (`healthy`, `starting`, `unhealthy`) when running.
    pub health: Option<String>,
    /// Postgres only, when running: whether it answers connections now. Docker runs its
    /// healthcheck once a second, so a Postgres that answers can still be "starting" to Docker;
    /// readiness (`start`'s and this report's) goes by the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepts_connections: Option<bool>,
    pub exit_code: Option<i64>,
    pub started_at: Option<String>,
    pub uptime_seconds: Option<u64>,
    pub image: Option<String>,
    /// The id of the image the container runs (`sha256:…`): what a tag named when it was created.
    pub image_id: Option<String>,
    pub ports: Vec<String>,
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KestraStatus {
    /// Management `/health`: `UP`, `DOWN`, `unreachable` or `not-running`.
    pub health: String,
    pub version: Option<String>,
    /// `valid`, `refused` or `unchecked` (no password known).
    pub credentials: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub ready: bool,
    pub url: String,
    pub ui_url: String,
    pub management_url: String,
    pub health_url: String,
    pub engine: String,
    pub kestra: KestraStatus,
    pub containers: Vec<ContainerStatus>,
}

fn uptime(started_at: &str) -> Option<u64> {
    let started =
        time::OffsetDateTime::parse(started_at, &time::format_description::well_known::Rfc3339)
            .ok()?;
    let secs = (time::OffsetDateTime::now_utc() - started).whole_seconds();
    u64::try_from(secs).ok()
}

async fn container_status(
    engine: &Engine,
    role: &'static str,
    name: &str,
    inspect: Option<&ContainerInspectResponse>,
) -> ContainerStatus {
    let state = state_of(inspect);
    let started_at = inspect
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.started_at.clone())
        .filter(|_| matches!(state, ContainerState::Running { .. }));
    let stats = if matches!(state, ContainerState::Running { .. }) {
        engine.stats_once(name).await
    } else {
        None
    };
    ContainerStatus {
        role,
        name: name.to_string(),
        exists: inspect.is_some(),
        managed: inspect.is_some_and(is_managed),
        state: match &state {
            ContainerState::Missing => "missing".into(),
            ContainerState::Running { .. } => "running".into(),
            ContainerState::Exited { .. } => "exited".into(),
            ContainerState::Restarting { .. } => "restarting".into(),
            ContainerState::Other(s) => s.clone(),
        },
        health: match &state {
            ContainerState::Running { health } => health.clone(),
            _ => None,
        },
        accepts_connections: None,
        exit_code: match state {
            ContainerState::Exited { code, .. } | ContainerState::Restarting { code, .. } => {
                Some(code)
            }
            _ => None,
        },
        uptime_seconds: started_at.as_deref().and_then(uptime),
        started_at,
        image: inspect
            .and_then(|c| c.config.as_ref())
            .and_then(|c| c.image.clone()),
        image_id: inspect.and_then(|c| c.image.clone()),
        ports: inspect.map(port_descriptions).unwrap_or_default(),
        cpu_percent: stats.map(|s| (s.0 * 10.0).round() / 10.0),
        memory_bytes: stats.map(|s| s.1),
        memory_limit_bytes: stats.map(|s| s.2),
    }
}

async fn kestra_status(ctx: &Ctx, stack: &StackSettings, running: bool) -> KestraStatus {
    if !running {
        return KestraStatus {
            health: "not-running".into(),
            version: None,
            credentials: "unchecked",
        };
    }
    let health = health_of(stack, Duration::from_secs(3))
        .await
        .map_or_else(|| "unreachable".into(), |h| h.label().to_string());
    // The password: given explicitly, else the running stack's own.
    let password = match ctx.password().await {
        Ok(Some(p)) => Some(p.secret.clone()),
        _ => files::read_config(&stack.secrets_dir)
            .as_deref()
            .and_then(kestra_config::basic_auth_password_of),
    };
    let client = match ctx.settings().await {
        Ok(settings) => local_client(
            stack,
            &settings.tenant.value,
            &settings.username.value,
            password,
            Duration::from_secs(3),
        )
        // Why the API was not asked (a bind address of another machine) is said, not hidden.
        .inspect_err(|e| {
            ctx.out
                .warn(&format!("Kestra's API was not asked: {}", e.message()))
        })
        .ok(),
        Err(_) => None,
    };
    let Some(client) = client.filter(|_| health == "UP") else {
        return KestraStatus {
            health,
            version: None,
            credentials: "unchecked",
        };
    };
    let version = client.configuration().await.ok().and_then(|c| c.version);
    let credentials = match client.check_credentials().await {
        Ok(CredentialCheck::Valid | CredentialCheck::ValidForbidden) => "valid",
        Ok(CredentialCheck::Refused) => "refused",
        _ => "unchecked",
    };
    KestraStatus {
        health,
        version,
        credentials,
    }
}

pub async fn collect(ctx: &Ctx) -> Result<StatusReport> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    let engine = ctx.engine().await?;
    let pg_inspect = engine.inspect(&stack.postgres_container).await?;
    let kestra_inspect = engine.inspect(&stack.kestra_container.value).await?;
    let mut postgres = container_status(
        engine,
        "postgres",
        &stack.postgres_container,
        pg_inspect.as_ref(),
    )
    .await;
    if postgres.state == "running" {
        postgres.accepts_connections =
            Some(health::postgres_ready(engine, &postgres.name, postgres.health.as_deref()).await);
    }
    let kestra_c = container_status(
        engine,
        "kestra",
        &stack.kestra_container.value,
        kestra_inspect.as_ref(),
    )
    .await;
    let kestra = kestra_status(ctx, &stack, kestra_c.state == "running").await;
    let ready = postgres.accepts_connections == Some(true)
        && kestra_c.state == "running"
        && kestra.health == "UP"
        && kestra.credentials != "refused";
    Ok(StatusReport {
        ready,
        url: stack.local_url(),
        ui_url: stack.local_url(),
        management_url: stack.management_url(),
        health_url: health_url(&stack),
        engine: engine.host.clone(),
        kestra,
        containers: vec![postgres, kestra_c],
    })
}

fn human_bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = b as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

fn health_url(stack: &StackSettings) -> String {
    format!("{}/health", stack.management_url())
}

async fn status(ctx: &Ctx, args: &Args) -> Result<Exit> {
    if args.probe {
        return probe(ctx).await;
    }
    // A context pointing at another machine's Kestra: its API, not this machine's containers.
    let server = ctx.settings().await?.server.value.clone();
    if !ctx
        .stack_settings(&StackFlags::default())
        .await?
        .serves(&server)
    {
        return remote(ctx).await;
    }
    let report = collect(ctx).await?;
    ctx.out.emit(&report)?;
    Ok(if report.ready {
        Exit::Ok
    } else {
        Exit::NotReady
    })
}

/// `kestra/kestra:1.3.25 (0123456789ab)`: the reference and the short id it resolved to.
fn image_cell(image: Option<&str>, id: Option<&str>) -> String {
    let short = id.map(|id| {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        hex.chars().take(12).collect::<String>()
    });
    match (image, short) {
        (Some(image), Some(short)) => format!("{image} ({short})"),
        (Some(image), None) => image.to_string(),
        (None, _) => "-".into(),
    }
}

impl Render for StatusReport {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
        let rows: Vec<Vec<String>> = report
            .containers
            .iter()
            .map(|c| {
                let state = match (c.state.as_str(), c.exit_code) {
                    ("running", _) => out.paint(Style::Green, "running"),
                    ("exited", Some(code)) => out.paint(Style::Red, &format!("exited ({code})")),
                    (s, _) => out.paint(Style::Yellow, s),
                };
                vec![
                    c.name.clone(),
                    c.role.to_string(),
                    state,
                    match (c.health.as_deref(), c.accepts_connections) {
                        (Some("starting"), Some(true)) => "starting (answering)".into(),
                        (health, _) => health.unwrap_or("-").into(),
                    },
                    c.uptime_seconds
                        .map(|s| format_duration(Duration::from_secs(s)))
                        .unwrap_or_else(|| "-".into()),
                    image_cell(c.image.as_deref(), c.image_id.as_deref()),
                    if c.ports.is_empty() {
                        "-".into()
                    } else {
                        c.ports.join(",")
                    },
                    c.cpu_percent
                        .map(|p| format!("{p:.1}%"))
                        .unwrap_or_else(|| "-".into()),
                    match (c.memory_bytes, c.memory_limit_bytes) {
                        (Some(m), Some(l)) if l > 0 => {
                            format!("{} / {}", human_bytes(m), human_bytes(l))
                        }
                        (Some(m), _) => human_bytes(m),
                        _ => "-".into(),
                    },
                ]
            })
            .collect();
        out.table(
            &[
                "CONTAINER",
                "ROLE",
                "STATE",
                "HEALTH",
                "UPTIME",
                "IMAGE",
                "PORTS",
                "CPU",
                "MEMORY",
            ],
            &rows,
        )?;
        let verdict = if report.ready {
            out.paint(Style::Green, "ready")
        } else {
            out.paint(Style::Red, "not ready")
        };
        let version = report
            .kestra
            .version
            .as_deref()
            .map(|v| format!("Kestra {v}"))
            .unwrap_or_else(|| "Kestra".into());
        let line = format!(
            "{version} at {}: {verdict} (health {}, credentials {})\n",
            report.url, report.kestra.health, report.kestra.credentials
        );
        if out.format == crate::output::Format::Table {
            out.print(&line)?;
        } else {
            out.print(&format!(
                "kestra\t{}\t{}\t{}\n",
                report.url,
                if report.ready { "ready" } else { "not-ready" },
                report.kestra.health
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::image_cell;

    #[test]
    fn the_image_cell_shows_the_short_id() {
        assert_eq!(
            image_cell(
                Some("kestra/kestra:1.3.25"),
                Some("sha256:0123456789abcdef0123")
            ),
            "kestra/kestra:1.3.25 (0123456789ab)"
        );
        assert_eq!(image_cell(Some("postgres:15"), None), "postgres:15");
        assert_eq!(image_cell(None, Some("sha256:00")), "-");
    }
}
