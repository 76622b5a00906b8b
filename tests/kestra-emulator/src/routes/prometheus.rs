//! The management port's guard and its Prometheus endpoint.
//!
//! Guard: with `endpoints.all.basic-auth` configured, Kestra's `BasicAuthEndpointsFilter`
//! (1.3.25 core/src/main/java/io/kestra/core/endpoints/BasicAuthEndpointsFilter.java) answers a
//! bare 401 to any request for an `@Endpoint` (`/health` included, as its test checks) without
//! that exact credential. A sensitive endpoint is refused to everyone with 401 by Micronaut's
//! `EndpointsFilter` (no security module in Kestra's OSS image). Kestra 1.3's `application.yml`
//! sets `endpoints.all.sensitive: false`; 2.0 removed it (migration guide "Management Endpoint
//! Hardening"), so there an endpoint is sensitive unless configured otherwise.
//!
//! `/prometheus`: Micrometer's text format 0.0.4, with Kestra's meter names
//! (core/.../metrics/MetricRegistry.java: prefix `kestra`, dots to underscores, `_total` on
//! counters) and the JVM/process meters Micronaut binds. The emulator has no JVM: its heap figure
//! follows the executions it holds, and it reports no GC pause. The execution counters count what the
//! emulator started and ended since it started, as Kestra's reset with the process.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::server::Shared;
use crate::version::KestraVersion;

/// Micronaut's Prometheus endpoint content type (text exposition format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Kestra's default worker thread count for `server standalone` is a multiple of the cores; the
/// emulator reports a fixed figure so tests can compare it.
const WORKER_THREADS: u32 = 16;

/// The emulator's test-only control routes are not Kestra endpoints and are never guarded.
fn is_endpoint(path: &str) -> bool {
    !path.starts_with("/emulator/")
}

fn credential_matches(headers: &HeaderMap, username: &str, password: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    matches!(text.split_once(':'), Some((u, p)) if u == username && p == password)
}

/// Kestra's `BasicAuthEndpointsFilter`, when `endpoints.all.basic-auth` is configured.
pub async fn guard(State(state): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(auth) = &state.config.management_basic_auth
        && is_endpoint(req.uri().path())
        && !credential_matches(req.headers(), &auth.username, &auth.password)
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    next.run(req).await
}

/// Whether Micronaut refuses `/prometheus` to everyone (sensitive, no security module).
fn sensitive(state: &Shared) -> bool {
    let default = match state.version {
        // Kestra 1.3's application.yml: `endpoints.all.sensitive: false`.
        KestraVersion::V1_3 => false,
        // 2.0 dropped that line: Micronaut's default, sensitive.
        KestraVersion::V2_0 | KestraVersion::V2_1Dev => true,
    };
    state
        .config
        .prometheus_sensitive
        .or(state.config.endpoints_all_sensitive)
        .unwrap_or(default)
}

/// Micronaut refuses an Accept header that does not name what the endpoint produces.
fn accepts_text(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|item| {
        let media = item
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(media.as_str(), "text/plain" | "text/*" | "*/*")
    })
}

/// The emulator has no JVM heap: it reports a figure that follows what it holds (32 MiB plus
/// 4 KiB per execution), steady between two scrapes so tests can compare them.
fn heap_used_bytes(executions: usize) -> f64 {
    (32 * 1024 * 1024 + 4096 * executions) as f64
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Family<'a> {
    name: &'a str,
    help: &'a str,
    kind: &'a str,
    samples: Vec<(String, f64)>,
}

