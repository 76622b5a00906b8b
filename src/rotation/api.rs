//! Basic Auth rotation for a server kestractl does not run, whose credential was set up through
//! its UI or API.
//!
//! Kestra keeps one credential and replaces it at once, so this is a cutover with rollback, like
//! the managed stack's rotation: stage the new password in the keyring as *pending*, change it on
//! the server (`POST /api/v1/{tenant}/basicAuth` with the current password), prove the new one is
//! accepted and the old one refused, then commit (pending → current). A failure after the server
//! changed puts the old password back the same way (the new one is then the current password),
//! so at every moment exactly one password works and the keyring holds it.
//!
//! A server whose credential comes from its config file re-applies it at every start: a change
//! through the API would be undone at the next restart (current servers refuse it; older ones
//! accept it). So the rotation runs only when the server says `isBasicAuthManagedByConfig: false`.

use serde::Serialize;

use super::driver::{self, StepResult, at, injected, retry_hint};
use super::step::{PASSWORD_LENGTH, Step, StepClock, StepReport};
use crate::credentials::store::{Keyring, pending_entry};
use crate::error::{Error, Result};
use crate::kestra::{ApiError, ClientConfig, CredentialCheck, KestraClient};
use crate::output::progress::Progress;
use crate::secret::Secret;
use crate::secret::generate::generate_password;

/// What the rotation works on: the server and user of the command, and its keyring entry.
pub struct ApiTarget<'a> {
    /// The command's client settings; the password is replaced per call.
    pub client: ClientConfig,
    pub keyring: &'a Keyring,
    pub entry: String,
    pub progress: &'a Progress,
}

/// The steps and what each does (`--dry-run`).
pub fn plan() -> Vec<(Step, &'static str)> {
    vec![
        (
            Step::Preflight,
            "check the server: the keyring's password is accepted, and the server says its \
             credential was set up through the UI or API, not its config file",
        ),
        (
            Step::Stage,
            "generate a 32-character password and store it in the keyring as pending",
        ),
        (
            Step::Apply,
            "POST /api/v1/{tenant}/basicAuth with the new password and the current one (the \
             username stays)",
        ),
        (
            Step::Verify,
            "the new password must be accepted and the old one refused",
        ),
        (Step::Commit, "keyring: pending becomes current"),
    ]
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiReport {
    pub server: String,
    pub username: String,
    pub entry: String,
    pub steps: Vec<StepReport>,
    pub elapsed_ms: u128,
}

impl ApiTarget<'_> {
    fn client(&self, password: &Secret) -> Result<KestraClient> {
        KestraClient::new(ClientConfig {
            password: Some(password.clone()),
            ..self.client.clone()
        })
    }

    fn server(&self) -> String {
        crate::settings::display_url(&self.client.server)
    }

    async fn check(&self, password: &Secret) -> Result<CredentialCheck> {
        Ok(self.client(password)?.check_credentials().await?)
    }

    async fn accepted(&self, password: &Secret) -> bool {
        matches!(
            self.check(password).await,
            Ok(CredentialCheck::Valid | CredentialCheck::ValidForbidden)
        )
    }
}

fn refuse(message: String, hint: impl Into<String>) -> Error {
    Error::rotation(message, hint.into())
}

