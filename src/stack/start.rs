//! Bringing the stack up: the checks no container may start without, then images, the rendered
//! files, the containers `up` creates or recreates, and Kestra waited for until it is ready with
//! its credentials. `start`, `restart`, `restore` and `upgrade` all start the stack through here.

use std::time::{Duration, Instant};

use super::engine::Engine;
use super::local_api::{self, local_client};
use super::up::{self, Action, PartReport, PullPolicy};
use super::{files, health, kestra_config, spec};
use crate::error::{Error, Kind, Result};
use crate::kestra::KestraClient;
use crate::output::progress::Progress;
use crate::output::{Output, Style};
use crate::secret::Secret;
use crate::settings::duration::format_duration;
use crate::settings::stack::StackSettings;
use crate::settings::validate;

/// The credentials Kestra and Postgres are configured with.
pub struct Credentials {
    pub username: String,
    pub tenant: String,
    pub basic_auth: Secret,
    pub db: Secret,
}

/// What to bring up and how.
pub struct Request<'a> {
    pub stack: &'a StackSettings,
    pub credentials: &'a Credentials,
    pub pull: PullPolicy,
    /// How long Postgres, then Kestra, get to be ready.
    pub wait_timeout: Duration,
    /// `false` returns once the containers are started (Postgres is still waited for).
    pub wait_for_kestra: bool,
}

/// What a start did.
pub struct Started {
    /// The Docker Engine, as people read it (version, API version, host).
    pub engine: String,
    pub parts: Vec<PartReport>,
    /// Readiness was proved (`false` when not waited for, or Kestra is not started).
    pub ready: bool,
}

/// Kestra refuses a username with `${` (a placeholder to it) and outside its own rule: refused
/// before anything is generated, stored or created.
pub fn check_username(username: &str) -> Result<()> {
    validate::username(username).map_err(|m| Error::settings(m, "fix the username"))?;
    if let Some(problem) = kestra_config::placeholder_problem("username", username) {
        return Err(Error::settings(problem, "choose a username without `${`"));
    }
    Ok(())
}

/// Kestra refuses a password outside its rule by starting with no credential at all, and reads
/// `${` as a placeholder: both are refused before anything starts.
pub fn check_basic_auth_password(password: &Secret) -> Result<()> {
    if let Some(problem) = kestra_config::password_problem(password) {
        return Err(Error::settings(
            format!("the Basic Auth password would be refused by Kestra: {problem}"),
            "choose a password of at least 8 characters with an upper-case letter A-Z, a \
             lower-case letter a-z and a digit 0-9, on one line",
        ));
    }
    if let Some(problem) =
        kestra_config::placeholder_problem("Basic Auth password", password.expose())
    {
        return Err(Error::settings(problem, "choose a password without `${`"));
    }
    Ok(())
}

/// The Postgres password goes into Kestra's config too, where `${` would be a placeholder.
pub fn check_db_password(password: &Secret) -> Result<()> {
    match kestra_config::placeholder_problem("Postgres password", password.expose()) {
        Some(problem) => Err(Error::settings(
            problem,
            "choose a KESTRA_DB_PASSWORD without `${`",
        )),
        None => Ok(()),
    }
}

/// Brings the stack up. Preflight first (foreign containers, ports): nothing is created before
/// it passes.
pub async fn start(
    engine: &Engine,
    request: &Request<'_>,
    progress: &Progress,
    out: &Output,
) -> Result<Started> {
    let stack = request.stack;
    let existing = up::preflight(engine, stack).await?;

    progress.step("checking images");
    let mut images = vec![stack.postgres_image.value.as_str()];
    if !stack.skip_kestra.value {
        images.push(stack.kestra_image.value.as_str());
    }
    up::ensure_images(engine, &images, request.pull, progress).await?;

    let desired = desired(engine, request).await?;
    let deadline = Instant::now() + request.wait_timeout;
    let mut parts = up::up(engine, &desired, &existing, deadline, progress).await?;
    let mut ready = false;
    match &desired.kestra {
        None => parts.push(PartReport {
            kind: "container",
            name: stack.kestra_container.value.clone(),
            action: Action::Skipped,
            image: None,
        }),
        Some(kestra) => {
            let action = parts.last().map_or(Action::Unchanged, |p| p.action);
            if matches!(action, Action::Created | Action::Recreated) {
                out.note(&out.paint(
                    Style::Dim,
                    "note: Kestra runs as root with the Docker socket mounted (as the seed did), which gives \
                     it control of this machine's Docker; see README \"Security\"",
                ));
            }
            if request.wait_for_kestra {
                let waited =
                    wait_ready(engine, request, &kestra.name, action, deadline, progress).await?;
                progress.done(&format!("Kestra ready after {}", format_duration(waited)));
                ready = true;
            }
        }
    }
    Ok(Started {
        engine: format!(
            "Docker {} (API {}) at {}",
            engine.version, engine.api_version, engine.host
        ),
        parts,
        ready,
    })
}

