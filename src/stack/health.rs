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
/// Kestra's /health is polled faster: a refused or answered request on this machine costs
/// next to nothing, and `start` returns within this of Kestra turning ready.
const KESTRA_POLL: Duration = Duration::from_millis(50);
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

/// Waits until Postgres is ready (`postgres_ready`): its healthcheck reports healthy, or it
/// answers the same test, asked from inside its container every 50 ms by one exec that returns
/// the moment it does (a test run through the exec API each poll would cost about 90 ms of
/// Docker's time per try). The container is watched meanwhile: a crash ends the wait at once.
pub async fn wait_postgres(
    engine: &Engine,
    name: &str,
    deadline: Instant,
    progress: &Progress,
) -> Result<Duration> {
    let started = Instant::now();
    progress.step(&format!("waiting for Postgres ({name}) to answer"));
    let waiter = postgres_answers_within(engine, name, deadline);
    tokio::pin!(waiter);
    let mut waiting_inside = true;
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
                // The waiter could not run (an exec refused): asked once a poll instead.
                other if !waiting_inside && postgres_ready(engine, name, other).await => {
                    return Ok(started.elapsed());
                }
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(
                timed_out(engine, name, "Postgres was not healthy", started.elapsed()).await,
            );
        }
        if waiting_inside {
            tokio::select! {
                answered = &mut waiter => {
                    if answered {
                        return Ok(started.elapsed());
                    }
                    waiting_inside = false;
                }
                () = tokio::time::sleep(POLL) => {}
            }
        } else {
            tokio::time::sleep(POLL).await;
        }
    }
}

/// How often the in-container waiter asks Postgres.
const POSTGRES_ASK_EVERY: Duration = Duration::from_millis(50);

/// Runs the readiness test inside the Postgres container every 50 ms until it passes; `true` as
/// soon as it does, `false` when it did not by `deadline` or the exec failed. The loop is bounded
/// by the deadline inside the container too, so an interrupted kestractl leaves nothing behind.
async fn postgres_answers_within(engine: &Engine, name: &str, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    let tries = (left.as_millis() / POSTGRES_ASK_EVERY.as_millis()).max(1);
    let script = format!(
        "i=0; until {}; do i=$((i+1)); [ \"$i\" -ge {tries} ] && exit 1; sleep 0.05; done",
        super::spec::POSTGRES_READY
    );
    let test = ["sh", "-c", script.as_str()];
    matches!(
        engine
            .exec_with_stdin(name, "postgres", &test, b"", left + POSTGRES_READY_TIMEOUT)
            .await,
        Ok((0, _))
    )
}

/// Whether the running Postgres container `name`, whose Docker health is `health`, is ready:
/// healthy, or still "starting" by Docker's count but answering when asked directly. Docker runs
/// the healthcheck once a second (an engine older than API 1.44 has no start interval), so
/// `start` asks directly (`wait_postgres`) and lets Kestra start the moment Postgres answers;
/// `status` judges by the same rule, so a stack `start` called ready is ready to `status` too.
pub async fn postgres_ready(engine: &Engine, name: &str, health: Option<&str>) -> bool {
    match health {
        Some("healthy") => true,
        Some("unhealthy") => false,
        _ => postgres_answers(engine, name).await,
    }
}

/// Whether Postgres answers now, by the healthcheck's own test run in its container (a failed
/// exec is a "not yet": a container that stopped is caught by the next poll).
async fn postgres_answers(engine: &Engine, name: &str) -> bool {
    let test = ["sh", "-c", super::spec::POSTGRES_READY];
    matches!(
        engine
            .exec_with_stdin(name, "postgres", &test, b"", POSTGRES_READY_TIMEOUT)
            .await,
        Ok((0, _))
    )
}

/// How long one readiness test may take (the healthcheck's own timeout is 5 s; a poll that
/// hangs longer would only delay the next one).
const POSTGRES_READY_TIMEOUT: Duration = Duration::from_secs(2);

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
        tokio::time::sleep(KESTRA_POLL).await;
    }
}
