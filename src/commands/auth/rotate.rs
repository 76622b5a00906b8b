//! `kestractl auth rotate`: the managed stack's credentials (`rotation::local`), or a Basic Auth
//! user through the API on a server kestractl does not run (`rotation::api`); `--dry-run` shows
//! the plan.

use serde::Serialize;

use super::{db_entry_of, server_of};
use crate::cli::ReadinessWait;
use crate::commands::{Ctx, Run};
use crate::credentials::import::{BASIC_AUTH_KEY, DB_KEY};
use crate::error::{Error, Exit, Result};
use crate::kestra::ClientConfig;
use crate::output::progress::Progress;
use crate::output::{Output, Render};
use crate::rotation::api as rotate_api;
use crate::rotation::local::{self as rotate, Kind, Step, Target};
use crate::settings::Settings;
use crate::settings::stack::StackFlags;
use crate::signals::Interrupt;

const LONG: &str = "Change a credential of the stack kestractl manages, with verify \
and rollback.\n\n\
Basic Auth (the default): a new 32-character password is generated and staged in the keyring as \
pending; Kestra's config file is rendered with it and only the Kestra container is recreated; the \
new password must be accepted and the old one refused; then the keyring's entry is replaced \
(pending → current). With --db, the Postgres password is changed instead: ALTER ROLE inside the \
Postgres container (a SCRAM verifier sent on stdin, never the password, never in argv), then \
Kestra's datasource, then Kestra is recreated and verified.\n\n\
Any failure restores the previous config and container, verifies the old credentials work again, \
drops the pending entry and exits non-zero naming the step. At every step exactly one credential \
works and the keyring holds it. API clients other than kestractl need the new password \
afterwards.\n\n\
For any other server (--server or a context), the Basic Auth password is changed through its API \
(POST /api/v1/{tenant}/basicAuth with the current password), staged, verified and committed the \
same way; a failure after the change puts the previous password back through the API. Only for \
a server that reports its credential was set up in its UI or API (isBasicAuthManagedByConfig: \
false): one whose credential is in its config file would restore it at its next start.";

/// Rotate the Basic Auth (or --db the stack's Postgres) password, verified, rolled back on failure
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = LONG,
    after_help = "Examples:\n  kestractl auth rotate\n  kestractl auth rotate --db\n  kestractl auth rotate --dry-run"
)]
pub struct Args {
    /// Rotate the Postgres password instead of Kestra's Basic Auth password
    #[arg(long)]
    pub db: bool,

    /// Show the steps and change nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub readiness: ReadinessWait,
}

impl Run for Args {
    /// Kestra would hold one password and the keyring another.
    fn interrupt(&self) -> Interrupt {
        Interrupt::FinishFirst {
            warning: "interrupt received: the rotation finishes (or rolls back) first, so that \
                      exactly one password works and the keyring holds it; it stops right after",
            done: "the rotation had already completed; `kestractl auth status` shows the \
                   credential in use",
        }
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        rotate_cmd(ctx, &self).await
    }
}

