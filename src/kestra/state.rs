//! An execution's or task run's state, Kestra's `State.Type`. Typed so the callers match on
//! variants rather than on spellings a typo would silently miss; `Other` keeps a state a newer
//! Kestra adds, so an unknown state is shown as the server sent it and is never an error.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One of Kestra's execution (and task run) states. On the wire (and in kestractl's JSON output)
/// it is the exact upper-case name, both ways.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExecutionState {
    Created,
    Submitted,
    Running,
    Paused,
    Restarted,
    Killing,
    Success,
    Warning,
    Failed,
    Killed,
    Cancelled,
    Queued,
    Retrying,
    Retried,
    Skipped,
    Breakpoint,
    Resubmitted,
    /// A state kestractl does not know, as the server spelled it. Never holds a known spelling
    /// when read with [`ExecutionState::from_wire`] or from JSON.
    Other(String),
}

impl ExecutionState {
    /// Every state Kestra 1.3 and 2.0 know, in the order `--state`'s error message and
    /// completion list them.
    pub const KNOWN: [ExecutionState; 17] = [
        Self::Created,
        Self::Submitted,
        Self::Running,
        Self::Paused,
        Self::Restarted,
        Self::Killing,
        Self::Success,
        Self::Warning,
        Self::Failed,
        Self::Killed,
        Self::Cancelled,
        Self::Queued,
        Self::Retrying,
        Self::Retried,
        Self::Skipped,
        Self::Breakpoint,
        Self::Resubmitted,
    ];

    /// The name as Kestra spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Created => "CREATED",
            Self::Submitted => "SUBMITTED",
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Restarted => "RESTARTED",
            Self::Killing => "KILLING",
            Self::Success => "SUCCESS",
            Self::Warning => "WARNING",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
            Self::Cancelled => "CANCELLED",
            Self::Queued => "QUEUED",
            Self::Retrying => "RETRYING",
            Self::Retried => "RETRIED",
            Self::Skipped => "SKIPPED",
            Self::Breakpoint => "BREAKPOINT",
            Self::Resubmitted => "RESUBMITTED",
            Self::Other(s) => s,
        }
    }

    /// A state as the server sent it: the exact spelling, anything else kept as `Other`. Not
    /// lenient on purpose (unlike [`FromStr`], which reads what a user types), so what is shown
    /// and written back out is byte for byte what the server said.
    pub fn from_wire(text: &str) -> Self {
        Self::known(text).unwrap_or_else(|| Self::Other(text.to_string()))
    }

    fn known(text: &str) -> Option<Self> {
        Self::KNOWN.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether an execution in this state no longer changes. An unknown state is taken as still
    /// running: following it goes on rather than stopping at a state kestractl cannot judge.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Success
                | Self::Warning
                | Self::Failed
                | Self::Killed
                | Self::Cancelled
                | Self::Retried
                | Self::Skipped
        )
    }

    /// A task run that failed or was killed: the ones whose error lines are shown after an
    /// unsuccessful end.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed | Self::Killed)
    }
}

/// A payload without a state (the models are tolerant: every field may be missing) reads as an
/// empty one, shown as nothing and never ended, as the string this type replaced was.
impl Default for ExecutionState {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

impl fmt::Display for ExecutionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with a spelling, as Kestra writes it (so a list of states reads against a list of
/// names in tests and filters).
impl PartialEq<str> for ExecutionState {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ExecutionState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A text that names no execution state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAState;

impl fmt::Display for NotAState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an execution state")
    }
}

impl std::error::Error for NotAState {}

/// A state as a user types it (`--state failed`): any case, spaces around it, and the American
/// `CANCELED` for `CANCELLED`. Only known states: a filter on a state Kestra does not have is a
/// typo, not a newer state.
impl FromStr for ExecutionState {
    type Err = NotAState;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        let name = if upper == "CANCELED" {
            "CANCELLED"
        } else {
            &upper
        };
        Self::known(name).ok_or(NotAState)
    }
}

impl Serialize for ExecutionState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ExecutionState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // The unknown state keeps the string already read rather than copying it.
        Ok(Self::known(&text).unwrap_or(Self::Other(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 17] = [
        "CREATED",
        "SUBMITTED",
        "RUNNING",
        "PAUSED",
        "RESTARTED",
        "KILLING",
        "SUCCESS",
        "WARNING",
        "FAILED",
        "KILLED",
        "CANCELLED",
        "QUEUED",
        "RETRYING",
        "RETRIED",
        "SKIPPED",
        "BREAKPOINT",
        "RESUBMITTED",
    ];

    #[test]
    fn every_known_state_round_trips_with_its_exact_spelling() {
        assert_eq!(ExecutionState::KNOWN.map(|s| s.to_string()), NAMES);
        for name in NAMES {
            let json = format!("\"{name}\"");
            let state: ExecutionState = serde_json::from_str(&json).unwrap();
            assert!(!matches!(state, ExecutionState::Other(_)), "{name}");
            assert_eq!(state.as_str(), name);
            assert_eq!(state.to_string(), name);
            assert_eq!(serde_json::to_string(&state).unwrap(), json);
            assert_eq!(ExecutionState::from_wire(name), state);
            assert_eq!(name.parse::<ExecutionState>(), Ok(state));
        }
    }

    #[test]
    fn an_unknown_state_is_kept_as_sent() {
        let state: ExecutionState = serde_json::from_str("\"HIBERNATING\"").unwrap();
        assert_eq!(state, ExecutionState::Other("HIBERNATING".into()));
        assert_eq!(state.to_string(), "HIBERNATING");
        assert_eq!(serde_json::to_string(&state).unwrap(), "\"HIBERNATING\"");
        assert!(!state.is_terminal());
        assert!(!state.is_failure());
        // The wire is read exactly: a spelling off by case is not taken for a known state.
        assert_eq!(
            ExecutionState::from_wire("failed"),
            ExecutionState::Other("failed".into())
        );
        assert_eq!(
            ExecutionState::from_wire("CANCELED"),
            ExecutionState::Other("CANCELED".into())
        );
    }

    #[test]
    fn a_missing_state_is_empty_and_running() {
        let state = ExecutionState::default();
        assert_eq!(state.to_string(), "");
        assert!(!state.is_terminal());
    }

    #[test]
    fn terminal_and_failure_sets() {
        let names = |f: fn(&ExecutionState) -> bool| -> Vec<&str> {
            ExecutionState::KNOWN
                .iter()
                .filter(|s| f(s))
                .map(ExecutionState::as_str)
                .collect()
        };
        assert_eq!(
            names(ExecutionState::is_terminal),
            [
                "SUCCESS",
                "WARNING",
                "FAILED",
                "KILLED",
                "CANCELLED",
                "RETRIED",
                "SKIPPED"
            ]
        );
        assert_eq!(names(ExecutionState::is_failure), ["FAILED", "KILLED"]);
    }

    #[test]
    fn what_a_user_types_is_read_leniently_but_only_known_states() {
        assert_eq!(" failed ".parse(), Ok(ExecutionState::Failed));
        assert_eq!("Warning".parse(), Ok(ExecutionState::Warning));
        assert_eq!("canceled".parse(), Ok(ExecutionState::Cancelled));
        assert_eq!("cancelled".parse(), Ok(ExecutionState::Cancelled));
        assert_eq!("DONE".parse::<ExecutionState>(), Err(NotAState));
        assert_eq!("".parse::<ExecutionState>(), Err(NotAState));
    }
}
