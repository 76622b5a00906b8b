//! Credential rotation for the stack kestractl manages, with verify and rollback
//! (the staged pattern of AWS Secrets Manager's rotation: create → set → test → finish).
//!
//! Kestra keeps exactly one Basic Auth credential and, when it is configured in the config file,
//! takes it from there at every start. So a rotation is: stage the new password in the keyring as
//! *pending*, render the config with it, recreate only the Kestra container, prove the new password
//! is accepted and the old one refused, then commit (pending → current). The Postgres password
//! (`--db`) goes the same way with `ALTER ROLE` first (a SCRAM verifier sent on the exec's stdin,
//! never the password and never in argv) and Kestra's datasource after.
//!
//! The previous Kestra container is not removed until the commit: it is stopped and renamed, so a
//! rollback restores *that* container (and the exact bytes of the mounted files), not a lookalike.
//! Any failure rolls back what was done, verifies the old credentials work again, drops the pending
//! entry and reports the step. At every moment exactly one credential works, and the keyring holds
//! it (as current, or as pending between the switch and the commit).
//!
//! Tests inject a failure after any step with `KESTRACTL_ROTATE_FAIL_AT=<step>`; the switch only
//! exists in debug builds (`cfg(debug_assertions)`), so a release binary cannot be made to fail.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::driver::{self, StepResult, at, injected, retry_hint};
pub use super::step::{PASSWORD_LENGTH, Step, StepClock, StepReport};
use crate::credentials::store::{Keyring, pending_entry};
use crate::error::{Error, Result};
use crate::kestra::{CredentialCheck, KestraClient};
use crate::output::progress::Progress;
use crate::secret::Secret;
use crate::secret::generate::generate_password;
use crate::secret::scram;
use crate::settings::duration::format_duration;
use crate::settings::stack::StackSettings;
use crate::stack::engine::Engine;
use crate::stack::health::MANAGEMENT_TIMEOUT;
use crate::stack::health::{self, ContainerState};
use crate::stack::local_api::local_client;
use crate::stack::{files, kestra_config, local_api, spec};

/// Which credential a rotation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    BasicAuth,
    Database,
}

/// The steps of a rotation and what each does (`--dry-run`, and the report).
pub fn plan(kind: Kind) -> Vec<(Step, &'static str)> {
    let mut steps = vec![
        (
            Step::Preflight,
            "check the stack: Kestra and Postgres are ours and running, the running password works, no plain-text password would bring the old one back",
        ),
        (
            Step::Stage,
            "generate a 32-character password and store it in the keyring as pending (the current entry is made to match the running password first)",
        ),
    ];
    if kind == Kind::Database {
        steps.push((
            Step::AlterRole,
            "ALTER ROLE inside the Postgres container (a SCRAM verifier on the exec's stdin)",
        ));
    }
    steps.extend([
        (
            Step::Render,
            "render Kestra's config file with the new password (0600; the previous bytes are kept for a rollback)",
        ),
        (
            Step::Recreate,
            "stop and set aside the Kestra container, create and start a new one (Postgres untouched)",
        ),
        (
            Step::Verify,
            if kind == Kind::BasicAuth {
                "wait for /health UP, then the new password must be accepted and the old one refused"
            } else {
                "wait for /health UP (Kestra reached Postgres with the new password) and the API accepting the credentials"
            },
        ),
        (
            Step::Commit,
            "keyring: pending becomes current; remove the set-aside container",
        ),
    ]);
    steps
}

/// What a rotation works on.
pub struct Target<'a> {
    pub engine: &'a Engine,
    pub keyring: &'a Keyring,
    pub stack: &'a StackSettings,
    pub username: &'a str,
    pub tenant: &'a str,
    /// The keyring entry of the Basic Auth password (context, username, server).
    pub basic_entry: String,
    /// The keyring entry of the Postgres password (stack, DB user).
    pub db_entry: String,
    pub wait_timeout: Duration,
    pub progress: &'a Progress,
}

