//! Deploy benchmark, side by side in one run, each side against a fresh server:
//!
//! - `kestractl flows deploy`, as an operator runs it;
//! - the baseline: the official Go kestractl's one-request-at-a-time strategy (per flow: GET it,
//!   then POST or PUT it);
//! - its bulk strategy, `flows namespace-sync`: one request per namespace carrying all of that
//!   namespace's flows (`POST /flows/{namespace}`);
//! - the floor: the writes kestractl's plan ends in (creates, or the changed flows' updates) sent
//!   by a bare concurrent client at kestractl's default concurrency (32), nothing else: no
//!   reading, no validation, no plan. What no deploy tool can beat.
//!
//! Two servers (`BENCH_TARGET`): `memory`, the in-memory emulator with `BENCH_LATENCY_MS` added to
//! every answer, counting requests on the server; or `docker`, the stack `kestractl start` runs on
//! the real Docker Engine (the emulator image backed by the Postgres container, so every write
//! costs the server real work), recreated from nothing for each run, counting requests on the
//! client side (kestractl's `-v` log; the other sides count their own).
//!
//! Run: `cargo bench --bench deploy` (options through env: BENCH_TARGET=memory, BENCH_FLOWS=1000,
//! BENCH_NAMESPACES=10, BENCH_LATENCY_MS=5, BENCH_RUNS=5). Prints a Markdown table of medians,
//! ratios and request counts; BENCHMARKS.md quotes it.

// Benchmark harness: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kestra_emulator::testkit::median;
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

/// The server a side deploys to.
enum Target {
    Memory(BackgroundEmulator),
    Docker(DockerStack),
}

impl Target {
    fn fresh(kind: &str, latency_ms: u64, root: &Path) -> Target {
        match kind {
            "docker" => Target::Docker(DockerStack::fresh(root)),
            _ => Target::Memory(emulator(latency_ms)),
        }
    }

    fn api_url(&self) -> String {
        match self {
            Target::Memory(e) => e.api_url(),
            Target::Docker(d) => d.url(),
        }
    }

    fn clear_requests(&self) {
        if let Target::Memory(e) = self {
            e.control().clear_requests();
        }
    }

    /// (requests, writes): the server's count in memory, else what the side counted itself.
    fn counts(&self, client_side: (usize, usize)) -> (usize, usize) {
        match self {
            Target::Memory(e) => counts(e),
            Target::Docker(_) => client_side,
        }
    }
}

/// The stack `kestractl start` runs, with the emulator image (Postgres-backed), from nothing.
struct DockerStack {
    name: String,
    data: std::path::PathBuf,
    http: u16,
    mgmt: u16,
}