/// Read-only checks; returns the current password (the keyring's, proved on the server).
pub async fn preflight(t: &ApiTarget<'_>) -> Result<Secret> {
    let server = t.server();
    let Some(current) = t.keyring.get(&t.entry).await? else {
        return Err(refuse(
            format!(
                "the keyring has no password for `{}`, and the rotation keeps the new one there",
                t.entry
            ),
            "store the current one with `kestractl auth login` first; nothing was changed",
        ));
    };
    match t.check(&current).await {
        Ok(CredentialCheck::Valid | CredentialCheck::ValidForbidden) => {}
        Ok(_) => {
            return Err(refuse(
                format!(
                    "{server} refuses the keyring's password for {}",
                    t.client.username
                ),
                "store the right one with `kestractl auth login`, then rotate; nothing was changed",
            ));
        }
        Err(e) => {
            return Err(refuse(
                format!("cannot check the credentials on {server} before rotating: {e}"),
                "retry once the server answers; nothing was changed",
            ));
        }
    }
    let config = t.client(&current)?.configuration().await?;
    let version = config.version.as_deref().unwrap_or("unknown version");
    match config.is_basic_auth_managed_by_config {
        Some(false) => Ok(current),
        Some(true) => Err(refuse(
            format!(
                "the credential of {server} is set in its configuration file \
                 (kestra.server.basic-auth), which Kestra applies again at every start, so the API \
                 cannot change it"
            ),
            "change kestra.server.basic-auth.password in that server's configuration and restart \
             it, then `kestractl auth login`; for the stack kestractl runs, run `kestractl auth \
             rotate` in its directory against its local URL. Nothing was changed",
        )),
        None => Err(refuse(
            format!(
                "{server} (Kestra {version}) does not say whether its credential comes from its \
                 configuration file; if it does, a change through the API would be undone at the \
                 server's next restart"
            ),
            "change the password in the server's UI (user menu) or its configuration, then \
             `kestractl auth login`; newer Kestra versions report it. Nothing was changed",
        )),
    }
}

/// Runs the rotation to the end, or rolls it back.
pub async fn rotate(t: &ApiTarget<'_>) -> Result<ApiReport> {
    driver::run(t).await
}

/// What the preflight hands the steps: the password the server takes now, and its successor.
pub struct Passwords {
    current: Secret,
    new: Secret,
}

impl driver::Rotation for ApiTarget<'_> {
    type Before = Passwords;
    /// Whether the server already holds the new password.
    type Done = bool;
    type Report = ApiReport;

    fn progress(&self) -> &Progress {
        self.progress
    }

    fn preflight_line(&self) -> &'static str {
        "preflight: checking the server"
    }

    async fn preflight(&self) -> Result<Passwords> {
        let current = preflight(self).await?;
        Ok(Passwords {
            current,
            new: generate_password(PASSWORD_LENGTH),
        })
    }

    fn report(&self, preflight_ms: u128) -> ApiReport {
        ApiReport {
            server: self.server(),
            username: self.client.username.clone(),
            entry: self.entry.clone(),
            steps: vec![StepReport {
                step: Step::Preflight,
                ms: preflight_ms,
            }],
            elapsed_ms: 0,
        }
    }

    async fn forward(
        &self,
        p: &Passwords,
        server_changed: &mut bool,
        report: &mut ApiReport,
    ) -> StepResult<()> {
        forward(self, &p.current, &p.new, server_changed, report).await
    }

    async fn rollback(
        &self,
        p: &Passwords,
        server_changed: &bool,
    ) -> std::result::Result<(), String> {
        rollback(self, &p.current, &p.new, *server_changed).await
    }

    fn finished(&self, report: &mut ApiReport, elapsed_ms: u128) {
        report.elapsed_ms = elapsed_ms;
    }

    fn rolled_back(&self, report: &ApiReport, step: Step, cause: &Error) -> Error {
        refuse(
            format!(
                "rotating the Basic Auth password of {} failed at step `{step}`: {cause}\nrolled \
                 back: {} accepts the previous password (verified), the keyring entry `{}` holds \
                 it, and the pending entry is gone",
                self.client.username, report.server, self.entry
            ),
            retry_hint(cause),
        )
    }

    fn stuck(&self, step: Step, cause: &Error, problem: &str) -> Error {
        refuse(
            format!(
                "rotating the Basic Auth password of {} failed at step `{step}`: {cause}\nand the \
                 rollback did not complete: {problem}",
                self.client.username
            ),
            format!(
                "the keyring keeps both passwords: the previous one in `{0}`, the new one in \
                 `{0}#pending`; `kestractl auth status` says whether the previous one works; if \
                 not, the new one does (log in to the UI with it and set one)",
                self.entry
            ),
        )
    }
}