impl Target<'_> {
    fn kestra(&self) -> &str {
        &self.stack.kestra_container.value
    }

    fn backup_name(&self) -> String {
        format!("{}-rotating", self.kestra())
    }

    fn entry(&self, kind: Kind) -> &str {
        match kind {
            Kind::BasicAuth => &self.basic_entry,
            Kind::Database => &self.db_entry,
        }
    }

    fn client(&self, password: &Secret) -> Result<KestraClient> {
        local_client(
            self.stack,
            self.tenant,
            self.username,
            Some(password.clone()),
            Duration::from_secs(5),
        )
    }

    async fn check(&self, password: &Secret) -> Result<CredentialCheck> {
        Ok(self.client(password)?.check_credentials().await?)
    }

    /// Waits (up to `wait_timeout`) for the Kestra container to be ready with this Basic Auth
    /// password; returns how long it took.
    async fn wait_ready(&self, password: &Secret) -> Result<Duration> {
        health::wait_kestra(
            self.engine,
            self.kestra(),
            &local_api::management(self.stack, MANAGEMENT_TIMEOUT)?,
            &self.client(password)?,
            Instant::now() + self.wait_timeout,
            self.progress,
        )
        .await
    }
}

/// The stack's credentials as they run now (from the rendered config file: what Kestra was
/// started with).
#[derive(Debug, Clone)]
pub struct Running {
    pub basic: Secret,
    pub db: Secret,
}

/// Read-only checks before anything changes. Returns the running credentials.
pub async fn preflight(t: &Target<'_>, kind: Kind) -> Result<Running> {
    let refuse = |message: String, hint: String| Error::rotation(message, hint);
    if t.stack.skip_kestra.value {
        return Err(refuse(
            "this stack runs Postgres only (SKIP_KESTRA_AUTO_START), so there is no Kestra to rotate".into(),
            "unset SKIP_KESTRA_AUTO_START and `kestractl start` first".into(),
        ));
    }
    let kestra = t.kestra();
    let pg = &t.stack.postgres_container;
    for name in [kestra, pg.as_str()] {
        let inspect = t.engine.inspect(name).await?;
        let backup = t.backup_name();
        match (&inspect, health::state_of(inspect.as_ref())) {
            (None, _) if name == kestra && t.engine.inspect(&backup).await?.is_some() => {
                return Err(refuse(
                    format!(
                        "container {kestra} is missing and {backup} exists: an earlier rotation was interrupted"
                    ),
                    format!(
                        "put the previous container back with `docker rename {backup} {kestra}`, then `kestractl start`"
                    ),
                ));
            }
            (None, _) => {
                return Err(refuse(
                    format!("container {name} does not exist"),
                    "start the stack with `kestractl start` first".into(),
                ));
            }
            (Some(c), _) if !crate::stack::inspect::is_managed(c) => {
                return Err(refuse(
                    format!("container {name} was not created by kestractl"),
                    "kestractl only rotates the credentials of the stack it manages".into(),
                ));
            }
            (_, ContainerState::Running { .. }) => {}
            (_, state) => {
                return Err(refuse(
                    format!("container {name} is not running ({state:?})"),
                    "start the stack with `kestractl start` first".into(),
                ));
            }
        }
    }
    let config = files::read_config(&t.stack.secrets_dir).ok_or_else(|| {
        refuse(
            format!(
                "there is no Kestra config in {} to rotate",
                t.stack.secrets_dir.display()
            ),
            "start the stack with `kestractl start` (it writes the config) first".into(),
        )
    })?;
    let basic = kestra_config::basic_auth_password_of(&config);
    let db = kestra_config::datasource_password_of(&config);
    let (Some(basic), Some(db)) = (basic, db) else {
        return Err(refuse(
            format!(
                "the Kestra config in {} has no Basic Auth or datasource password",
                t.stack.secrets_dir.display()
            ),
            "run `kestractl start` to render it again, then retry".into(),
        ));
    };
    if kind == Kind::Database && !scram::is_supported(&db) {
        return Err(refuse(
            "the current Postgres password has characters outside printable ASCII, which this \
             rotation cannot send back to Postgres safely if it has to roll back"
                .into(),
            "change it once by hand (ALTER ROLE), put it in KESTRA_DB_PASSWORD for one \
             `kestractl start`, then rotate"
                .into(),
        ));
    }
    match t.check(&basic).await {
        Ok(CredentialCheck::Valid | CredentialCheck::ValidForbidden) => {}
        Ok(_) => {
            return Err(refuse(
                format!("Kestra ({kestra}) refuses the password of its own config file"),
                "run `kestractl start` so Kestra runs with its config again, then retry".into(),
            ));
        }
        Err(e) => {
            return Err(refuse(
                format!("cannot check Kestra's credentials before rotating: {e}"),
                "`kestractl status` says whether Kestra is ready; retry once it is".into(),
            ));
        }
    }
    Ok(Running { basic, db })
}

