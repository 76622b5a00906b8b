//! `kestractl server info` against the emulator in 1.3 and 2.0 modes: version, edition and
//! credentials; the wrong-password, missing-password, server-down and slow-server paths; retries;
//! what goes over the wire.

use std::time::Duration;

use kestra_emulator::{KestraVersion, Knobs, Options};

use crate::common::*;

#[test]
fn prints_version_edition_and_valid_credentials_on_both_versions() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let out = sb.cmd_for(&emu).args(["server", "info"]).ran().code(0);
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("version\t{}", version.full())),
            "{stdout}"
        );
        assert!(stdout.contains("edition\tOSS"), "{stdout}");
        assert!(stdout.contains("credentials\tvalid"), "{stdout}");

        let out = sb
            .cmd_for(&emu)
            .args(["server", "info", "-o", "json"])
            .ran()
            .code(0);
        let json = stdout_json(&out);
        assert_eq!(json["version"], version.full());
        assert_eq!(json["edition"], "OSS");
        assert_eq!(json["credentials"], "valid");
        let api = if version == KestraVersion::V2_0 {
            "2.x"
        } else {
            "1.x"
        };
        assert_eq!(json["api"], api);
        assert_eq!(json["supported"], true);
        assert_eq!(json["basicAuthInitialized"], true);
        assert_eq!(json["server"], emu.api_url());
    }
}

#[test]
fn password_from_stdin_works_and_is_never_echoed() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args([
            "--server",
            &emu.api_url(),
            "server",
            "info",
            "--password-stdin",
            "-vv",
        ])
        .write_stdin(format!("{PASSWORD}\n"))
        .ran()
        .code(0);
    assert!(text(&out.stdout).contains("credentials\tvalid"));
    assert!(!text(&out.stdout).contains(PASSWORD));
    assert!(
        !text(&out.stderr).contains(PASSWORD),
        "-vv leaked the password"
    );
    // -vv does log the requests it made.
    assert!(
        text(&out.stderr).contains("/api/v1/configs"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn wrong_password_exits_4_and_says_what_to_do() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let out = sb
            .cmd_for(&emu)
            .env("KESTRACTL_PASSWORD", "not-the-password")
            .args(["server", "info", "-vv"])
            .ran()
            .code(4);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("refused the credentials of {USER}")),
            "{stderr}"
        );
        assert!(stderr.contains("hint: check the password"), "{stderr}");
        assert!(!stderr.contains("not-the-password"));
        assert!(!text(&out.stdout).contains("not-the-password"));
        assert!(text(&out.stdout).contains("credentials\trefused"));
        if version == KestraVersion::V2_0 {
            // 2.0 hides its configuration from bad credentials, but /configs/login tells the family.
            assert!(
                text(&out.stdout).contains("version\t2.x"),
                "{}",
                text(&out.stdout)
            );
        } else {
            assert!(text(&out.stdout).contains("version\t1.3.26"));
        }
    }
}

#[test]
fn missing_password_exits_4_with_the_ways_to_give_one() {
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["--server", &emu.api_url(), "server", "info", "-o", "json"])
        .ran()
        .code(4);
    assert_eq!(stdout_json(&out)["credentials"], "missing");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no password was given"), "{stderr}");
    assert!(stderr.contains("--password-stdin"), "{stderr}");
    assert!(stderr.contains("KESTRACTL_PASSWORD"), "{stderr}");
}

#[test]
fn server_down_fails_within_the_timeout_naming_the_url() {
    let sb = Sandbox::new();
    // Refused connections: retried (nothing reached the server), then reported with the URL.
    let url = format!("http://127.0.0.1:{}", dead_port());
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &url, "--timeout", "3s", "server", "info"])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach Kestra at {url}/api/v1/configs")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: is Kestra running"), "{stderr}");

    // A server that accepts connections and never answers: the command gives up by itself at
    // its deadline (the harness would kill it after 60 s, and then there is no exit code).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &url, "--timeout", "2s", "server", "info"])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no answer within 2s (--timeout)"),
        "{stderr}"
    );
    assert!(stderr.contains(&url), "{stderr}");
    drop(silent);
}

#[test]
fn slow_server_is_abandoned_at_the_deadline() {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs = Knobs {
        latency: Duration::from_secs(30),
        ..Knobs::default()
    };
    let emu = emulator_with(opts);
    let sb = Sandbox::new();
    let out = sb
        .cmd_for(&emu)
        .args(["--timeout", "1s", "server", "info"])
        .timeout(Duration::from_secs(20))
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no answer within 1s (--timeout)"),
        "{stderr}"
    );
    assert!(stderr.contains(&emu.api_url()), "{stderr}");
}

