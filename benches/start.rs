//! Start benchmark on the real Docker Engine with the locally built images, side by side in one
//! run:
//!
//! 1. Time until the API answers an authenticated request, from nothing (no containers, a new
//!    volume): `kestractl start` versus the seed's way, `docker-compose up -d` with the file
//!    `kestractl compose` exports, then waiting for both containers' healthchecks to report
//!    healthy (Compose v1 has no `--wait`), then the same authenticated request. The Compose way
//!    runs twice: as the seed's status script did it (the exported healthchecks, polled once a
//!    second), and with its best honest settings (Kestra's healthcheck every 1 s, start period
//!    kept, polled every 100 ms: the same loop kestractl runs).
//! 2. Readiness lag: the emulator is told to keep /health DOWN for a while and logs the instant
//!    it turns UP; the lag is how long after that instant each way saw the API ready. Reported
//!    as a distribution (min, median, 90th percentile, max) next to each way's poll interval.
//!
//! Run: `cargo bench --bench start` (BENCH_RUNS=5, BENCH_LAG_RUNS=10 (0: no lag runs),
//! BENCH_READY_DELAY_MS=4000).

// Benchmark harness: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kestra_emulator::testkit::{StackNames, free_port, median};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const PASSWORD: &str = "Bench-Passw0rd-start";
const POSTGRES_IMAGE: &str = "kestractl-test/postgres:15";
const EMULATOR_IMAGE: &str = "kestractl-test/kestra-emulator:dev";
const DELAYED_IMAGE: &str = "kestractl-bench/kestra-emulator:delayed";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI")
}

struct Stack {
    name: String,
    data: PathBuf,
    http: u16,
    mgmt: u16,
    image: String,
}

impl Stack {
    fn new(tag: &str, root: &Path, image: &str) -> Self {
        let name = format!("kctl-bench-{tag}-{}", std::process::id());
        Stack {
            data: root.join(&name),
            name,
            http: free_port(),
            mgmt: free_port(),
            image: image.into(),
        }
    }

    fn kestractl(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_kestractl"))
            .args(args)
            .env("KESTRA_CONTAINER_NAME", &self.name)
            .env("KESTRA_DB_VOLUME", format!("{}-pgdata", self.name))
            .env("KESTRA_HTTP_PORT", self.http.to_string())
            .env("KESTRA_MANAGEMENT_PORT", self.mgmt.to_string())
            .env("KESTRA_IMAGE", &self.image)
            .env("KESTRA_POSTGRES_IMAGE", POSTGRES_IMAGE)
            .env("KESTRACTL_DATA_DIR", &self.data)
            .env("KESTRACTL_CONFIG_DIR", self.data.join("cfg"))
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .output()
            .expect("run kestractl")
    }

    fn clean(&self) {
        StackNames::new(&self.name).remove();
    }

    /// An authenticated request the way any client would make it; true on 200.
    fn api_answers(&self) -> bool {
        Command::new("curl")
            .args([
                "-fsS",
                "-o",
                "/dev/null",
                "-u",
                &format!("admin@kestra.io:{PASSWORD}"),
                &format!(
                    "http://127.0.0.1:{}/api/v1/main/flows/distinct-namespaces",
                    self.http
                ),
            ])
            .status()
            .is_ok_and(|s| s.success())
    }

    fn healthy(&self, container: &str) -> bool {
        let out = docker(&["inspect", "-f", "{{.State.Health.Status}}", container]);
        String::from_utf8_lossy(&out.stdout).trim() == "healthy"
    }
}

/// One `kestractl start` from nothing, in seconds: until an authenticated answer; the engines'
/// floor read off the same run; and the time Docker itself took to start the two containers
/// (from kestractl's start call, in its `-v` log, to the container's StartedAt).
struct OurRun {
    took: f64,
    floor: f64,
    docker_starts: f64,
}

