//! Deploy benchmark: `kestractl flows deploy` against the one-request-at-a-time strategy of the
//! official Go kestractl (per flow: GET it, then POST or PUT it), side by side in one run, each
//! against a fresh in-memory emulator with the same added latency.
//!
//! Run: `cargo bench --bench deploy` (options through env: BENCH_FLOWS=1000, BENCH_NAMESPACES=10,
//! BENCH_LATENCY_MS=5, BENCH_RUNS=5). Prints a Markdown table of medians, ratios and request
//! counts; BENCHMARKS.md quotes it.

// Benchmark harness: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kestra_emulator::{BackgroundEmulator, KestraVersion, Knobs, Options};

const USER: &str = "admin@kestra.io";
const PASSWORD: &str = "Bench-Passw0rd";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn flow(ns: &str, id: &str, message: &str) -> String {
    format!(
        "id: {id}\nnamespace: {ns}\ndescription: benchmark flow\nlabels:\n  team: bench\ninputs:\n  - id: who\n    type: STRING\n    defaults: world\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: \"{message} {{{{ inputs.who }}}}\"\n  - id: done\n    type: io.kestra.plugin.core.log.Log\n    message: done\n"
    )
}

fn write_flows(dir: &Path, flows: usize, namespaces: usize, changed_every: Option<usize>) {
    let _ = std::fs::remove_dir_all(dir);
    for i in 0..flows {
        let ns = format!("bench.ns{}", i % namespaces);
        let sub = dir.join(&ns);
        std::fs::create_dir_all(&sub).expect("mkdir");
        let message = match changed_every {
            Some(n) if i % n == 0 => "Changed hello",
            _ => "Hello",
        };
        std::fs::write(
            sub.join(format!("flow{i}.yml")),
            flow(&ns, &format!("flow{i}"), message),
        )
        .expect("write flow");
    }
}

fn emulator(latency_ms: u64) -> BackgroundEmulator {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs = Knobs {
        latency: Duration::from_millis(latency_ms),
        ..Knobs::default()
    };
    kestra_emulator::start_in_background(opts).expect("emulator")
}

fn is_write(method: &str, path: &str) -> bool {
    matches!(method, "POST" | "PUT" | "DELETE") && !path.ends_with("/validate")
}

fn counts(emu: &BackgroundEmulator) -> (usize, usize) {
    let reqs = emu.control().requests();
    let writes = reqs.iter().filter(|r| is_write(&r.method, &r.path)).count();
    (reqs.len(), writes)
}

/// kestractl, as an operator runs it.
fn kestractl_deploy(emu: &BackgroundEmulator, dir: &Path) -> Duration {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kestractl"));
    cmd.args([
        "--server",
        &emu.api_url(),
        "flows",
        "deploy",
        &dir.display().to_string(),
        "-o",
        "json",
    ]);
    // BENCH_CONCURRENCY explores other settings; the published figures use the default.
    if let Ok(c) = std::env::var("BENCH_CONCURRENCY") {
        cmd.args(["--concurrency", &c]);
    }
    let out = cmd
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .env("KESTRACTL_CONFIG_DIR", dir.join(".cfg"))
        .output()
        .expect("run kestractl");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "kestractl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// The baseline: for each file in order, GET the flow, then POST it (404) or PUT it.
fn sequential_deploy(emu: &BackgroundEmulator, dir: &Path) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let base = format!("{}/api/v1/main/flows", emu.api_url());
    let started = Instant::now();
    rt.block_on(async {
        let client = reqwest::Client::new();
        for f in &files {
            let source = std::fs::read_to_string(f).expect("read");
            let field = |k: &str| {
                source
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                    .unwrap_or_default()
                    .to_string()
            };
            let (id, ns) = (field("id"), field("namespace"));
            let get = client
                .get(format!("{base}/{ns}/{id}"))
                .basic_auth(USER, Some(PASSWORD))
                .send()
                .await
                .expect("get");
            let req = if get.status().as_u16() == 404 {
                client.post(&base)
            } else {
                client.put(format!("{base}/{ns}/{id}"))
            };
            let resp = req
                .basic_auth(USER, Some(PASSWORD))
                .header("Content-Type", "application/x-yaml")
                .body(source)
                .send()
                .await
                .expect("write");
            assert!(
                resp.status().is_success(),
                "baseline write failed: {}",
                resp.status()
            );
        }
    });
    started.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Row {
    scenario: &'static str,
    ours: Duration,
    base: Duration,
    ours_requests: usize,
    ours_writes: usize,
    base_requests: usize,
    base_writes: usize,
}

fn main() {
    let flows = env_or("BENCH_FLOWS", 1000);
    let namespaces = env_or("BENCH_NAMESPACES", 10);
    let latency = env_or("BENCH_LATENCY_MS", 5) as u64;
    let runs = env_or("BENCH_RUNS", 5).max(1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("flows");
    eprintln!(
        "deploy benchmark: {flows} flows, {namespaces} namespaces, {latency} ms latency, {runs} runs"
    );

    let mut rows = Vec::new();
    for (scenario, prepare_changed) in [
        ("first deploy", None),
        ("unchanged redeploy", Some(None)),
        ("10% changed", Some(Some(10))),
    ] {
        let (mut ours, mut base) = (Vec::new(), Vec::new());
        let mut ours_counts = (0, 0);
        let mut base_counts = (0, 0);
        for run in 0..runs {
            for side in ["ours", "base"] {
                let emu = emulator(latency);
                write_flows(&dir, flows, namespaces, None);
                if prepare_changed.is_some() {
                    // The server already holds the original folder (loaded without latency cost
                    // to either side: by kestractl itself, then the request log is cleared).
                    kestractl_deploy(&emu, &dir);
                    if let Some(Some(every)) = prepare_changed {
                        write_flows(&dir, flows, namespaces, Some(every));
                    }
                }
                emu.control().clear_requests();
                let took = if side == "ours" {
                    kestractl_deploy(&emu, &dir)
                } else {
                    sequential_deploy(&emu, &dir)
                };
                let c = counts(&emu);
                if side == "ours" {
                    ours.push(took);
                    ours_counts = c;
                } else {
                    base.push(took);
                    base_counts = c;
                }
                eprintln!(
                    "  {scenario:<19} run {run} {side}: {:>8.1} ms, {} requests, {} writes",
                    took.as_secs_f64() * 1e3,
                    c.0,
                    c.1
                );
            }
        }
        rows.push(Row {
            scenario,
            ours: median(ours),
            base: median(base),
            ours_requests: ours_counts.0,
            ours_writes: ours_counts.1,
            base_requests: base_counts.0,
            base_writes: base_counts.1,
        });
    }

    println!(
        "| scenario | kestractl (median) | sequential baseline (median) | speed-up | kestractl requests (writes) | baseline requests (writes) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} ms | {:.0} ms | {:.1}× | {} ({}) | {} ({}) |",
            r.scenario,
            r.ours.as_secs_f64() * 1e3,
            r.base.as_secs_f64() * 1e3,
            r.base.as_secs_f64() / r.ours.as_secs_f64(),
            r.ours_requests,
            r.ours_writes,
            r.base_requests,
            r.base_writes
        );
    }
}