/// What has been done so far, so a rollback undoes exactly that.
#[derive(Default)]
struct Undo {
    pending_staged: bool,
    role_altered: bool,
    files: Option<files::Snapshot>,
    stopped: bool,
    renamed: bool,
    new_created: bool,
    committed: bool,
}

/// How a rotation went, for the report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub kind: Kind,
    pub entry: String,
    pub container: String,
    pub steps: Vec<StepReport>,
    pub elapsed_ms: u128,
    /// Notes for the operator (a keyring entry brought in line, a left-over removed…).
    pub notes: Vec<String>,
    /// Whose password changed: the Basic Auth user, or the Postgres role (`--db`).
    #[serde(skip)]
    pub whose: String,
}

/// Runs a rotation to the end, or rolls it back.
pub async fn rotate(t: &Target<'_>, kind: Kind) -> Result<Report> {
    driver::run(&LocalRotation { t, kind }).await
}

/// The managed stack's rotation of one credential, for the driver.
struct LocalRotation<'a> {
    t: &'a Target<'a>,
    kind: Kind,
}

impl LocalRotation<'_> {
    fn what(&self) -> &'static str {
        match self.kind {
            Kind::BasicAuth => "Basic Auth password",
            Kind::Database => "Postgres password",
        }
    }
}

impl driver::Rotation for LocalRotation<'_> {
    type Before = Running;
    type Done = Undo;
    type Report = Report;

    fn progress(&self) -> &Progress {
        self.t.progress
    }

    fn preflight_line(&self) -> &'static str {
        "preflight: checking the stack"
    }

    async fn preflight(&self) -> Result<Running> {
        preflight(self.t, self.kind).await
    }

    fn report(&self, preflight_ms: u128) -> Report {
        Report {
            kind: self.kind,
            entry: self.t.entry(self.kind).to_string(),
            container: self.t.kestra().to_string(),
            steps: vec![StepReport {
                step: Step::Preflight,
                ms: preflight_ms,
            }],
            elapsed_ms: 0,
            notes: Vec::new(),
            whose: match self.kind {
                Kind::BasicAuth => self.t.username.to_string(),
                Kind::Database => self.t.stack.db_user.value.clone(),
            },
        }
    }

    async fn forward(
        &self,
        running: &Running,
        undo: &mut Undo,
        report: &mut Report,
    ) -> StepResult<()> {
        forward(self.t, self.kind, running, undo, report).await
    }

    async fn rollback(&self, running: &Running, undo: &Undo) -> std::result::Result<(), String> {
        rollback(self.t, self.kind, running, undo)
            .await
            .map_err(|problems| problems.join("; "))
    }

    fn finished(&self, report: &mut Report, elapsed_ms: u128) {
        report.elapsed_ms = elapsed_ms;
    }

    fn rolled_back(&self, report: &Report, step: Step, cause: &Error) -> Error {
        Error::rotation(
            format!(
                "rotating the {} failed at step `{step}`: {cause}\nrolled back: Kestra runs with \
                 the previous credentials again (verified), the keyring entry `{}` holds them, \
                 and the pending entry is gone",
                self.what(),
                report.entry
            ),
            retry_hint(cause),
        )
    }

    fn stuck(&self, step: Step, cause: &Error, problem: &str) -> Error {
        let t = self.t;
        Error::rotation(
            format!(
                "rotating the {} failed at step `{step}`: {cause}\nand the rollback did not \
                 complete: {problem}",
                self.what()
            ),
            format!(
                "check `kestractl status` and `kestractl auth status`. The previous config was put \
                 back in {}; if the Kestra container is missing, `docker rename {} {}` (if it \
                 exists) then `kestractl start` restores it",
                t.stack.secrets_dir.display(),
                t.backup_name(),
                t.kestra()
            ),
        )
    }
}

