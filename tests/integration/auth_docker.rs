//! Credentials on the real Docker Engine with a real keyring (gnome-keyring on a private bus):
//! a first `start` generates and stores both passwords; `auth rotate` (Basic Auth and `--db`)
//! rolls back after a failure injected at every step — the previous container back, the old
//! credential working, the keyring holding it, no pending entry — and then succeeds, after which
//! only the new credential works. Passwords never in argv, output or `docker inspect`.
//!
//! Failures are injected with `KESTRACTL_ROTATE_FAIL_AT`, which exists only in debug builds (the
//! tests run the debug binary): it fails the rotation right after the named step has done its
//! work, so the rollback of every step is exercised for real.

use std::process::Command as StdCommand;

use crate::common::{AssertCode, RanExt, assert_no_leak, protected_status, stdout_json, text};
use crate::docker::*;
use crate::keyring::*;

/// `kestractl` for this stack and keyring, without any password in the environment.
fn cmd(stack: &Stack, ss: &SecretService) -> assert_cmd::Command {
    let mut c = stack.cmd();
    c.env_remove("KESTRACTL_PASSWORD");
    ss.apply(&mut c);
    c
}

/// The same as a std command (for watching argv while it runs).
fn std_cmd(stack: &Stack, ss: &SecretService) -> StdCommand {
    let mut c = sandboxed_std(&stack.sb, &kestractl_bin().display().to_string());
    c.env("KESTRA_CONTAINER_NAME", &stack.name)
        .env("KESTRA_DB_VOLUME", &stack.volume)
        .env("KESTRA_HTTP_PORT", stack.http_port.to_string())
        .env("KESTRA_MANAGEMENT_PORT", stack.management_port.to_string())
        .env("KESTRA_IMAGE", kestra_image())
        .env("KESTRA_POSTGRES_IMAGE", postgres_image())
        .env("KESTRACTL_DATA_DIR", stack.data_dir());
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        c.env("DOCKER_HOST", host);
    }
    ss.apply_std(&mut c);
    c
}

fn basic_entry(stack: &Stack) -> String {
    format!("default/{STACK_USER}@http://localhost:{}", stack.http_port)
}

fn db_entry(stack: &Stack) -> String {
    format!("stack:{}/postgres:kestra", stack.name)
}

/// HTTP status of a protected route with these credentials (0: unreachable).
fn api_status(stack: &Stack, password: &str) -> u16 {
    protected_status(&stack.url(), STACK_USER, password)
}

/// Whether Postgres accepts this password for the `kestra` role over TCP (test-side check). It
/// connects to the container's network address: loopback is `trust` in Postgres images.
fn postgres_accepts(stack: &Stack, password: &str) -> bool {
    let pg = stack.postgres_name();
    let ip = docker_ok(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &pg,
    ]);
    let env = format!("PGPASSWORD={password}");
    docker(&[
        "exec",
        "-e",
        &env,
        &pg,
        "psql",
        "-h",
        ip.trim(),
        "-U",
        "kestra",
        "-d",
        "kestra",
        "-tAc",
        "select 1",
    ])
    .status
    .success()
}

fn assert_not_inspectable(stack: &Stack, secrets: &[&str]) {
    for c in [stack.name.clone(), stack.postgres_name()] {
        let inspect = docker_ok(&["inspect", &c]);
        for s in secrets {
            assert!(!inspect.contains(s), "docker inspect {c} shows a password");
        }
    }
}

fn rendered_config(stack: &Stack) -> String {
    std::fs::read_to_string(
        stack
            .data_dir()
            .join(&stack.name)
            .join("secrets/application.yml"),
    )
    .unwrap()
}

