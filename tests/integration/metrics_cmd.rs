//! `kestractl metrics` against the emulator's management port: the figures match the
//! Prometheus text the endpoint serves (summed here independently), the credential of the
//! stack's rendered config is sent, and each refusal (no credential, a wrong one, Kestra 2.0's
//! sensitive endpoint, nothing listening) is an error that says what to do.

use std::time::Duration;

use kestra_emulator::{BasicAuth, KestraVersion, Options};

use crate::common::*;

/// An emulator whose management port asks `endpoints.all.basic-auth`, as `start` renders it;
/// executions last `duration`.
fn guarded(version: KestraVersion, prometheus_sensitive: Option<bool>, duration: Duration) -> Emu {
    let mut opts = Options::for_tests(version, USER, PASSWORD);
    opts.config.management_basic_auth = Some(BasicAuth {
        username: USER.into(),
        password: PASSWORD.into(),
    });
    opts.config.prometheus_sensitive = prometheus_sensitive;
    opts.knobs.execution_duration = duration;
    emulator_with(opts)
}

fn management_port(emu: &Emu) -> String {
    emu.management_url().rsplit(':').next().unwrap().to_string()
}

/// Writes the stack's rendered config where `metrics` reads the management credential (the
/// default data directory under the sandbox's HOME, container `tools-kestra`).
fn write_stack_config(sb: &Sandbox, username: &str, password: &str) {
    let dir = sb
        .path()
        .join("home/.local/share/kestractl/tools-kestra/secrets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("application.yml"),
        format!(
            "endpoints:\n  all:\n    basic-auth:\n      username: {username}\n      password: \"{password}\"\n  prometheus:\n    sensitive: false\n"
        ),
    )
    .unwrap();
}

fn metrics(sb: &Sandbox, emu: &Emu) -> assert_cmd::Command {
    let mut cmd = sb.cmd();
    cmd.arg("metrics")
        .env("KESTRA_MANAGEMENT_PORT", management_port(emu));
    cmd
}

/// The endpoint's text, fetched here with the credential, not through kestractl.
fn scrape(emu: &Emu) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(format!("{}/prometheus", emu.management_url()))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        resp.text().await.unwrap()
    })
}

/// The sum of a metric's samples, optionally only those carrying `label`.
fn sum(text: &str, name: &str, label: Option<&str>) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if label.is_some_and(|l| !rest.contains(l)) {
            continue;
        }
        let value: f64 = rest.rsplit(' ').next().unwrap().parse().unwrap();
        *found.get_or_insert(0.0) += value;
    }
    found
}

fn status_of(url: &str, auth: Option<(&str, &str)>, accept: Option<&str>) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req.send().await.map_or(0, |r| r.status().as_u16())
    })
}

fn deploy_and_run(sb: &Sandbox, emu: &Emu) {
    deploy_files(
        sb,
        emu,
        "flows",
        &[
            (
                "ok.yml",
                "id: ok\nnamespace: metrics.test\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n",
            ),
            (
                "fails.yml",
                "id: fails\nnamespace: metrics.test\ntasks:\n  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n",
            ),
        ],
    );
    for (flow, code) in [("ok", 0), ("ok", 0), ("fails", 6)] {
        sb.cmd_for(emu)
            .args(["executions", "run", "metrics.test", flow, "--wait"])
            .ran()
            .code(code);
    }
}