/// Plain-text places that would bring the old password back at the next `kestractl start`.
fn rotation_conflicts(ctx: &Ctx, s: &Settings, kind: Kind) -> Vec<String> {
    let mut found = Vec::new();
    let env_set = |k: &str| ctx.env(k).is_some_and(|v| !v.is_empty());
    let dot = |k: &str| {
        s.dotenv
            .get(k)
            .and(s.dotenv.path.as_ref())
            .map(|p| format!("{k} in {}", p.display()))
    };
    let keys: &[&str] = match kind {
        Kind::BasicAuth => {
            if ctx.global.password_stdin {
                found.push("--password-stdin (rotate generates the password itself)".into());
            }
            &["KESTRACTL_PASSWORD", BASIC_AUTH_KEY]
        }
        Kind::Database => &[DB_KEY],
    };
    for k in keys {
        if env_set(k) {
            found.push(format!("the environment variable {k}"));
        }
        if let Some(d) = dot(k) {
            found.push(d);
        }
    }
    found
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DryRun {
    dry_run: bool,
    kind: Kind,
    container: String,
    entry: String,
    steps: Vec<DryRunStep>,
}

#[derive(Debug, Serialize)]
struct DryRunStep {
    step: &'static str,
    action: &'static str,
}

impl DryRun {
    /// What a rotation would do, step by step (the preflight has passed).
    fn new(kind: Kind, container: String, entry: String, plan: Vec<(Step, &'static str)>) -> Self {
        DryRun {
            dry_run: true,
            kind,
            container,
            entry,
            steps: plan
                .into_iter()
                .map(|(step, action)| DryRunStep {
                    step: step.name(),
                    action,
                })
                .collect(),
        }
    }
}

async fn rotate_cmd(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let kind = if args.db {
        Kind::Database
    } else {
        Kind::BasicAuth
    };
    let wait_timeout = args.readiness.wait_timeout;
    let s = ctx.settings().await?;
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    // The keyring entry follows the resolved server: it must be this stack's.
    let server = &s.server.value;
    let local = stack.local_url();
    let ours = server.port_or_known_default() == Some(stack.http_port.value)
        && (crate::settings::validate::is_loopback(server)
            || server.host_str() == Some(stack.bind.value.to_string().as_str()));
    if !ours {
        if kind == Kind::Database {
            return Err(Error::rotation(
                format!(
                    "the server of this command ({}) is not the stack kestractl manages here \
                     ({local}), and only that stack's Postgres password can be rotated",
                    server_of(s)
                ),
                format!(
                    "rotate the local stack's with `--server {local}` (or a context pointing at \
                     it). Nothing was changed"
                ),
            ));
        }
        return rotate_through_api(ctx, s, args).await;
    }
    let conflicts = rotation_conflicts(ctx, s, kind);
    if !conflicts.is_empty() {
        return Err(Error::rotation(
            format!(
                "not rotating: {} would put the old password back at the next `kestractl start`",
                conflicts.join(", ")
            ),
            "move plain-text passwords into the keyring (`kestractl auth import-env \
                   --rewrite-env`) or unset them, then rotate; nothing was changed",
        ));
    }
    let keyring = ctx.keyring().await?.require()?;
    let engine = ctx.engine().await?;
    let progress = Progress::new();
    // The stack's own entry, as `start` keeps it.
    let basic_entry = ctx.stack_basic_auth_entry(&stack).await?;
    let target = Target {
        engine,
        keyring,
        stack: &stack,
        username: &s.username.value,
        tenant: &s.tenant.value,
        basic_entry,
        db_entry: db_entry_of(&stack),
        wait_timeout,
        progress: &progress,
    };
    if args.dry_run {
        progress.step("preflight: checking the stack");
        let checked = rotate::preflight(&target, kind).await;
        progress.finish();
        checked?;
        let entry = match kind {
            Kind::BasicAuth => target.basic_entry.clone(),
            Kind::Database => target.db_entry.clone(),
        };
        let container = stack.kestra_container.value.clone();
        ctx.out
            .emit(&DryRun::new(kind, container, entry, rotate::plan(kind)))?;
        return Ok(Exit::Ok);
    }
    let result = rotate::rotate(&target, kind).await;
    progress.finish();
    let report = result?;
    for n in &report.notes {
        ctx.out.note(&format!("note: {n}"));
    }
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

impl Render for rotate::Report {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
        let text = match report.kind {
            Kind::BasicAuth => format!(
                "Rotated the Basic Auth password of {}: Kestra ({}) accepts only the new one, and the \
                 keyring entry `{}` holds it.\nOther API clients (scripts, CI secrets, saved browser \
                 logins) need the new password: `kestractl auth show --reveal` prints it.\n",
                report.whose, report.container, report.entry
            ),
            Kind::Database => format!(
                "Rotated the Postgres password of role {}: Kestra ({}) runs on the new one, and the \
                 keyring entry `{}` holds it.\n",
                report.whose, report.container, report.entry
            ),
        };
        out.print(&text)?;
        Ok(())
    }
}

/// `auth rotate` for a server kestractl does not run: through its API, when its credential was
/// set up through the UI or API (`rotation::api`).
async fn rotate_through_api(ctx: &Ctx, s: &Settings, args: &Args) -> Result<Exit> {
    let conflicts = rotation_conflicts(ctx, s, Kind::BasicAuth);
    if !conflicts.is_empty() {
        return Err(Error::rotation(
            format!(
                "not rotating: the next command would take its password from {} instead of \
                 the new one in the keyring",
                conflicts.join(", ")
            ),
            "store the current password with `kestractl auth login` and unset the others \
                   (or `kestractl auth import-env --rewrite-env`), then rotate; nothing was \
                   changed",
        ));
    }
    let keyring = ctx.keyring().await?.require()?;
    let progress = Progress::new();
    let target = rotate_api::ApiTarget {
        client: ClientConfig {
            server: s.server.value.clone(),
            tenant: s.tenant.value.clone(),
            username: s.username.value.clone(),
            password: None,
            timeout: s.timeout.value,
            allow_insecure_http: s.allow_insecure_http.value,
        },
        keyring,
        entry: ctx.basic_auth_entry().await?,
        progress: &progress,
    };
    if args.dry_run {
        progress.step("preflight: checking the server");
        let checked = rotate_api::preflight(&target).await;
        progress.finish();
        checked?;
        let entry = target.entry.clone();
        let plan = rotate_api::plan();
        ctx.out
            .emit(&DryRun::new(Kind::BasicAuth, String::new(), entry, plan))?;
        return Ok(Exit::Ok);
    }
    let result = rotate_api::rotate(&target).await;
    progress.finish();
    let report = result?;
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

impl Render for rotate_api::ApiReport {
    fn human(&self, out: &Output) -> Result<()> {
        let report = self;
        out.print(&format!(
            "Rotated the Basic Auth password of {} on {} through its API: it accepts only the new \
             one, and the keyring entry `{}` holds it.\nOther API clients (scripts, CI secrets, saved \
             browser logins) need the new password: `kestractl auth show --reveal` prints it.\n",
            report.username, report.server, report.entry
        ))?;
        Ok(())
    }
}

impl Render for DryRun {
    fn human(&self, out: &Output) -> Result<()> {
        let mut text = format!(
            "Dry run: preflight passed; `kestractl auth rotate{}` would:\n",
            if self.kind == Kind::Database {
                " --db"
            } else {
                ""
            }
        );
        for (i, st) in self.steps.iter().enumerate().skip(1) {
            text.push_str(&format!("  {i}. {}: {}\n", st.step, st.action));
        }
        text.push_str("Nothing was changed.\n");
        out.print(&text)
    }
}
