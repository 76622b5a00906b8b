//! Readiness: Postgres healthy (its healthcheck, or a crash noticed at once), then Kestra's
//! management `/health` UP, then the credentials accepted on a protected API route. Polled fast,
//! so `start` returns within a poll interval of Kestra turning ready.

use std::time::{Duration, Instant};

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};

use super::engine::Engine;
use crate::error::{Error, Result};
use crate::kestra::management::{Health, Management};
use crate::kestra::{CredentialCheck, KestraClient};
use crate::output::progress::Progress;
use crate::settings::duration::format_duration;

pub const POLL: Duration = Duration::from_millis(100);
const LOG_LINES: usize = 30;

/// What a container looks like right now, reduced to what readiness needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Missing,
    Running {
        health: Option<String>,
    },
    Exited {
        code: i64,
        oom: bool,
    },
    /// Exited and being restarted by its restart policy: a crash loop.
    Restarting {
        code: i64,
        oom: bool,
    },
    Other(String),
}

pub fn state_of(inspect: Option<&ContainerInspectResponse>) -> ContainerState {
    let Some(c) = inspect else {
        return ContainerState::Missing;
    };
    let Some(state) = &c.state else {
        return ContainerState::Other("unknown".into());
    };
    match state.status {
        Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running {
            health: state
                .health
                .as_ref()
                .and_then(|h| h.status)
                .filter(|s| *s != HealthStatusEnum::EMPTY && *s != HealthStatusEnum::NONE)
                .map(|s| s.to_string()),
        },
        Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD) => {
            ContainerState::Exited {
                code: state.exit_code.unwrap_or(-1),
                oom: state.oom_killed.unwrap_or(false),
            }
        }
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting {
            code: state.exit_code.unwrap_or(-1),
            oom: state.oom_killed.unwrap_or(false),
        },
        Some(other) => ContainerState::Other(other.to_string()),
        None => ContainerState::Other("unknown".into()),
    }
}

/// Whether the container `name` runs now.
pub async fn is_running(engine: &Engine, name: &str) -> Result<bool> {
    Ok(matches!(
        state_of(engine.inspect(name).await?.as_ref()),
        ContainerState::Running { .. }
    ))
}

/// An error for a container that stopped while we waited, with its last log lines.
async fn crashed(engine: &Engine, name: &str, code: i64, oom: bool, looping: bool) -> Error {
    let logs = engine.last_logs(name, LOG_LINES).await;
    let oom_note = if oom {
        " (killed for lack of memory: raise --memory / KESTRA_MEMORY)"
    } else {
        ""
    };
    let looping_note = if looping {
        " and Docker keeps restarting it"
    } else {
        ""
    };
    Error::engine(
        format!(
            "container {name} exited with code {code}{oom_note}{looping_note}; its last log lines:\n{}",
            indent(&logs)
        ),
        format!(
            "the container is left for inspection: `kestractl logs` or `docker logs {name}`; \
             fix the cause, then run `kestractl start` again"
        ),
    )
}

async fn timed_out(engine: &Engine, name: &str, what: &str, waited: Duration) -> Error {
    let logs = engine.last_logs(name, LOG_LINES).await;
    Error::not_ready(
        format!(
            "{what} after {}; the last log lines of {name}:\n{}",
            format_duration(waited),
            indent(&logs)
        ),
        "the containers are left running for inspection (`kestractl status`, `kestractl logs`); \
               a first start can be slow: raise --wait-timeout",
    )
}

fn indent(lines: &[String]) -> String {
    if lines.is_empty() {
        return "    (no output)".into();
    }
    lines
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The container's state while we wait for it; an error at once if it crashed, is crash-looping
/// or was removed, since waiting longer cannot help.
async fn alive(engine: &Engine, name: &str) -> Result<ContainerState> {
    match state_of(engine.inspect(name).await?.as_ref()) {
        ContainerState::Exited { code, oom } => Err(crashed(engine, name, code, oom, false).await),
        ContainerState::Restarting { code, oom } => {
            Err(crashed(engine, name, code, oom, true).await)
        }
        ContainerState::Missing => Err(Error::engine(
            format!("container {name} disappeared while starting"),
            "something else removed it; run `kestractl start` again",
        )),
        other => Ok(other),
    }
}

/// Waits until the Postgres container's healthcheck reports healthy.
pub async fn wait_postgres(
    engine: &Engine,
    name: &str,
    deadline: Instant,
    progress: &Progress,
) -> Result<Duration> {
    let started = Instant::now();
    progress.step(&format!("waiting for Postgres ({name}) to be healthy"));
    loop {
        if let ContainerState::Running { health } = alive(engine, name).await? {
            match health.as_deref() {
                Some("healthy") => return Ok(started.elapsed()),
                Some("unhealthy") => {
                    return Err(timed_out(
                        engine,
                        name,
                        "Postgres reports unhealthy",
                        started.elapsed(),
                    )
                    .await);
                }
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(
                timed_out(engine, name, "Postgres was not healthy", started.elapsed()).await,
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Each poll of the management port: it is on this machine, so a slow answer is a busy Kestra.
pub const MANAGEMENT_TIMEOUT: Duration = Duration::from_secs(2);

/// Waits until Kestra's management health is UP and the credentials work on a protected route.
pub async fn wait_kestra(
    engine: &Engine,
    name: &str,
    management: &Management,
    client: &KestraClient,
    deadline: Instant,
    progress: &Progress,
) -> Result<Duration> {
    let started = Instant::now();
    let mut healthy = false;
    let mut refused = false;
    progress.step(&format!("waiting for Kestra ({name}) to be ready"));
    loop {
        alive(engine, name).await?;
        if !healthy {
            match management.health().await {
                Some(h) if h.is_up() => {
                    healthy = true;
                    progress.step("Kestra is up; checking the credentials");
                }
                Some(Health::Refused) => refused = true,
                _ => {}
            }
        }
        if healthy {
            match client.check_credentials().await {
                Ok(CredentialCheck::Valid | CredentialCheck::ValidForbidden) => {
                    return Ok(started.elapsed());
                }
                Ok(CredentialCheck::Refused) => {
                    return Err(Error::auth(
                        format!(
                            "Kestra ({name}) is up but refuses the credentials of {}",
                            client.username()
                        ),
                        "Kestra keeps the credentials of its config file; if they were changed by \
                               hand, restore them or run `kestractl start` with the right password",
                    ));
                }
                Ok(CredentialCheck::Missing) => return Ok(started.elapsed()),
                // Still starting its API (e.g. 503): keep waiting.
                Err(_) => {}
            }
        }
        if Instant::now() >= deadline {
            let what = if healthy {
                "Kestra's API did not accept requests"
            } else if refused {
                "Kestra's management port refused the credential of the rendered config"
            } else {
                "Kestra's health endpoint did not report UP"
            };
            return Err(timed_out(engine, name, what, started.elapsed()).await);
        }
        tokio::time::sleep(POLL).await;
    }
}