/// Runs the steps in order; each records in `undo` what it changed before it changes it.
async fn forward(
    t: &Target<'_>,
    kind: Kind,
    running: &Running,
    undo: &mut Undo,
    report: &mut Report,
) -> StepResult<()> {
    let way = Forward::new(t, kind, running);
    let mut clock = StepClock::new(t.progress);
    let mut done = |step: Step, report: &mut Report, message: &str| {
        clock.done(&mut report.steps, step, message);
    };

    let new = way.stage(undo, report).await?;
    done(
        Step::Stage,
        report,
        "Stage: new password generated and stored as pending",
    );
    if kind == Kind::Database {
        way.alter_role(&new, undo).await?;
        done(
            Step::AlterRole,
            report,
            &format!(
                "Alter role: Postgres role {} has the new password",
                t.stack.db_user.value
            ),
        );
    }
    let mounted = way.render(&new, undo)?;
    done(Step::Render, report, "Render: config written");
    way.recreate(&mounted, undo, report).await?;
    done(
        Step::Recreate,
        report,
        &format!("Recreate: {} recreated (Postgres untouched)", t.kestra()),
    );
    let waited = way.verify(&new).await?;
    done(
        Step::Verify,
        report,
        &match kind {
            Kind::BasicAuth => format!(
                "Verify: Kestra ready after {}; the new password is accepted, the old one refused",
                format_duration(waited)
            ),
            Kind::Database => format!(
                "Verify: Kestra ready after {} on the new Postgres password; the API accepts the credentials",
                format_duration(waited)
            ),
        },
    );
    way.commit(&new, undo, report).await?;
    done(
        Step::Commit,
        report,
        &format!(
            "Commit: the keyring entry `{}` holds the new password",
            way.entry
        ),
    );
    Ok(())
}

/// One rotation on its way forward: what every step needs to know.
struct Forward<'a, 'b> {
    t: &'a Target<'b>,
    kind: Kind,
    running: &'a Running,
    /// The keyring entry of the rotated credential, and its pending twin.
    entry: String,
    pending: String,
    /// The rotated credential as it runs now.
    old: Secret,
}

impl<'a, 'b> Forward<'a, 'b> {
    fn new(t: &'a Target<'b>, kind: Kind, running: &'a Running) -> Self {
        let entry = t.entry(kind).to_string();
        let pending = pending_entry(&entry);
        let old = match kind {
            Kind::BasicAuth => running.basic.clone(),
            Kind::Database => running.db.clone(),
        };
        Forward {
            t,
            kind,
            running,
            entry,
            pending,
            old,
        }
    }

