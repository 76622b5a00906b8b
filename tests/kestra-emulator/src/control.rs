//! The test-side handle on a running emulator: knobs, the 503 budget and the request journal.
//! Shared by the library API (`Control`) and the management port's `/emulator/*` routes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::knobs::Knobs;

/// One request seen on the API port, as the client sent it and as the emulator answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Request headers, names lower-cased, including `authorization` (tests check what was sent).
    pub headers: Vec<(String, String)>,
    pub status: u16,
    /// Length of the request body in bytes.
    pub body_len: usize,
    /// The route it reached (`GET /api/v1/{tenant}/flows/{namespace}/{id}`), if any.
    pub route: Option<String>,
    /// Set when Kestra's router or filters would refuse it as sent: 405/406/415, a route tie, a
    /// tenant other than `main`, a query parameter or JSON body the operation does not take.
    pub refusal: Option<String>,
}

#[derive(Debug)]
struct Inner {
    knobs: Knobs,
    /// Remaining 503s; starts at `knobs.fail_first` and counts down.
    fail_budget: u32,
    /// 503s aimed at one kind of request: (method, path prefix, remaining).
    targeted: Vec<(String, String, u32)>,
    /// Requests handled, then answered 504 as a gateway that lost the answer would:
    /// (method, path prefix, remaining).
    lost_answers: Vec<(String, String, u32)>,
    /// Every API request answers 503 until then (Kestra restarting behind a proxy).
    unavailable_until: Option<Instant>,
    requests: Vec<RecordedRequest>,
    /// Trigger locks to apply: (namespace, flow, trigger, execution id).
    trigger_locks: Vec<(String, String, String, String)>,
}

/// Cheap clone handle; every clone controls the same emulator.
#[derive(Debug, Clone)]
pub struct Control {
    inner: Arc<Mutex<Inner>>,
    started: Instant,
}

impl Control {
    pub(crate) fn new(knobs: Knobs) -> Self {
        Control {
            inner: Arc::new(Mutex::new(Inner {
                fail_budget: knobs.fail_first,
                knobs,
                targeted: Vec::new(),
                lost_answers: Vec::new(),
                unavailable_until: None,
                requests: Vec::new(),
                trigger_locks: Vec::new(),
            })),
            started: Instant::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a panicking test thread; the data is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Locks a trigger as Kestra's scheduler does while an evaluation runs or an execution it
    /// started is going on (`executionId` and `evaluateRunningDate` set); applied at the next
    /// trigger request.
    pub fn lock_trigger(
        &self,
        namespace: &str,
        flow_id: &str,
        trigger_id: &str,
        execution_id: &str,
    ) {
        self.lock().trigger_locks.push((
            namespace.into(),
            flow_id.into(),
            trigger_id.into(),
            execution_id.into(),
        ));
    }

    pub(crate) fn take_trigger_locks(&self) -> Vec<(String, String, String, String)> {
        std::mem::take(&mut self.lock().trigger_locks)
    }

    /// Replace all knobs; the 503 budget restarts at `k.fail_first`.
    pub fn set_knobs(&self, k: Knobs) {
        let mut g = self.lock();
        g.fail_budget = k.fail_first;
        g.knobs = k;
    }

    pub fn knobs(&self) -> Knobs {
        let g = self.lock();
        let mut k = g.knobs.clone();
        k.fail_first = g.fail_budget;
        k
    }

    pub(crate) fn patch_knobs(&self, p: &crate::knobs::KnobsPatch) {
        let mut g = self.lock();
        g.knobs.apply(p);
        if let Some(n) = p.fail_first {
            g.fail_budget = n;
        }
    }

    /// The next `n` API requests get 503.
    pub fn fail_next(&self, n: u32) {
        let mut g = self.lock();
        g.fail_budget = n;
        g.knobs.fail_first = n;
    }

    /// The next `n` requests with this method and path get 503 (before being handled); other
    /// requests are served normally. `path` is exact, or a prefix when it ends with `*`. For
    /// fault tests that must hit one step of a command (a create) and not the reads before it.
    pub fn fail_matching(&self, method: &str, path: &str, n: u32) {
        self.lock()
            .targeted
            .push((method.to_ascii_uppercase(), path.to_string(), n));
    }

    /// The next `n` requests with this method and path are carried out, then answered 504 (a
    /// proxy that lost Kestra's answer): the client cannot know the work was done.
    pub fn lose_answers(&self, method: &str, path: &str, n: u32) {
        self.lock()
            .lost_answers
            .push((method.to_ascii_uppercase(), path.to_string(), n));
    }

    /// Every API request answers 503 for this long from now (a Kestra restart seen through a
    /// proxy, or a server still starting).
    pub fn unavailable_for(&self, d: Duration) {
        self.lock().unavailable_until = Some(Instant::now() + d);
    }

    pub fn set_latency(&self, d: Duration) {
        self.lock().knobs.latency = d;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    pub(crate) fn record(&self, r: RecordedRequest) {
        self.lock().requests.push(r);
    }

    /// Consume one unit of the 503 budget (general, or aimed at this request); true when this
    /// request must fail.
    pub(crate) fn take_failure(&self, method: &str, path: &str) -> bool {
        let mut g = self.lock();
        if g.unavailable_until.is_some_and(|t| Instant::now() < t) {
            return true;
        }
        if g.fail_budget > 0 {
            g.fail_budget -= 1;
            return true;
        }
        take_matching(&mut g.targeted, method, path)
    }

    /// Consume one lost answer aimed at this request; true when its answer must be replaced by
    /// a 504 after it was carried out.
    pub(crate) fn take_lost_answer(&self, method: &str, path: &str) -> bool {
        take_matching(&mut self.lock().lost_answers, method, path)
    }

    pub(crate) fn latency(&self) -> Duration {
        self.lock().knobs.latency
    }

    pub(crate) fn sse_idle_timeout(&self) -> Duration {
        self.lock()
            .knobs
            .sse_idle_timeout
            .unwrap_or(crate::knobs::KESTRA_SSE_IDLE_TIMEOUT)
    }

    pub(crate) fn execution_duration(&self) -> Duration {
        self.lock().knobs.execution_duration
    }

    pub(crate) fn execution_outcome(&self) -> Option<crate::knobs::Outcome> {
        self.lock().knobs.execution_outcome
    }

    /// How long until the start-up delay is over (zero once it is).
    pub fn warming_remaining(&self) -> Duration {
        let d = self.lock().knobs.ready_delay;
        d.saturating_sub(self.started.elapsed())
    }

    /// How long since the emulator started (Prometheus `process_uptime_seconds`).
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Still inside the configured start-up delay.
    pub(crate) fn warming_up(&self) -> bool {
        let d = self.lock().knobs.ready_delay;
        self.started.elapsed() < d
    }
}

/// Counts down the first (method, path pattern, remaining) entry this request matches; `path`
/// patterns are exact, or a prefix when they end with `*`.
fn take_matching(list: &mut [(String, String, u32)], method: &str, path: &str) -> bool {
    if let Some(t) = list.iter_mut().find(|(m, pattern, n)| {
        let hit = match pattern.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == pattern,
        };
        *n > 0 && m == method && hit
    }) {
        t.2 -= 1;
        return true;
    }
    false
}
