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
//! - the read floor, for redeploys: every local flow file read and every namespace's export
//!   fetched at once, nothing parsed or compared.
//!
//! Each run puts another side first. kestractl's peak memory is read with GNU time.
//!
//! Run: `cargo bench --bench deploy` (options through env: BENCH_TARGET=memory, BENCH_FLOWS=1000,
//! BENCH_NAMESPACES=10, BENCH_LATENCY_MS=5, BENCH_RUNS=5, BENCH_SHAPE=full|small,
//! BENCH_SIDES=ours,base,sync,floor,read, BENCH_SCENARIOS=first,unchanged,10%). Prints a Markdown
//! table of medians, ratios, peak memory and request counts; BENCHMARKS.md quotes it.

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

/// A flow of the benchmark's shape (`BENCH_SHAPE`): `full`, with a description, labels, an input
/// and two tasks; `small`, an id, a namespace and one task.
fn flow(ns: &str, id: &str, message: &str) -> String {
    if std::env::var("BENCH_SHAPE").is_ok_and(|s| s == "small") {
        return format!(
            "id: {id}\nnamespace: {ns}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: \"{message}\"\n"
        );
    }
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
    kestractl_deploy_measured(url, dir, count).0
}

/// `kestractl_deploy`, and kestractl's peak memory (max RSS, KiB, from GNU time).
fn kestractl_deploy_measured(
    url: &str,
    dir: &Path,
    count: bool,
) -> ((Duration, (usize, usize)), u64) {
    let rss_file = dir.with_extension("rss");
    let started = Instant::now();
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(env!("CARGO_BIN_EXE_kestractl"));
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
    let rss: u64 = std::fs::read_to_string(&rss_file)
        .expect("GNU time's output")
        .trim()
        .parse()
        .expect("max RSS in KiB");
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
    ((elapsed, (requests, writes)), rss)
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

/// The read floor of a redeploy: every local flow file read, and every namespace's export
/// (`GET /flows/export/by-query?filters[namespace][EQUALS]=…`, the ZIP of its sources) fetched
/// concurrently and read to its end; no parsing, no plan. What an unchanged redeploy cannot beat.
fn read_floor(url: &str, dir: &Path, namespaces: usize) -> (Duration, (usize, usize)) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let export = format!("{url}/api/v1/main/flows/export/by-query");
    let started = Instant::now();
    let files = flow_files(dir).len();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut reads = futures_util::stream::iter((0..namespaces).map(|n| {
            client
                .get(&export)
                .query(&[("filters[namespace][EQUALS]", format!("bench.ns{n}"))])
                .basic_auth(USER, Some(PASSWORD))
                .header("Accept", "application/octet-stream")
                .send()
        }))
        .buffer_unordered(namespaces.max(1));
        while let Some(resp) = reads.next().await {
            let resp = resp.expect("export");
            assert!(resp.status().is_success(), "export: {}", resp.status());
            resp.bytes().await.expect("export body");
        }
    });
    assert!(files > 0);
    (started.elapsed(), (namespaces, 0))
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
    /// kestractl's peak memory per run (KiB).
    rss: Vec<u64>,
}

impl Side {
    fn new() -> Side {
        Side {
            took: Vec::new(),
            counts: (0, 0),
            rss: Vec::new(),
        }
    }
}

/// The sides, as `BENCH_SIDES` names them (default: all): `ours` (kestractl), `base` (the Go
/// CLI's per-flow deploy), `sync` (its namespace-sync), `floor` (bare concurrent writes), `read`
/// (the read floor: every export and every local file).
const ALL_SIDES: [&str; 5] = ["ours", "base", "sync", "floor", "read"];