fn kestractl_way(stack: &Stack) -> OurRun {
    stack.clean();
    let started = Instant::now();
    let out = stack.kestractl(&["-v", "start", "--pull", "never"]);
    assert!(
        out.status.success(),
        "start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stack.api_answers());
    let took = started.elapsed().as_secs_f64();
    let floor = engines_floor(stack);
    let log = String::from_utf8_lossy(&out.stderr);
    let docker_starts = [format!("{}-postgres", stack.name), stack.name.clone()]
        .iter()
        .map(|c| {
            let needle = format!("docker: start container {c}");
            let line = log
                .lines()
                .find(|l| l.ends_with(&needle))
                .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"));
            (started_at(c) - rfc3339(line.split_whitespace().next().expect("a timestamp")))
                .as_seconds_f64()
        })
        .sum();
    stack.clean();
    OurRun {
        took,
        floor,
        docker_starts,
    }
}

/// The engines' own floor for one start, read off Docker's clock: Postgres's last "ready to
/// accept connections" (the real server, after the entrypoint's temporary one) minus its
/// container's start, plus Kestra's "Server Running" (it serves authenticated requests from
/// then on) minus its container's start. What no client can beat: the time each engine takes
/// to come up, with nothing between the two.
fn engines_floor(stack: &Stack) -> f64 {
    let postgres = format!("{}-postgres", stack.name);
    let pg = logged_at(
        &postgres,
        "database system is ready to accept connections",
        true,
    ) - started_at(&postgres);
    let kestra = logged_at(&stack.name, "Server Running", false) - started_at(&stack.name);
    (pg + kestra).as_seconds_f64()
}

fn rfc3339(stamp: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(stamp.trim(), &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("timestamp {stamp:?}: {e}"))
}

/// When Docker started `container`.
fn started_at(container: &str) -> time::OffsetDateTime {
    let out = docker(&["inspect", "-f", "{{.State.StartedAt}}", container]);
    rfc3339(&String::from_utf8_lossy(&out.stdout))
}

/// Docker's timestamp of the first (or last) log line of `container` containing `needle`.
fn logged_at(container: &str, needle: &str, last: bool) -> time::OffsetDateTime {
    let out = docker(&["logs", "--timestamps", container]);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let mut lines = text.lines().filter(|l| l.contains(needle));
    let line = if last {
        lines.next_back()
    } else {
        lines.next()
    };
    let line = line.unwrap_or_else(|| panic!("{container} never logged {needle:?}:\n{text}"));
    rfc3339(line.split_whitespace().next().expect("a timestamp"))
}

/// How the Compose way is run: the healthcheck interval it gives Kestra and how often the
/// waiting loop polls.
#[derive(Clone, Copy)]
struct ComposeWay {
    kestra_interval_1s: bool,
    poll: Duration,
}

/// The seed's status script: the exported healthchecks, polled once a second.
const SEED_WAY: ComposeWay = ComposeWay {
    kestra_interval_1s: false,
    poll: Duration::from_secs(1),
};
/// Compose's best honest settings: Kestra checked every second (the start period kept, so a slow
/// start is not marked unhealthy), polled every 100 ms as kestractl polls.
const BEST_WAY: ComposeWay = ComposeWay {
    kestra_interval_1s: true,
    poll: Duration::from_millis(100),
};

/// The Compose way from nothing: how long it took, and, on the delayed image, how long after the
/// emulator turned ready it saw the API ready (ms).
fn compose_way(stack: &Stack, root: &Path, way: ComposeWay) -> (f64, Option<f64>) {
    stack.clean();
    // The compose file refers to the files kestractl renders: render them, then start from nothing.
    let out = stack.kestractl(&["start", "--pull", "never", "--no-wait"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stack.clean();
    let file = root.join(format!("{}-compose.yml", stack.name));
    let out = stack.kestractl(&["compose"]);
    let mut text = String::from_utf8(out.stdout).unwrap();
    if way.kestra_interval_1s {
        // Kestra's service comes first in the file; Postgres is already checked every second.
        assert!(text.contains("interval: 5s"), "{text}");
        text = text.replacen("interval: 5s", "interval: 1s", 1);
    }
    std::fs::write(&file, text).unwrap();
    let compose = |args: &[&str]| {
        Command::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .args(["-p", &stack.name])
            .args(args)
            .output()
            .expect("docker-compose")
    };
    let pg = format!("{}-postgres", stack.name);
    let started = Instant::now();
    let up = compose(&["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    while !(stack.healthy(&pg) && stack.healthy(&stack.name)) {
        assert!(Instant::now() < deadline, "compose stack never healthy");
        std::thread::sleep(way.poll);
    }
    while !stack.api_answers() {
        assert!(Instant::now() < deadline, "compose stack never answered");
        std::thread::sleep(way.poll);
    }
    let seen = time::OffsetDateTime::from(SystemTime::now());
    let took = started.elapsed().as_secs_f64();
    let lag = ready_instant(stack).map(|ready| (seen - ready).as_seconds_f64() * 1e3);
    let _ = compose(&["down", "-v"]);
    stack.clean();
    (took, lag)
}

/// The instant the delayed emulator of `stack` logged that it turned ready (`None`: not a
/// delayed emulator).
fn ready_instant(stack: &Stack) -> Option<time::OffsetDateTime> {
    let logs = docker(&["logs", &stack.name]);
    let text = String::from_utf8_lossy(&logs.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Ready: /health reports UP"))?;
    let stamp = line.split_whitespace().next().unwrap();
    Some(
        time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
            .expect("timestamp"),
    )
}

/// How long after the emulator turned ready `kestractl start` returned, in milliseconds.
fn readiness_lag(stack: &Stack) -> f64 {
    stack.clean();
    let out = stack.kestractl(&["start", "--pull", "never"]);
    let returned = time::OffsetDateTime::from(SystemTime::now());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ready = ready_instant(stack).expect("the delayed emulator logs when it turns ready");
    stack.clean();
    (returned - ready).as_seconds_f64() * 1e3
}

/// min / median / 90th percentile / max of a sample, in its unit.
fn distribution(mut v: Vec<f64>) -> [f64; 4] {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [v[0], at(0.5), at(0.9), v[v.len() - 1]]
}

fn main() {
    let runs = env_or("BENCH_RUNS", 5).max(1);
    let lag_runs = env_or("BENCH_LAG_RUNS", 10);
    let delay = env_or("BENCH_READY_DELAY_MS", 4000);
    let status = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/images/build"))
        .status()
        .expect("tests/images/build");
    assert!(status.success());
    let dockerfile = format!("FROM {EMULATOR_IMAGE}\nENV KESTRA_EMULATOR_READY_DELAY_MS={delay}\n");
    let mut build = Command::new("docker")
        .args(["build", "-q", "-t", DELAYED_IMAGE, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    build
        .stdin
        .take()
        .unwrap()
        .write_all(dockerfile.as_bytes())
        .unwrap();
    assert!(build.wait().unwrap().success());

    let tmp = tempfile::tempdir().unwrap();
    let (mut ours, mut floors, mut starts, mut seed, mut best) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        // Each side goes first in turn.
        for side in (0..3).map(|i| (i + run as usize) % 3) {
            match side {
                0 => {
                    let r = kestractl_way(&Stack::new("ours", tmp.path(), EMULATOR_IMAGE));
                    eprintln!(
                        "run {run}: kestractl start {:.2} s (engines' floor {:.2} s, Docker's container starts {:.2} s)",
                        r.took, r.floor, r.docker_starts
                    );
                    ours.push(r.took);
                    floors.push(r.floor);
                    starts.push(r.docker_starts);
                }
                _ => {
                    let (tag, way, label, sample) = if side == 1 {
                        ("seed", SEED_WAY, "seed's way", &mut seed)
                    } else {
                        ("best", BEST_WAY, "best settings", &mut best)
                    };
                    let (t, _) = compose_way(
                        &Stack::new(tag, tmp.path(), EMULATOR_IMAGE),
                        tmp.path(),
                        way,
                    );
                    eprintln!("run {run}: compose ({label}) {t:.2} s");
                    sample.push(t);
                }
            }
        }
    }
    let (mut lag_ours, mut lag_best) = (Vec::new(), Vec::new());
    for run in 0..lag_runs {
        let l = readiness_lag(&Stack::new("lag", tmp.path(), DELAYED_IMAGE));
        let (_, c) = compose_way(
            &Stack::new("lagc", tmp.path(), DELAYED_IMAGE),
            tmp.path(),
            BEST_WAY,
        );
        let c = c.expect("the delayed emulator logs when it turns ready");
        eprintln!("lag run {run}: kestractl {l:.0} ms, compose (best settings) {c:.0} ms");
        lag_ours.push(l);
        lag_best.push(c);
    }
    let (o, f, d, t, b) = (
        median(ours.clone()).expect("samples"),
        median(floors.clone()).expect("samples"),
        median(starts.clone()).expect("samples"),
        median(seed.clone()).expect("samples"),
        median(best.clone()).expect("samples"),
    );
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "| from nothing to an authenticated API answer (median of {runs}) | time | kestractl / this |"
    );
    println!("|---|---:|---:|");
    println!("| kestractl start | {o:.2} s | 1.00 |");
    println!(
        "| the engines' floor (Postgres ready + Kestra serving, each from its container's start) | {f:.2} s | {:.2} |",
        o / f
    );
    println!(
        "| the engines' floor + Docker's own two container starts (start call to StartedAt, read off the same runs) | {:.2} s | {:.2} |",
        f + d,
        o / (f + d)
    );
    println!(
        "| Compose, the seed's way (exported healthchecks, polled every 1 s) | {t:.2} s | {:.2} |",
        o / t
    );
    println!(
        "| Compose, best settings (Kestra checked every 1 s, polled every 100 ms) | {b:.2} s | {:.2} |",
        o / b
    );
    println!();
    println!(
        "Per run (s): kestractl {}; engines' floor {}; Docker's container starts {}; seed's way {}; best settings {}",
        list(&ours),
        list(&floors),
        list(&starts),
        list(&seed),
        list(&best)
    );
    if lag_runs == 0 {
        return;
    }
    println!();
    println!(
        "| readiness lag over {lag_runs} runs (ms) | poll interval | min | median | p90 | max |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let [a, m, p, z] = distribution(lag_ours.clone());
    println!(
        "| kestractl start (polls Kestra's /health) | 100 ms | {a:.0} | {m:.0} | {p:.0} | {z:.0} |"
    );
    let [a, m, p, z] = distribution(lag_best.clone());
    println!(
        "| Compose, best settings (healthcheck every 1 s, polled every 100 ms) | 1 s healthcheck + 100 ms | {a:.0} | {m:.0} | {p:.0} | {z:.0} |"
    );
    println!();
    println!(
        "Per run (ms): kestractl {}; Compose {}",
        list(&lag_ours),
        list(&lag_best)
    );
}
