//! Correctness and polish (issue 28): what a new operator's pass and a terminal at 100, 60 and 40
//! columns found, each through the real binary. Tests that need a pseudo-terminal say
//! `terminal` in their name, those that need the keyring `keyring` (scripts/test leaves them out
//! where the tool is missing, so nextest counts them as skipped).

use kestra_emulator::{KestraVersion, Options};

use crate::common::*;

/// An emulator whose executions already exist (seeded), with their ids.
fn seeded(n: u32) -> Emu {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs.seed_executions = n;
    emulator_with(opts)
}

fn ids(sb: &Sandbox, emu: &Emu) -> Vec<String> {
    text(
        &sb.cmd_for(emu)
            .args(["executions", "--limit", "10", "-q"])
            .ran()
            .code(0)
            .stdout,
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Item 7: at 60 columns execution ids were cut, at 40 every column was. Identifiers are never
/// cut; lower-value columns are left out first and named; `-o wide` shows every column.
#[test]
fn tables_on_a_terminal_never_cut_an_identifier() {
    let emu = seeded(5);
    let sb = Sandbox::new();
    let ids = ids(&sb, &emu);
    assert!(!ids.is_empty());
    let api = emu.api_url();
    for columns in [100u16, 60, 40] {
        let pty = Pty::spawn_sized(
            &sb,
            &["--server", &api, "executions", "--limit", "10"],
            &[("KESTRACTL_PASSWORD", PASSWORD), ("NO_COLOR", "1")],
            Some(columns),
        )
        .expect("script");
        let (code, shown) = pty.wait();
        assert_eq!(code, Some(0), "{columns}: {shown}");
        for id in &ids {
            assert!(
                shown.contains(id.as_str()),
                "{columns}: {id} is not whole in:\n{shown}"
            );
        }
        assert!(!shown.contains('…'), "{columns}: {shown}");
        if columns <= 60 {
            assert!(
                shown.contains("left out to fit the terminal"),
                "{columns}: {shown}"
            );
            assert!(shown.contains("-o wide"), "{columns}: {shown}");
        }
    }
    // -o wide: every column, at any width.
    let pty = Pty::spawn_sized(
        &sb,
        &[
            "--server",
            &api,
            "executions",
            "--limit",
            "10",
            "-o",
            "wide",
        ],
        &[("KESTRACTL_PASSWORD", PASSWORD), ("NO_COLOR", "1")],
        Some(40),
    )
    .expect("script");
    let (code, shown) = pty.wait();
    assert_eq!(code, Some(0), "{shown}");
    for header in ["ID", "NAMESPACE", "FLOW", "STATE", "STARTED", "DURATION"] {
        assert!(shown.contains(header), "{header}: {shown}");
    }
}

/// Item 8: a key's expiry an hour ahead read "just now". Times read both ways.
#[test]
fn future_times_read_ahead() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    sb.cmd_for(&emu)
        .args(["kv", "set", "polish.kv", "soon", "x", "--ttl", "1h"])
        .ran()
        .code(0)
        .says("expires in 1h");
    let out = sb
        .cmd_for(&emu)
        .args(["kv", "list", "polish.kv", "-o", "table"])
        .ran()
        .code(0);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("in 59m") || shown.contains("in 1h"),
        "{shown}"
    );
    assert!(
        !shown.contains("just now\n") || shown.contains("in "),
        "{shown}"
    );
}

/// Item 11: `metrics` with a remote server says whose metrics it reads; `doctor`'s fix for a
/// refused password names where it came from, and a reason shared by skipped checks is said
/// once.
#[test]
fn metrics_and_doctor_say_which_kestra_and_why() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let port = emu.management_url().rsplit(':').next().unwrap().to_string();
    let out = sb
        .cmd()
        .env("KESTRA_MANAGEMENT_PORT", &port)
        .args(["--server", "https://kestra.example.com", "metrics"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains(
            "Reading the metrics of this machine's stack (tools-kestra), not of https://kestra.example.com"
        ),
        "{}",
        text(&out.stderr)
    );

    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", "Wrong-passw0rd-1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["--server", &emu.api_url(), "doctor", "-o", "table"])
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(
        shown.contains("the password comes from the environment variable KESTRACTL_PASSWORD"),
        "{shown}"
    );
    assert!(
        !shown.contains("run `kestractl auth login` to store"),
        "{shown}"
    );
    assert_eq!(
        shown.matches("is not this machine's stack").count(),
        1,
        "{shown}"
    );
    assert!(shown.contains("skipped, as above"), "{shown}");
}

