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

/// GETs of single flows (`/api/v1/main/flows/<ns>/<id>`) under `prefix`.
fn gets_of(emu: &BackgroundEmulator, prefix: &str) -> Vec<(String, u16)> {
    emu.control()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with(prefix))
        .filter(|r| r.path.matches('/').count() == 6)
        .map(|r| (r.path.clone(), r.status))
        .collect()
}

#[test]
fn creates_are_sent_again_only_after_a_read_proves_they_did_not_land() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    write_flows(&dir, 20, 2);
    // Two creates meet a 503 before Kestra handled them.
    emu.control().fail_matching("POST", "/api/v1/main/flows", 2);
    let out = deploy_json(&sb, &emu, &dir);
    out.assert_code(0);
    let json = stdout_json(&out);
    assert_eq!(json["summary"]["created"], 20);
    assert_eq!(json["summary"]["failed"], 0);
    // 22 POSTs: each 503 was followed by a read showing the flow absent (404), then a resend.
    let statuses = posts_to(&emu, "/api/v1/main/flows");
    assert_eq!(statuses.len(), 22, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 2);
    let reads = gets_of(&emu, "/api/v1/main/flows/fault.ns");
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads.iter().all(|(_, s)| *s == 404), "{reads:?}");
    // Nothing duplicated: one revision each.
    let revisions: Vec<i64> = json["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["revision"].as_i64().unwrap())
        .collect();
    assert!(revisions.iter().all(|r| *r == 1), "{revisions:?}");

    // Two creates are carried out but their answers are lost (a gateway's 504): the read finds
    // each one holding exactly the source sent, so it is done; nothing is sent twice.
    let dir2 = sb.path().join("flows2");
    std::fs::create_dir_all(&dir2).unwrap();
    for i in 0..6 {
        std::fs::write(
            dir2.join(format!("g{i}.yml")),
            format!("id: lost{i}\nnamespace: fault.lost\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"),
        )
        .unwrap();
    }
    emu.control().clear_requests();
    emu.control().lose_answers("POST", "/api/v1/main/flows", 2);
    let out = deploy_json(&sb, &emu, &dir2);
    out.assert_code(0);
    assert_eq!(stdout_json(&out)["summary"]["created"], 6);
    let statuses = posts_to(&emu, "/api/v1/main/flows");
    assert_eq!(statuses.len(), 6, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 504).count(), 2);
    let reads = gets_of(&emu, "/api/v1/main/flows/fault.lost/");
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads.iter().all(|(_, s)| *s == 200), "{reads:?}");
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "list", "fault.lost", "-o", "json"])
        .output()
        .unwrap();
    let listed = stdout_json(&out);
    assert_eq!(listed.as_array().unwrap().len(), 6, "{listed}");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["revision"] == 1),
        "{listed}"
    );

    // A rerun changes nothing.
    emu.control().clear_requests();
    let out = deploy_json(&sb, &emu, &dir);
    out.assert_code(0);
    let json = stdout_json(&out);
    assert_eq!(json["summary"]["created"], 0);
    assert_eq!(json["summary"]["unchanged"], 20);
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
    out.assert_code(0);
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

/// Kestra restarting behind a proxy: every request answers 503 for ten seconds. With default
/// settings (`--timeout 30s`) a deploy rides it out, says it is waiting, and loses nothing.
#[test]
fn a_deploy_rides_out_ten_seconds_of_503s() {
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    write_flows(&dir, 40, 4);
    emu.control().unavailable_for(Duration::from_secs(10));
    let started = Instant::now();
    let out = deploy_json(&sb, &emu, &dir);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(10));
    let json = stdout_json(&out);
    assert_eq!(json["summary"]["created"], 40, "{json}");
    assert_eq!(json["summary"]["failed"], 0);
    assert!(
        stderr.contains("Kestra unavailable (HTTP 503)") && stderr.contains("retrying for up to"),
        "{stderr}"
    );
    // Said once per outage, not once per request.
    assert!(
        stderr.matches("retrying for up to").count() <= 3,
        "{stderr}"
    );
    // Everything is there exactly once.
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "list", "fault", "-o", "json"])
        .output()
        .unwrap();
    let listed = stdout_json(&out);
    assert_eq!(listed.as_array().unwrap().len(), 40);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["revision"] == 1)
    );
}