#[test]
fn the_figures_are_the_endpoints() {
    for version in VERSIONS {
        let emu = guarded(version, Some(false), Duration::from_millis(50));
        let sb = Sandbox::new();
        write_stack_config(&sb, USER, PASSWORD);
        deploy_and_run(&sb, &emu);

        let out = metrics(&sb, &emu).args(["-o", "json"]).ran().code(0);
        let v = stdout_json(&out);
        let served = scrape(&emu);
        assert_eq!(
            v["executionsStarted"].as_f64(),
            sum(
                &served,
                "kestra_executor_execution_started_count_total",
                None
            ),
            "{version}: {served}"
        );
        assert_eq!(v["executionsStarted"], 3.0);
        for state in ["SUCCESS", "FAILED"] {
            assert_eq!(
                v["executionsEnded"][state].as_f64(),
                sum(
                    &served,
                    "kestra_executor_execution_end_count_total",
                    Some(&format!("state=\"{state}\""))
                ),
                "{version} {state}"
            );
        }
        assert_eq!(v["executionsEnded"]["SUCCESS"], 2.0);
        assert_eq!(v["executionsEnded"]["FAILED"], 1.0);
        for (field, name) in [
            ("workerThreads", "kestra_worker_job_thread"),
            ("workerJobsRunning", "kestra_worker_job_running"),
            ("workerJobsPending", "kestra_worker_job_pending"),
        ] {
            assert_eq!(v[field].as_f64(), sum(&served, name, None), "{field}");
            assert!(v[field].is_number(), "{field}: {v}");
        }
        assert_eq!(
            v["heapUsedBytes"].as_f64(),
            sum(&served, "jvm_memory_used_bytes", Some("area=\"heap\""))
        );
        // One heap pool reports no limit (-1): the heap has none, not a negative one.
        assert!(v["heapMaxBytes"].is_null(), "{v}");
        assert!(v["uptimeSeconds"].as_f64().unwrap() > 0.0);
        assert_eq!(v["unparsedLines"], 0);

        // The table says the same figures.
        let out = metrics(&sb, &emu).ran().code(0);
        let table = text(&out.stdout);
        assert!(table.contains("executions started"), "{table}");
        assert!(
            table
                .lines()
                .any(|l| l.contains("executions ended SUCCESS") && l.trim_end().ends_with('2')),
            "{table}"
        );
        assert!(
            table
                .lines()
                .any(|l| l.contains("worker threads in use") && l.contains("of 16")),
            "{table}"
        );

        // --raw is the endpoint's text, whole.
        let out = metrics(&sb, &emu).arg("--raw").ran().code(0);
        let raw = text(&out.stdout);
        assert!(
            raw.contains("# TYPE kestra_worker_job_thread gauge"),
            "{raw}"
        );
        assert_eq!(
            sum(&raw, "kestra_executor_execution_end_count_total", None),
            Some(3.0)
        );
    }
}