    /// The Basic Auth and Postgres passwords Kestra runs with once `new` replaces the rotated one.
    fn passwords<'s>(&'s self, new: &'s Secret) -> (&'s Secret, &'s Secret) {
        match self.kind {
            Kind::BasicAuth => (new, &self.running.db),
            Kind::Database => (&self.running.basic, new),
        }
    }

    /// The keyring's current entry must be the running credential before anything else; then the
    /// new one goes in as pending. Returns the new password.
    async fn stage(&self, undo: &mut Undo, report: &mut Report) -> StepResult<Secret> {
        let (t, entry, pending) = (self.t, &self.entry, &self.pending);
        t.progress
            .step("stage: storing the new password as pending");
        let current = t.keyring.get(entry).await.map_err(at(Step::Stage))?;
        if current.as_ref() != Some(&self.old) {
            t.keyring
                .set(entry, &self.old)
                .await
                .map_err(at(Step::Stage))?;
            report.notes.push(format!(
                "the keyring entry `{entry}` {} the running password; it does now",
                if current.is_some() {
                    "did not hold"
                } else {
                    "was missing, not holding"
                }
            ));
        }
        if t.keyring
            .get(pending)
            .await
            .map_err(at(Step::Stage))?
            .is_some()
        {
            report.notes.push(format!(
                "removed a pending entry left by an interrupted rotation (`{pending}`); the running \
                 password was verified, so it was not in use"
            ));
        }
        let new = generate_password(PASSWORD_LENGTH);
        undo.pending_staged = true;
        driver::store(t.keyring, pending, &new, Step::Stage).await?;
        Ok(new)
    }

    async fn alter_role(&self, new: &Secret, undo: &mut Undo) -> StepResult<()> {
        self.t
            .progress
            .step("alter-role: changing the Postgres role's password");
        undo.role_altered = true;
        alter_role(self.t, new).await.map_err(at(Step::AlterRole))?;
        injected(Step::AlterRole).map_err(at(Step::AlterRole))
    }

    /// Writes Kestra's config with the new password, after a snapshot of the files for a rollback.
    fn render(&self, new: &Secret, undo: &mut Undo) -> StepResult<spec::MountedFiles> {
        let t = self.t;
        t.progress.step("render: writing Kestra's config");
        let dir = &t.stack.secrets_dir;
        undo.files = Some(files::snapshot(dir).map_err(at(Step::Render))?);
        let (basic, db) = self.passwords(new);
        let config = kestra_config::render_for_stack(t.stack, t.username, basic, db)
            .map_err(|e| (Step::Render, Error::from(e)))?;
        // The Postgres password file keeps its content (and revision) until the commit: Postgres
        // itself is not recreated.
        let file_db = files::read_db_password(dir).unwrap_or_else(|| self.running.db.clone());
        let check = kestra_config::render_health_check(t.username, basic);
        let mounted = files::write(dir, &config, &check, &file_db).map_err(at(Step::Render))?;
        injected(Step::Render).map_err(at(Step::Render))?;
        Ok(mounted)
    }

    /// Sets the running Kestra container aside (stopped and renamed, for a rollback) and starts
    /// a new one on the rendered files; Postgres is not touched.
    async fn recreate(
        &self,
        mounted: &spec::MountedFiles,
        undo: &mut Undo,
        report: &mut Report,
    ) -> StepResult<()> {
        let t = self.t;
        t.progress
            .step(&format!("recreate: replacing the {} container", t.kestra()));
        let kestra_spec = self.kestra_spec(mounted).await?;
        let backup = t.backup_name();
        if t.engine
            .inspect(&backup)
            .await
            .map_err(at(Step::Recreate))?
            .is_some()
        {
            // Left by an interrupted rotation; the running container was verified in preflight.
            t.engine.remove(&backup).await.map_err(at(Step::Recreate))?;
            report
                .notes
                .push(format!("removed {backup}, left by an interrupted rotation"));
        }
        undo.stopped = true;
        t.engine
            .stop(t.kestra(), Duration::from_secs(30))
            .await
            .map_err(at(Step::Recreate))?;
        t.engine
            .rename(t.kestra(), &backup)
            .await
            .map_err(at(Step::Recreate))?;
        undo.renamed = true;
        t.engine
            .create(&kestra_spec)
            .await
            .map_err(at(Step::Recreate))?;
        undo.new_created = true;
        t.engine
            .start(t.kestra())
            .await
            .map_err(at(Step::Recreate))?;
        injected(Step::Recreate).map_err(at(Step::Recreate))
    }

    /// The Kestra container as `start` would create it on these files, on the image it runs now.
    async fn kestra_spec(&self, mounted: &spec::MountedFiles) -> StepResult<spec::ContainerSpec> {
        let t = self.t;
        // The same image IDs as `start` uses, so the next `start` finds the spec unchanged.
        let images = spec::ImageIds {
            postgres: t
                .engine
                .image_id(&t.stack.postgres_image.value)
                .await
                .map_err(at(Step::Recreate))?,
            kestra: t
                .engine
                .image_id(&t.stack.kestra_image.value)
                .await
                .map_err(at(Step::Recreate))?,
        };
        // A rotation must not double as an upgrade: if the tag now names another image than the
        // one running (a newer `latest` was pulled), recreating would switch Kestra's version.
        let running_image = t
            .engine
            .inspect(t.kestra())
            .await
            .map_err(at(Step::Recreate))?
            .and_then(|c| c.image)
            .unwrap_or_default();
        if !running_image.is_empty() && !images.kestra.is_empty() && running_image != images.kestra
        {
            return Err((
                Step::Recreate,
                Error::settings(
                    format!(
                        "{} now names another image than the one Kestra runs; rotating would also upgrade Kestra",
                        t.stack.kestra_image.value
                    ),
                    "apply the new image first with `kestractl start` (or pin KESTRA_IMAGE to the running version), then rotate",
                ),
            ));
        }
        let desired = spec::desired(
            t.stack,
            mounted,
            t.engine.local_socket().as_deref(),
            &images,
        );
        desired.kestra.ok_or_else(|| {
            (
                Step::Recreate,
                Error::settings(
                    "this stack runs Postgres only",
                    "unset SKIP_KESTRA_AUTO_START",
                ),
            )
        })
    }

    /// Waits for the new container; a Basic Auth rotation must also see the old password refused.
    async fn verify(&self, new: &Secret) -> StepResult<Duration> {
        let t = self.t;
        t.progress.step("verify: waiting for Kestra");
        let (basic, _) = self.passwords(new);
        let waited = t.wait_ready(basic).await.map_err(at(Step::Verify))?;
        if self.kind == Kind::BasicAuth {
            match t.check(&self.old).await.map_err(at(Step::Verify))? {
                CredentialCheck::Refused => {}
                other => {
                    return Err((
                        Step::Verify,
                        Error::auth(
                            format!(
                                "Kestra still accepts the old password ({other:?}) after the change"
                            ),
                            "Kestra may be managing Basic Auth itself rather than from its config \
                             file; check `kestractl server info`",
                        ),
                    ));
                }
            }
        }
        injected(Step::Verify).map_err(at(Step::Verify))?;
        Ok(waited)
    }

    /// Pending becomes current. Past this point the rotation is done; what is left is tidying,
    /// reported but not undone.
    async fn commit(&self, new: &Secret, undo: &mut Undo, report: &mut Report) -> StepResult<()> {
        let t = self.t;
        t.progress.step("commit: updating the keyring");
        undo.committed = true;
        driver::store(t.keyring, &self.entry, new, Step::Commit).await?;
        if let Err(e) = t.keyring.delete(&self.pending).await {
            report.notes.push(format!(
                "could not remove the pending entry `{}`: {e}",
                self.pending
            ));
        }
        if self.kind == Kind::Database
            && let Err(e) = files::replace_db_password(&t.stack.secrets_dir, new)
        {
            report.notes.push(format!(
                "could not update the Postgres password file (the next `kestractl start` rewrites it): {e}"
            ));
        }
        let backup = t.backup_name();
        if let Err(e) = t.engine.remove(&backup).await {
            report.notes.push(format!(
                "could not remove the set-aside container {backup}: {e}"
            ));
        }
        Ok(())
    }
}