#[test]
fn a_burst_of_503_is_retried_and_a_long_one_is_reported() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    emu.control().fail_next(2);
    sb.cmd_for(&emu).args(["server", "info"]).ran().code(0);
    let statuses: Vec<u16> = emu.control().requests().iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..3], &[503, 503, 200], "{statuses:?}");

    emu.control().fail_next(50);
    let out = sb.cmd_for(&emu).args(["server", "info"]).ran().code(1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 503"), "{stderr}");
}

#[test]
fn every_request_carries_basic_auth_and_no_cookie() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    emu.control().clear_requests();
    sb.cmd_for(&emu).args(["server", "info"]).assert().success();
    let requests = emu.control().requests();
    assert!(requests.len() >= 2, "{requests:?}");
    for r in &requests {
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        // /configs/login is public and deliberately sent without credentials.
        if r.path != "/api/v1/configs/login" {
            let auth = header("authorization").unwrap_or_default();
            assert!(auth.starts_with("Basic "), "{} had no Basic auth", r.path);
        }
        assert!(header("cookie").is_none(), "{} sent a cookie", r.path);
        assert!(
            header("user-agent")
                .unwrap_or_default()
                .starts_with("kestractl/"),
            "{r:?}"
        );
    }
    // The credential proof used a protected route, not /configs.
    assert!(
        requests
            .iter()
            .any(|r| r.path == "/api/v1/main/flows/distinct-namespaces" && r.status == 200)
    );
}

#[test]
fn basic_auth_is_not_sent_over_plain_http_to_a_remote_host() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args([
            "--server",
            "http://kestra.example.invalid:8080",
            "server",
            "info",
        ])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refusing to send the password over plain http to kestra.example.invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-insecure-http"), "{stderr}");
}

#[test]
fn an_html_page_instead_of_the_api_is_explained() {
    // A plain HTTP server that answers every request with a login page, as a proxy would.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "<html><body><form>Sign in</form></body></html>";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &url, "server", "info"])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("HTML page instead of Kestra's JSON"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// `--tenant` goes into every tenant-scoped path; Kestra OSS (`TenantValidationFilter`) refuses
/// any tenant but `main` with a 400, explained with what to change.
#[test]
fn a_tenant_other_than_main_reaches_the_paths_and_is_refused_as_oss_refuses_it() {
    for version in VERSIONS {
        let emu = emulator(version);
        emu.expect_refusals();
        let sb = Sandbox::new();
        let out = sb
            .cmd_for(&emu)
            .args(["--tenant", "acme", "flows", "list"])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{version}: {stderr}");
        assert!(stderr.contains("Tenant must be 'main'"), "{stderr}");
        assert!(
            stderr.contains("Kestra OSS has one tenant, `main`"),
            "{stderr}"
        );
        let paths: Vec<String> = emu
            .control()
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/v1/acme/"))
            .map(|r| r.path)
            .collect();
        assert!(
            paths.iter().any(|p| p.starts_with("/api/v1/acme/flows/")),
            "{version}: {paths:?}"
        );
        assert!(
            emu.control()
                .requests()
                .iter()
                .all(|r| !r.path.starts_with("/api/v1/main/")),
            "nothing went to another tenant"
        );
        // `main`, given explicitly, is what a default context uses.
        emu.control().clear_requests();
        sb.cmd_for(&emu)
            .args(["--tenant", "main", "flows", "list"])
            .ran()
            .code(0);
        assert!(
            emu.control()
                .requests()
                .iter()
                .any(|r| r.path == "/api/v1/main/flows/search")
        );
    }
}

/// `auth status` and `doctor` report the server as it is now: one attempt, no riding out an
/// outage (which `server info` and every other call do until `--timeout`).
#[test]
fn status_checks_say_a_server_is_down_without_retrying() {
    let sb = Sandbox::new();
    let url = format!("http://127.0.0.1:{}", dead_port());
    for args in [&["auth", "status"][..], &["doctor"][..]] {
        let out = sb
            .cmd()
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .env("KESTRACTL_KEYRING", "none")
            .args(["--server", &url, "-v"])
            .args(args)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        let stdout = text(&out.stdout);
        assert!(!stderr.contains("retrying"), "{args:?}: {stderr}");
        // The `-v` log is not coloured when stderr is not a terminal.
        assert!(stderr.contains("DEBUG"), "{args:?}: {stderr}");
        assert!(!stderr.contains('\x1b'), "{args:?}: {stderr:?}");
        assert!(
            format!("{stdout}{stderr}").contains("cannot reach Kestra"),
            "{args:?}: {stdout}{stderr}"
        );
    }
    // A server that never answered in this run is not waited for by any command either (a
    // wrong address or port fails at once, naming it); riding out an outage starts after a first
    // answer (faults::a_deploy_rides_out_ten_seconds_of_503s, the Docker restart tests).
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &url, "--timeout", "30s", "server", "info"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("retrying"), "{stderr}");
    assert!(
        stderr.contains(&format!("is Kestra running and listening at {url}?")),
        "{stderr}"
    );
}
