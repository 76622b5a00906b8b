//! `executions pause|resume|replay|delete|latest|outputs` through the real binary against the
//! emulator, both versions (1.3's `/{id}/…` and 2.0's `/{id}/actions/…`).

use std::time::Duration;

use kestra_emulator::{KestraVersion, Options};

use crate::common::*;

const VERSIONS: [KestraVersion; 2] = [KestraVersion::V1_3, KestraVersion::V2_0];

const FLOW: &str = "id: steps
namespace: ctl.test
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: export
    type: io.kestra.plugin.core.storage.Write
    content: \"id,name\\n1,Ada\\n\"
    extension: .csv
  - id: last
    type: io.kestra.plugin.core.log.Log
    message: three
";

fn emulator_taking(version: KestraVersion, duration: Duration) -> Emu {
    let mut opts = Options::for_tests(version, USER, PASSWORD);
    opts.knobs.execution_duration = duration;
    emulator_with(opts)
}

fn state(sb: &Sandbox, emu: &Emu, id: &str) -> String {
    stdout_json(
        &sb.cmd_for(emu)
            .args(["executions", "get", id, "-o", "json"])
            .ran()
            .code(0),
    )["state"]["current"]
        .as_str()
        .unwrap()
        .to_string()
}

fn start(sb: &Sandbox, emu: &Emu) -> String {
    let out = sb
        .cmd_for(emu)
        .args(["executions", "run", "ctl.test/steps"])
        .ran()
        .code(0);
    text(&out.stdout).trim().to_string()
}