/// Item 12: completion offered aliases (`down`, `ex`, `apply`) instead of the commands' names.
#[test]
fn completion_offers_command_names_not_aliases() {
    let sb = Sandbox::new();
    let offered = complete_in_bash(&sb, "http://127.0.0.1:9", &["kestractl", ""]);
    for name in ["stop", "executions", "start", "flows"] {
        assert!(offered.contains(&name.to_string()), "{name}: {offered:?}");
    }
    for alias in ["down", "ex", "up"] {
        assert!(
            !offered.contains(&alias.to_string()),
            "{alias}: {offered:?}"
        );
    }
    let flows = complete_in_bash(&sb, "http://127.0.0.1:9", &["kestractl", "flows", ""]);
    assert!(flows.contains(&"deploy".to_string()), "{flows:?}");
    assert!(!flows.contains(&"apply".to_string()), "{flows:?}");
    // An alias still runs.
    sb.cmd().args(["ex", "--help"]).ran().code(0);
}

/// Item 16: smaller frictions — `version` shows the server's version; the top-level help has
/// examples; `-vv` says more than `-v`; `is not an input`; a route the server lacks is not
/// "there is no execution".
#[test]
fn smaller_frictions_are_gone() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let out = sb.cmd_for(&emu).arg("version").ran().code(0);
    assert!(
        text(&out.stdout).contains(&format!("Kestra 2.0.5 (OSS) at {}", emu.api_url())),
        "{}",
        text(&out.stdout)
    );
    let json = stdout_json(
        &sb.cmd_for(&emu)
            .args(["version", "-o", "json"])
            .ran()
            .code(0),
    );
    assert_eq!(json["server"]["version"], "2.0.5", "{json}");

    let help = text(&sb.cmd().arg("--help").ran().code(0).stdout);
    assert!(help.contains("Examples:\n  kestractl start"), "{help}");

    let v = text(
        &sb.cmd_for(&emu)
            .args(["-v", "flows", "list"])
            .ran()
            .code(0)
            .stderr,
    );
    let vv = text(
        &sb.cmd_for(&emu)
            .args(["-vv", "flows", "list"])
            .ran()
            .code(0)
            .stderr,
    );
    assert!(vv.contains("answer: 200"), "{vv}");
    assert!(!v.contains("answer: 200"), "{v}");
    assert!(vv.lines().count() > v.lines().count());
    assert!(!vv.contains("Basic ") && !vv.contains(PASSWORD), "{vv}");

    sb.cmd_for(&emu)
        .args(["executions", "run", "polish/f", "--input", "novalue"])
        .ran()
        .code(2)
        .says("`novalue` is not an input: expected KEY=VALUE");

    // A server that has the execution but not the outputs route.
    let execution = serde_json::json!({
        "id": "ex1", "namespace": "company", "flowId": "f",
        "state": {"current": "SUCCESS", "histories": []}, "taskRunList": [],
    })
    .to_string();
    let server = crate::fake::FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            crate::fake::Reply::json(200, crate::fake::CONFIGS_2_0)
        } else if path.contains("/outputs/") {
            crate::fake::Reply::json(404, r#"{"message":"Page Not Found"}"#)
        } else {
            crate::fake::Reply::json(200, &execution)
        }
    });
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args([
            "--server",
            &server.url,
            "executions",
            "outputs",
            "list",
            "ex1",
        ])
        .ran()
        .code(3);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("execution ex1 exists, but Kestra answered 404"),
        "{stderr}"
    );
    assert!(!stderr.contains("there is no execution"), "{stderr}");
}