/// `ALTER ROLE` inside the Postgres container, as its superuser over the local socket; the SCRAM
/// verifier goes through stdin.
async fn alter_role(t: &Target<'_>, password: &Secret) -> Result<()> {
    let role = crate::stack::sql::quote_ident(&t.stack.db_user.value);
    let verifier = scram::verifier(password);
    let sql = Secret::new(format!(
        "ALTER ROLE {role} PASSWORD '{}';\n\\q\n",
        verifier.expose()
    ));
    crate::stack::sql::psql(
        t.engine,
        &t.stack.postgres_container,
        &t.stack.db_user.value,
        &t.stack.db_name.value,
        sql.expose().as_bytes(),
        Duration::from_secs(30),
    )
    .await?;
    Ok(())
}

/// Undoes what `forward` did, in reverse; returns what could not be undone.
async fn rollback(
    t: &Target<'_>,
    kind: Kind,
    running: &Running,
    undo: &Undo,
) -> std::result::Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let entry = t.entry(kind).to_string();
    let backup = t.backup_name();
    if undo.new_created
        && let Err(e) = t.engine.remove(t.kestra()).await
    {
        problems.push(format!("removing the new container: {e}"));
    }
    if let Some(snapshot) = &undo.files
        && let Err(e) = files::restore(snapshot)
    {
        problems.push(format!("restoring the config files: {e}"));
    }
    if undo.role_altered
        && let Err(e) = alter_role(t, &running.db).await
    {
        problems.push(format!("setting the Postgres password back: {e}"));
    }
    if undo.renamed
        && let Err(e) = t.engine.rename(&backup, t.kestra()).await
    {
        problems.push(format!("renaming {backup} back: {e}"));
    }
    if undo.stopped {
        match t.engine.start(t.kestra()).await {
            Err(e) => problems.push(format!("starting the previous container: {e}")),
            Ok(()) => {
                if let Err(e) = t.wait_ready(&running.basic).await {
                    problems.push(format!(
                        "the previous container did not come back with the old credentials: {e}"
                    ));
                }
            }
        }
    }
    // The keyring follows what runs: the old credential as current, no pending.
    let old = match kind {
        Kind::BasicAuth => running.basic.clone(),
        Kind::Database => running.db.clone(),
    };
    if undo.committed
        && let Err(e) = t.keyring.set(&entry, &old).await
    {
        problems.push(format!(
            "putting the previous password back in the keyring: {e}"
        ));
    }
    if undo.pending_staged
        && let Err(e) = t.keyring.delete(&pending_entry(&entry)).await
    {
        problems.push(format!("removing the pending keyring entry: {e}"));
    }
    if problems.is_empty() {
        t.progress
            .done("Rolled back; the previous credentials work again");
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_name_every_step_once_in_order() {
        let basic: Vec<Step> = plan(Kind::BasicAuth).into_iter().map(|(s, _)| s).collect();
        assert_eq!(
            basic,
            [
                Step::Preflight,
                Step::Stage,
                Step::Render,
                Step::Recreate,
                Step::Verify,
                Step::Commit
            ]
        );
        let db: Vec<Step> = plan(Kind::Database).into_iter().map(|(s, _)| s).collect();
        assert_eq!(db[2], Step::AlterRole);
        assert_eq!(db.len(), 7);
    }
}