/// Renders the mounted files, then the containers they make with the images as they are here.
async fn desired(engine: &Engine, request: &Request<'_>) -> Result<spec::DesiredStack> {
    let (stack, c) = (request.stack, request.credentials);
    let config = kestra_config::render_for_stack(stack, &c.username, &c.basic_auth, &c.db)?;
    let check = kestra_config::render_health_check(&c.username, &c.basic_auth);
    let mounted = files::write(&stack.secrets_dir, &config, &check, &c.db)?;
    let images = spec::ImageIds {
        postgres: engine.image_id(&stack.postgres_image.value).await?,
        kestra: if stack.skip_kestra.value {
            String::new()
        } else {
            engine.image_id(&stack.kestra_image.value).await?
        },
    };
    Ok(spec::desired(
        stack,
        &mounted,
        engine.local_socket().as_deref(),
        &images,
    ))
}

/// Waits until Kestra's /health is UP and its API accepts the credentials; a Kestra this start
/// (re)created that refuses them is stopped.
async fn wait_ready(
    engine: &Engine,
    request: &Request<'_>,
    name: &str,
    action: Action,
    deadline: Instant,
    progress: &Progress,
) -> Result<Duration> {
    let (stack, c) = (request.stack, request.credentials);
    let client = local_client(
        stack,
        &c.tenant,
        &c.username,
        Some(c.basic_auth.clone()),
        Duration::from_secs(5),
    )?;
    let management = local_api::management(stack, health::MANAGEMENT_TIMEOUT)?;
    match health::wait_kestra(engine, name, &management, &client, deadline, progress).await {
        Err(refused) if refused.kind() == Kind::Auth && action != Action::Unchanged => {
            Err(stop_refusing_kestra(engine, name, &client, refused).await)
        }
        other => other,
    }
}

/// Kestra that has just been (re)started here and refuses the credentials it was configured with
/// must not be left running: Kestra does not stop on a credential it rejects, it logs the error
/// and, on a fresh database, leaves its credential-setup route open to whoever calls it first.
/// Stops it and says why, in Kestra's words when it gives them.
async fn stop_refusing_kestra(
    engine: &Engine,
    name: &str,
    client: &KestraClient,
    refused: Error,
) -> Error {
    let message = refused.message();
    let reasons = client
        .basic_auth()
        .validation_errors()
        .await
        .unwrap_or_default();
    let stopped = engine.stop(name, Duration::from_secs(30)).await;
    let said = if reasons.is_empty() {
        String::new()
    } else {
        format!("; Kestra says: {}", reasons.join(" "))
    };
    let what = match stopped {
        Ok(_) => format!(
            "{message}{said}. Kestra ({name}) was stopped: left running, its credential-setup \
             page would be open to whoever reaches it first"
        ),
        Err(e) => format!(
            "{message}{said}. Stopping Kestra ({name}) failed too ({e}): stop it now with \
             `kestractl stop`, its credential-setup page may be open to whoever reaches it first"
        ),
    };
    Error::auth(
        what,
        if reasons.is_empty() {
            refused.hint().unwrap_or_default()
        } else {
            "fix what Kestra names (username, password) and run `kestractl start` again".into()
        },
    )
}