impl DockerStack {
    fn fresh(root: &Path) -> DockerStack {
        let port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let name = format!("kctl-bench-deploy-{}", std::process::id());
        let stack = DockerStack {
            data: root.join(&name),
            name,
            http: port(),
            mgmt: port(),
        };
        stack.remove();
        let out = stack
            .kestractl()
            .args(["start", "--pull", "never"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stack
    }

    fn kestractl(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kestractl"));
        cmd.env("KESTRA_CONTAINER_NAME", &self.name)
            .env("KESTRA_DB_VOLUME", format!("{}-pgdata", self.name))
            .env("KESTRA_HTTP_PORT", self.http.to_string())
            .env("KESTRA_MANAGEMENT_PORT", self.mgmt.to_string())
            .env("KESTRA_IMAGE", "kestractl-test/kestra-emulator:dev")
            .env("KESTRA_POSTGRES_IMAGE", "kestractl-test/postgres:15")
            .env("KESTRACTL_DATA_DIR", &self.data)
            .env("KESTRACTL_CONFIG_DIR", self.data.join("cfg"))
            .env("KESTRACTL_KEYRING", "none")
            .env("KESTRACTL_PASSWORD", PASSWORD);
        cmd
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    fn remove(&self) {
        let _ = self
            .kestractl()
            .args(["stop", "--remove", "--volumes", "--yes"])
            .output();
    }
}

impl Drop for DockerStack {
    fn drop(&mut self) {
        self.remove();
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

/// kestractl, as an operator runs it; with `count`, `-v` too, whose request log gives the
/// client-side counts (one line per answered request). The in-memory server counts for itself,
/// so kestractl runs there without the log's cost.
fn kestractl_deploy(url: &str, dir: &Path, count: bool) -> (Duration, (usize, usize)) {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kestractl"));
    if count {
        cmd.arg("-v");
    }
    cmd.args([
        "--server",
        url,
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
        .env("KESTRACTL_KEYRING", "none")
        .env("KESTRACTL_CONFIG_DIR", dir.join(".cfg"))
        .output()
        .expect("run kestractl");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "kestractl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    let (mut requests, mut writes) = (0, 0);
    for line in log
        .lines()
        .filter(|l| l.contains(" -> ") && l.contains("(attempt "))
    {
        let mut words = line.split_whitespace().skip_while(|w| !w.contains("DEBUG"));
        let (Some(method), Some(url)) = (words.nth(1), words.next()) else {
            continue;
        };
        requests += 1;
        if is_write(method, url) {
            writes += 1;
        }
    }
    (elapsed, (requests, writes))
}

/// Every flow file under `dir` as (namespace, id, source), in path order.
fn flow_files(dir: &Path) -> Vec<(String, String, String)> {
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
    files
        .iter()
        .map(|f| {
            let source = std::fs::read_to_string(f).expect("read");
            let field = |k: &str| {
                source
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                    .unwrap_or_default()
                    .to_string()
            };
            (field("namespace"), field("id"), source)
        })
        .collect()
}

/// The floor: `writes` (method, namespace, id, source) sent 32 at a time by a bare client.
fn floor_deploy(
    url: &str,
    writes: &[(&'static str, String, String, String)],
) -> (Duration, (usize, usize)) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base = format!("{url}/api/v1/main/flows");
    let started = Instant::now();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut sends =
            futures_util::stream::iter(writes.iter().map(|(method, ns, id, source)| {
                let req = if *method == "POST" {
                    client.post(&base)
                } else {
                    client.put(format!("{base}/{ns}/{id}"))
                };
                req.basic_auth(USER, Some(PASSWORD))
                    .header("Content-Type", "application/x-yaml")
                    .header("Accept", "application/json")
                    .body(source.clone())
                    .send()
            }))
            .buffer_unordered(32);
        while let Some(resp) = sends.next().await {
            let resp = resp.expect("write");
            assert!(
                resp.status().is_success(),
                "floor write failed: {}",
                resp.status()
            );
        }
    });
    (started.elapsed(), (writes.len(), writes.len()))
}

/// The second baseline: the official Go kestractl's `flows namespace-sync`, one request per
/// namespace (`POST /flows/{namespace}?delete=false&override=false`, the namespace's flows joined
/// by `---`), one namespace after another.
fn namespace_sync_deploy(url: &str, dir: &Path) -> (Duration, (usize, usize)) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut by_namespace: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (ns, _, source) in flow_files(dir) {
        by_namespace.entry(ns).or_default().push(source);
    }
    let started = Instant::now();
    rt.block_on(async {
        let client = reqwest::Client::new();
        for (ns, sources) in &by_namespace {
            let resp = client
                .post(format!(
                    "{url}/api/v1/main/flows/{ns}?delete=false&override=false"
                ))
                .basic_auth(USER, Some(PASSWORD))
                .header("Content-Type", "application/x-yaml")
                .header("Accept", "application/json")
                .body(sources.join("---\n"))
                .send()
                .await
                .expect("namespace sync");
            assert!(
                resp.status().is_success(),
                "namespace sync failed: {}",
                resp.status()
            );
            // The answer (every flow with its source) is read, as a client decoding it would.
            resp.bytes().await.expect("answer");
        }
    });
    let n = by_namespace.len();
    (started.elapsed(), (n, n))
}

/// The baseline: for each file in order, GET the flow, then POST it (404) or PUT it.
fn sequential_deploy(url: &str, dir: &Path) -> (Duration, (usize, usize)) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let files = flow_files(dir);
    let base = format!("{url}/api/v1/main/flows");
    let started = Instant::now();
    rt.block_on(async {
        let client = reqwest::Client::new();
        for (ns, id, source) in &files {
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
                .body(source.clone())
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
    (started.elapsed(), (2 * files.len(), files.len()))
}

struct Side {
    took: Vec<Duration>,
    counts: (usize, usize),
}

impl Side {
    fn new() -> Side {
        Side {
            took: Vec::new(),
            counts: (0, 0),
        }
    }
}

fn main() {
    let target = std::env::var("BENCH_TARGET").unwrap_or_else(|_| "memory".into());
    let flows = env_or("BENCH_FLOWS", 1000);
    let namespaces = env_or("BENCH_NAMESPACES", 10);
    let latency = env_or("BENCH_LATENCY_MS", 5) as u64;
    let runs = env_or("BENCH_RUNS", 5).max(1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("flows");
    if target == "docker" {
        let status = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/images/build"))
            .status()
            .expect("tests/images/build");
        assert!(status.success());
    }
    eprintln!(
        "deploy benchmark on {target}: {flows} flows, {namespaces} namespaces, {runs} runs{}",
        if target == "memory" {
            format!(", {latency} ms latency")
        } else {
            String::new()
        }
    );

    let sides = ["ours", "base", "sync", "floor"];
    let mut rows = Vec::new();
    for (scenario, prepare_changed) in [
        ("first deploy", None),
        ("unchanged redeploy", Some(None)),
        ("10% changed", Some(Some(10))),
    ] {
        let mut results: Vec<Side> = sides.iter().map(|_| Side::new()).collect();
        for run in 0..runs {
            for (i, side) in sides.iter().enumerate() {
                let server = Target::fresh(&target, latency, tmp.path());
                let url = server.api_url();
                write_flows(&dir, flows, namespaces, None);
                // The floor sends exactly the writes the plan ends in.
                let mut writes: Vec<(&'static str, String, String, String)> = Vec::new();
                if prepare_changed.is_some() {
                    // The server already holds the original folder (loaded without cost to any
                    // side: by kestractl itself, then the request log is cleared).
                    kestractl_deploy(&url, &dir, false);
                    if let Some(Some(every)) = prepare_changed {
                        let before = flow_files(&dir);
                        write_flows(&dir, flows, namespaces, Some(every));
                        for (old, new) in before.into_iter().zip(flow_files(&dir)) {
                            if old.2 != new.2 {
                                writes.push(("PUT", new.0, new.1, new.2));
                            }
                        }
                    }
                } else {
                    writes = flow_files(&dir)
                        .into_iter()
                        .map(|(ns, id, source)| ("POST", ns, id, source))
                        .collect();
                }
                server.clear_requests();
                let (took, client_counts) = match *side {
                    "ours" => kestractl_deploy(&url, &dir, target == "docker"),
                    "base" => sequential_deploy(&url, &dir),
                    "sync" => namespace_sync_deploy(&url, &dir),
                    _ => floor_deploy(&url, &writes),
                };
                let c = server.counts(client_counts);
                results[i].took.push(took);
                results[i].counts = c;
                eprintln!(
                    "  {scenario:<19} run {run} {side:<5}: {:>8.1} ms, {} requests, {} writes",
                    took.as_secs_f64() * 1e3,
                    c.0,
                    c.1
                );
            }
        }
        rows.push((scenario, results));
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| scenario | kestractl (median) | Go CLI's deploy (per flow: GET, then POST/PUT) | Go CLI's namespace-sync (one request per namespace) | floor (bare concurrent writes) | kestractl / floor | requests (writes): kestractl, deploy, namespace-sync, floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (scenario, results) in rows {
        let [ours, base, sync, floor] =
            [0, 1, 2, 3].map(|i| median(results[i].took.clone()).expect("samples"));
        let ratio_to_floor = if results[3].counts.0 == 0 {
            "— (nothing to write)".to_string()
        } else {
            format!("{:.2}", ms(ours) / ms(floor))
        };
        let c = |i: usize| format!("{} ({})", results[i].counts.0, results[i].counts.1);
        println!(
            "| {scenario} | {:.0} ms | {:.0} ms ({:.1}× kestractl) | {:.0} ms ({:.1}× kestractl) | {:.0} ms | {ratio_to_floor} | {}, {}, {}, {} |",
            ms(ours),
            ms(base),
            ms(base) / ms(ours),
            ms(sync),
            ms(sync) / ms(ours),
            ms(floor),
            c(0),
            c(1),
            c(2),
            c(3),
        );
    }
}
