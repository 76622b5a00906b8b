//! Fault and timing knobs for tests: they bend the emulator's behaviour in ways a real Kestra
//! shows under load or during start-up (503s, slow answers, long executions, late readiness).

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A forced terminal state for simulated executions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Success,
    Warning,
    Failed,
}

impl Outcome {
    pub fn state(self) -> &'static str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Warning => "WARNING",
            Outcome::Failed => "FAILED",
        }
    }
}

impl FromStr for Outcome {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "SUCCESS" => Ok(Outcome::Success),
            "WARNING" => Ok(Outcome::Warning),
            "FAILED" => Ok(Outcome::Failed),
            other => {
                anyhow::bail!("execution outcome must be SUCCESS, WARNING or FAILED, not {other:?}")
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Knobs {
    /// The next N requests to the API port are answered 503 (in the version's error shape).
    pub fail_first: u32,
    /// Added before answering every API-port request.
    pub latency: Duration,
    /// Total simulated run time of an execution, spread over its tasks.
    pub execution_duration: Duration,
    /// Force every new execution to end in this state; `None` derives it from the flow.
    pub execution_outcome: Option<Outcome>,
    /// Executions generated at start-up (only read at start).
    pub seed_executions: u32,
    /// `/health` reports DOWN (503) until this long after start.
    pub ready_delay: Duration,
    /// A follow stream (SSE) with no event for this long is ended with an error, as Kestra's
    /// `Flux.timeout(Duration.ofHours(1))` ends it; `None` is Kestra's hour.
    pub sse_idle_timeout: Option<Duration>,
    /// Refuse Basic Auth passwords shorter than this (Kestra: 8): a stand-in for a Kestra whose
    /// rule is stricter than the released ones, which starts with no credential when its
    /// configuration's is refused. Read at start only.
    pub password_min_length: Option<usize>,
}

/// Kestra's between-event timeout on its follow streams (1.3.25 `ExecutionController` and
/// `LogController`: `.timeout(Duration.ofHours(1))`).
pub const KESTRA_SSE_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// JSON view of the knobs for `GET/POST /emulator/knobs`; every field optional on POST.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnobsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "fail_first")]
    pub fail_first: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "latency_ms")]
    pub latency_ms: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "execution_duration_ms"
    )]
    pub execution_duration_ms: Option<u64>,
    /// `null` clears a forced outcome; absent leaves it unchanged.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "execution_outcome",
        with = "double_option"
    )]
    pub execution_outcome: Option<Option<Outcome>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "seed_executions"
    )]
    pub seed_executions: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "ready_delay_ms"
    )]
    pub ready_delay_ms: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "sse_idle_timeout_ms"
    )]
    pub sse_idle_timeout_ms: Option<u64>,
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Knobs {
    pub fn to_patch(&self) -> KnobsPatch {
        KnobsPatch {
            fail_first: Some(self.fail_first),
            latency_ms: Some(ms(self.latency)),
            execution_duration_ms: Some(ms(self.execution_duration)),
            execution_outcome: Some(self.execution_outcome),
            seed_executions: Some(self.seed_executions),
            ready_delay_ms: Some(ms(self.ready_delay)),
            sse_idle_timeout_ms: Some(ms(self.sse_idle_timeout.unwrap_or(KESTRA_SSE_IDLE_TIMEOUT))),
        }
    }

    pub fn apply(&mut self, p: &KnobsPatch) {
        if let Some(v) = p.fail_first {
            self.fail_first = v;
        }
        if let Some(v) = p.latency_ms {
            self.latency = Duration::from_millis(v);
        }
        if let Some(v) = p.execution_duration_ms {
            self.execution_duration = Duration::from_millis(v);
        }
        if let Some(v) = p.execution_outcome {
            self.execution_outcome = v;
        }
        if let Some(v) = p.seed_executions {
            self.seed_executions = v;
        }
        if let Some(v) = p.ready_delay_ms {
            self.ready_delay = Duration::from_millis(v);
        }
        if let Some(v) = p.sse_idle_timeout_ms {
            self.sse_idle_timeout = Some(Duration::from_millis(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_is_partial_and_null_clears_outcome() {
        let mut k = Knobs {
            execution_outcome: Some(Outcome::Failed),
            latency: Duration::from_millis(5),
            ..Knobs::default()
        };
        let p: KnobsPatch = serde_json::from_str(r#"{"failFirst":2}"#).unwrap();
        k.apply(&p);
        assert_eq!(k.fail_first, 2);
        assert_eq!(k.execution_outcome, Some(Outcome::Failed));
        let p: KnobsPatch =
            serde_json::from_str(r#"{"executionOutcome":null,"latency_ms":0}"#).unwrap();
        k.apply(&p);
        assert_eq!(k.execution_outcome, None);
        assert_eq!(k.latency, Duration::ZERO);
        assert!(serde_json::from_str::<KnobsPatch>(r#"{"nope":1}"#).is_err());
    }
}
