//! `kestractl doctor`: every part kestractl depends on, checked in turn, each with what to do if
//! it fails. Checks never stop at the first failure; exit 1 if any failed. The checks are in the
//! `doctor` library; this gathers what they judge.

use crate::commands::{Ctx, Run};
use crate::doctor::{self, Check, DoctorReport};
use crate::error::{Exit, Result};
use crate::settings::stack::StackFlags;
use crate::stack::engine::DEFAULT_HOST;

/// Check Docker, ports, keyring, config, server, credentials, Kestra's version and disk space
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = "Check everything kestractl depends on, each with what to do if it \
    fails: the config file and settings, the Docker Engine and its socket, the API and \
    management ports (free, or held by this stack), the keyring, the server of the current \
    context, the credentials, Kestra's version (1.3 and 2.0 are supported) and the free space \
    of the storage and work directories. Every check runs; exit 1 if any failed.",
    after_help = "Examples:\n  kestractl doctor\n  kestractl doctor -o json | jq '.[] | select(.status != \"ok\")'"
)]
pub struct Args {}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        let report = DoctorReport(collect(ctx).await);
        ctx.out.emit(&report)?;
        Ok(if report.failed() == 0 {
            Exit::Ok
        } else {
            Exit::Error
        })
    }
}

async fn collect(ctx: &Ctx) -> Vec<Check> {
    let mut checks = vec![doctor::config_file(ctx.config_path())];
    let settings = ctx.settings().await;
    checks.push(doctor::settings(settings.as_deref()));
    let stack = ctx.stack_settings(&StackFlags::default()).await;

    // A context whose server is another machine's Kestra: the local stack's checks do not apply.
    let remote = doctor::remote(settings.as_ref().ok().copied(), stack.as_ref().ok());
    if let Some(why) = &remote {
        for check in ["docker", "docker socket", "ports"] {
            checks.push(doctor::skipped(check, why));
        }
    } else {
        let host = ctx
            .env("DOCKER_HOST")
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let engine = ctx.engine().await;
        checks.extend(doctor::docker(engine.as_deref(), &host, stack.as_ref()).await);
    }
    checks.push(doctor::keyring(ctx.keyring().await.as_deref()));

    // The server of the current context.
    match &settings {
        Ok(_) => match ctx.kestra_probe().await {
            Ok(client) => {
                let password = ctx.password().await.ok().flatten().map(|p| &p.source);
                checks.extend(doctor::server(client, password).await);
            }
            Err(e) => {
                checks.push(doctor::from_error("server", &e));
                checks.push(doctor::skipped("credentials", "no client"));
                checks.push(doctor::skipped("kestra version", "no client"));
            }
        },
        Err(_) => {
            checks.push(doctor::skipped("server", "the settings are invalid"));
            checks.push(doctor::skipped("credentials", "no client"));
            checks.push(doctor::skipped("kestra version", "no client"));
        }
    }

    if let Some(why) = &remote {
        checks.push(doctor::skipped("disk: storage", why));
        checks.push(doctor::skipped("disk: workdir", why));
    } else if let Ok(s) = &stack {
        checks.extend(doctor::disks(s));
    }
    checks
}
