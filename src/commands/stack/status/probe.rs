//! `kestractl status --probe`: one fast health check for launchers: Kestra's management /health,
//! else the container's state with Docker's own health check.

use std::time::Duration;

use bollard::models::HealthStatusEnum;
use serde::Serialize;

use super::health_url;
use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::kestra::management::Health;
use crate::output::{Output, Render};
use crate::settings::stack::{StackFlags, StackSettings};
use crate::stack::local_api;

/// `status --probe`: what a launcher needs, in one request when Kestra answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    pub id: &'static str,
    pub healthy: bool,
    /// `UP`, `DOWN` (or another status Kestra reports), or `unreachable`.
    pub health: String,
    /// `health` when /health answered, `container` when the container's state had to be read.
    pub source: &'static str,
    /// The container's state (`running`, `exited`, `missing`, …) when /health did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub health_url: String,
    pub ui_url: String,
}

impl Render for ProbeReport {
    fn human(&self, out: &Output) -> Result<()> {
        let line = match (&self.container, self.healthy) {
            (None, true) => format!("{}: UP ({})", self.id, self.health_url),
            (Some(state), true) => format!(
                "{}: {} ({}); container {state}",
                self.id, self.health, self.health_url
            ),
            (None, false) => format!("{}: {} ({})", self.id, self.health, self.health_url),
            (Some(state), false) => format!(
                "{}: {} {}; container {state}",
                self.id,
                self.health_url,
                if self.health == "unreachable" {
                    "does not answer"
                } else {
                    &self.health
                }
            ),
        };
        out.print(&format!("{line}\n"))
    }
}

/// Kestra's management /health, asked with the stack's credential; `None` when nothing answers
/// in time.
pub(super) async fn health_of(stack: &StackSettings, timeout: Duration) -> Option<Health> {
    local_api::management(stack, timeout).ok()?.health().await
}

pub(super) async fn probe(ctx: &Ctx) -> Result<Exit> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    let url = health_url(&stack);
    let health = health_of(&stack, Duration::from_secs(2)).await;
    // The container's state when /health does not answer, or answers 401 because this user
    // cannot read the stack's credential: then Docker's own health check (which has it) decides.
    let (container, docker_healthy) = match &health {
        Some(Health::Status(_)) => (None, false),
        None | Some(Health::Refused) => {
            let engine = ctx.engine().await?;
            let inspect = engine.inspect(&stack.kestra_container.value).await?;
            let state = inspect.as_ref().and_then(|c| c.state.as_ref());
            let docker_healthy = state
                .and_then(|s| s.health.as_ref())
                .and_then(|h| h.status)
                .is_some_and(|h| h == HealthStatusEnum::HEALTHY);
            let label = match (inspect.as_ref(), state.and_then(|s| s.status)) {
                (None, _) => "missing".to_string(),
                (Some(_), None) => "unknown".to_string(),
                (Some(_), Some(s)) if docker_healthy => format!("{s} (healthy)"),
                (Some(_), Some(s)) => s.to_string(),
            };
            (Some(label), docker_healthy)
        }
    };
    let healthy = health.as_ref().is_some_and(Health::is_up) || docker_healthy;
    ctx.out.emit(&ProbeReport {
        id: crate::stack::services_manifest::SERVICE_ID,
        healthy,
        source: if container.is_some() {
            "container"
        } else {
            "health"
        },
        health: health.map_or_else(|| "unreachable".into(), |h| h.label().to_string()),
        container,
        health_url: url,
        ui_url: stack.local_url(),
    })?;
    Ok(if healthy { Exit::Ok } else { Exit::NotReady })
}