fn wait_for(sb: &Sandbox, emu: &Emu, id: &str, wanted: &str) {
    for _ in 0..200 {
        if state(sb, emu, id) == wanted {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("execution {id} never became {wanted}");
}

#[test]
fn pause_holds_an_execution_until_resume() {
    for version in VERSIONS {
        let emu = emulator_taking(version, Duration::from_secs(2));
        let sb = Sandbox::new();
        deploy_files(&sb, &emu, "ctl", &[("steps.yml", FLOW)]);
        let id = start(&sb, &emu);
        wait_for(&sb, &emu, &id, "RUNNING");
        sb.cmd_for(&emu)
            .args(["executions", "pause", &id])
            .ran()
            .code(0)
            .says(&format!("Paused execution {id}"));
        sb.cmd_for(&emu)
            .args(["executions", "pause", &id])
            .ran()
            .code(0)
            .says("already PAUSED");
        // Held: still paused well after the whole flow would have run.
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(state(&sb, &emu, &id), "PAUSED", "{version}");
        sb.cmd_for(&emu)
            .args(["executions", "resume", &id])
            .ran()
            .code(0)
            .says(&format!("Resumed execution {id}"));
        sb.cmd_for(&emu)
            .args(["executions", "watch", &id])
            .ran()
            .code(0);
        // Ended: neither can be paused nor resumed, and nothing changes.
        sb.cmd_for(&emu)
            .args(["executions", "pause", &id])
            .ran()
            .code(1)
            .says("cannot be paused: it is SUCCESS")
            .says("Kestra pauses a RUNNING execution only");
        sb.cmd_for(&emu)
            .args(["executions", "resume", &id])
            .ran()
            .code(1)
            .says("cannot be resumed: it is SUCCESS");
        assert_eq!(state(&sb, &emu, &id), "SUCCESS");
        sb.cmd_for(&emu)
            .args(["executions", "pause", "4Ld8mQk2sYbVtZxW1nPq7a"])
            .ran()
            .code(3)
            .says("there is no execution 4Ld8mQk2sYbVtZxW1nPq7a");
    }
}

#[test]
fn replay_starts_a_new_execution_from_the_start_or_a_task() {
    for version in VERSIONS {
        let emu = emulator_taking(version, Duration::from_millis(300));
        let sb = Sandbox::new();
        deploy_files(&sb, &emu, "ctl", &[("steps.yml", FLOW)]);
        let out = sb
            .cmd_for(&emu)
            .args([
                "executions",
                "run",
                "ctl.test/steps",
                "--wait",
                "-o",
                "json",
            ])
            .ran()
            .code(0);
        let id = stdout_json(&out)["id"].as_str().unwrap().to_string();

        let replayed = stdout_json(
            &sb.cmd_for(&emu)
                .args(["executions", "replay", &id, "-o", "json"])
                .ran()
                .code(0),
        );
        let new = replayed["id"].as_str().unwrap();
        assert_ne!(new, id);
        assert_eq!(replayed["originalId"], id.as_str(), "{version}: {replayed}");
        let piped = sb
            .cmd_for(&emu)
            .args(["executions", "replay", &id, "--from", "last", "--wait"])
            .ran()
            .code(0);
        let from_task = text(&piped.stdout).lines().next().unwrap().to_string();
        assert_eq!(state(&sb, &emu, &from_task), "SUCCESS", "{version}");
        // The task run Kestra was given is the last run of `last`.
        let sent = emu
            .control()
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.path.ends_with("/replay"))
            .unwrap();
        assert!(
            sent.query
                .as_deref()
                .unwrap_or_default()
                .contains("taskRunId="),
            "{version}: {sent:?}"
        );

        sb.cmd_for(&emu)
            .args(["executions", "replay", &id, "--from", "nope"])
            .ran()
            .code(5)
            .says("has no run of task nope")
            .says("its tasks: first, export, last");
        sb.cmd_for(&emu)
            .args(["executions", "replay", &id, "--revision", "99"])
            .ran()
            .code(3)
            .says("flow ctl.test/steps has no revision 99");
        sb.cmd_for(&emu)
            .args(["flows", "disable", "ctl.test/steps"])
            .ran()
            .code(0);
        sb.cmd_for(&emu)
            .args(["executions", "replay", &id])
            .ran()
            .code(1)
            .says("its flow is disabled")
            .says("kestractl flows enable ctl.test steps");
    }
}

#[test]
fn delete_asks_refuses_running_and_latest_finds_the_last() {
    for version in VERSIONS {
        let emu = emulator_taking(version, Duration::from_millis(300));
        let sb = Sandbox::new();
        deploy_files(&sb, &emu, "ctl", &[("steps.yml", FLOW)]);
        sb.cmd_for(&emu)
            .args(["executions", "latest", "ctl.test/steps"])
            .ran()
            .code(3)
            .says("flow ctl.test/steps has no execution");
        let first = start(&sb, &emu);
        sb.cmd_for(&emu)
            .args(["executions", "watch", &first])
            .ran()
            .code(0);
        let second = start(&sb, &emu);
        sb.cmd_for(&emu)
            .args(["executions", "watch", &second])
            .ran()
            .code(0);
        let latest = sb
            .cmd_for(&emu)
            .args(["executions", "latest", "ctl.test", "steps", "-q"])
            .ran()
            .code(0);
        assert_eq!(text(&latest.stdout).trim(), second, "{version}");
        let record = stdout_json(
            &sb.cmd_for(&emu)
                .args(["executions", "latest", "ctl.test/steps", "-o", "json"])
                .ran()
                .code(0),
        );
        assert_eq!(record["status"], "SUCCESS");

        let running = start(&sb, &emu);
        sb.cmd_for(&emu)
            .args(["executions", "delete", &running, "--yes"])
            .ran()
            .code(2)
            .says("has not ended")
            .says(&format!("kestractl executions kill {running}"));
        sb.cmd_for(&emu)
            .args(["executions", "delete", &first])
            .ran()
            .code(2)
            .says("nothing was deleted");
        assert_eq!(state(&sb, &emu, &first), "SUCCESS");
        sb.cmd_for(&emu)
            .args(["executions", "rm", &first, "--yes"])
            .ran()
            .code(0)
            .says(&format!("Deleted execution {first}"));
        sb.cmd_for(&emu)
            .args(["executions", "get", &first])
            .ran()
            .code(3);
        let logs = sb
            .cmd_for(&emu)
            .args(["executions", "logs", &second])
            .ran()
            .code(0);
        assert!(text(&logs.stdout).contains("three"));
        sb.cmd_for(&emu)
            .args(["executions", "delete", &running, "--force", "--yes"])
            .ran()
            .code(0);
    }
}

#[test]
fn output_files_are_listed_and_downloaded_never_overwritten() {
    for version in VERSIONS {
        let emu = emulator_taking(version, Duration::from_millis(200));
        let sb = Sandbox::new();
        deploy_files(&sb, &emu, "ctl", &[("steps.yml", FLOW)]);
        let out = sb
            .cmd_for(&emu)
            .args([
                "executions",
                "run",
                "ctl.test/steps",
                "--wait",
                "-o",
                "json",
            ])
            .ran()
            .code(0);
        let id = stdout_json(&out)["id"].as_str().unwrap().to_string();

        let listed = stdout_json(
            &sb.cmd_for(&emu)
                .args(["executions", "outputs", "list", &id, "-o", "json"])
                .ran()
                .code(0),
        );
        assert_eq!(listed.as_array().unwrap().len(), 1, "{version}: {listed}");
        assert_eq!(listed[0]["taskId"], "export");
        assert!(listed[0]["uri"].as_str().unwrap().ends_with(".csv"));

        let dir = sb.path().join("out");
        let got = sb
            .cmd_for(&emu)
            .args([
                "executions",
                "outputs",
                "download",
                &id,
                dir.to_str().unwrap(),
            ])
            .ran()
            .code(0)
            .says("Downloaded 1 file");
        let written = text(&got.stdout).trim().to_string();
        assert!(
            written.starts_with(&dir.join("export").display().to_string()),
            "{written}"
        );
        assert_eq!(std::fs::read(&written).unwrap(), b"id,name\n1,Ada\n");
        // Again into the same folder: refused, nothing overwritten.
        std::fs::write(&written, b"mine").unwrap();
        sb.cmd_for(&emu)
            .args([
                "executions",
                "outputs",
                "download",
                &id,
                dir.to_str().unwrap(),
            ])
            .ran()
            .code(2)
            .says("exists; nothing was written");
        assert_eq!(std::fs::read(&written).unwrap(), b"mine");
        sb.cmd_for(&emu)
            .args([
                "executions",
                "outputs",
                "download",
                &id,
                dir.to_str().unwrap(),
                "--task",
                "nope",
            ])
            .ran()
            .code(5)
            .says("has no run of task nope");
        let none = sb
            .cmd_for(&emu)
            .args(["executions", "outputs", "list", &id, "--task", "first"])
            .ran()
            .code(0);
        assert!(text(&none.stderr).contains("no output files"));
    }
}
