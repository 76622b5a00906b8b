//! The Prometheus text exposition format (0.0.4) as Micrometer writes it, and what an operator
//! watches in Kestra's: the figures `kestractl metrics` shows.
//!
//! Kestra names its meters in `core/.../metrics/MetricRegistry.java` (1.3.25) with the prefix
//! `kestra.metrics.prefix` (`kestra` in Kestra's `application.yml`); Micrometer's Prometheus
//! naming turns dots into underscores and appends `_total` to counters. The JVM and process
//! meters are Micrometer's binders, which Micronaut registers.

use std::collections::BTreeMap;

use serde::Serialize;

/// One sample line: `name{label="value",…} value [timestamp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The samples of `text`, in order. Comments (`# HELP`, `# TYPE`) and blank lines are skipped;
/// a line that is not a sample is skipped too and counted in the second value, so a format
/// change shows instead of silently reading as zero.
pub fn parse(text: &str) -> (Vec<Sample>, usize) {
    let mut samples = Vec::new();
    let mut skipped = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Some(s) => samples.push(s),
            None => skipped += 1,
        }
    }
    (samples, skipped)
}

fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(after)?;
        labels = parsed;
        rest = tail;
    }
    let value = rest.split_whitespace().next()?;
    Some(Sample {
        name: name.to_string(),
        labels,
        value: parse_value(value)?,
    })
}

/// Labels up to the closing `}`; returns them and what follows.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(tail) = s.strip_prefix('}') {
            return Some((labels, tail));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_string();
        s = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.push((key, value));
        s = &s[end + 1..];
    }
}

fn parse_value(v: &str) -> Option<f64> {
    match v {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => v.parse().ok(),
    }
}

/// Kestra's meter names as Prometheus shows them (prefix `kestra`).
pub mod names {
    pub const EXECUTIONS_STARTED: &str = "kestra_executor_execution_started_count_total";
    pub const EXECUTIONS_ENDED: &str = "kestra_executor_execution_end_count_total";
    pub const TASK_RUNS_RUNNING: &str = "kestra_worker_running_count";
    pub const WORKER_THREADS: &str = "kestra_worker_job_thread";
    pub const WORKER_JOBS_RUNNING: &str = "kestra_worker_job_running";
    pub const WORKER_JOBS_PENDING: &str = "kestra_worker_job_pending";
    pub const JVM_MEMORY_USED: &str = "jvm_memory_used_bytes";
    pub const JVM_MEMORY_MAX: &str = "jvm_memory_max_bytes";
    pub const GC_PAUSE_COUNT: &str = "jvm_gc_pause_seconds_count";
    pub const GC_PAUSE_SUM: &str = "jvm_gc_pause_seconds_sum";
    pub const UPTIME: &str = "process_uptime_seconds";
}

/// What an operator watches, summed over the tags Kestra adds (flow, namespace, task type,
/// worker group). A figure is `None` when the server does not expose that meter (yet: Kestra
/// registers some on first use), never a made-up zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Executions started since Kestra started.
    pub executions_started: Option<f64>,
    /// Executions ended since Kestra started, by final state.
    pub executions_ended: BTreeMap<String, f64>,
    /// Task runs running in the worker now.
    pub task_runs_running: Option<f64>,
    /// The worker's threads, and the jobs (tasks, triggers) using them now.
    pub worker_threads: Option<f64>,
    pub worker_jobs_running: Option<f64>,
    /// Jobs waiting for a worker thread: the queue backlog Kestra exposes.
    pub worker_jobs_pending: Option<f64>,
    pub heap_used_bytes: Option<f64>,
    /// The heap's limit; `None` when the JVM reports none (-1).
    pub heap_max_bytes: Option<f64>,
    pub gc_pauses: Option<f64>,
    pub gc_pause_seconds: Option<f64>,
    pub uptime_seconds: Option<f64>,
}

