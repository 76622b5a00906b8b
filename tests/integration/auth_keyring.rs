//! `kestractl auth` through the real binary with real keyrings (gnome-keyring's Secret Service on
//! a private bus, kernel keyutils under `keyctl session`) against the emulator: login verifies
//! before storing, API commands then need no password, status, show, logout; a locked, hung or
//! absent keyring fails fast and clearly; imports of the seed's .env and the official kestractl's
//! config; passwords never in argv or output.

use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use kestra_emulator::KestraVersion;

use crate::common::{
    AssertCode, PASSWORD, RanExt, Sandbox, USER, assert_no_leak, emulator, entry_for, stdout_json,
    text,
};
use crate::keyring::*;

#[test]
fn secret_service_login_verifies_then_stores_and_api_commands_use_it() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let server = emu.api_url();
    let cmd = || {
        let mut c = sb.cmd();
        ss.apply(&mut c);
        c.args(["--server", &server, "-vv"]);
        c
    };

    // A wrong password: exit 4, nothing stored.
    let out = cmd()
        .args(["auth", "login", "--password-stdin"])
        .write_stdin("Wr0ng-password-here\n")
        .ran()
        .code(4);
    assert!(
        text(&out.stderr).contains("nothing was stored"),
        "{}",
        text(&out.stderr)
    );
    assert_no_leak(&out, &["Wr0ng-password-here"]);
    assert_eq!(ss.count(), 0);

    // Without a terminal and without --password-stdin: refused, with the fix.
    let out = cmd().args(["auth", "login"]).ran().code(2);
    assert!(
        text(&out.stderr).contains("--password-stdin"),
        "{}",
        text(&out.stderr)
    );

    // The right one: verified, then stored under context/username/server.
    let out = cmd()
        .args(["auth", "login", "--password-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .ran()
        .code(0);
    assert_no_leak(&out, &[PASSWORD]);
    assert_eq!(ss.lookup(&entry_for(&server)).as_deref(), Some(PASSWORD));
    assert_eq!(ss.count(), 1);

    // API commands now work with no password given anywhere.
    let out = cmd().args(["server", "info", "-o", "json"]).ran().code(0);
    assert_eq!(stdout_json(&out)["credentials"], "valid");
    assert_no_leak(&out, &[PASSWORD]);

    let out = cmd().args(["auth", "status", "-o", "json"]).ran().code(0);
    let status = stdout_json(&out);
    assert_eq!(status["keyring"]["backend"], "secret-service");
    assert_eq!(status["stored"], true);
    assert_eq!(status["pending"], false);
    assert_eq!(status["source"], "keyring");
    assert_eq!(status["credentials"], "valid");
    assert_eq!(status["entry"], entry_for(&server));
    assert_no_leak(&out, &[PASSWORD]);

    // KESTRACTL_PASSWORD still wins over the keyring (CI), and status says so.
    let out = cmd()
        .env("KESTRACTL_PASSWORD", "Other-Passw0rd-1")
        .args(["auth", "status", "-o", "json"])
        .ran()
        .code(4);
    let status = stdout_json(&out);
    assert_eq!(status["source"], "environment");
    assert_eq!(status["credentials"], "refused");

    // show: refuses without --reveal; prints to stdout only with it (no terminal: no question).
    let out = cmd().args(["auth", "show"]).ran().code(2);
    assert!(text(&out.stderr).contains("--reveal"));
    assert_no_leak(&out, &[PASSWORD]);
    let out = cmd().args(["auth", "show", "--reveal"]).ran().code(0);
    assert_eq!(text(&out.stdout), format!("{PASSWORD}\n"));
    assert!(!text(&out.stderr).contains(PASSWORD));

    // logout: gone; API commands exit 4 and say how to log in again.
    cmd().args(["auth", "logout"]).ran().code(0);
    assert_eq!(ss.count(), 0);
    let out = cmd().args(["flows", "list"]).ran().code(4);
    assert!(
        text(&out.stderr).contains("auth login"),
        "{}",
        text(&out.stderr)
    );
    let out = cmd().args(["auth", "logout"]).ran().code(0);
    assert!(text(&out.stdout).contains("Nothing to remove"));
}

#[test]
fn keyutils_login_status_logout_in_a_session_keyring() {
    let Some(ku) = Keyutils::new() else {
        return;
    };
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    let server = emu.api_url();
    let cmd = || {
        let mut c = ku.cmd(&sb);
        c.args(["--server", &server, "-vv"]);
        c
    };
    let out = cmd()
        .args(["auth", "login", "--password-stdin"])
        .write_stdin(PASSWORD)
        .ran()
        .code(0);
    assert!(
        text(&out.stdout).contains("kernel keyutils"),
        "{}",
        text(&out.stdout)
    );
    assert_no_leak(&out, &[PASSWORD]);

    cmd().args(["flows", "list"]).ran().code(0);
    let out = cmd().args(["auth", "status", "-o", "json"]).ran().code(0);
    let status = stdout_json(&out);
    assert_eq!(status["keyring"]["backend"], "keyutils");
    assert_eq!(status["source"], "keyring");
    assert_eq!(status["credentials"], "valid");

    cmd().args(["auth", "logout"]).ran().code(0);
    let out = cmd().args(["auth", "status", "-o", "json"]).ran().code(4);
    assert_eq!(stdout_json(&out)["stored"], false);
}

#[test]
fn no_keyring_at_all_says_what_was_tried_and_stores_nothing() {
    if !available(&["keyctl"]) {
        return;
    }
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let started = Instant::now();
    let out = Keyutils::no_keyring_cmd(&sb)
        .args([
            "--server",
            &emu.api_url(),
            "auth",
            "login",
            "--password-stdin",
        ])
        .write_stdin(PASSWORD)
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    out.assert_code(1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no OS keyring is usable"), "{stderr}");
    assert!(stderr.contains("Secret Service (D-Bus):"), "{stderr}");
    assert!(stderr.contains("kernel keyutils:"), "{stderr}");
    assert!(stderr.contains("--password-stdin") && stderr.contains("KESTRACTL_PASSWORD"));
    assert!(stderr.contains("keyctl session"), "{stderr}");
    assert_no_leak(&out, &[PASSWORD]);
    // The password was never even read: nothing reached the server.
    assert!(emu.control().requests().is_empty());

    // An API command without a password warns why the keyring could not help, exits 4.
    let out = Keyutils::no_keyring_cmd(&sb)
        .args(["--server", &emu.api_url(), "flows", "list"])
        .ran()
        .code(4);
    assert!(text(&out.stderr).contains("no OS keyring is usable"));
}

#[test]
fn a_locked_keyring_fails_fast_and_stores_nothing() {
    let Some(ss) = SecretService::start_locked() else {
        return;
    };
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    let started = Instant::now();
    let out = cmd
        .args([
            "--server",
            &emu.api_url(),
            "auth",
            "login",
            "--password-stdin",
        ])
        .write_stdin(PASSWORD)
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    out.assert_code(1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot store"), "{stderr}");
    assert!(stderr.contains("unlock"), "{stderr}");
    assert_no_leak(&out, &[PASSWORD]);
    assert!(ss.lookup(&entry_for(&emu.api_url())).is_none());
}

#[test]
fn an_unresponsive_keyring_times_out_instead_of_hanging() {
    // A "bus" that accepts connections and never answers.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bus");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let started = Instant::now();
    let out = sb
        .cmd()
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", socket.display()),
        )
        .env("KESTRACTL_KEYRING", "secret-service")
        .env("KESTRACTL_KEYRING_TIMEOUT", "1s")
        .args([
            "--server",
            &emu.api_url(),
            "auth",
            "login",
            "--password-stdin",
        ])
        .write_stdin(PASSWORD)
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    out.assert_code(1);
    assert!(
        text(&out.stderr).contains("no answer within 1s"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn import_env_moves_both_passwords_and_rewrites_env_with_a_backup() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let original = "# seed\nKESTRA_HTTP_PORT=18123\nKESTRA_BASICAUTH_USERNAME=ops@example.com\nKESTRA_BASICAUTH_PASSWORD='Seed-Passw0rd-1'\nKESTRA_DB_PASSWORD=Db-Passw0rd-1\nOTHER_SERVICE_TOKEN=keep-me\n";
    sb.write_dotenv(original);
    let env_path = sb.workdir().join(".env");
    let cmd = || {
        let mut c = sb.cmd();
        ss.apply(&mut c);
        c.arg("-vv");
        c
    };

    // Without a keyring nothing changes.
    let out = sb
        .cmd()
        .env("KESTRACTL_KEYRING", "secret-service")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["auth", "import-env", "--rewrite-env"])
        .ran()
        .code(1);
    assert_eq!(std::fs::read_to_string(&env_path).unwrap(), original);
    assert!(!sb.workdir().join(".env.kestractl-backup").exists());
    assert_no_leak(&out, &["Seed-Passw0rd-1", "Db-Passw0rd-1"]);

    let out = cmd()
        .args(["auth", "import-env", "--rewrite-env", "-o", "json"])
        .ran()
        .code(0);
    assert_no_leak(&out, &["Seed-Passw0rd-1", "Db-Passw0rd-1"]);
    let report = stdout_json(&out);
    assert_eq!(report["rewritten"], true);
    let basic_entry = "default/ops@example.com@http://localhost:18123";
    assert_eq!(report["imported"][0]["entry"], basic_entry);
    assert_eq!(
        report["imported"][1]["entry"],
        "stack:tools-kestra/postgres:kestra"
    );
    assert_eq!(ss.lookup(basic_entry).as_deref(), Some("Seed-Passw0rd-1"));
    assert_eq!(
        ss.lookup("stack:tools-kestra/postgres:kestra").as_deref(),
        Some("Db-Passw0rd-1")
    );
    let rewritten = std::fs::read_to_string(&env_path).unwrap();
    assert_eq!(
        rewritten,
        "# seed\nKESTRA_HTTP_PORT=18123\nKESTRA_BASICAUTH_USERNAME=ops@example.com\nOTHER_SERVICE_TOKEN=keep-me\n"
    );
    let backup = sb.workdir().join(".env.kestractl-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    use std::os::unix::fs::PermissionsExt;
    for p in [&env_path, &backup] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }

    // Commands now take the password from the keyring, with no plain-text warning.
    let out = cmd().args(["config", "show", "-o", "json"]).ran().code(0);
    let src = stdout_json(&out)["passwordSource"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(src.contains("keyring"), "{src}");

    // `auth status` reports the stack's Postgres entry next to the Basic Auth one, and a pending
    // entry an interrupted `auth rotate --db` would leave (stored here with libsecret's tool).
    let db_entry = "stack:tools-kestra/postgres:kestra";
    let out = cmd()
        .args(["auth", "status", "-o", "json"])
        .output()
        .unwrap();
    let report = stdout_json(&out);
    assert_eq!(report["database"]["entry"], db_entry, "{report}");
    assert_eq!(report["database"]["stored"], true, "{report}");
    assert_eq!(report["database"]["pending"], false, "{report}");
    let mut store = ss.tool(&[
        "store",
        "--label",
        "pending",
        "service",
        "kestractl",
        "username",
        &format!("{db_entry}#pending"),
    ]);
    store.stdin(std::process::Stdio::piped());
    let mut child = store.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Db-Passw0rd-2")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let out = cmd()
        .args(["auth", "status", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&out)["database"]["pending"], true);
    let out = cmd().args(["auth", "status"]).output().unwrap();
    let table = text(&out.stdout);
    assert!(
        table.contains(&format!("{db_entry} (stored: yes)")),
        "{table}"
    );
    assert!(table.contains("auth rotate --db"), "{table}");
    assert_no_leak(&out, &["Db-Passw0rd-1", "Db-Passw0rd-2"]);

    // Nothing left to import: says so, changes nothing.
    let out = cmd().args(["auth", "import-env"]).ran().code(0);
    assert!(text(&out.stdout).contains("Nothing to import"));
}

#[test]
fn import_env_refuses_a_bad_file_and_changes_nothing() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let bad = "KESTRA_BASICAUTH_PASSWORD='Unterminated-Secr3t\nKESTRA_DB_PASSWORD=x\n";
    sb.write_dotenv(bad);
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    let out = cmd
        .args(["auth", "import-env", "--rewrite-env"])
        .ran()
        .code(1);
    assert_no_leak(&out, &["Unterminated-Secr3t"]);
    assert_eq!(
        std::fs::read_to_string(sb.workdir().join(".env")).unwrap(),
        bad
    );
    assert_eq!(ss.count(), 0);
    // A missing file is an error too.
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    let out = cmd
        .args(["auth", "import-env", "--file", "nope.env"])
        .ran()
        .code(1);
    assert!(text(&out.stderr).contains("nope.env"));
}

#[test]
fn import_kestractl_creates_contexts_and_moves_passwords_to_the_keyring() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let theirs = sb.path().join("home/.kestractl/config.yaml");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    let yaml = format!(
        "contexts:\n  local:\n    host: {}\n    tenant: main\n    auth_method: basicAuth\n    username: {USER}\n    password: {PASSWORD}\n  ee:\n    host: https://kestra.example.com\n    auth_method: token\n    token: Ee-Token-Secr3t\ndefault_context: local\n",
        emu.api_url()
    );
    std::fs::write(&theirs, &yaml).unwrap();
    let cmd = || {
        let mut c = sb.cmd();
        ss.apply(&mut c);
        c.arg("-vv");
        c
    };

    // --delete-source with a context that cannot be imported: refused, nothing changed.
    cmd()
        .args(["auth", "import-kestractl", "--delete-source"])
        .ran()
        .code(2);
    assert!(theirs.exists());
    assert!(sb.read_config().is_none());
    assert_eq!(ss.count(), 0);

    let out = cmd()
        .args(["auth", "import-kestractl", "-o", "json"])
        .ran()
        .code(0);
    assert_no_leak(&out, &[PASSWORD, "Ee-Token-Secr3t"]);
    let report = stdout_json(&out);
    assert_eq!(report["contexts"][0]["context"], "ee");
    assert_eq!(report["contexts"][0]["action"], "skipped");
    assert_eq!(report["contexts"][1]["context"], "local");
    assert_eq!(report["contexts"][1]["action"], "created");
    assert_eq!(report["contexts"][1]["password"], "stored");
    assert_eq!(report["currentContext"], "local");
    assert_eq!(report["sourceDeleted"], false);
    // Their file is untouched; ours has the context and no password.
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), yaml);
    let ours = sb.read_config().unwrap();
    assert!(
        ours.contains("[contexts.local]") && !ours.contains(PASSWORD),
        "{ours}"
    );
    assert_eq!(
        // A loopback server's entry spells its host `localhost`.
        ss.lookup(&format!(
            "local/{USER}@{}",
            emu.api_url().replace("://127.0.0.1:", "://localhost:")
        ))
        .as_deref(),
        Some(PASSWORD)
    );
    // The imported context works with no password given.
    cmd().args(["flows", "list"]).ran().code(0);

    // Again: unchanged.
    let out = cmd()
        .args(["auth", "import-kestractl", "-o", "json"])
        .ran()
        .code(0);
    assert_eq!(stdout_json(&out)["contexts"][1]["action"], "unchanged");

    // A file that is not theirs: error naming it, no secret quoted, nothing changed.
    let bad = sb.path().join("bad.yaml");
    std::fs::write(&bad, "contexts: [oops\n  password: Bad-Secr3t-1\n").unwrap();
    let out = cmd()
        .args(["auth", "import-kestractl", "--file"])
        .arg(&bad)
        .ran()
        .code(1);
    assert!(
        text(&out.stderr).contains("bad.yaml"),
        "{}",
        text(&out.stderr)
    );
    assert_no_leak(&out, &["Bad-Secr3t-1"]);
}