fn write_family(out: &mut String, f: &Family<'_>) {
    if f.samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
    let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
    for (labels, value) in &f.samples {
        // Micrometer writes every value as a double.
        let _ = writeln!(out, "{}{labels} {value:?}", f.name);
    }
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The Prometheus text for the emulator's current state.
pub fn render(state: &Shared) -> String {
    let uptime = state.control.uptime();
    let now_ms = crate::timefmt::now_ms();
    let started_ms = now_ms - uptime.as_millis() as i64;
    let executions = state
        .store
        .executions_matching(&|e| !e.deleted && e.created_ms >= started_ms);

    let mut started: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut ended: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut running_tasks: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut pending = 0.0;
    for e in &executions {
        *started
            .entry((e.flow_id.clone(), e.namespace.clone()))
            .or_default() += 1.0;
        if e.state.is_terminal() {
            *ended
                .entry((
                    e.flow_id.clone(),
                    e.namespace.clone(),
                    e.state.current.clone(),
                ))
                .or_default() += 1.0;
            continue;
        }
        if matches!(e.state.current.as_str(), "CREATED" | "QUEUED") {
            pending += 1.0;
        }
        let flow = state
            .store
            .flow(&e.namespace, &e.flow_id, Some(e.flow_revision), true);
        for t in e.task_runs.iter().filter(|t| t.state.current == "RUNNING") {
            let task_type = flow
                .as_ref()
                .and_then(|f| task_type(&f.body, &t.task_id))
                .unwrap_or_else(|| "unknown".into());
            *running_tasks
                .entry((e.flow_id.clone(), e.namespace.clone(), task_type))
                .or_default() += 1.0;
        }
    }
    let running_total: f64 = running_tasks.values().sum();

    let mut out = String::new();
    write_family(
        &mut out,
        &Family {
            name: "kestra_executor_execution_started_count_total",
            help: "The total number of executions started by the Executor",
            kind: "counter",
            samples: started
                .iter()
                .map(|((flow, ns), n)| {
                    (
                        labels(&[
                            ("flow_id", flow),
                            ("namespace_id", ns),
                            ("state", "CREATED"),
                        ]),
                        *n,
                    )
                })
                .collect(),
        },
    );
    write_family(
        &mut out,
        &Family {
            name: "kestra_executor_execution_end_count_total",
            help: "The total number of executions ended by the Executor",
            kind: "counter",
            samples: ended
                .iter()
                .map(|((flow, ns, st), n)| {
                    (
                        labels(&[("flow_id", flow), ("namespace_id", ns), ("state", st)]),
                        *n,
                    )
                })
                .collect(),
        },
    );
    write_family(
        &mut out,
        &Family {
            name: "kestra_worker_running_count",
            help: "The number of tasks currently running inside the Worker",
            kind: "gauge",
            samples: running_tasks
                .iter()
                .map(|((flow, ns, ty), n)| {
                    (
                        labels(&[("flow_id", flow), ("namespace_id", ns), ("task_type", ty)]),
                        *n,
                    )
                })
                .collect(),
        },
    );
    for (name, help, value) in [
        (
            "kestra_worker_job_thread",
            "The number of worker threads",
            f64::from(WORKER_THREADS),
        ),
        (
            "kestra_worker_job_running",
            "The number of jobs (tasks or triggers) currently running inside the Worker",
            running_total,
        ),
        (
            "kestra_worker_job_pending",
            "The number of jobs (tasks or triggers) pending to be run by the Worker",
            pending,
        ),
    ] {
        write_family(
            &mut out,
            &Family {
                name,
                help,
                kind: "gauge",
                samples: vec![(String::new(), value)],
            },
        );
    }
    let heap = heap_used_bytes(state.store.execution_count());
    write_family(
        &mut out,
        &Family {
            name: "jvm_memory_used_bytes",
            help: "The amount of used memory",
            kind: "gauge",
            samples: vec![
                (labels(&[("area", "heap"), ("id", "G1 Eden Space")]), 0.0),
                (labels(&[("area", "heap"), ("id", "G1 Old Gen")]), heap),
                (labels(&[("area", "nonheap"), ("id", "Metaspace")]), 0.0),
            ],
        },
    );
    write_family(
        &mut out,
        &Family {
            name: "jvm_memory_max_bytes",
            help: "The maximum amount of memory in bytes that can be used for memory management",
            kind: "gauge",
            samples: vec![
                (labels(&[("area", "heap"), ("id", "G1 Eden Space")]), -1.0),
                (
                    labels(&[("area", "heap"), ("id", "G1 Old Gen")]),
                    1_073_741_824.0,
                ),
                (labels(&[("area", "nonheap"), ("id", "Metaspace")]), -1.0),
            ],
        },
    );
    write_family(
        &mut out,
        &Family {
            name: "process_uptime_seconds",
            help: "The uptime of the Java virtual machine",
            kind: "gauge",
            samples: vec![(String::new(), uptime.as_secs_f64())],
        },
    );
    out
}

/// The `type` of the task with id `task_id` anywhere in a flow's body.
fn task_type(body: &serde_json::Value, task_id: &str) -> Option<String> {
    match body {
        serde_json::Value::Object(m) => {
            if m.get("id").and_then(|v| v.as_str()) == Some(task_id)
                && let Some(t) = m.get("type").and_then(|v| v.as_str())
            {
                return Some(t.to_string());
            }
            m.values().find_map(|v| task_type(v, task_id))
        }
        serde_json::Value::Array(items) => items.iter().find_map(|v| task_type(v, task_id)),
        _ => None,
    }
}

pub async fn prometheus(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if sensitive(&state) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !accepts_text(&headers) {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    let mut r = render(&state).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}