#[test]
fn docker_first_start_generates_both_passwords_into_the_keyring() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let stack = Stack::new();
    let mut start = stack.start();
    start.env_remove("KESTRACTL_PASSWORD").arg("-vv");
    ss.apply(&mut start);
    let out = start.ran().code(0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("auth show --reveal"), "{stdout}");
    assert!(stdout.contains(STACK_USER), "{stdout}");

    let password = ss.lookup(&basic_entry(&stack)).expect("Basic Auth entry");
    let db = ss.lookup(&db_entry(&stack)).expect("Postgres entry");
    // Every folder of the stack is private to the operator (security finding 12); the storage
    // and work folders carry the marker that lets `stop --volumes` empty them (finding 9).
    let stack_dir = stack.data_dir().join(&stack.name);
    for leaf in ["secrets", "storage", "workdir"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(stack_dir.join(leaf))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{leaf}");
    }
    for leaf in ["storage", "workdir"] {
        assert!(
            stack_dir.join(leaf).join(".kestractl-created").is_file(),
            "{leaf}"
        );
    }
    assert_eq!(password.len(), 32);
    assert_eq!(db.len(), 32);
    assert_no_leak(&out, &[&password, &db]);
    assert_not_inspectable(&stack, &[&password, &db]);
    assert_eq!(api_status(&stack, &password), 200);

    // `auth show --reveal` prints it; status finds it in the keyring and it works.
    let out = cmd(&stack, &ss)
        .args(["auth", "show", "--reveal"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), format!("{password}\n"));
    let out = cmd(&stack, &ss)
        .args(["status", "-o", "json"])
        .ran()
        .code(0);
    assert_eq!(stdout_json(&out)["kestra"]["credentials"], "valid");

    // A second start takes both from the keyring: nothing changes.
    let mut again = stack.start();
    again.env_remove("KESTRACTL_PASSWORD").args(["-o", "json"]);
    ss.apply(&mut again);
    let out = again.ran().code(0);
    let json = stdout_json(&out);
    assert!(json.get("passwordStoredIn").is_none(), "{json}");
    for p in json["parts"].as_array().unwrap() {
        assert_eq!(p["action"], "unchanged", "{json}");
    }

    // Deleting the data forgets the Postgres password it was protected with (keyring entry and
    // the rendered files); the Basic Auth login stays. The next start sets up the new, empty
    // database with a fresh password.
    let out = cmd(&stack, &ss)
        .args(["stop", "--remove", "--volumes", "--yes", "-o", "json"])
        .ran()
        .code(0);
    let actions = stdout_json(&out)["actions"].clone();
    let forgotten = format!("keyring entry {}", db_entry(&stack));
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["part"] == forgotten.as_str() && a["action"] == "deleted"),
        "{actions}"
    );
    let storage = stack_dir.join("storage").display().to_string();
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["part"] == storage.as_str() && a["action"] == "emptied"),
        "{actions}"
    );
    assert_eq!(ss.lookup(&db_entry(&stack)), None);
    assert_eq!(ss.lookup(&basic_entry(&stack)).as_deref(), Some(&*password));
    let secrets = stack.data_dir().join(&stack.name).join("secrets");
    assert_eq!(std::fs::read_dir(&secrets).unwrap().count(), 0);

    let mut fresh = stack.start();
    fresh.env_remove("KESTRACTL_PASSWORD");
    ss.apply(&mut fresh);
    let out = fresh.ran().code(0);
    let new_db = ss.lookup(&db_entry(&stack)).expect("a new Postgres entry");
    assert_ne!(new_db, db);
    assert_no_leak(&out, &[&password, &db, &new_db]);
    assert_eq!(api_status(&stack, &password), 200);
}