#[test]
fn the_password_never_appears_in_any_command_line() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let emu = emulator(KestraVersion::V2_0);
    // Slow answers keep the process alive long enough to be looked at.
    emu.control().set_latency(Duration::from_millis(300));
    let sb = Sandbox::new();
    let bin = kestractl_bin();
    let mut login = sandboxed_std(&sb, &bin.display().to_string());
    ss.apply_std(&mut login);
    login
        .args([
            "--server",
            &emu.api_url(),
            "-vv",
            "auth",
            "login",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped());
    // Feed stdin from a thread-free pipe: write through a file.
    let pwfile = sb.path().join("pw");
    std::fs::write(&pwfile, PASSWORD).unwrap();
    login.stdin(std::fs::File::open(&pwfile).unwrap());
    let out = run_watching_argv(&mut login, &[PASSWORD]);
    out.assert_code(0);
    assert_no_leak(&out, &[PASSWORD]);

    let mut list: StdCommand = sandboxed_std(&sb, &bin.display().to_string());
    ss.apply_std(&mut list);
    list.args(["--server", &emu.api_url(), "-vv", "flows", "list"]);
    let out = run_watching_argv(&mut list, &[PASSWORD]);
    out.assert_code(0);
    assert_no_leak(&out, &[PASSWORD]);
}