async fn forward(
    t: &ApiTarget<'_>,
    current: &Secret,
    new: &Secret,
    server_changed: &mut bool,
    report: &mut ApiReport,
) -> StepResult<()> {
    let pending = pending_entry(&t.entry);
    let mut clock = StepClock::new(t.progress);
    let mut done = |step: Step, report: &mut ApiReport, message: &str| {
        clock.done(&mut report.steps, step, message);
    };

    t.progress
        .step("stage: storing the new password as pending");
    driver::store(t.keyring, &pending, new, Step::Stage).await?;
    done(
        Step::Stage,
        report,
        "Stage: new password generated and stored as pending",
    );

    t.progress
        .step("apply: changing the password on the server");
    let client = t.client(current).map_err(at(Step::Apply))?;
    match client
        .basic_auth()
        .change(&t.client.username, new, current)
        .await
    {
        Ok(()) => *server_changed = true,
        // The server answered and refused: it changed nothing.
        Err(e @ ApiError::Status { .. }) => return Err((Step::Apply, e.into())),
        // The answer was lost: whether the change happened is learned from which password works.
        Err(e) => {
            if t.accepted(new).await {
                *server_changed = true;
            } else {
                return Err((Step::Apply, e.into()));
            }
        }
    }
    injected(Step::Apply).map_err(at(Step::Apply))?;
    done(
        Step::Apply,
        report,
        "Apply: the server has the new password",
    );

    t.progress
        .step("verify: new password accepted, old one refused");
    let new_check = t.check(new).await.map_err(at(Step::Verify))?;
    let old_check = t.check(current).await.map_err(at(Step::Verify))?;
    if !matches!(
        new_check,
        CredentialCheck::Valid | CredentialCheck::ValidForbidden
    ) || old_check != CredentialCheck::Refused
    {
        return Err((
            Step::Verify,
            Error::from(anyhow::anyhow!(
                "after the change the new password is {} and the old one {}",
                describe(new_check),
                describe(old_check)
            )),
        ));
    }
    injected(Step::Verify).map_err(at(Step::Verify))?;
    done(
        Step::Verify,
        report,
        "Verify: new password accepted, old one refused",
    );

    t.progress.step("commit: pending becomes current");
    t.keyring
        .set(&t.entry, new)
        .await
        .map_err(at(Step::Commit))?;
    // The entry now holds the new password: a rollback from here would break what works.
    *server_changed = false;
    if let Err(e) = t.keyring.delete(&pending).await {
        tracing::debug!("pending entry left after commit: {e}");
    }
    done(
        Step::Commit,
        report,
        "Commit: the keyring holds the new password",
    );
    Ok(())
}

fn describe(c: CredentialCheck) -> &'static str {
    match c {
        CredentialCheck::Valid | CredentialCheck::ValidForbidden => "accepted",
        CredentialCheck::Refused => "refused",
        CredentialCheck::Missing => "missing",
    }
}

/// Puts the previous password back on the server when it was changed, proves it works, and
/// drops the pending entry. Fails (keeping the pending entry) when the previous password cannot
/// be proved to work.
async fn rollback(
    t: &ApiTarget<'_>,
    previous: &Secret,
    new: &Secret,
    server_changed: bool,
) -> std::result::Result<(), String> {
    if server_changed {
        let client = t.client(new).map_err(|e| e.to_string())?;
        if let Err(e) = client
            .basic_auth()
            .change(&t.client.username, previous, new)
            .await
            && !t.accepted(previous).await
        {
            return Err(format!(
                "putting the previous password back failed: {}",
                Error::from(e)
            ));
        }
    }
    if !t.accepted(previous).await {
        return Err(format!(
            "{} does not accept the previous password after the rollback",
            t.server()
        ));
    }
    t.keyring
        .set(&t.entry, previous)
        .await
        .map_err(|e| e.to_string())?;
    t.keyring
        .delete(&pending_entry(&t.entry))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
