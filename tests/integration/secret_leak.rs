//! No secret leaks over a whole operator session on the real Docker Engine and a real keyring:
//! start, login, deploy, run, rotate, status, stop, every command at `-vv`. The Basic Auth
//! password, the Postgres password and the rotated password must never appear in any process's
//! argv, in any command's stdout/stderr, in the containers' environment or `docker inspect`, in
//! kestractl's non-secret files, or in Kestra's request log other than inside the Authorization
//! header.

use std::process::Command as StdCommand;

use crate::common::{RanExt, text};
use crate::docker::*;
use crate::keyring::{SecretService, run_watching_argv};

/// One step of the session: its output, checked later against every secret known by then.
struct Step {
    name: String,
    output: String,
}

fn run(
    stack: &Stack,
    ss: &SecretService,
    args: &[&str],
    stdin: Option<&str>,
    known: &[&str],
    with_env_password: bool,
) -> (Step, std::process::Output) {
    let mut cmd = stack.std_cmd();
    ss.apply_std(&mut cmd);
    if !with_env_password {
        cmd.env_remove("KESTRACTL_PASSWORD");
    }
    cmd.arg("-vv").args(args);
    let out = if let Some(input) = stdin {
        // Stdin-fed commands: spawn, write, then watch argv while it runs.
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        for s in known {
            crate::keyring::assert_not_in_any_cmdline(s);
        }
        child.wait_with_output().unwrap()
    } else {
        run_watching_argv(&mut cmd, known)
    };
    let step = Step {
        name: args.join(" "),
        output: format!("{}\n{}", text(&out.stdout), text(&out.stderr)),
    };
    (step, out)
}

fn request_log(stack: &Stack) -> serde_json::Value {
    let out = StdCommand::new("curl")
        .args([
            "-fsS",
            &format!(
                "http://127.0.0.1:{}/emulator/requests",
                stack.management_port
            ),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The password must appear nowhere in a request but (base64-encoded) in Authorization.
fn check_request_log(log: &serde_json::Value, secrets: &[&str]) {
    let requests = log.as_array().expect("a list of requests");
    assert!(!requests.is_empty());
    for r in requests {
        let mut visible = format!("{} {}?{}", r["method"], r["path"], r["query"]);
        for h in r["headers"].as_array().into_iter().flatten() {
            let (name, value) = (
                h[0].as_str().unwrap_or_default(),
                h[1].as_str().unwrap_or_default(),
            );
            if !name.eq_ignore_ascii_case("authorization") {
                visible.push_str(&format!(" {name}: {value}"));
            }
        }
        for s in secrets {
            assert!(
                !visible.contains(s),
                "a secret in Kestra's request log: {visible}"
            );
        }
    }
}

fn files_under(dir: &std::path::Path, skip: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.starts_with(skip) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn docker_no_secret_leaks_over_a_full_session() {
    // Without the keyring's programs: a failure in CI, a listed skip elsewhere.
    let Some(ss) = SecretService::start() else {
        return;
    };
    let stack = Stack::new();
    let flows = stack.sb.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(
        flows.join("hello.yml"),
        "id: hello\nnamespace: leak.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n",
    )
    .unwrap();
    let basic = STACK_PASSWORD;
    let mut steps = Vec::new();

    let (step, out) = run(
        &stack,
        &ss,
        &["start", "--pull", "never"],
        None,
        &[basic],
        true,
    );
    assert_eq!(out.status.code(), Some(0), "{}", step.output);
    steps.push(step);
    let secrets_dir = stack.data_dir().join(&stack.name).join("secrets");
    let db = std::fs::read_to_string(secrets_dir.join("db-password")).unwrap();
    let known = [basic, db.as_str()];

    let (step, out) = run(
        &stack,
        &ss,
        &["auth", "login", "--password-stdin"],
        Some(&format!("{basic}\n")),
        &known,
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", step.output);
    steps.push(step);
    let (step, out) = run(
        &stack,
        &ss,
        &["flows", "deploy", flows.to_str().unwrap()],
        None,
        &known,
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", step.output);
    steps.push(step);
    let (step, out) = run(
        &stack,
        &ss,
        &["executions", "run", "leak.test", "hello", "--wait"],
        None,
        &known,
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", step.output);
    steps.push(step);
    let log_before_rotation = request_log(&stack);

    let (step, out) = run(
        &stack,
        &ss,
        &["auth", "rotate", "--yes"],
        None,
        &known,
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", step.output);
    steps.push(step);
    // The new password, read the way an operator would (stdout only, and not part of `steps`).
    let mut reveal = stack.std_cmd();
    ss.apply_std(&mut reveal);
    let shown = reveal
        .env_remove("KESTRACTL_PASSWORD")
        .args(["auth", "show", "--reveal"])
        .ran()
        .code(0);
    let rotated = text(&shown.stdout).trim().to_string();
    assert!(rotated.len() >= 32 && rotated != basic);
    let all = [basic, db.as_str(), rotated.as_str()];

    let (step, out) = run(&stack, &ss, &["status"], None, &all, false);
    assert_eq!(out.status.code(), Some(0), "{}", step.output);
    steps.push(step);
    let log_after_rotation = request_log(&stack);
    let inspect = [
        docker_ok(&["inspect", &stack.name]),
        docker_ok(&["inspect", &stack.postgres_name()]),
    ];
    let (step, out) = run(&stack, &ss, &["stop"], None, &all, false);
    assert_eq!(out.status.code(), Some(0), "{}", step.output);
    steps.push(step);

    // stdout/stderr of every step, at -vv.
    for step in &steps {
        for s in &all {
            assert!(
                !step.output.contains(s),
                "`{}` printed a secret:\n{}",
                step.name,
                step.output
            );
        }
        assert!(
            step.output.contains("DEBUG") || step.name.starts_with("auth"),
            "-vv logged something: {}",
            step.name
        );
    }
    // The containers: environment, arguments, labels, everything inspect shows.
    for text in &inspect {
        for s in &all {
            assert!(!text.contains(s), "docker inspect shows a secret");
        }
    }
    // Kestra's request log: only inside Authorization.
    check_request_log(&log_before_rotation, &all);
    check_request_log(&log_after_rotation, &all);
    // kestractl's files, except the secrets directory (0700) whose job it is to hold them.
    let mut files = files_under(&stack.sb.config_dir(), &secrets_dir);
    files.extend(files_under(&stack.data_dir(), &secrets_dir));
    files.extend(files_under(&stack.sb.workdir(), &secrets_dir));
    for f in files {
        let content = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
        for s in &all {
            assert!(!content.contains(s), "{} holds a secret", f.display());
        }
    }
}