#[test]
fn rotate_refuses_before_touching_anything_when_it_cannot_be_safe() {
    let sb = Sandbox::new();
    let cmd = || {
        let mut c = sb.cmd();
        c.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
        c
    };
    // Not the stack kestractl runs here: its Postgres password is not ours to rotate, and its
    // Basic Auth password goes through its API, which needs the keyring to keep the new one.
    let out = cmd()
        .args([
            "--server",
            "https://kestra.example.com",
            "auth",
            "rotate",
            "--db",
        ])
        .ran()
        .code(1);
    assert!(
        text(&out.stderr).contains("not the stack kestractl manages"),
        "{}",
        text(&out.stderr)
    );
    let out = cmd()
        .args(["--server", "https://kestra.example.com", "auth", "rotate"])
        .ran()
        .code(1);
    assert!(
        text(&out.stderr).contains("KESTRACTL_KEYRING"),
        "{}",
        text(&out.stderr)
    );
    // A plain-text password that the next start would put back.
    sb.write_dotenv("KESTRA_BASICAUTH_PASSWORD=Seed-Passw0rd-9\n");
    let out = cmd().args(["auth", "rotate", "--dry-run"]).ran().code(1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("KESTRA_BASICAUTH_PASSWORD in"), "{stderr}");
    assert!(stderr.contains("import-env"), "{stderr}");
    assert_no_leak(&out, &["Seed-Passw0rd-9"]);
    let out = cmd()
        .env("KESTRA_DB_PASSWORD", "Db-Passw0rd-9")
        .args(["auth", "rotate", "--db"])
        .ran()
        .code(1);
    assert!(text(&out.stderr).contains("KESTRA_DB_PASSWORD"));
    assert_no_leak(&out, &["Db-Passw0rd-9"]);
}