/// Kestra down for longer than `--timeout`: a clear error naming the URL and what to do, and no
/// flow reported written that was not.
#[test]
fn an_outage_longer_than_the_timeout_fails_clearly_and_reports_nothing_written() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    write_flows(&dir, 6, 2);
    // Reads and validation work; every create meets 503 for longer than the 3 s timeout.
    emu.control()
        .fail_matching("POST", "/api/v1/main/flows", 10_000);
    let out = sb
        .cmd_for(&emu)
        .args([
            "--timeout",
            "3s",
            "flows",
            "deploy",
            &dir.display().to_string(),
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json = stdout_json(&out);
    assert_eq!(json["summary"]["created"], 0, "{json}");
    for row in json["plan"].as_array().unwrap() {
        assert_ne!(row["result"], "done", "{row}");
    }
    let server = emu.api_url();
    assert!(
        stderr.contains(&format!("{server}/api/v1/main/flows")),
        "the error names the URL: {stderr}"
    );
    assert!(stderr.contains("stayed unavailable (HTTP 503"), "{stderr}");
    assert!(stderr.contains("--timeout"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "list", "fault", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&out), serde_json::json!([]));
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
        .ran()
        .code(1);
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
    sb.cmd_for(&emu)
        .args(["executions", "--limit", "1"])
        .ran()
        .code(0);
    emu.control().set_latency(Duration::from_secs(5));
    let out = sb
        .cmd_for(&emu)
        .args(["--timeout", "1s", "flows", "list"])
        .ran()
        .code(1);
    assert!(
        text(&out.stderr).contains("no answer within 1s"),
        "{}",
        text(&out.stderr)
    );
}

/// A server whose first `cut` answers stop half-way through the body (the connection closes),
/// and which answers properly afterwards. It records each request line. The flow `n/f`, which
/// `executions run` reads before it starts anything, is always answered whole.
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
            let flow_read = line.starts_with("GET") && line.contains("/flows/n/f");
            let body = if flow_read {
                r#"{"id":"f","namespace":"n","revision":1}"#.to_string()
            } else if line.contains("/api/v1/configs") {
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
            if n < cut && !flow_read {
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
    sb.cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &url, "server", "info"])
        .ran()
        .code(0);
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
        .ran()
        .code(1);
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
    out.assert_code(130);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: interrupted"), "{stderr}");
    assert!(stderr.contains("converges"), "{stderr}");
    let written = posts_to(&emu, "/api/v1/main/flows").len();
    assert!(written < 200, "interrupted part-way ({written} writes)");

    emu.control().set_latency(Duration::ZERO);
    let out = deploy_json(&sb, &emu, &dir);
    out.assert_code(0);
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
        .ran()
        .code(0);
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
    let out = stack.cmd().args(["status", "-o", "json"]).ran().code(3);
    let status = stdout_json(&out);
    assert_eq!(status["ready"], false);
    assert_eq!(status["containers"][0]["state"], "exited", "{status}");
    assert_eq!(status["containers"][1]["state"], "running");
    assert_ne!(status["kestra"]["health"], "UP", "{status}");
    // An API command fails with the server's answer and where to look.
    let out = stack.cmd().args(["flows", "list"]).ran().code(1);
    assert!(
        text(&out.stderr).contains("kestractl status"),
        "{}",
        text(&out.stderr)
    );
    // start repairs it.
    stack.start().assert().success();
    stack.cmd().args(["status"]).ran().code(0);
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
    out.assert_code(1);
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
    // Kestra's container is created while Postgres initialises and started once it answers:
    // caught once it runs, while start waits for it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = || {
        let out = docker(&["inspect", "-f", "{{.State.Running}}", &stack.name]);
        out.status.success() && text(&out.stdout).trim() == "true"
    };
    while !running() {
        assert!(
            Instant::now() < deadline,
            "Kestra's container never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    out.assert_code(130);
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
    let out = again.ran().code(0);
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
        kestra_emulator::prerequisite::missing(
            "cannot mount a small tmpfs here (needs root and mount permission)",
        );
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
    out.assert_code(1);
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
