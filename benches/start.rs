//! Start benchmark on the real Docker Engine with the locally built images, side by side in one
//! run:
//!
//! 1. Time until the API answers an authenticated request, from nothing (no containers, a new
//!    volume): `kestractl start` versus the seed's way, `docker-compose up -d` with the file
//!    `kestractl compose` exports, then waiting for both containers' healthchecks to report
//!    healthy, polled once a second as a status script does (Compose v1 has no `--wait`), then
//!    the same authenticated request.
//! 2. Readiness lag: the emulator is told to keep /health DOWN for a while and logs the instant
//!    it turns UP; the lag is how long after that instant `kestractl start` returns.
//!
//! Run: `cargo bench --bench start` (BENCH_RUNS=5, BENCH_READY_DELAY_MS=4000).

// Benchmark harness: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
        let pg = format!("{}-postgres", self.name);
        let _ = docker(&["rm", "-f", "-v", &self.name, &pg]);
        let _ = docker(&["network", "rm", &format!("{}-net", self.name)]);
        let _ = docker(&["volume", "rm", "-f", &format!("{}-pgdata", self.name)]);
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// kestractl: from nothing to an authenticated answer.
fn kestractl_way(stack: &Stack) -> f64 {
    stack.clean();
    let started = Instant::now();
    let out = stack.kestractl(&["start", "--pull", "never"]);
    assert!(
        out.status.success(),
        "start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stack.api_answers());
    let took = started.elapsed().as_secs_f64();
    stack.clean();
    took
}

/// The seed's way with the exported compose file.
fn compose_way(stack: &Stack, root: &Path) -> f64 {
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
    std::fs::write(&file, &out.stdout).unwrap();
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
        std::thread::sleep(Duration::from_secs(1));
    }
    while !stack.api_answers() {
        assert!(Instant::now() < deadline, "compose stack never answered");
        std::thread::sleep(Duration::from_secs(1));
    }
    let took = started.elapsed().as_secs_f64();
    let _ = compose(&["down", "-v"]);
    stack.clean();
    took
}

/// How long after the emulator turned ready `kestractl start` returned, in milliseconds.
fn readiness_lag(stack: &Stack) -> f64 {
    stack.clean();
    let out = stack.kestractl(&["start", "--pull", "never"]);
    let returned = SystemTime::now();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = docker(&["logs", &stack.name]);
    let text = String::from_utf8_lossy(&logs.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Ready: /health reports UP"))
        .expect("the emulator logs when it turns ready");
    let stamp = line.split_whitespace().next().unwrap();
    let ready = time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
        .expect("timestamp");
    let returned = time::OffsetDateTime::from(returned);
    stack.clean();
    (returned - ready).as_seconds_f64() * 1e3
}

fn main() {
    let runs = env_or("BENCH_RUNS", 5).max(1);
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
    let (mut ours, mut theirs, mut lags) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let a = Stack::new("ours", tmp.path(), EMULATOR_IMAGE);
        let b = Stack::new("compose", tmp.path(), EMULATOR_IMAGE);
        let c = Stack::new("lag", tmp.path(), DELAYED_IMAGE);
        let o = kestractl_way(&a);
        let t = compose_way(&b, tmp.path());
        let l = readiness_lag(&c);
        eprintln!(
            "run {run}: kestractl start {o:.2} s, compose way {t:.2} s, readiness lag {l:.0} ms"
        );
        ours.push(o);
        theirs.push(t);
        lags.push(l);
    }
    let (o, t, l) = (median(ours), median(theirs), median(lags));
    println!("| measure | kestractl | Compose way | ratio (kestractl / Compose) |");
    println!("|---|---:|---:|---:|");
    println!(
        "| from nothing to an authenticated API answer (median of {runs}) | {o:.2} s | {t:.2} s | {:.2} |",
        o / t
    );
    println!(
        "| readiness lag: `start` returning after Kestra turned ready (median of {runs}) | {l:.0} ms | | |"
    );
}