fn main() {
    let target = std::env::var("BENCH_TARGET").unwrap_or_else(|_| "memory".into());
    let flows = env_or("BENCH_FLOWS", 1000);
    let namespaces = env_or("BENCH_NAMESPACES", 10);
    let latency = env_or("BENCH_LATENCY_MS", 5) as u64;
    let runs = env_or("BENCH_RUNS", 5).max(1);
    let sides: Vec<&str> = match std::env::var("BENCH_SIDES") {
        Ok(list) => ALL_SIDES
            .into_iter()
            .filter(|s| list.split(',').any(|w| w.trim() == *s))
            .collect(),
        Err(_) => ALL_SIDES.to_vec(),
    };
    assert!(sides.contains(&"ours"), "BENCH_SIDES must include ours");
    let scenarios: Vec<(&str, Option<Option<usize>>)> = [
        ("first deploy", None),
        ("unchanged redeploy", Some(None)),
        ("10% changed", Some(Some(10))),
    ]
    .into_iter()
    .filter(|(name, _)| {
        std::env::var("BENCH_SCENARIOS").map_or(true, |list| {
            list.split(',').any(|w| name.starts_with(w.trim()))
        })
    })
    .collect();
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
        "deploy benchmark on {target}: {flows} flows ({} shape), {namespaces} namespaces, {runs} runs{}",
        std::env::var("BENCH_SHAPE").unwrap_or_else(|_| "full".into()),
        if target == "memory" {
            format!(", {latency} ms latency")
        } else {
            String::new()
        }
    );

    let mut rows = Vec::new();
    for (scenario, prepare_changed) in scenarios {
        let mut results: Vec<Side> = sides.iter().map(|_| Side::new()).collect();
        // On the Docker stack, kestractl's requests are counted in one more run of its own with
        // `-v` (its log names each request), so the timed runs pay no logging.
        let count_run = usize::from(target == "docker");
        for run in 0..runs + count_run {
            let counting = run == runs;
            // Each side goes first in turn.
            let order: Vec<usize> = if counting {
                vec![0]
            } else {
                (0..sides.len()).map(|i| (i + run) % sides.len()).collect()
            };
            for i in order {
                let side = sides[i];
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
                if counting {
                    let ((_, client_counts), _) = kestractl_deploy_measured(&url, &dir, true);
                    results[i].counts = server.counts(client_counts);
                    continue;
                }
                let mut rss = None;
                let (took, client_counts) = match side {
                    "ours" => {
                        let (r, kib) = kestractl_deploy_measured(&url, &dir, false);
                        rss = Some(kib);
                        r
                    }
                    "base" => sequential_deploy(&url, &dir),
                    "sync" => namespace_sync_deploy(&url, &dir),
                    "read" => read_floor(&url, &dir, namespaces),
                    _ => floor_deploy(&url, &writes),
                };
                let c = server.counts(client_counts);
                results[i].took.push(took);
                if target != "docker" || side != "ours" {
                    results[i].counts = c;
                }
                results[i].rss.extend(rss);
                eprintln!(
                    "  {scenario:<19} run {run} {side:<5}: {:>8.1} ms, {} requests, {} writes{}",
                    took.as_secs_f64() * 1e3,
                    c.0,
                    c.1,
                    rss.map_or(String::new(), |k| format!(
                        ", peak RSS {:.1} MiB",
                        k as f64 / 1024.0
                    ))
                );
            }
        }
        rows.push((scenario, results));
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let names = |side: &str| match side {
        "ours" => "kestractl",
        "base" => "Go CLI's deploy (per flow: GET, then POST/PUT)",
        "sync" => "Go CLI's namespace-sync (one request per namespace)",
        "floor" => "write floor (bare concurrent writes)",
        _ => "read floor (every export + every local file)",
    };
    let mut header = String::from("| scenario |");
    for side in &sides {
        header.push_str(&format!(" {} (median) |", names(side)));
    }
    header.push_str(" kestractl / floor | kestractl peak RSS (median) | requests (writes), in the order of the sides |");
    println!("{header}");
    println!("|---|{}---:|---:|---|", "---:|".repeat(sides.len()));
    for (scenario, results) in rows {
        let med: Vec<f64> = results
            .iter()
            .map(|r| ms(median(r.took.clone()).expect("samples")))
            .collect();
        let at = |name: &str| sides.iter().position(|s| *s == name);
        let ours = med[0];
        // The floor a scenario is held against: the writes when there are any, else the reads.
        let floor = match (at("floor"), at("read")) {
            (Some(f), _) if results[f].counts.0 > 0 => Some(("write floor", med[f])),
            (_, Some(r)) => Some(("read floor", med[r])),
            _ => None,
        };
        let mut line = format!("| {scenario} |");
        for (i, m) in med.iter().enumerate() {
            if i == 0 {
                line.push_str(&format!(" {m:.0} ms |"));
            } else {
                line.push_str(&format!(" {m:.0} ms ({:.2}× kestractl) |", m / ours));
            }
        }
        line.push_str(&match floor {
            Some((name, f)) => format!(" {:.2} ({name}) |", ours / f),
            None => " — |".into(),
        });
        let rss = median(results[0].rss.clone()).unwrap_or(0);
        line.push_str(&format!(" {:.1} MiB |", rss as f64 / 1024.0));
        let counts: Vec<String> = results
            .iter()
            .map(|r| format!("{} ({})", r.counts.0, r.counts.1))
            .collect();
        line.push_str(&format!(" {} |", counts.join(", ")));
        println!("{line}");
        let runs_of = |r: &Side| {
            r.took
                .iter()
                .map(|d| format!("{:.0}", ms(*d)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let per_run: Vec<String> = sides
            .iter()
            .zip(&results)
            .map(|(s, r)| format!("{s} {}", runs_of(r)))
            .collect();
        eprintln!("{scenario}, per run (ms): {}", per_run.join("; "));
    }
}