#[test]
fn docker_rotate_basic_auth_rolls_back_at_every_step_then_succeeds() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let stack = Stack::new();
    stack.start().ran().code(0);
    let entry = basic_entry(&stack);
    let old = STACK_PASSWORD;
    let config_before = rendered_config(&stack);

    // A plain-text password in the environment would undo a rotation at the next start.
    let mut refused = stack.cmd();
    ss.apply(&mut refused);
    let out = refused.args(["auth", "rotate"]).ran().code(1);
    assert!(text(&out.stderr).contains("KESTRACTL_PASSWORD"));

    // --dry-run: the steps, nothing changed.
    let id = stack.container_id(&stack.name);
    let out = cmd(&stack, &ss)
        .args(["auth", "rotate", "--dry-run"])
        .ran()
        .code(0);
    for step in ["stage", "render", "recreate", "verify", "commit"] {
        assert!(text(&out.stdout).contains(step), "{}", text(&out.stdout));
    }
    assert_eq!(stack.container_id(&stack.name), id);
    assert!(ss.lookup(&entry).is_none());

    for step in ["stage", "render", "recreate", "verify", "commit"] {
        let id = stack.container_id(&stack.name);
        let out = cmd(&stack, &ss)
            .env("KESTRACTL_ROTATE_FAIL_AT", step)
            .args(["auth", "rotate", "-vv"])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
        assert!(
            stderr.contains(&format!("failed at step `{step}`")),
            "{stderr}"
        );
        assert!(stderr.contains("rolled back"), "{stderr}");
        assert_no_leak(&out, &[old]);
        // Exactly one credential works, the old one, and the keyring holds it.
        assert_eq!(api_status(&stack, old), 200, "after a failure at {step}");
        assert_eq!(ss.lookup(&entry).as_deref(), Some(old), "after {step}");
        assert!(
            ss.lookup(&format!("{entry}#pending")).is_none(),
            "after {step}"
        );
        // The previous container and config are back, byte for byte.
        assert_eq!(stack.container_id(&stack.name), id, "after {step}");
        assert_eq!(rendered_config(&stack), config_before, "after {step}");
        assert!(
            !docker(&["inspect", &format!("{}-rotating", stack.name)])
                .status
                .success()
        );
    }

    // Now for real, watching every process's argv while it runs.
    let mut rotate = std_cmd(&stack, &ss);
    rotate.args(["auth", "rotate", "-vv"]);
    let out = run_watching_argv(&mut rotate, &[old]);
    out.assert_code(0);
    assert!(
        text(&out.stdout).contains("Other API clients"),
        "{}",
        text(&out.stdout)
    );
    let new = ss
        .lookup(&entry)
        .expect("the new password is in the keyring");
    assert_eq!(new.len(), 32);
    assert_ne!(new, old);
    assert_no_leak(&out, &[old, &new]);
    assert_eq!(api_status(&stack, &new), 200);
    assert_eq!(api_status(&stack, old), 401);
    assert!(ss.lookup(&format!("{entry}#pending")).is_none());
    assert!(
        !docker(&["inspect", &format!("{}-rotating", stack.name)])
            .status
            .success()
    );
    assert_not_inspectable(&stack, &[old, &new]);

    // Commands use the new password from the keyring; a plain start keeps it.
    let out = cmd(&stack, &ss)
        .args(["auth", "status", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&out)["credentials"], "valid");
    let mut again = stack.start();
    again.env_remove("KESTRACTL_PASSWORD").args(["-o", "json"]);
    ss.apply(&mut again);
    let out = again.ran().code(0);
    for p in stdout_json(&out)["parts"].as_array().unwrap() {
        assert_eq!(p["action"], "unchanged");
    }
}

