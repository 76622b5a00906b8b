//! Namespace-file push benchmark, side by side in one run, each side against a fresh server:
//!
//! - `kestractl nsfiles push NS DIR`, as an operator runs it (list the tree, plan by name and
//!   size, compare same-size files with the server's copies, from one export of the namespace
//!   when there are 8 or more, else read one by one; write what differs, 32 at a time);
//! - the baseline: one upload at a time, every file, blindly (`POST …/files?path=` with the file as
//!   the multipart part `fileContent`), the way a shell loop over `curl -F` or a CLI's per-file
//!   upload does it. Its best honest settings: one kept-alive connection, no reads at all.
//!
//! The server is the in-memory emulator (2.0 mode) with `BENCH_LATENCY_MS` added to every answer;
//! it counts the requests. Run: `cargo bench --bench nsfiles` (BENCH_FILES=1000,
//! BENCH_LATENCY_MS=5, BENCH_RUNS=5). Prints a Markdown table that BENCHMARKS.md quotes.

// Benchmark harness: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kestra_emulator::testkit::median;
use kestra_emulator::{BackgroundEmulator, KestraVersion, Knobs, Options};

const USER: &str = "admin@kestra.io";
const PASSWORD: &str = "Bench-Passw0rd";
const NAMESPACE: &str = "bench.files";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `files` files in 20 folders of 5 subfolders, 1–4 KiB each; with `changed_every`, every n-th
/// file gets other bytes of the same size (the case only a content compare can tell).
fn write_tree(dir: &Path, files: usize, changed_every: Option<usize>) -> Vec<(String, PathBuf)> {
    let _ = std::fs::remove_dir_all(dir);
    (0..files)
        .map(|i| {
            let rel = format!("group{}/part{}/file{i}.sql", i % 20, (i / 20) % 5);
            let path = dir.join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let size = 1024 + (i * 37) % 3072;
            let fill = match changed_every {
                Some(n) if i % n == 0 => b'y',
                _ => b'x',
            };
            let mut bytes = format!("-- file {i}\n").into_bytes();
            bytes.resize(size, fill);
            std::fs::write(&path, bytes).unwrap();
            (rel, path)
        })
        .collect()
}

fn emulator(latency_ms: u64) -> BackgroundEmulator {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs = Knobs {
        latency: Duration::from_millis(latency_ms),
        ..Knobs::default()
    };
    kestra_emulator::start_in_background(opts).expect("emulator")
}

/// (requests, writes) the server saw.
fn counts(emu: &BackgroundEmulator) -> (usize, usize) {
    let reqs = emu.control().requests();
    let writes = reqs
        .iter()
        .filter(|r| matches!(r.method.as_str(), "POST" | "DELETE"))
        .count();
    (reqs.len(), writes)
}

fn kestractl_push(url: &str, dir: &Path, cfg: &Path) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kestractl"))
        .args(["--server", url, "nsfiles", "push", NAMESPACE])
        .arg(dir)
        .args(["-o", "json"])
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .env("KESTRACTL_KEYRING", "none")
        .env("KESTRACTL_CONFIG_DIR", cfg)
        .output()
        .expect("run kestractl");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "kestractl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// The baseline: every file uploaded, one request after the other, on one connection.
fn one_at_a_time(url: &str, files: &[(String, PathBuf)]) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let endpoint = format!("{url}/api/v1/main/namespaces/{NAMESPACE}/files");
    let started = Instant::now();
    rt.block_on(async {
        let client = reqwest::Client::new();
        for (rel, path) in files {
            let bytes = std::fs::read(path).unwrap();
            let form = reqwest::multipart::Form::new().part(
                "fileContent",
                reqwest::multipart::Part::bytes(bytes).file_name("content"),
            );
            let resp = client
                .post(&endpoint)
                .query(&[("path", format!("/{rel}"))])
                .basic_auth(USER, Some(PASSWORD))
                .header("Accept", "application/json")
                .multipart(form)
                .send()
                .await
                .expect("upload");
            assert!(resp.status().is_success(), "upload: {}", resp.status());
        }
    });
    started.elapsed()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let files = env_or("BENCH_FILES", 1000);
    let latency = env_or("BENCH_LATENCY_MS", 5) as u64;
    let runs = env_or("BENCH_RUNS", 5);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("files");
    let cfg = tmp.path().join("cfg");
    eprintln!("nsfiles push benchmark: {files} files, {latency} ms latency, {runs} runs");

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut rows = Vec::new();
    for (scenario, prepared, changed) in [
        ("first push", false, None),
        ("unchanged re-push", true, None),
        ("10% changed (same sizes)", true, Some(10)),
    ] {
        let mut took: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        let mut seen = [(0, 0); 2];
        for run in 0..runs {
            for (side, name) in ["kestractl", "baseline"].iter().enumerate() {
                let server = emulator(latency);
                let url = server.api_url();
                let mut tree = write_tree(&dir, files, None);
                if prepared {
                    // The server already holds the original tree (loaded without cost to either
                    // side), then the request log is cleared.
                    kestractl_push(&url, &dir, &cfg);
                    if changed.is_some() {
                        tree = write_tree(&dir, files, changed);
                    }
                }
                server.control().clear_requests();
                let t = if side == 0 {
                    kestractl_push(&url, &dir, &cfg)
                } else {
                    one_at_a_time(&url, &tree)
                };
                seen[side] = counts(&server);
                took[side].push(t);
                eprintln!(
                    "  {scenario:<26} run {run} {name:<9}: {:>8.1} ms, {} requests, {} writes",
                    ms(t),
                    seen[side].0,
                    seen[side].1
                );
            }
        }
        let [ours, base] = [0, 1].map(|i| median(took[i].clone()).expect("samples"));
        rows.push((scenario, ours, base, seen));
    }

    println!(
        "| scenario | kestractl (median of {runs}) | one at a time (median of {runs}) | speed-up | kestractl requests (writes) | baseline requests (writes) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (scenario, ours, base, seen) in rows {
        println!(
            "| {scenario} | {:.0} ms | {:.0} ms | {:.1}× | {} ({}) | {} ({}) |",
            ms(ours),
            ms(base),
            ms(base) / ms(ours),
            seen[0].0,
            seen[0].1,
            seen[1].0,
            seen[1].1
        );
    }
}
