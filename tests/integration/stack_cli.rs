//! Stack commands where no Docker Engine is needed or reachable: an unreachable engine is named
//! with what to check, bad settings are refused before any call, `compose` works offline.

use crate::common::*;

#[test]
fn an_unreachable_engine_is_named_with_what_to_check() {
    let sb = Sandbox::new();
    for cmd in [
        &["start", "--pull", "never"][..],
        &["status"],
        &["stop"],
        &["logs"],
    ] {
        let out = sb
            .cmd()
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("KESTRACTL_PASSWORD", "Admin1234xyz")
            .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
            .args(cmd)
            .ran()
            .code(1);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("cannot reach the Docker Engine at unix:///nonexistent/docker.sock"),
            "{cmd:?}: {stderr}"
        );
        assert!(stderr.contains("is the Docker Engine running?"), "{stderr}");
    }
}

#[test]
fn start_refuses_without_a_password_or_with_a_weak_one_before_touching_docker() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .args(["start"])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("must not start without Basic Auth credentials"),
        "{stderr}"
    );
    assert!(stderr.contains("--password-stdin"), "{stderr}");

    let out = sb
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .env("KESTRACTL_PASSWORD", "weak")
        .args(["start"])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("would be refused by Kestra"), "{stderr}");
    assert!(stderr.contains("upper-case"), "{stderr}");
    assert!(!stderr.contains("weak\n"), "{stderr}");
    assert!(!sb.path().join("data").exists(), "nothing may be written");
}

#[test]
fn bad_stack_settings_name_their_source() {
    let sb = Sandbox::new();
    sb.write_dotenv("KESTRA_HTTP_PORT=8080\nKESTRA_MANAGEMENT_PORT=8080\n");
    let out = sb.cmd().args(["status"]).ran().code(1);
    assert!(
        text(&out.stderr).contains("both 8080"),
        "{}",
        text(&out.stderr)
    );
    sb.write_dotenv("KESTRA_MEMORY=lots\n");
    let out = sb.cmd().args(["compose"]).ran().code(1);
    assert!(
        text(&out.stderr).contains(".env KESTRA_MEMORY"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn compose_needs_no_docker_and_puts_no_secret_inline() {
    let sb = Sandbox::new();
    sb.write_dotenv("KESTRA_BASICAUTH_PASSWORD=Secr3t-in-dotenv\nKESTRA_DB_PASSWORD=Db-Secr3t\nKESTRA_HTTP_PORT=18080\n");
    let out = sb
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .arg("compose")
        .ran()
        .code(0);
    let yaml = text(&out.stdout);
    assert!(!yaml.contains("Secr3t"), "{yaml}");
    assert!(yaml.contains("127.0.0.1:18080:8080"), "{yaml}");
    assert!(
        yaml.contains("POSTGRES_PASSWORD_FILE: /run/secrets/kestra-db-password"),
        "{yaml}"
    );
    assert!(yaml.contains("condition: service_healthy"), "{yaml}");
    assert!(
        yaml.contains("$$POSTGRES_DB"),
        "compose must not interpolate the container's variables"
    );
    // The files it refers to do not exist yet: said on stderr.
    assert!(
        text(&out.stderr).contains("kestractl start --no-wait"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stop_volumes_without_a_terminal_refuses_and_touches_nothing() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["stop", "--remove", "--volumes"])
        .ran()
        .code(2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "--volumes deletes data: kestractl asks before doing that, but there is no terminal \
             to ask on; nothing was stopped or deleted"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--yes"), "{stderr}");
    // It refused before connecting to Docker (which is unreachable here).
    assert!(!stderr.contains("Docker Engine"), "{stderr}");
}

/// Passwords Kestra would not take as configured are refused before anything starts: Kestra's own
/// rule edges (a line break, a non-ASCII "upper-case" letter, too few code points, over 256
/// UTF-16 units) and `${`, which Micronaut reads as a placeholder, in either password or the
/// username. Nothing is created, no keyring touched, Docker never reached.
#[test]
fn start_refuses_what_kestra_would_not_take_before_touching_anything() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("KESTRACTL_PASSWORD", "Admin1234\u{2028}x")],
            "line break",
        ),
        (
            &[("KESTRACTL_PASSWORD", "Ädmin1234")],
            "upper-case letter A-Z",
        ),
        (
            &[("KESTRACTL_PASSWORD", "Ab1😀😀😀😀")],
            "at least 8 characters",
        ),
        (
            &[("KESTRACTL_PASSWORD", &format!("Aa1{}", "😀".repeat(127)))],
            "256",
        ),
        (
            &[("KESTRACTL_PASSWORD", "Pass${word}1")],
            "Basic Auth password contains `${`",
        ),
        (
            &[
                ("KESTRACTL_PASSWORD", "Admin1234xyz"),
                ("KESTRA_DB_PASSWORD", "db${HOME}pw"),
            ],
            "Postgres password contains `${`",
        ),
        (
            &[
                ("KESTRACTL_PASSWORD", "Admin1234xyz"),
                ("KESTRACTL_USERNAME", "a${b}@kestra.io"),
            ],
            "username contains `${`",
        ),
        (
            &[
                ("KESTRACTL_PASSWORD", "Admin1234xyz"),
                ("KESTRACTL_USERNAME", "o\u{2019}neil@kestra.io"),
            ],
            "not a valid Kestra username",
        ),
    ];
    for (env, expected) in cases {
        let sb = Sandbox::new();
        let mut cmd = sb.cmd();
        cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
            .args(["start", "--pull", "never"]);
        for (k, v) in *env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{env:?}: {stderr}");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
        assert!(!stderr.contains("Docker Engine"), "{env:?}: {stderr}");
        for (k, v) in *env {
            if k.ends_with("PASSWORD") {
                assert!(!stderr.contains(v), "{k} leaked: {stderr}");
            }
        }
        assert!(
            !sb.path().join("data").exists(),
            "{env:?}: nothing may be written"
        );
    }
}

#[test]
fn start_warns_when_kestra_floats_on_latest_and_is_pulled_every_time() {
    let sb = Sandbox::new();
    let start = |args: &[&str]| {
        let out = sb
            .cmd()
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("KESTRACTL_PASSWORD", "Admin1234xyz")
            .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
            .arg("start")
            .args(args)
            .ran()
            .code(1);
        text(&out.stderr)
    };
    // The default (kestra/kestra:latest, --pull always): warned, with how to pin; then the
    // unreachable engine stops it as before.
    let stderr = start(&[]);
    assert!(
        stderr.contains("kestra/kestra:latest (default) is pulled on every start"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot be undone"), "{stderr}");
    assert!(
        stderr.contains("KESTRA_IMAGE=kestra/kestra:<version>"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot reach the Docker Engine"),
        "{stderr}"
    );
    // A pinned version, or no pull on every start: nothing to warn about.
    for args in [
        &["--image", "kestra/kestra:1.3.25"][..],
        &["--pull", "missing"],
        &["--pull", "never"],
    ] {
        let stderr = start(args);
        assert!(
            !stderr.contains("pulled on every start"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("cannot reach the Docker Engine"),
            "{stderr}"
        );
    }
}