/// Ctrl-C at any moment of `auth import-env --rewrite-env` leaves one of two states: nothing
/// changed, or the import complete (both passwords in the keyring, `.env` rewritten with its
/// backup). Never the keyring written while `.env` still holds the passwords. The interrupt is
/// sent at points spread over one uninterrupted run's length.
#[test]
fn import_env_interrupted_at_any_moment_finishes_or_changes_nothing() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let original = "KESTRA_BASICAUTH_PASSWORD=Seed-Passw0rd-1\nKESTRA_DB_PASSWORD=Db-Passw0rd-1\n";
    let env_path = sb.workdir().join(".env");
    let backup = sb.workdir().join(".env.kestractl-backup");
    let basic = "default/admin@kestra.io@http://localhost:8080";
    let db = "stack:tools-kestra/postgres:kestra";
    let reset = || {
        std::fs::write(&env_path, original).unwrap();
        let _ = std::fs::remove_file(&backup);
        for entry in [basic, db] {
            let _ = ss
                .tool(&["clear", "service", "kestractl", "username", entry])
                .status();
        }
        assert_eq!(ss.count(), 0);
    };
    let spawn = || {
        let mut cmd = sandboxed_std(&sb, kestractl_bin().to_str().unwrap());
        ss.apply_std(&mut cmd);
        cmd.args(["auth", "import-env", "--rewrite-env"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };

    reset();
    let started = std::time::Instant::now();
    let out = spawn().wait_with_output().unwrap();
    let full = started.elapsed();
    out.assert_code(0);

    let mut outcomes = std::collections::BTreeSet::new();
    for i in 0..16u32 {
        reset();
        let child = spawn();
        std::thread::sleep(full * i / 14);
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("Passw0rd"), "leaked: {stderr}");
        let env_now = std::fs::read_to_string(&env_path).unwrap();
        let stored = (ss.lookup(basic), ss.lookup(db));
        if env_now == original {
            assert_eq!(
                stored,
                (None, None),
                "run {i}: the keyring was written, .env kept"
            );
            assert!(!backup.exists(), "run {i}");
            assert_ne!(out.status.code(), Some(0), "run {i}: {stderr}");
            outcomes.insert("nothing changed");
        } else {
            assert!(!env_now.contains("Passw0rd"), "run {i}: {env_now}");
            assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
            assert_eq!(
                stored,
                (Some("Seed-Passw0rd-1".into()), Some("Db-Passw0rd-1".into())),
                "run {i}"
            );
            match out.status.code() {
                Some(0) => {}
                Some(130) => assert!(stderr.contains("had already completed"), "{stderr}"),
                other => panic!("run {i}: exit {other:?}: {stderr}"),
            }
            outcomes.insert("completed");
        }
    }
    eprintln!("outcomes: {outcomes:?}");
}

/// kestractl's own libdbus finds the session bus only through `DBUS_SESSION_BUS_ADDRESS`: where
/// `$XDG_RUNTIME_DIR/bus` exists and the variable is unset, the error says what to export.
#[test]
fn an_unannounced_session_bus_is_named_in_the_hint() {
    if !available(&["keyctl"]) {
        return;
    }
    let sb = Sandbox::new();
    let run = sb.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(run.join("bus")).unwrap();
    let out = Keyutils::no_keyring_cmd(&sb)
        .env("XDG_RUNTIME_DIR", &run)
        .args(["auth", "login", "--password-stdin"])
        .write_stdin(PASSWORD)
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    let export = format!(
        "export DBUS_SESSION_BUS_ADDRESS=unix:path={}",
        run.join("bus").display()
    );
    assert!(stderr.contains(&export), "{stderr}");

    // With the variable set (to a dead bus), the hint does not guess.
    let out = Keyutils::no_keyring_cmd(&sb)
        .env("XDG_RUNTIME_DIR", &run)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["auth", "login", "--password-stdin"])
        .write_stdin(PASSWORD)
        .output()
        .unwrap();
    assert!(!text(&out.stderr).contains("export DBUS_SESSION_BUS_ADDRESS"));
}
