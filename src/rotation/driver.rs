//! The staged sequence every rotation runs: preflight (nothing changed yet), then the forward
//! steps (stage, apply, verify, commit), each recording what it did; on a failure, a rollback that
//! undoes exactly that and proves the previous credential works again. The local stack's rotation
//! and the API's are two [`Rotation`]s driven by [`run`].

use std::time::Instant;

use super::step::Step;
use crate::credentials::store::Keyring;
use crate::error::{Error, Result};
use crate::output::progress::Progress;
use crate::secret::Secret;

/// A forward step's failure: the step it failed at and why.
pub type StepResult<T> = std::result::Result<T, (Step, Error)>;

/// Tags an error with the step it happened at.
pub fn at(step: Step) -> impl FnOnce(Error) -> (Step, Error) {
    move |e| (step, e)
}

/// A failure injected by tests after `step` (debug builds only).
pub fn injected(step: Step) -> Result<()> {
    #[cfg(debug_assertions)]
    if std::env::var("KESTRACTL_ROTATE_FAIL_AT").ok().as_deref() == Some(step.name()) {
        return Err(Error::from(anyhow::anyhow!(
            "failure injected after step {step} (KESTRACTL_ROTATE_FAIL_AT)"
        )));
    }
    let _ = step;
    Ok(())
}

/// A keyring write that is one of the steps (staging the pending entry, committing the new
/// password): a failure, or one injected by a test, is that step's.
pub async fn store(keyring: &Keyring, entry: &str, secret: &Secret, step: Step) -> StepResult<()> {
    keyring.set(entry, secret).await.map_err(at(step))?;
    injected(step).map_err(at(step))
}

/// One kind of rotation, as the driver sees it.
pub trait Rotation {
    /// What the preflight learned, which the steps and the rollback need.
    type Before;
    /// What the forward steps have done so far (nothing, by default).
    type Done: Default;
    /// What the operator is told on success.
    type Report;

    fn progress(&self) -> &Progress;
    /// The progress line shown while the preflight runs.
    fn preflight_line(&self) -> &'static str;
    /// Checks everything the rotation needs, changing nothing.
    async fn preflight(&self) -> Result<Self::Before>;
    /// The report as it stands once the preflight took `preflight_ms`.
    fn report(&self, preflight_ms: u128) -> Self::Report;
    /// Stage, apply, verify, commit; records what it did in `done`.
    async fn forward(
        &self,
        before: &Self::Before,
        done: &mut Self::Done,
        report: &mut Self::Report,
    ) -> StepResult<()>;
    /// Undoes what `done` says, in reverse; says what could not be undone.
    async fn rollback(
        &self,
        before: &Self::Before,
        done: &Self::Done,
    ) -> std::result::Result<(), String>;
    fn finished(&self, report: &mut Self::Report, elapsed_ms: u128);
    /// The error after a complete rollback: what failed, and that the previous credential works.
    fn rolled_back(&self, report: &Self::Report, step: Step, cause: &Error) -> Error;
    /// The error when the rollback could not complete either: what is left and how to repair it.
    fn stuck(&self, step: Step, cause: &Error, problem: &str) -> Error;
}

/// Runs a rotation to the end, or rolls it back.
pub async fn run<R: Rotation>(rotation: &R) -> Result<R::Report> {
    let started = Instant::now();
    rotation.progress().step(rotation.preflight_line());
    let before = rotation.preflight().await?;
    let mut report = rotation.report(started.elapsed().as_millis());
    let mut done = R::Done::default();
    match rotation.forward(&before, &mut done, &mut report).await {
        Ok(()) => {
            rotation.finished(&mut report, started.elapsed().as_millis());
            Ok(report)
        }
        Err((step, cause)) => {
            rotation
                .progress()
                .step(&format!("step {step} failed; rolling back"));
            match rotation.rollback(&before, &done).await {
                Ok(()) => Err(rotation.rolled_back(&report, step, &cause)),
                Err(problem) => Err(rotation.stuck(step, &cause, &problem)),
            }
        }
    }
}

/// What to do after a rolled-back rotation: fix the cause (the error's own hint, when it has one)
/// and run it again.
pub fn retry_hint(cause: &Error) -> String {
    cause.hint().map_or_else(
        || "fix the cause, then run `kestractl auth rotate` again".to_string(),
        |h| format!("{h}; then run `kestractl auth rotate` again"),
    )
}