impl Summary {
    pub fn of(samples: &[Sample]) -> Self {
        let sum = |name: &str, keep: &dyn Fn(&Sample) -> bool| -> Option<f64> {
            let mut found = false;
            let mut total = 0.0;
            for s in samples.iter().filter(|s| s.name == name && keep(s)) {
                found = true;
                total += s.value;
            }
            found.then_some(total)
        };
        let all = |_: &Sample| true;
        let heap = |s: &Sample| s.label("area") == Some("heap");
        let mut executions_ended = BTreeMap::new();
        for s in samples.iter().filter(|s| s.name == names::EXECUTIONS_ENDED) {
            let state = s.label("state").unwrap_or("UNKNOWN").to_string();
            *executions_ended.entry(state).or_insert(0.0) += s.value;
        }
        // Each heap pool reports its own limit, -1 when it has none; with one undefined the
        // heap's total limit is undefined too.
        let heap_max = {
            let pools: Vec<f64> = samples
                .iter()
                .filter(|s| s.name == names::JVM_MEMORY_MAX && heap(s))
                .map(|s| s.value)
                .collect();
            (!pools.is_empty() && pools.iter().all(|v| *v >= 0.0)).then(|| pools.iter().sum())
        };
        Summary {
            executions_started: sum(names::EXECUTIONS_STARTED, &all),
            executions_ended,
            task_runs_running: sum(names::TASK_RUNS_RUNNING, &all),
            worker_threads: sum(names::WORKER_THREADS, &all),
            worker_jobs_running: sum(names::WORKER_JOBS_RUNNING, &all),
            worker_jobs_pending: sum(names::WORKER_JOBS_PENDING, &all),
            heap_used_bytes: sum(names::JVM_MEMORY_USED, &heap),
            heap_max_bytes: heap_max,
            gc_pauses: sum(names::GC_PAUSE_COUNT, &all),
            gc_pause_seconds: sum(names::GC_PAUSE_SUM, &all),
            uptime_seconds: sum(names::UPTIME, &all),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP kestra_executor_execution_end_count_total The total number of executions ended by the Executor
# TYPE kestra_executor_execution_end_count_total counter
kestra_executor_execution_end_count_total{flow_id="hello",namespace_id="team",state="SUCCESS"} 3.0
kestra_executor_execution_end_count_total{flow_id="other",namespace_id="team",state="SUCCESS"} 2.0
kestra_executor_execution_end_count_total{flow_id="hello",namespace_id="team",state="FAILED"} 1.0
kestra_executor_execution_started_count_total{flow_id="hello",namespace_id="team",state="CREATED"} 7.0
kestra_worker_job_thread 8.0
kestra_worker_job_running 1.0
kestra_worker_job_pending 0.0
kestra_worker_running_count{flow_id="hello",namespace_id="team",task_type="io.kestra.plugin.core.flow.Sleep"} 1.0
jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 1.0E7
jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 2.5E7
jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 9.9E7
jvm_memory_max_bytes{area="heap",id="G1 Eden Space"} -1.0
jvm_memory_max_bytes{area="heap",id="G1 Old Gen"} 1.073741824E9
jvm_gc_pause_seconds_count{action="end of minor GC",cause="G1 Evacuation Pause",gc="G1 Young Generation"} 12.0
jvm_gc_pause_seconds_sum{action="end of minor GC",cause="G1 Evacuation Pause",gc="G1 Young Generation"} 0.25
process_uptime_seconds 3723.5
"#;

    #[test]
    fn parses_micrometer_text() {
        let (samples, skipped) = parse(TEXT);
        assert_eq!(skipped, 0);
        assert_eq!(samples.len(), 16);
        assert_eq!(samples[0].label("state"), Some("SUCCESS"));
        assert_eq!(samples[8].value, 1.0e7);
        assert_eq!(samples[10].value, 9.9e7);
    }

    #[test]
    fn label_values_unescape_and_specials_parse() {
        let (s, skipped) = parse(
            "m{a=\"x\\\"y\",b=\"l\\nm\",c=\"back\\\\slash\"} +Inf 1700000000\nn NaN\no{} -Inf\nnot a sample\n",
        );
        assert_eq!(skipped, 1);
        assert_eq!(s[0].label("a"), Some("x\"y"));
        assert_eq!(s[0].label("b"), Some("l\nm"));
        assert_eq!(s[0].label("c"), Some("back\\slash"));
        assert!(s[0].value.is_infinite());
        assert!(s[1].value.is_nan());
        assert_eq!(s[2].value, f64::NEG_INFINITY);
    }

    #[test]
    fn malformed_lines_are_counted_not_read_as_values() {
        let (s, skipped) = parse("a{b=\"unterminated} 1\nc{d=e} 2\n9bad 1\nok 1\n");
        // An unterminated value, an unquoted one, a name starting with a digit.
        assert_eq!(skipped, 3);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "ok");
    }

    #[test]
    fn summary_sums_over_tags_and_splits_states() {
        let (samples, _) = parse(TEXT);
        let s = Summary::of(&samples);
        assert_eq!(s.executions_started, Some(7.0));
        assert_eq!(s.executions_ended.get("SUCCESS"), Some(&5.0));
        assert_eq!(s.executions_ended.get("FAILED"), Some(&1.0));
        assert_eq!(s.task_runs_running, Some(1.0));
        assert_eq!(s.worker_threads, Some(8.0));
        assert_eq!(s.worker_jobs_running, Some(1.0));
        assert_eq!(s.worker_jobs_pending, Some(0.0));
        assert_eq!(s.heap_used_bytes, Some(3.5e7));
        // One heap pool without a limit: the heap has none.
        assert_eq!(s.heap_max_bytes, None);
        assert_eq!(s.gc_pauses, Some(12.0));
        assert_eq!(s.gc_pause_seconds, Some(0.25));
        assert_eq!(s.uptime_seconds, Some(3723.5));
    }

    #[test]
    fn absent_meters_stay_absent() {
        let s = Summary::of(&parse("process_uptime_seconds 5\n").0);
        assert_eq!(s.executions_started, None);
        assert!(s.executions_ended.is_empty());
        assert_eq!(s.worker_threads, None);
        assert_eq!(s.uptime_seconds, Some(5.0));
    }
}