#[test]
fn docker_rotate_db_rolls_back_at_every_step_then_succeeds() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let stack = Stack::new();
    let mut start = stack.start();
    ss.apply(&mut start);
    start.ran().code(0);
    let entry = db_entry(&stack);
    let old = ss
        .lookup(&entry)
        .expect("start stored the Postgres password");
    let config_before = rendered_config(&stack);

    for step in [
        "stage",
        "alter-role",
        "render",
        "recreate",
        "verify",
        "commit",
    ] {
        let id = stack.container_id(&stack.name);
        let out = cmd(&stack, &ss)
            .env("KESTRACTL_ROTATE_FAIL_AT", step)
            .args(["auth", "rotate", "--db", "-vv"])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
        assert!(
            stderr.contains(&format!("failed at step `{step}`")),
            "{stderr}"
        );
        assert!(stderr.contains("rolled back"), "{stderr}");
        assert_no_leak(&out, &[&old, STACK_PASSWORD]);
        assert_eq!(
            ss.lookup(&entry).as_deref(),
            Some(old.as_str()),
            "after {step}"
        );
        assert!(ss.lookup(&format!("{entry}#pending")).is_none());
        assert_eq!(stack.container_id(&stack.name), id, "after {step}");
        assert_eq!(rendered_config(&stack), config_before, "after {step}");
        assert_eq!(api_status(&stack, STACK_PASSWORD), 200, "after {step}");
        assert!(postgres_accepts(&stack, &old), "after {step}");
        assert!(
            !postgres_accepts(&stack, "Not-the-passw0rd"),
            "after {step}"
        );
    }

    let mut rotate = std_cmd(&stack, &ss);
    rotate.args(["auth", "rotate", "--db", "-vv"]);
    let out = run_watching_argv(&mut rotate, &[&old, STACK_PASSWORD]);
    out.assert_code(0);
    let new = ss.lookup(&entry).unwrap();
    assert_ne!(new, old);
    assert_no_leak(&out, &[&old, &new, STACK_PASSWORD]);
    assert_not_inspectable(&stack, &[&old, &new]);
    assert!(ss.lookup(&format!("{entry}#pending")).is_none());
    assert_eq!(api_status(&stack, STACK_PASSWORD), 200);
    assert!(postgres_accepts(&stack, &new));
    assert!(!postgres_accepts(&stack, &old));

    // The next start renders the same config from the keyring: nothing is recreated.
    let mut again = stack.start();
    again.args(["-o", "json"]);
    ss.apply(&mut again);
    let out = again.ran().code(0);
    for p in stdout_json(&out)["parts"].as_array().unwrap() {
        assert_eq!(p["action"], "unchanged", "{}", text(&out.stdout));
    }
}

/// Security finding 3: `start` took "the password a command would use", the current context's
/// keyring entry, so with a production context current it wrote production's password into
/// the local stack's configuration (mounted into a root container any flow can read). The local
/// stack has its own entry (its own URL); another server's credential is never used.
#[test]
fn docker_start_never_uses_another_servers_credential() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let stack = Stack::new();
    let prod_password = "Prod-Passw0rd-never-local";
    stack.sb.write_config(
        "current-context = \"prod\"\n\n[contexts.prod]\nserver = \"https://kestra.prod.example\"\nusername = \"admin@kestra.io\"\n",
    );
    let prod_entry = "prod/admin@kestra.io@https://kestra.prod.example";
    let mut store = ss.tool(&[
        "store",
        "--label",
        "prod",
        "service",
        "kestractl",
        "username",
        prod_entry,
    ]);
    store.stdin(std::process::Stdio::piped());
    let mut child = store.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(prod_password.as_bytes())
            .unwrap();
    }
    assert!(child.wait().unwrap().success());

    let mut start = cmd(&stack, &ss);
    let pull = if real_kestra() { "missing" } else { "never" };
    start.args(["start", "--pull", pull, "--wait-timeout", "5m"]);
    let out = start.ran().code(0);
    assert_no_leak(&out, &[prod_password]);
    // The local stack got its own generated password, under its own entry.
    let local_entry = format!("prod/{STACK_USER}@http://localhost:{}", stack.http_port);
    let local = ss.lookup(&local_entry).expect("the stack's own entry");
    assert_ne!(local, prod_password);
    assert_eq!(api_status(&stack, &local), 200);
    assert_eq!(api_status(&stack, prod_password), 401);
    assert_eq!(ss.lookup(prod_entry).as_deref(), Some(prod_password));
    let rendered = std::fs::read_dir(stack.data_dir())
        .unwrap()
        .flatten()
        .flat_map(|d| {
            std::fs::read_dir(d.path().join("secrets"))
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .collect::<String>();
    assert!(!rendered.is_empty());
    assert!(
        !rendered.contains(prod_password),
        "production's password was rendered"
    );
}
