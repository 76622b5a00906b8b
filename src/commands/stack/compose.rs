//! `kestractl compose`: the docker-compose file of the current settings. Touches neither Docker,
//! the network nor any secret: it only resolves settings and file paths.

use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::settings::stack::StackFlags;
use crate::stack::engine::DEFAULT_HOST;
use crate::stack::spec::{self, MountedFiles};
use crate::stack::{compose, files};

/// Print the docker-compose file equivalent to the current settings (no secrets inline)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl compose > docker-compose.yml\n  docker compose -f docker-compose.yml config"
)]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        compose(ctx).await
    }
}

async fn compose(ctx: &Ctx) -> Result<Exit> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    let host = ctx
        .env("DOCKER_HOST")
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    let socket = host.strip_prefix("unix://").map(str::to_string);
    let mounted = MountedFiles {
        kestra_config: files::config_path(&stack.secrets_dir),
        db_password: stack.secrets_dir.join(files::DB_PASSWORD_FILE),
        health_check: stack.secrets_dir.join(files::HEALTH_CHECK_FILE),
        config_revision: String::new(),
        db_password_revision: String::new(),
    };
    // No Docker here: the image IDs only matter for deciding recreation, not for the file.
    let desired = spec::desired(
        &stack,
        &mounted,
        socket.as_deref(),
        &spec::ImageIds::default(),
    );
    ctx.out.print(&compose::render(&desired, &mounted)?)?;
    if !mounted.kestra_config.exists() {
        ctx.out.warn(&format!(
            "{} does not exist yet: run `kestractl start --no-wait` once so the files the compose file \
             refers to are rendered",
            mounted.kestra_config.display()
        ));
    }
    Ok(Exit::Ok)
}
