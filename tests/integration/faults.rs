//! Faults: 503 bursts and latency (reads retried, writes not retried blindly), answers cut off
//! mid-body, Ctrl-C in the middle of a deploy and of a start, Kestra killed during a deploy,
//! Postgres stopped under a running Kestra, the Docker Engine going away mid-command, a full disk.
//! After each: exit code as documented, a message that says what to do, and a rerun converges.

use std::io::{Read, Write};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use kestra_emulator::{BackgroundEmulator, KestraVersion, Knobs, Options};

use crate::common::*;
use crate::docker::*;

fn write_flows(dir: &std::path::Path, n: usize, namespaces: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let ns = format!("fault.ns{}", i % namespaces);
        std::fs::write(
            dir.join(format!("f{i:04}.yml")),
            format!("id: flow{i}\nnamespace: {ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m{i}\n"),
        )
        .unwrap();
    }
}

fn posts_to(emu: &BackgroundEmulator, path: &str) -> Vec<u16> {
    emu.control()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .map(|r| r.status)
        .collect()
}

#[test]
fn failed_creates_are_not_retried_blindly_and_a_rerun_converges() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    write_flows(&dir, 20, 2);
    emu.control().fail_matching("POST", "/api/v1/main/flows", 2);
    let out = deploy_json(&sb, &emu, &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json = stdout_json(&out);
    assert_eq!(json["summary"]["created"], 18);
    assert_eq!(json["summary"]["failed"], 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 503"), "{stderr}");
    assert!(stderr.contains("2 flow(s) failed to deploy"), "{stderr}");
    assert!(stderr.contains("run deploy again"), "{stderr}");
    // A create that may have reached the server is never sent twice: 20 POSTs, 2 of them 503.
    let statuses = posts_to(&emu, "/api/v1/main/flows");
    assert_eq!(statuses.len(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 2);

    emu.control().clear_requests();
    let out = deploy_json(&sb, &emu, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = stdout_json(&out);
    assert_eq!(json["summary"]["created"], 2);
    assert_eq!(json["summary"]["unchanged"], 18);
    assert_eq!(json["summary"]["updated"], 0);

    // An update (PUT, idempotent) that meets a 503 is retried and succeeds.
    std::fs::write(
        dir.join("f0000.yml"),
        "id: flow0\nnamespace: fault.ns0\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: changed\n",
    )
    .unwrap();
    emu.control().clear_requests();
    emu.control()
        .fail_matching("PUT", "/api/v1/main/flows/fault.ns0/flow0", 2);
    let out = deploy_json(&sb, &emu, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(stdout_json(&out)["summary"]["updated"], 1);
    let puts: Vec<u16> = emu
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [503, 503, 200]);
}

#[test]
fn a_trigger_that_meets_a_503_is_reported_not_repeated() {
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    write_flows(&dir, 1, 1);
    sb.cmd_for(&emu)
        .args(["flows", "deploy", dir.to_str().unwrap()])
        .assert()
        .success();
    let route = "/api/v1/main/executions/fault.ns0/flow0";
    emu.control().fail_matching("POST", route, 1);
    let out = sb
        .cmd_for(&emu)
        .args(["executions", "run", "fault.ns0", "flow0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("HTTP 503"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        posts_to(&emu, route),
        [503],
        "one attempt only: a second could start two executions"
    );
    // Reads after a 503 burst are retried; a slow server is given up on at the deadline.
    emu.control().fail_next(3);
    let out = sb
        .cmd_for(&emu)
        .args(["executions", "--limit", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    emu.control().set_latency(Duration::from_secs(5));
    let out = sb
        .cmd_for(&emu)
        .args(["--timeout", "1s", "flows", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no answer within 1s"),
        "{}",
        text(&out.stderr)
    );
}

/// A server whose first `cut` answers stop half-way through the body (the connection closes),
/// and which answers properly afterwards. It records each request line.
fn cutting_server(cut: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let len = s.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..len]).to_string();
            let line = request.lines().next().unwrap_or_default().to_string();
            log.lock().unwrap().push(line.clone());
            let body = if line.contains("/api/v1/configs") {
                r#"{"version":"2.0.5","edition":"OSS","isBasicAuthInitialized":true}"#.to_string()
            } else if line.starts_with("POST") {
                r#"{"id":"x","namespace":"n","flowId":"f","state":{"current":"CREATED"}}"#
                    .to_string()
            } else {
                "[]".to_string()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            if n < cut {
                let _ = s.write_all(&body.as_bytes()[..body.len() / 3]);
            } else {
                let _ = s.write_all(body.as_bytes());
            }
        }
    });
    (url, seen)
}

#[test]
fn an_answer_cut_off_is_retried_for_reads_and_reported_for_writes() {
    let sb = Sandbox::new();
    let (url, seen) = cutting_server(1);
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &url, "server", "info"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let configs = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("/api/v1/configs"))
        .count();
    assert_eq!(configs, 2, "the cut read was sent again");

    let (url, seen) = cutting_server(usize::MAX);
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &url, "executions", "run", "n", "f"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cut off"), "{stderr}");
    let posts = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "a write whose answer was lost is not sent again");
}

fn sigint(child: &std::process::Child) {
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ctrl_c_during_a_deploy_exits_130_and_a_rerun_converges() {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs = Knobs {
        latency: Duration::from_millis(40),
        ..Knobs::default()
    };
    let emu = emulator_with(opts);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    write_flows(&dir, 200, 4);
    let child = sb
        .std_cmd()
        .args([
            "--server",
            &emu.api_url(),
            "flows",
            "deploy",
            dir.to_str().unwrap(),
            "--concurrency",
            "2",
        ])
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while posts_to(&emu, "/api/v1/main/flows").len() < 10 {
        assert!(
            Instant::now() < deadline,
            "the deploy never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: interrupted"), "{stderr}");
    assert!(stderr.contains("converges"), "{stderr}");
    let written = posts_to(&emu, "/api/v1/main/flows").len();
    assert!(written < 200, "interrupted part-way ({written} writes)");

    emu.control().set_latency(Duration::ZERO);
    let out = deploy_json(&sb, &emu, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = &stdout_json(&out)["summary"];
    assert_eq!(s["updated"], 0);
    assert_eq!(
        s["created"].as_u64().unwrap() + s["unchanged"].as_u64().unwrap(),
        200,
        "{s}"
    );
    let listed = sb
        .cmd_for(&emu)
        .args(["flows", "list", "fault", "-o", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(
        text(&listed.stdout).lines().count(),
        200,
        "none lost, none duplicated"
    );
}

// ---------------------------------------------------------------------------------------------
// On the real Docker Engine.

fn flow_total(stack: &Stack) -> Option<u64> {
    let (status, body) = api(
        "GET",
        &format!("{}/api/v1/main/flows/search?size=1&page=1", stack.url()),
        None,
        "",
    );
    (status == 200)
        .then(|| serde_json::from_str::<serde_json::Value>(&body).ok()?["total"].as_u64())
        .flatten()
}

#[test]
fn docker_kestra_killed_mid_deploy_then_a_rerun_converges() {
    let stack = Stack::new();
    stack.start().assert().success();
    let dir = stack.sb.path().join("flows");
    write_flows(&dir, 500, 5);
    let child = stack
        .std_cmd()
        .args([
            "flows",
            "deploy",
            dir.to_str().unwrap(),
            "--concurrency",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while flow_total(&stack).unwrap_or(0) < 40 {
        assert!(
            Instant::now() < deadline,
            "the deploy never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    docker_ok(&["kill", &stack.name]);
    let out = child.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(0),
        "the deploy cannot have succeeded"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("failed to deploy"), "{stderr}");
    // Once the server is gone, the remaining writes are not attempted one by one.
    assert!(stderr.contains("the server stopped answering"), "{stderr}");

    // Start brings Kestra back (its container is unchanged); the rerun converges.
    stack.start().assert().success();
    let out = stack
        .cmd()
        .args(["flows", "deploy", dir.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = &stdout_json(&out)["summary"];
    assert_eq!(s["updated"], 0, "{s}");
    assert!(s["unchanged"].as_u64().unwrap() >= 40, "{s}");
    assert_eq!(
        s["created"].as_u64().unwrap() + s["unchanged"].as_u64().unwrap(),
        500
    );
    assert_eq!(flow_total(&stack), Some(500), "none lost, none duplicated");
}

#[test]
fn docker_postgres_stopped_status_names_the_part_that_is_down() {
    let stack = Stack::new();
    stack.start().assert().success();
    docker_ok(&["stop", &stack.postgres_name()]);
    let out = stack.cmd().args(["status", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let status = stdout_json(&out);
    assert_eq!(status["ready"], false);
    assert_eq!(status["containers"][0]["state"], "exited", "{status}");
    assert_eq!(status["containers"][1]["state"], "running");
    assert_ne!(status["kestra"]["health"], "UP", "{status}");
    // An API command fails with the server's answer and where to look.
    let out = stack.cmd().args(["flows", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("kestractl status"),
        "{}",
        text(&out.stderr)
    );
    // start repairs it.
    stack.start().assert().success();
    let out = stack.cmd().args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// A Unix-socket proxy in front of the Docker Engine that can be cut at any moment.
struct EngineProxy {
    path: std::path::PathBuf,
    streams: std::sync::Arc<std::sync::Mutex<Vec<std::os::unix::net::UnixStream>>>,
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl EngineProxy {
    fn start(dir: &std::path::Path) -> Self {
        use std::os::unix::net::{UnixListener, UnixStream};
        let path = dir.join("docker-proxy.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let streams = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s2, c2) = (streams.clone(), closed.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if c2.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(upstream) = UnixStream::connect("/var/run/docker.sock") else {
                    continue;
                };
                let pipe = |mut from: UnixStream, mut to: UnixStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                };
                {
                    let mut all = s2.lock().unwrap();
                    all.push(client.try_clone().unwrap());
                    all.push(upstream.try_clone().unwrap());
                }
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            }
        });
        EngineProxy {
            path,
            streams,
            closed,
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    fn cut(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.path);
        for s in self.streams.lock().unwrap().iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn docker_engine_gone_mid_command_is_reported_not_hung() {
    let stack = Stack::new();
    stack.start().assert().success();
    let proxy = EngineProxy::start(stack.sb.path());
    let child = stack
        .std_cmd()
        .env("DOCKER_HOST", proxy.host())
        .args(["logs", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    proxy.cut();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it must not hang"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("lost the Docker Engine"), "{stderr}");
    assert!(stderr.contains("doctor"), "{stderr}");
    // Logs had been printed before the cut.
    assert!(text(&out.stdout).contains(" | "), "{}", text(&out.stdout));
}

#[test]
fn docker_ctrl_c_during_start_leaves_a_state_a_rerun_finishes() {
    let stack = Stack::new();
    // An emulator image that stays DOWN for a while, so start is caught waiting.
    let delayed = "kestractl-test/kestra-emulator:slow-ready";
    let mut build = StdCommand::new("docker")
        .args(["build", "-q", "-t", delayed, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    build
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("FROM {EMULATOR_IMAGE}\nENV KESTRA_EMULATOR_READY_DELAY_MS=8000\n").as_bytes(),
        )
        .unwrap();
    assert!(build.wait().unwrap().success());
    let child = stack
        .std_cmd()
        .env("KESTRA_IMAGE", delayed)
        .args(["start", "--pull", "never"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !docker(&["inspect", &stack.name]).status.success() {
        assert!(
            Instant::now() < deadline,
            "Kestra's container never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`kestractl start` again finishes the job"),
        "{stderr}"
    );
    // What was created is there and explained by status; start again finishes.
    let out = stack
        .cmd()
        .env("KESTRA_IMAGE", delayed)
        .args(["status", "-o", "json"])
        .output()
        .unwrap();
    let status = stdout_json(&out);
    assert_eq!(status["containers"][1]["state"], "running", "{status}");
    let mut again = stack.start();
    again.env("KESTRA_IMAGE", delayed);
    let out = again.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Kestra is ready"));
}

#[test]
fn docker_a_full_disk_for_the_stack_files_is_reported_and_nothing_is_created() {
    let stack = Stack::new();
    let small = stack.sb.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = StdCommand::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root and mount permission)");
        return;
    }
    // Fill it.
    let _ = std::fs::write(small.join("filler"), vec![0u8; 64 * 1024]);
    let out = stack
        .start()
        .env("KESTRACTL_DATA_DIR", &small)
        .output()
        .unwrap();
    let _ = StdCommand::new("umount").arg(&small).status();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("cannot"), "{stderr}");
    assert!(
        !docker(&["inspect", &stack.postgres_name()])
            .status
            .success(),
        "nothing created"
    );
    assert!(!stderr.contains(STACK_PASSWORD));
}
