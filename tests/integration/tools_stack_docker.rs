//! The Tools-stack wiring (contrib/tools-stack) driven the way an ops repository drives it: a
//! stand-in `start-stacks.sh --phase tools` that starts one other service and then Kestra, and a
//! `stop-stacks.sh` that brings the rest down before Kestra. Real Docker.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{RanExt, stdout_json, text};
use crate::docker::*;

const START_STACKS: &str = r#"#!/usr/bin/env bash
# Stand-in for an ops repository's start-stacks.sh: the Tools phase starts another service, then
# Kestra, and goes on whatever Kestra says.
set -u
[[ ${1:-} == --phase && ${2:-} == tools ]] || { echo "usage: start-stacks.sh --phase tools" >&2; exit 2; }
docker run -d --name "$OTHER_SERVICE" kestractl-test/bookworm-base:latest sleep infinity >/dev/null \
  && echo "other: started"
rc=0; "$KESTRA_CONTRIB/kestra-start.sh" --pull never --wait-timeout 90s || rc=$?
echo "kestra-start exit $rc"
case $rc in
  0) ;;
  7) echo "warning: Kestra not started; adjust .env" >&2 ;;
  *) exit 1 ;;
esac
"#;

const STOP_STACKS: &str = r#"#!/usr/bin/env bash
# Stand-in for stop-stacks.sh: the rest first, Kestra last.
set -u
docker stop -t 1 "$OTHER_SERVICE" >/dev/null && echo "other: stopped" >> "$ORDER_LOG"
"$KESTRA_CONTRIB/kestra-stop.sh" && echo "kestra: stopped" >> "$ORDER_LOG"
"#;

/// The ops repository: its scripts, the other service's name, the order log.
struct OpsRepo {
    root: PathBuf,
    other: String,
}

impl OpsRepo {
    fn new(stack: &Stack) -> Self {
        let root = stack.sb.workdir();
        let scripts = root.join("scripts/docker");
        std::fs::create_dir_all(&scripts).unwrap();
        for (name, body) in [
            ("start-stacks.sh", START_STACKS),
            ("stop-stacks.sh", STOP_STACKS),
        ] {
            std::fs::write(scripts.join(name), body).unwrap();
        }
        OpsRepo {
            root,
            other: format!("{}-other", stack.name),
        }
    }

    /// `bash <script> args…` with the stack's environment (as its `.env` would give it) and
    /// kestractl on PATH.
    fn run(
        &self,
        stack: &Stack,
        script: &str,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> std::process::Output {
        let template = stack.std_cmd();
        let bin_dir = Path::new(assert_cmd::cargo::cargo_bin!("kestractl"))
            .parent()
            .unwrap()
            .to_path_buf();
        let mut cmd = Command::new("bash");
        cmd.env_clear();
        for (k, v) in template.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path)
            .env("OTHER_SERVICE", &self.other)
            .env("ORDER_LOG", self.root.join("order.log"))
            .env(
                "KESTRA_CONTRIB",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/tools-stack"),
            )
            .current_dir(&self.root)
            .arg(self.root.join("scripts/docker").join(script))
            .args(args);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn other_running(&self) -> bool {
        let out = docker(&["inspect", "-f", "{{.State.Running}}", &self.other]);
        text(&out.stdout).trim() == "true"
    }

    fn remove_other(&self) {
        let _ = docker(&["rm", "-f", &self.other]);
    }
}

impl Drop for OpsRepo {
    fn drop(&mut self) {
        self.remove_other();
    }
}

#[test]
fn docker_tools_stack_skip_conflict_start_and_stop_order() {
    let stack = Stack::new();
    let ops = OpsRepo::new(&stack);

    // SKIP_Kestra_AUTO_START=1: the other service starts, Kestra is not started and says so.
    let out = ops.run(
        &stack,
        "start-stacks.sh",
        &["--phase", "tools"],
        &[("SKIP_Kestra_AUTO_START", "1")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("other: started"), "{stdout}");
    assert!(
        stdout.contains("Kestra: not started (SKIP_Kestra_AUTO_START=1)"),
        "{stdout}"
    );
    assert!(ops.other_running());
    assert!(!docker(&["inspect", &stack.name]).status.success());
    assert!(
        !docker(&["inspect", &stack.postgres_name()])
            .status
            .success()
    );
    ops.remove_other();

    // Kestra's API port held by another program: exit 7 from kestra-start.sh, the .env line with
    // a free port, and the caller goes on (the other service runs, the script succeeds).
    let holder = std::net::TcpListener::bind(("127.0.0.1", stack.http_port)).unwrap();
    let out = ops.run(&stack, "start-stacks.sh", &["--phase", "tools"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("kestra-start exit 7"), "{stdout}\n{stderr}");
    assert!(stderr.contains("KESTRA_HTTP_PORT="), "{stderr}");
    assert!(stderr.contains("The other services go on"), "{stderr}");
    assert!(
        stderr.contains("warning: Kestra not started; adjust .env"),
        "{stderr}"
    );
    assert!(ops.other_running());
    assert!(!docker(&["inspect", &stack.name]).status.success());
    drop(holder);
    ops.remove_other();

    // The whole phase: both up, Kestra healthy for health-check-all.
    let out = ops.run(&stack, "start-stacks.sh", &["--phase", "tools"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("kestra-start exit 0"),
        "{}",
        text(&out.stdout)
    );
    assert!(ops.other_running());
    let health = Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/tools-stack/kestra-health.sh"),
    )
    .args(["-o", "json"])
    .envs(
        stack
            .std_cmd()
            .get_envs()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
    )
    .env(
        "PATH",
        format!(
            "{}:{}",
            Path::new(assert_cmd::cargo::cargo_bin!("kestractl"))
                .parent()
                .unwrap()
                .display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    )
    .current_dir(&ops.root)
    .ran()
    .code(0);
    assert_eq!(stdout_json(&health)["healthy"], true);

    // stop-stacks: the rest first, Kestra last; Kestra's containers stopped, data kept.
    let out = ops.run(&stack, "stop-stacks.sh", &[], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let order = std::fs::read_to_string(ops.root.join("order.log")).unwrap();
    assert_eq!(order, "other: stopped\nkestra: stopped\n");
    assert_eq!(stack.inspect(&stack.name)["State"]["Running"], false);
    assert!(
        docker(&["volume", "inspect", &stack.volume])
            .status
            .success()
    );
}
