//! `executions list --all -o jsonl` over many executions: peak memory (max RSS, from GNU time)
//! at 10,000 and 100,000 seeded executions, which must stay flat because pages stream to stdout,
//! and the time to the first row. The emulator runs in this process; only kestractl's memory is
//! measured.
//!
//! Run: `cargo bench --bench executions` (BENCH_SIZES=10000,100000, BENCH_RUNS=3).

// Benchmark harness: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kestra_emulator::{KestraVersion, Knobs, Options};

const USER: &str = "admin@kestra.io";
const PASSWORD: &str = "Bench-Passw0rd";

struct Sample {
    rss_kib: u64,
    first_row: Duration,
    total: Duration,
    rows: usize,
}

fn measure(url: &str, cfg: &std::path::Path) -> Sample {
    let started = Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kib=%M", env!("CARGO_BIN_EXE_kestractl")])
        .args(["--server", url, "executions", "--all", "-o", "jsonl"])
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .env("KESTRACTL_CONFIG_DIR", cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("GNU time (/usr/bin/time) and kestractl");
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let first_row = started.elapsed();
    let mut rows = usize::from(!line.is_empty());
    for l in reader.lines() {
        l.unwrap();
        rows += 1;
    }
    let out = child.wait_with_output().unwrap();
    let total = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .expect("max RSS");
    Sample {
        rss_kib,
        first_row,
        total,
        rows,
    }
}

fn main() {
    let sizes: Vec<u32> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cfg = tempfile::tempdir().unwrap();
    println!(
        "| seeded executions | rows printed | peak RSS (median) | time to first row (median) | total time (median) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    let mut peaks = Vec::new();
    for &n in &sizes {
        let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
        opts.knobs = Knobs {
            seed_executions: n,
            ..Knobs::default()
        };
        let emu = kestra_emulator::start_in_background(opts).expect("emulator");
        let mut samples: Vec<Sample> = (0..runs.max(1))
            .map(|_| measure(&emu.api_url(), cfg.path()))
            .collect();
        for s in &samples {
            assert_eq!(s.rows, n as usize, "every execution printed once");
            eprintln!(
                "  {n}: {} KiB, first row {:?}, total {:?}",
                s.rss_kib, s.first_row, s.total
            );
        }
        let median_by = |samples: &mut Vec<Sample>, key: fn(&Sample) -> u128| -> u128 {
            let mut v: Vec<u128> = samples.iter().map(key).collect();
            v.sort_unstable();
            v[v.len() / 2]
        };
        let rss = median_by(&mut samples, |s| u128::from(s.rss_kib));
        let first = median_by(&mut samples, |s| s.first_row.as_millis());
        let total = median_by(&mut samples, |s| s.total.as_millis());
        peaks.push((n, rss));
        println!(
            "| {n} | {n} | {:.1} MiB | {first} ms | {:.1} s |",
            rss as f64 / 1024.0,
            total as f64 / 1000.0
        );
    }
    if let (Some(small), Some(large)) = (peaks.first(), peaks.last()) {
        println!(
            "\nPeak RSS at {} is {:.2}× that at {}.",
            large.0,
            large.1 as f64 / small.1 as f64,
            small.0
        );
    }
}
