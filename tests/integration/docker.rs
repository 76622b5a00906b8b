//! Harness for tests on the real Docker Engine: the locally built images (built on demand by
//! tests/images/build), a stack with unique names and free ports per test, and cleanup on drop.
//! With `KESTRACTL_E2E_IMAGE=kestra/kestra:<tag>` the same tests run against real Kestra.
//! Test names contain `docker` so nextest runs them one at a time (.config/nextest.toml).

use std::path::PathBuf;
use std::process::Command as StdCommand;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use assert_cmd::Command;

use kestra_emulator::testkit::StackNames;

use crate::common::{RanExt, Sandbox, dead_port};

pub const POSTGRES_IMAGE: &str = "kestractl-test/postgres:15";
pub const EMULATOR_IMAGE: &str = "kestractl-test/kestra-emulator:dev";
pub const STACK_PASSWORD: &str = "Stack-Passw0rd-e2e";
pub const STACK_USER: &str = "admin@kestra.io";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Kestra image under test: the real one when KESTRACTL_E2E_IMAGE names it.
pub fn kestra_image() -> String {
    std::env::var("KESTRACTL_E2E_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| EMULATOR_IMAGE.to_string())
}

pub fn real_kestra() -> bool {
    kestra_image() != EMULATOR_IMAGE
}

pub fn postgres_image() -> String {
    std::env::var("KESTRACTL_E2E_POSTGRES_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| POSTGRES_IMAGE.to_string())
}

pub fn docker(args: &[&str]) -> std::process::Output {
    StdCommand::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the test images, once per test process: the build script is idempotent (a second run
/// takes a fraction of a second) and rebuilds an image whose inputs changed, so tests never run a
/// stale emulator. A file lock keeps concurrent test processes from building at once.
pub fn ensure_images() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let lock_path = std::env::temp_dir().join("kestractl-test-images.lock");
        let lock = std::fs::File::create(&lock_path).expect("lock file");
        lock.lock().expect("lock");
        let status = StdCommand::new("bash")
            .arg(repo_root().join("tests/images/build"))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run tests/images/build");
        assert!(status.success(), "tests/images/build failed");
    });
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One isolated stack: its own container names, volume, ports and data directory.
pub struct Stack {
    pub sb: Sandbox,
    pub name: String,
    pub volume: String,
    pub http_port: u16,
    pub management_port: u16,
}

impl Stack {
    pub fn new() -> Self {
        ensure_images();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("kctl-e2e-{}-{n}", std::process::id());
        Stack {
            sb: Sandbox::new(),
            volume: StackNames::new(&name).volume,
            name,
            http_port: dead_port(),
            management_port: dead_port(),
        }
    }

    pub fn postgres_name(&self) -> String {
        StackNames::new(&self.name).postgres
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.sb.path().join("data")
    }

    /// `kestractl` set up for this stack (settings through the environment, as an operator's
    /// `.env` would give them).
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::from_std(self.std_cmd());
        cmd.timeout(Duration::from_secs(400));
        cmd
    }

    /// The same as a `std::process::Command`, for tests that spawn, signal or pipe it.
    pub fn std_cmd(&self) -> StdCommand {
        let mut cmd = self.sb.std_cmd();
        cmd.env("KESTRA_CONTAINER_NAME", &self.name)
            .env("KESTRA_DB_VOLUME", &self.volume)
            .env("KESTRA_HTTP_PORT", self.http_port.to_string())
            .env("KESTRA_MANAGEMENT_PORT", self.management_port.to_string())
            .env("KESTRA_IMAGE", kestra_image())
            .env("KESTRA_POSTGRES_IMAGE", postgres_image())
            .env("KESTRACTL_DATA_DIR", self.data_dir())
            .env("KESTRACTL_PASSWORD", STACK_PASSWORD);
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            cmd.env("DOCKER_HOST", host);
        }
        cmd
    }

    /// `start` with the pull policy and timeout suited to the image under test.
    pub fn start(&self) -> Command {
        let mut cmd = self.cmd();
        let pull = if real_kestra() { "missing" } else { "never" };
        let wait = if real_kestra() { "5m" } else { "90s" };
        cmd.args(["start", "--pull", pull, "--wait-timeout", wait]);
        cmd
    }

    pub fn inspect(&self, container: &str) -> serde_json::Value {
        let text = docker_ok(&["inspect", container]);
        let v: serde_json::Value = serde_json::from_str(&text).expect("inspect JSON");
        v[0].clone()
    }

    pub fn container_id(&self, container: &str) -> String {
        self.inspect(container)["Id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        StackNames::new(&self.name).remove();
    }
}

/// A blocking call to the stack's API with its credentials: (status, body); status 0 when the
/// server could not be reached.
pub fn api(method: &str, url: &str, content_type: Option<&str>, body: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = client
            .request(method, url)
            .basic_auth(STACK_USER, Some(STACK_PASSWORD))
            .timeout(Duration::from_secs(30));
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct).body(body.to_string());
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.text().await.unwrap_or_default())
            }
            // Not reachable (yet): status 0 with the reason.
            Err(e) => (0, e.to_string()),
        }
    })
}

pub const SAMPLE_FLOW: &str = "id: kept_across_restarts\nnamespace: e2e.docker\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hello\n";

/// An image built from `base` with one more Dockerfile line (no registry: `base` is local).
pub fn derived(base: &str, name: &str, line: &str) -> String {
    let mut child = std::process::Command::new("docker")
        .args(["build", "-q", "-t", name, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("docker build");
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        format!("FROM {base}\n{line}\n").as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "docker build {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    name.to_string()
}

/// Runs flow `ns/id` on the stack and waits for it to succeed.
pub fn run_execution(stack: &Stack, ns: &str, id: &str) {
    stack
        .cmd()
        .args([
            "--server",
            &stack.url(),
            "executions",
            "run",
            ns,
            id,
            "--wait",
        ])
        .ran()
        .code(0);
}