/// Item 14: problems came in two passes (local first, the server's on the next run); the
/// offline check missed a task id used twice.
#[test]
fn flow_problems_come_in_one_pass_and_offline_finds_duplicate_task_ids() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    std::fs::create_dir_all(&dir).unwrap();
    // A local problem in one file, a problem only the server sees in another.
    std::fs::write(dir.join("a-local.yml"), "id: a\nnamespace: Bad Namespace\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n").unwrap();
    std::fs::write(
        dir.join("b-server.yml"),
        "id: b\nnamespace: polish\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Nope\n",
    )
    .unwrap();
    std::fs::write(dir.join("c-dup.yml"), "id: c\nnamespace: polish\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: y\n").unwrap();
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "deploy"])
        .arg(&dir)
        .ran()
        .code(5);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("a-local.yml:2: namespace `Bad Namespace`"),
        "{stderr}"
    );
    assert!(stderr.contains("b-server.yml:5: Kestra:"), "{stderr}");
    assert!(
        stderr.contains("c-dup.yml:7: task id `t` is used twice"),
        "{stderr}"
    );
    let at = |needle: &str| stderr.find(needle).unwrap();
    assert!(at("a-local.yml") < at("b-server.yml") && at("b-server.yml") < at("c-dup.yml"));
    assert!(
        emu.control()
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.ends_with("/flows/validate")),
        "something was written"
    );
    let out = sb
        .cmd()
        .args(["flows", "validate", "--offline"])
        .arg(&dir)
        .ran()
        .code(5);
    assert!(text(&out.stderr).contains("c-dup.yml:7: task id `t` is used twice"));
}

/// Item 18: `start` stored the password under `http://localhost:PORT`, and `--server
/// http://127.0.0.1:PORT` found no keyring entry. Loopback spellings of a port are one server.
#[test]
fn keyring_loopback_spellings_of_one_server_share_its_entry() {
    let Some(ss) = crate::keyring::SecretService::start() else {
        return;
    };
    let emu = emulator(KestraVersion::V2_0);
    let port = emu.api_url().rsplit(':').next().unwrap().to_string();
    let sb = Sandbox::new();
    let mut login = sb.cmd();
    ss.apply(&mut login);
    login
        .args([
            "--server",
            &format!("http://localhost:{port}"),
            "auth",
            "login",
            "--password-stdin",
        ])
        .write_stdin(format!("{PASSWORD}\n"))
        .ran()
        .code(0);
    for spelling in [
        format!("http://127.0.0.1:{port}"),
        format!("http://[::1]:{port}"),
    ] {
        let mut info = sb.cmd();
        ss.apply(&mut info);
        if spelling.contains("::1")
            && std::net::TcpStream::connect(("::1", port.parse::<u16>().unwrap())).is_err()
        {
            continue;
        }
        info.args(["--server", &spelling, "server", "info"])
            .ran()
            .code(0);
    }
}

/// Item 16: Ctrl-C at the password prompt exited 2 (an interrupt is 130, nothing stored).
#[test]
fn keyring_login_on_a_terminal_ctrl_c_at_the_password_exits_130() {
    let Some(ss) = crate::keyring::SecretService::start() else {
        return;
    };
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let envs = ss.envs();
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty =
        Pty::spawn(&sb, &["--server", &emu.api_url(), "auth", "login"], &envs).expect("script");
    pty.expect("Password for ");
    pty.send("\x03");
    let (code, shown) = pty.wait();
    assert_eq!(code, Some(130), "{shown}");
    assert!(shown.contains("nothing was stored"), "{shown}");
    assert_eq!(ss.count(), 0);
}

/// Item 13: Ctrl-C in `run --wait` left a spinner frame on the screen above the shell's prompt.
#[test]
fn ctrl_c_in_run_wait_on_a_terminal_leaves_no_spinner_frame() {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs.execution_duration = std::time::Duration::from_secs(30);
    let emu = emulator_with(opts);
    let sb = Sandbox::new();
    deploy_files(
        &sb,
        &emu,
        "slow",
        &[(
            "slow.yml",
            "id: slow\nnamespace: polish\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
        )],
    );
    let api = emu.api_url();
    let mut pty = Pty::spawn(
        &sb,
        &[
            "--server",
            &api,
            "executions",
            "run",
            "polish/slow",
            "--wait",
        ],
        &[("KESTRACTL_PASSWORD", PASSWORD), ("NO_COLOR", "1")],
    )
    .expect("script");
    pty.expect("Started execution");
    std::thread::sleep(std::time::Duration::from_millis(700));
    pty.send("\x03");
    let (code, shown) = pty.wait();
    assert_eq!(code, Some(130), "{shown}");
    // After the last spinner frame drawn, the line was cleared.
    let spinner = |c: char| ('\u{2800}'..='\u{28ff}').contains(&c);
    if let Some(last) = shown.rfind(spinner) {
        assert!(
            shown[last..].contains("\x1b[2K"),
            "a spinner frame stays on screen: {:?}",
            &shown[last..]
        );
    }
}
