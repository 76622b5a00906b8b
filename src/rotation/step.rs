//! The steps a rotation goes through, named for the operator and the report, and the clock
//! that ends each one (shared by the driver and both rotations: the local stack's and the
//! API's).

use std::fmt;
use std::time::Instant;

use serde::Serialize;

use crate::output::progress::Progress;

/// Length of a generated password.
pub const PASSWORD_LENGTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Preflight,
    Stage,
    AlterRole,
    Render,
    Recreate,
    /// API-managed servers only: the credential changed through `POST .../basicAuth`.
    Apply,
    Verify,
    Commit,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::Stage => "stage",
            Step::AlterRole => "alter-role",
            Step::Render => "render",
            Step::Recreate => "recreate",
            Step::Apply => "apply",
            Step::Verify => "verify",
            Step::Commit => "commit",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub step: Step,
    pub ms: u128,
}

/// Ends the steps of a rotation one by one: prints each and records how long it took.
pub struct StepClock<'a> {
    progress: &'a Progress,
    mark: Instant,
}

impl<'a> StepClock<'a> {
    pub fn new(progress: &'a Progress) -> Self {
        StepClock {
            progress,
            mark: Instant::now(),
        }
    }

    pub fn done(&mut self, steps: &mut Vec<StepReport>, step: Step, message: &str) {
        self.progress.done(message);
        steps.push(StepReport {
            step,
            ms: self.mark.elapsed().as_millis(),
        });
        self.mark = Instant::now();
    }
}