#[test]
fn running_task_runs_show_while_an_execution_runs() {
    let emu = guarded(KestraVersion::V2_0, Some(false), Duration::from_secs(30));
    let sb = Sandbox::new();
    write_stack_config(&sb, USER, PASSWORD);
    deploy_files(
        &sb,
        &emu,
        "flows",
        &[(
            "slow.yml",
            "id: slow\nnamespace: metrics.test\ntasks:\n  - id: wait\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT30S\n",
        )],
    );
    sb.cmd_for(&emu)
        .args(["executions", "run", "metrics.test", "slow"])
        .ran()
        .code(0);
    // The emulator moves the run to RUNNING on its own clock.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let v = loop {
        let v = stdout_json(&metrics(&sb, &emu).args(["-o", "json"]).ran().code(0));
        if v["taskRunsRunning"].as_f64().unwrap_or(0.0) > 0.0
            || std::time::Instant::now() > deadline
        {
            break v;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let served = scrape(&emu);
    assert_eq!(v["taskRunsRunning"], 1.0, "{v}");
    assert_eq!(
        v["taskRunsRunning"].as_f64(),
        sum(&served, "kestra_worker_running_count", None)
    );
    assert!(
        served.contains("task_type=\"io.kestra.plugin.core.flow.Sleep\""),
        "{served}"
    );
    assert_eq!(v["workerJobsRunning"], 1.0);
}

#[test]
fn the_management_port_is_never_open_without_the_credential() {
    for version in VERSIONS {
        let emu = guarded(version, Some(false), Duration::from_millis(50));
        let base = emu.management_url();
        let prom = format!("{base}/prometheus");
        let health = format!("{base}/health");
        // Kestra's BasicAuthEndpointsFilter asks it on every endpoint, /health included.
        assert_eq!(status_of(&prom, None, None), 401, "{version}");
        assert_eq!(status_of(&health, None, None), 401, "{version}");
        assert_eq!(status_of(&prom, Some((USER, "Wrong-pass1")), None), 401);
        assert_eq!(status_of(&health, Some((USER, PASSWORD)), None), 200);
        assert_eq!(status_of(&prom, Some((USER, PASSWORD)), None), 200);
        // Micronaut refuses an Accept header that does not name text/plain.
        assert_eq!(
            status_of(&prom, Some((USER, PASSWORD)), Some("application/json")),
            406
        );
        assert_eq!(
            status_of(
                &prom,
                Some((USER, PASSWORD)),
                Some("text/plain;q=0.9, */*;q=0.1")
            ),
            200
        );
    }
}

#[test]
fn refusals_say_what_to_do() {
    let emu = guarded(KestraVersion::V2_0, Some(false), Duration::from_millis(50));

    // No rendered config: no credential known.
    let sb = Sandbox::new();
    let out = metrics(&sb, &emu).ran().code(4);
    out.says("asks a credential and none is known here")
        .says("kestractl start");

    // A config whose credential Kestra does not accept.
    let sb = Sandbox::new();
    write_stack_config(&sb, USER, "Not-the-one1");
    let out = metrics(&sb, &emu).ran().code(4);
    let err = text(&out.stderr);
    assert!(err.contains("refused the credential"), "{err}");
    assert!(!err.contains("Not-the-one1"), "{err}");

    // Kestra 2.0 without `endpoints.prometheus.sensitive: false`: refused to everyone.
    let strict = guarded(KestraVersion::V2_0, None, Duration::from_millis(50));
    let sb = Sandbox::new();
    write_stack_config(&sb, USER, PASSWORD);
    metrics(&sb, &strict)
        .ran()
        .code(4)
        .says("refused the credential")
        .says("non-sensitive");

    // Kestra 1.3 as shipped leaves /prometheus open when no management credential is set.
    let mut opts = Options::for_tests(KestraVersion::V1_3, USER, PASSWORD);
    opts.knobs.execution_duration = Duration::from_millis(50);
    let open = emulator_with(opts);
    let sb = Sandbox::new();
    let out = metrics(&sb, &open).args(["-o", "json"]).ran().code(0);
    assert!(stdout_json(&out)["workerThreads"].is_number());

    // Nothing listening on the management port.
    let sb = Sandbox::new();
    write_stack_config(&sb, USER, PASSWORD);
    let port = kestra_emulator::testkit::free_port();
    sb.cmd()
        .arg("metrics")
        .env("KESTRA_MANAGEMENT_PORT", port.to_string())
        .ran()
        .code(1)
        .says("cannot reach Kestra")
        .says("KESTRA_MANAGEMENT_PORT");

    // A watch interval below a second is refused before anything is asked.
    metrics(&sb, &emu)
        .args(["--watch", "--interval", "100ms"])
        .ran()
        .code(2)
        .says("shorter than a second");
}

#[test]
fn watch_refreshes_until_interrupted() {
    let emu = guarded(KestraVersion::V2_0, Some(false), Duration::from_millis(50));
    let sb = Sandbox::new();
    write_stack_config(&sb, USER, PASSWORD);
    let mut cmd = sb.std_cmd();
    cmd.args(["metrics", "--watch", "--interval", "1s", "-o", "jsonl"])
        .env("KESTRA_MANAGEMENT_PORT", management_port(&emu));
    let out = interrupted_after(cmd, Duration::from_millis(2500));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let snapshots: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(snapshots.len() >= 2, "{snapshots:?}");
    assert!(snapshots.iter().all(|s| s["workerThreads"] == 16.0));
    // Uptime moves between two refreshes.
    assert!(snapshots[1]["uptimeSeconds"].as_f64() > snapshots[0]["uptimeSeconds"].as_f64());
}
