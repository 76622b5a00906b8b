//! `kestractl start`: bring the stack up (creating what is missing) and wait until Kestra is
//! ready; `--attach` then follows the logs until Ctrl-C stops the stack.

use std::time::Duration;

use serde::Serialize;

use crate::cli::{PullPolicy, ReadinessWait};
use crate::commands::{Ctx, Run, StackStart, StartOptions};
use crate::error::{Exit, Result};
use crate::output::progress::Progress;
use crate::output::{Output, Render};
use crate::settings::duration::format_duration;
use crate::settings::stack::StackFlags;
use crate::signals::Interrupt;
use crate::stack::up::{Action, PartReport};

const LONG: &str = "Start Postgres and Kestra, creating what is missing, then wait until \
Kestra is ready.\n\n\
Before anything is created it checks that Docker answers, that the ports are free (and who holds \
them if not) and that no foreign container has our names. It then ensures the network, the volume \
`kestra-postgres-data`, the storage and work directories, Postgres (waited until healthy) and \
Kestra (`server standalone`, configured by a 0600 file mounted read-only, so no secret is in the \
container's environment). Readiness means: Kestra's management /health is UP and the credentials \
are accepted by a protected API route.\n\n\
Running it again changes nothing; changed settings recreate only the container they concern, and \
data is kept. The Basic Auth password comes from --password-stdin, KESTRACTL_PASSWORD, the OS \
keyring, or the seed's KESTRA_BASICAUTH_PASSWORD (environment or .env), else from the running \
stack's config; on a first start with none of these, one is generated and stored in the keyring \
(`kestractl auth show --reveal` prints it).";

/// Start Postgres and Kestra (creating what is missing) and wait until Kestra is ready (alias: up)
#[derive(Debug, Clone, clap::Args)]
#[command(alias = "up", long_about = LONG, after_help = "Examples:\n  kestractl start\n  kestractl start --port 18080 --image kestra/kestra:v1.3.25\n  kestractl start --no-wait && kestractl status")]
pub struct Args {
    #[command(flatten)]
    pub options: Options,
}

// The options of `start`, shared by `restart` (a plain comment: a doc comment here would become
// the help of whichever command flattens them).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Kestra image [env: KESTRA_IMAGE] [default: kestra/kestra:latest]
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// Postgres image [env: KESTRA_POSTGRES_IMAGE] [default: postgres:15]
    #[arg(long, value_name = "IMAGE")]
    pub postgres_image: Option<String>,

    /// When to pull the images
    #[arg(long, value_enum, default_value = "always", value_name = "WHEN")]
    pub pull: PullPolicy,

    /// Host port of Kestra's UI and API [env: KESTRA_HTTP_PORT] [default: 8080]
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,

    /// Host port of Kestra's management endpoints, always on 127.0.0.1 [env: KESTRA_MANAGEMENT_PORT] [default: 8081]
    #[arg(long, value_name = "PORT")]
    pub management_port: Option<String>,

    /// Host address the UI and API listen on [env: KESTRA_BIND] [default: 127.0.0.1]
    #[arg(long, value_name = "IP")]
    pub bind: Option<String>,

    /// CPU limit of the Kestra container, e.g. 2 or 1.5 [env: KESTRA_CPUS]
    #[arg(long, value_name = "N")]
    pub cpus: Option<String>,

    /// Memory limit of the Kestra container, e.g. 4g [env: KESTRA_MEMORY]
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// Return once the containers are started, without waiting for readiness
    #[arg(long)]
    pub no_wait: bool,

    #[command(flatten)]
    pub readiness: ReadinessWait,

    /// Stay in the foreground following both containers' logs; Ctrl-C stops the stack
    #[arg(long)]
    pub attach: bool,
}

impl Options {
    /// The settings flags of the stack (ports, images, limits).
    pub fn flags(&self) -> StackFlags {
        StackFlags {
            image: self.image.clone(),
            postgres_image: self.postgres_image.clone(),
            port: self.port.clone(),
            management_port: self.management_port.clone(),
            bind: self.bind.clone(),
            cpus: self.cpus.clone(),
            memory: self.memory.clone(),
        }
    }

    pub fn options(&self) -> StartOptions {
        StartOptions {
            flags: self.flags(),
            pull: self.pull,
            wait_timeout: self.readiness.wait_timeout,
            no_wait: self.no_wait,
            postgres_only: false,
        }
    }

    /// How `start` and `restart` meet Ctrl-C.
    pub fn interrupt(&self) -> Interrupt {
        if self.attach {
            // `--attach`: Ctrl-C stops the stack cleanly.
            Interrupt::Handled
        } else {
            Interrupt::Stop {
                after: "what was created so far is left as it is: `kestractl start` again \
                        finishes the job, `kestractl status` shows the state",
            }
        }
    }

    /// Starts, reports, and with `--attach` follows the logs.
    pub async fn start(&self, ctx: &Ctx) -> Result<Exit> {
        let progress = Progress::new();
        let start = ctx.start_stack(&self.options(), &progress).await?;
        progress.finish();
        ctx.out.emit(&StartReport::from(start))?;
        if self.attach {
            return attach(ctx).await;
        }
        Ok(Exit::Ok)
    }
}

impl Run for Args {
    fn interrupt(&self) -> Interrupt {
        self.options.interrupt()
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        self.options.start(ctx).await
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartReport {
    engine: String,
    parts: Vec<PartReport>,
    url: String,
    username: String,
    /// Where a password generated by this (first) start was stored; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    password_stored_in: Option<String>,
    /// `true` once readiness was proved; `false` with --no-wait.
    ready: bool,
    elapsed_ms: u128,
}

impl From<StackStart> for StartReport {
    fn from(s: StackStart) -> Self {
        StartReport {
            engine: s.started.engine,
            parts: s.started.parts,
            url: s.stack.local_url(),
            username: s.username,
            password_stored_in: s.password_stored_in,
            ready: s.started.ready,
            elapsed_ms: s.elapsed.as_millis(),
        }
    }
}

/// `--attach`: follow both containers' logs in the foreground; Ctrl-C stops the stack cleanly
/// (the seed's `run.sh` without `--detach`).
async fn attach(ctx: &Ctx) -> Result<Exit> {
    ctx.out
        .note("Following the logs; Ctrl-C stops the stack (data is kept).");
    tokio::select! {
        result = super::logs::follow_new_lines(ctx) => result,
        () = crate::signals::ctrl_c() => {
            ctx.out.note("Stopping the stack…");
            super::stop::keeping_everything(ctx).await
        }
    }
}

impl Render for StartReport {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
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
        out.print(&line)?;
        if let Some(place) = &report.password_stored_in {
            out.print(&format!(
            "A password was generated for {} and stored in {place}; `kestractl auth show --reveal` \
             prints it for the UI's login form.\n",
            report.username
        ))?;
        }
        Ok(())
    }
}
