//! `kestractl executions …` against the emulator in both API versions: filters checked against
//! the full list, paging, `--all` over many executions, run/wait exit codes, inputs with a file,
//! watch and log follow ending on their own, kill and restart on each version's route, and the
//! errors an operator meets.

use std::collections::BTreeSet;
use std::time::Duration;

use kestra_emulator::{KestraVersion, Knobs, Options, Outcome};

use crate::common::*;

fn seeded(version: KestraVersion, n: u32) -> Emu {
    let mut opts = Options::for_tests(version, USER, PASSWORD);
    opts.knobs = Knobs {
        seed_executions: n,
        ..Knobs::default()
    };
    emulator_with(opts)
}

fn jsonl(out: &std::process::Output) -> Vec<serde_json::Value> {
    out.assert_code(0);
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(items: &[serde_json::Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

fn label(e: &serde_json::Value, key: &str) -> Option<String> {
    e["labels"]
        .as_array()?
        .iter()
        .find(|l| l["key"] == key)
        .map(|l| l["value"].as_str().unwrap_or_default().to_string())
}

#[test]
fn filters_match_the_full_list_and_pages_add_up() {
    for version in VERSIONS {
        let emu = seeded(version, 1500);
        let sb = Sandbox::new();
        let all = jsonl(
            &sb.cmd_for(&emu)
                .args(["executions", "--all", "-o", "jsonl"])
                .output()
                .unwrap(),
        );
        assert_eq!(all.len(), 1500, "{version:?}");
        assert_eq!(ids(&all).len(), 1500, "no duplicates across pages");
        // Newest first.
        let starts: Vec<&str> = all
            .iter()
            .map(|e| e["state"]["startDate"].as_str().unwrap())
            .collect();
        assert!(
            starts.windows(2).all(|w| w[0] >= w[1]),
            "sorted newest first"
        );

        let now = time::OffsetDateTime::now_utc();
        type Check = fn(&serde_json::Value, time::OffsetDateTime) -> bool;
        let cases: Vec<(Vec<&str>, Check)> = vec![
            (vec!["--namespace", "company"], |e, _| {
                e["namespace"].as_str().unwrap().starts_with("company")
            }),
            (vec!["--flow", "etl"], |e, _| e["flowId"] == "etl"),
            (vec!["--state", "failed,WARNING"], |e, _| {
                matches!(
                    e["state"]["current"].as_str().unwrap(),
                    "FAILED" | "WARNING"
                )
            }),
            (vec!["--label", "team=data"], |e, _| {
                label(e, "team").as_deref() == Some("data")
            }),
            (vec!["--since", "7d"], |e, now| {
                let t = time::OffsetDateTime::parse(
                    e["state"]["startDate"].as_str().unwrap(),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                t >= now - time::Duration::days(7)
            }),
            (
                vec!["--namespace", "acme", "--flow", "etl", "--state", "SUCCESS"],
                |e, _| {
                    e["namespace"].as_str().unwrap().starts_with("acme")
                        && e["flowId"] == "etl"
                        && e["state"]["current"] == "SUCCESS"
                },
            ),
        ];
        for (args, check) in cases {
            let expected: BTreeSet<String> = ids(&all
                .iter()
                .filter(|e| check(e, now))
                .cloned()
                .collect::<Vec<_>>());
            assert!(
                !expected.is_empty(),
                "{args:?}: the seed has matching executions"
            );
            let got = jsonl(
                &sb.cmd_for(&emu)
                    .args(["executions", "--all", "-o", "jsonl"])
                    .args(&args)
                    .output()
                    .unwrap(),
            );
            assert_eq!(ids(&got), expected, "{version:?} {args:?}");
        }

        // --limit takes the newest N; the default is 25.
        let seven = jsonl(
            &sb.cmd_for(&emu)
                .args(["executions", "--limit", "7", "-o", "jsonl"])
                .output()
                .unwrap(),
        );
        assert_eq!(ids(&seven), ids(&all[..7]));
        let default = sb.cmd_for(&emu).args(["executions"]).output().unwrap();
        assert_eq!(text(&default.stdout).lines().count(), 25);
        // Piped output is tab-separated with no header and no colour.
        let first = text(&default.stdout).lines().next().unwrap().to_string();
        assert_eq!(first.split('\t').count(), 6, "{first}");
        assert!(!first.contains('\x1b'));
    }
}

#[test]
fn all_streams_twenty_thousand_executions() {
    let emu = seeded(KestraVersion::V2_0, 20_000);
    let sb = Sandbox::new();
    let out = sb
        .cmd_for(&emu)
        .args(["executions", "--all", "-o", "jsonl"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let all = jsonl(&out);
    assert_eq!(all.len(), 20_000);
    assert_eq!(ids(&all).len(), 20_000);
    // Pages of 200: the number of search requests grows with the count, one page at a time.
    let searches = emu
        .control()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/executions/search"))
        .count();
    assert_eq!(searches, 100);
}
/// An emulator whose executions take `duration`, and a sandbox that deployed the test flows.
fn with_test_flows(version: KestraVersion, duration: Duration) -> (Emu, Sandbox) {
    let mut opts = Options::for_tests(version, USER, PASSWORD);
    opts.knobs.execution_duration = duration;
    let emu = emulator_with(opts);
    let sb = Sandbox::new();
    deploy_test_flows(&sb, &emu);
    (emu, sb)
}

/// Starts `exec.test.ok` without waiting and returns the execution's id (piped, the id alone).
fn run_ok(sb: &Sandbox, emu: &kestra_emulator::BackgroundEmulator) -> String {
    let out = sb
        .cmd_for(emu)
        .args(["executions", "run", "exec.test", "ok"])
        .output()
        .unwrap();
    let id = text(&out.stdout);
    assert_eq!(id.lines().count(), 1, "the id alone on stdout: {id}");
    assert!(
        text(&out.stderr).contains("/ui/main/executions/exec.test/ok/"),
        "the link on stderr: {}",
        text(&out.stderr)
    );
    id.trim().to_string()
}

fn deploy_test_flows(sb: &Sandbox, emu: &kestra_emulator::BackgroundEmulator) {
    let dir = sb.path().join("flows");
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        (
            "ok.yml",
            "id: ok\nnamespace: exec.test\ntasks:\n  - id: first\n    type: io.kestra.plugin.core.log.Log\n    message: hello from ok\n  - id: second\n    type: io.kestra.plugin.core.log.Log\n    message: second line\n",
        ),
        (
            "fails.yml",
            "id: fails\nnamespace: exec.test\ntasks:\n  - id: before\n    type: io.kestra.plugin.core.log.Log\n    message: about to fail\n  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n    errorMessage: deliberate failure\n",
        ),
        (
            "inputs.yml",
            "id: inputs\nnamespace: exec.test\ninputs:\n  - id: name\n    type: STRING\n  - id: data\n    type: FILE\n    required: false\ntasks:\n  - id: show\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{ inputs.name }}\"\n",
        ),
        (
            "off.yml",
            "id: off\nnamespace: exec.test\ndisabled: true\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: never\n",
        ),
    ];
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    sb.cmd_for(emu)
        .args(["flows", "deploy", dir.to_str().unwrap()])
        .assert()
        .success();
}

#[test]
fn run_wait_exit_codes_follow_the_end_state() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        deploy_test_flows(&sb, &emu);

        let out = sb
            .cmd_for(&emu)
            .args(["executions", "run", "exec.test", "ok", "--wait"])
            .ran()
            .code(0);
        // Piped, stdout is the execution's id alone (`id=$(kestractl executions run … --wait)`);
        // the task runs go to stderr with the rest of what people read.
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(
            stdout.trim().chars().all(|c| c.is_ascii_alphanumeric()),
            "{stdout}"
        );
        assert!(stderr.contains("first\t-\tSUCCESS"), "{stderr}");
        assert!(stderr.contains("second\t-\tSUCCESS"), "{stderr}");
        assert!(stderr.contains("ended SUCCESS"), "{stderr}");

        let out = sb
            .cmd_for(&emu)
            .args(["executions", "run", "exec.test", "fails", "--wait"])
            .ran()
            .code(6);
        assert_eq!(
            text(&out.stdout).lines().count(),
            1,
            "{}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains("boom\t-\tFAILED"),
            "{}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("ended FAILED"));

        // WARNING: success with a note, or exit 6 with --fail-on-warning.
        emu.control().set_knobs(Knobs {
            execution_outcome: Some(Outcome::Warning),
            ..Knobs::default()
        });
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "run", "exec.test", "ok", "--wait"])
            .ran()
            .code(0);
        assert!(
            text(&out.stderr).contains("--fail-on-warning"),
            "{}",
            text(&out.stderr)
        );
        sb.cmd_for(&emu)
            .args([
                "executions",
                "run",
                "exec.test",
                "ok",
                "--wait",
                "--fail-on-warning",
            ])
            .ran()
            .code(6);
    }
}

#[test]
fn inputs_labels_and_a_file_reach_the_execution() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        deploy_test_flows(&sb, &emu);
        let file = sb.path().join("rows.csv");
        std::fs::write(&file, "a,b\n1,2\n").unwrap();
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "run", "exec.test", "inputs", "-o", "json"])
            .args(["--input", "name=Ada Lovelace"])
            .args(["--input", &format!("data=@{}", file.display())])
            .args(["--label", "run=manual", "--label", "ticket=OPS-1"])
            .ran()
            .code(0);
        let started = stdout_json(&out);
        let id = started["id"].as_str().unwrap().to_string();
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "get", &id, "-o", "json"])
            .output()
            .unwrap();
        let e = stdout_json(&out);
        assert_eq!(e["inputs"]["name"], "Ada Lovelace");
        let data = e["inputs"]["data"].as_str().unwrap();
        assert!(
            data.starts_with("kestra:///") && data.ends_with("rows.csv"),
            "{data}"
        );
        assert_eq!(label(&e, "run").as_deref(), Some("manual"));
        assert_eq!(label(&e, "ticket").as_deref(), Some("OPS-1"));
        // The file went as a file part, the text as a text part.
        let trigger = emu
            .control()
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path.ends_with("/executions/exec.test/inputs"))
            .unwrap();
        let ct = trigger
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .unwrap()
            .1
            .clone();
        assert!(ct.starts_with("multipart/form-data"), "{ct}");
    }
}

#[test]
fn errors_an_operator_meets_when_running() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    deploy_test_flows(&sb, &emu);
    let run = |args: &[&str]| {
        sb.cmd_for(&emu)
            .args(["executions", "run"])
            .args(args)
            .output()
            .unwrap()
    };

    let out = run(&["exec.test", "missing"]);
    out.assert_code(3);
    assert!(text(&out.stderr).contains("there is no flow exec.test/missing"));

    // A required input left out is caught before Kestra is asked to start anything.
    let out = run(&["exec.test", "inputs"]);
    out.assert_code(5);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("input `name` (STRING) is required and has no default"),
        "{stderr}"
    );

    let out = run(&["exec.test", "off"]);
    out.assert_code(1);
    assert!(
        text(&out.stderr).contains("disabled"),
        "{}",
        text(&out.stderr)
    );

    // Local mistakes are caught before any request.
    emu.control().clear_requests();
    for (args, needle) in [
        (vec!["exec.test", "ok", "--label", "oops"], "not a label"),
        (
            vec![
                "exec.test",
                "inputs",
                "--input",
                "data=@/nonexistent/file.csv",
            ],
            "not a readable file",
        ),
        (
            vec!["exec.test", "ok", "--wait", "--wait-timeout", "soon"],
            "fix --wait-timeout",
        ),
    ] {
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    sb.cmd_for(&emu)
        .args(["executions", "--since", "yesterday"])
        .ran()
        .code(2);
    sb.cmd_for(&emu)
        .args(["executions", "--state", "DONE"])
        .ran()
        .code(2);
    assert!(
        emu.control().requests().is_empty(),
        "{:?}",
        emu.control().requests()
    );

    let out = sb
        .cmd_for(&emu)
        .args(["executions", "get", "doesNotExist"])
        .ran()
        .code(3);
    assert!(text(&out.stderr).contains("there is no execution doesNotExist"));
}

#[test]
fn watch_and_log_follow_end_on_their_own() {
    for version in VERSIONS {
        let (emu, sb) = with_test_flows(version, Duration::from_millis(2500));
        let id = run_ok(&sb, &emu);

        let out = sb
            .cmd_for(&emu)
            .args(["executions", "watch", &id])
            .timeout(Duration::from_secs(30))
            .ran()
            .code(0);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("task first: RUNNING"), "{stderr}");
        assert!(stderr.contains("task second: SUCCESS"), "{stderr}");
        assert!(
            stderr.contains(&format!("execution {id}: SUCCESS")),
            "{stderr}"
        );
        // It followed the stream (not polling): one follow request.
        let follows = emu
            .control()
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/follow"))
            .count();
        assert!(follows >= 1);

        // logs -f while it runs: every line, then it stops by itself.
        let id = run_ok(&sb, &emu);
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "logs", &id, "-f"])
            .timeout(Duration::from_secs(30))
            .ran()
            .code(0);
        let stdout = text(&out.stdout);
        assert!(stdout.contains("\tINFO\tfirst\thello from ok"), "{stdout}");
        assert!(stdout.contains("\tINFO\tsecond\tsecond line"), "{stdout}");
        // Plain logs afterwards, filtered by task and level.
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "logs", &id, "--task", "second"])
            .output()
            .unwrap();
        assert_eq!(
            text(&out.stdout).lines().count(),
            1,
            "{}",
            text(&out.stdout)
        );
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "logs", &id, "--level", "ERROR"])
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout), "");
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "logs", &id, "-o", "json"])
            .output()
            .unwrap();
        let entries = stdout_json(&out);
        assert_eq!(entries.as_array().unwrap().len(), 2, "{entries}");
        assert_eq!(entries[1]["taskId"], "second");
        sb.cmd_for(&emu)
            .args(["executions", "logs", &id, "--level", "LOUD"])
            .ran()
            .code(2);
    }
}

#[test]
fn kill_and_restart_use_each_versions_route() {
    for version in VERSIONS {
        let (emu, sb) = with_test_flows(version, Duration::from_secs(30));
        let id = run_ok(&sb, &emu);

        sb.cmd_for(&emu)
            .args(["executions", "kill", &id])
            .ran()
            .code(0);
        let (kill_route, restart_route) = match version {
            KestraVersion::V1_3 => (
                format!("/api/v1/main/executions/{id}/kill"),
                format!("/api/v1/main/executions/{id}/restart"),
            ),
            KestraVersion::V2_0 | KestraVersion::V2_1Dev => (
                format!("/api/v1/main/executions/{id}/actions/kill"),
                format!("/api/v1/main/executions/{id}/actions/restart"),
            ),
        };
        assert!(
            emu.control()
                .requests()
                .iter()
                .any(|r| r.method == "DELETE" && r.path == kill_route && r.status < 300),
            "{version:?}: {kill_route}"
        );
        // watch exits 6 once it is KILLED.
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "watch", &id])
            .timeout(Duration::from_secs(30))
            .ran()
            .code(6);
        assert!(
            text(&out.stderr).contains("ended KILLED"),
            "{}",
            text(&out.stderr)
        );

        // Killing it again: Kestra accepts it (its default `isOnKillCascade=true` still reaches
        // subflows); kestractl says it had already ended rather than claim a kill.
        emu.control().clear_requests();
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "kill", &id])
            .ran()
            .code(0);
        assert!(
            text(&out.stderr).contains("had already ended (KILLED)"),
            "{}",
            text(&out.stderr)
        );
        assert!(
            emu.control()
                .requests()
                .iter()
                .any(|r| r.method == "DELETE" && r.path == kill_route && r.status < 300),
        );

        // A KILLED execution cannot be restarted (`State.canBeRestarted`): Kestra's 409,
        // explained, and nothing changes.
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "restart", &id])
            .ran()
            .code(1);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("cannot be restarted"), "{stderr}");
        assert!(stderr.contains("never a KILLED one"), "{stderr}");
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "get", &id, "-o", "json"])
            .output()
            .unwrap();
        assert_eq!(stdout_json(&out)["state"]["current"], "KILLED");

        // One that ended FAILED restarts, on the version's route.
        let mut knobs = emu.control().knobs();
        knobs.execution_duration = Duration::from_millis(200);
        emu.control().set_knobs(knobs);
        let out = sb
            .cmd_for(&emu)
            .args([
                "executions",
                "run",
                "exec.test",
                "fails",
                "--wait",
                "-o",
                "json",
            ])
            .ran()
            .code(6);
        let failed = stdout_json(&out)["id"].as_str().unwrap().to_string();
        let restart_route = restart_route.replace(&id, &failed);
        sb.cmd_for(&emu)
            .args(["executions", "restart", &failed])
            .ran()
            .code(0);
        assert!(
            emu.control()
                .requests()
                .iter()
                .any(|r| r.method == "POST" && r.path == restart_route && r.status < 300),
            "{version:?}: {restart_route}"
        );
        sb.cmd_for(&emu)
            .args(["executions", "kill", "nope"])
            .ran()
            .code(3);
    }
}

fn follow_requests(emu: &Emu, id: &str, what: &str) -> usize {
    let path = match what {
        "logs" => format!("/api/v1/main/logs/{id}/follow"),
        _ => format!("/api/v1/main/executions/{id}/follow"),
    };
    emu.control()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

/// Kestra ends a follow stream after an hour without an event (`Flux.timeout`), and proxies cut
/// long streams. `logs -f` and `watch` reopen it while the execution runs: every line exactly
/// once (the replay of a reopened log stream is skipped), the `start` placeholders never shown,
/// the end state reached. The emulator's idle timeout is shortened to 300 ms.
#[test]
fn watch_and_logs_follow_survive_streams_ended_by_the_server() {
    for version in VERSIONS {
        let mut opts = Options::for_tests(version, USER, PASSWORD);
        opts.knobs.execution_duration = Duration::from_secs(3);
        opts.knobs.sse_idle_timeout = Some(Duration::from_millis(300));
        let emu = emulator_with(opts);
        let sb = Sandbox::new();
        deploy_test_flows(&sb, &emu);
        let id = run_ok(&sb, &emu);

        let out = sb
            .cmd_for(&emu)
            .args(["executions", "logs", &id, "-f", "-o", "jsonl"])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let lines = jsonl(&out);
        let messages: Vec<&str> = lines
            .iter()
            .map(|l| l["message"].as_str().unwrap_or("<none>"))
            .collect();
        assert_eq!(messages, ["hello from ok", "second line"], "{version}");
        assert!(
            follow_requests(&emu, &id, "logs") >= 2,
            "{version}: the log stream was reopened"
        );

        let id = run_ok(&sb, &emu);
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "watch", &id])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{version}: {stderr}");
        assert!(stderr.contains("ended SUCCESS"), "{stderr}");
        assert!(
            !stderr.lines().any(|l| l.trim_end().ends_with(':')),
            "no empty state from the `start` event: {stderr}"
        );
        assert!(
            follow_requests(&emu, &id, "execution") >= 2,
            "{version}: the execution stream was reopened"
        );
    }
}

/// 1.3's log follow route takes only `minLevel`: `--task` is applied by kestractl, on every
/// version, and the stream's `start` placeholder is no record.
#[test]
fn logs_follow_filters_the_task_itself() {
    for version in VERSIONS {
        let (emu, sb) = with_test_flows(version, Duration::from_millis(600));
        let id = run_ok(&sb, &emu);
        let out = sb
            .cmd_for(&emu)
            .args([
                "executions",
                "logs",
                &id,
                "-f",
                "--task",
                "second",
                "-o",
                "jsonl",
            ])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let lines = jsonl(&out);
        assert_eq!(lines.len(), 1, "{version}: {lines:?}");
        assert_eq!(lines[0]["taskId"], "second");
        assert_eq!(lines[0]["message"], "second line");
        // Only the level went to the server on 1.3.
        if version == KestraVersion::V1_3 {
            let follow = emu
                .control()
                .requests()
                .into_iter()
                .find(|r| r.path.ends_with("/follow") && r.path.contains("/logs/"))
                .unwrap();
            assert!(
                follow
                    .query
                    .as_deref()
                    .is_none_or(|q| !q.contains("taskId"))
            );
        }
    }
}

/// Kestra's follow route answers 200 and its `start` event for any id, then fails the stream
/// after ten seconds when the execution does not exist: `watch` and `logs -f` ask for the
/// execution first, so an unknown id is a clean "not found" (exit 3) at once, and no stream is
/// opened.
#[test]
fn watch_and_follow_of_an_unknown_execution_fail_at_once() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        for args in [
            &["executions", "watch", "nope"][..],
            &["executions", "logs", "nope", "-f"],
        ] {
            let started = std::time::Instant::now();
            let out = sb.cmd_for(&emu).args(args).ran().code(3);
            assert!(text(&out.stderr).contains("there is no execution nope"));
            assert!(started.elapsed() < Duration::from_secs(5), "{args:?}");
        }
        assert!(
            emu.control()
                .requests()
                .iter()
                .all(|r| !r.path.ends_with("/follow")),
            "no stream was opened"
        );
    }
}

/// Kestra ignores an input a flow does not declare, so `run` checks them first: a typo, a missing
/// required input or a value of the wrong type is exit 5 with what to fix, and nothing starts.
#[test]
fn inputs_are_checked_against_the_flow_before_anything_starts() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        deploy_test_flows(&sb, &emu);
        deploy_files(
            &sb,
            &emu,
            "typed",
            &[(
                "typed.yml",
                "id: typed\nnamespace: exec.test\ninputs:\n  - id: count\n    type: INT\n  - id: env\n    type: SELECT\n    values: [dev, prod]\n    defaults: dev\n  - id: wait\n    type: DURATION\n    required: false\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{ inputs.count }}\"\n",
            )],
        );
        let executions = || {
            let out = sb
                .cmd_for(&emu)
                .args([
                    "executions",
                    "--namespace",
                    "exec.test",
                    "--all",
                    "-o",
                    "jsonl",
                ])
                .output()
                .unwrap();
            text(&out.stdout).lines().count()
        };
        assert_eq!(executions(), 0);

        for (args, says) in [
            (
                vec!["inputs", "--input", "nme=Ada"],
                vec![
                    "`nme` is not an input of this flow (did you mean `name`?)",
                    "input `name` (STRING) is required and has no default",
                ],
            ),
            (
                vec!["typed", "--input", "count=three", "--input", "env=staging"],
                vec![
                    "input `count` (INT): `three` is not a whole number",
                    "input `env` (SELECT): `staging` is not one of: dev, prod",
                ],
            ),
            (
                vec!["typed", "--input", "count=1", "--input", "wait=5m"],
                vec!["`5m` is not an ISO-8601 duration such as PT5M"],
            ),
            (vec!["typed"], vec!["input `count` (INT) is required"]),
            (
                vec!["ok", "--input", "name=x"],
                vec!["`name` is not an input of this flow (the flow declares no inputs)"],
            ),
        ] {
            let mut full = vec!["executions", "run", "exec.test"];
            full.extend(&args);
            let mut ran = sb.cmd_for(&emu).args(&full).ran().code(5);
            for s in says {
                ran = ran.says(s);
            }
            ran.says("nothing was started")
                .says("kestractl flows get exec.test");
        }
        assert_eq!(executions(), 0, "{version}: a refused run started nothing");

        // Right inputs start as before.
        sb.cmd_for(&emu)
            .args([
                "executions",
                "run",
                "exec.test",
                "typed",
                "--input",
                "count=7",
            ])
            .args(["--input", "wait=PT1S", "--wait"])
            .ran()
            .code(0);
        assert_eq!(executions(), 1);
    }
}

/// A failed `run --wait` names the failing task and its last error line, and the command for the
/// whole log.
#[test]
fn a_failed_run_names_the_failing_task_and_its_error() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        deploy_test_flows(&sb, &emu);
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "run", "exec.test", "fails", "--wait"])
            .ran()
            .code(6)
            .says("FAILED task boom")
            .says("    deliberate failure")
            .says("full log: kestractl executions logs ");
        // The task that succeeded before it is not blamed.
        assert!(
            !text(&out.stderr).contains("FAILED task before"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// Ctrl-C while following stops following, not the execution: the operator is told so, with the
/// commands to pick it up again, and the execution still runs.
#[test]
fn ctrl_c_while_waiting_leaves_the_execution_running_and_says_how_to_follow_it() {
    let (emu, sb) = with_test_flows(KestraVersion::V2_0, Duration::from_secs(30));
    let mut cmd = sb.std_cmd();
    cmd.args(["--server", &emu.api_url()])
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["executions", "run", "exec.test", "ok", "--wait"]);
    let out = interrupted_after(cmd, Duration::from_millis(1500));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("stopped following execution") && err.contains("the execution itself goes on"),
        "{err}"
    );
    let id = err
        .split("stopped following execution ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(
        err.contains(&format!("kestractl executions watch {id}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("kestractl executions kill {id}")),
        "{err}"
    );
    let v = stdout_json(
        &sb.cmd_for(&emu)
            .args(["executions", "get", &id, "-o", "json"])
            .ran()
            .code(0),
    );
    assert_eq!(v["state"]["current"], "RUNNING", "{v}");
}

/// `--logs` puts the execution's log lines on stderr while waiting, each once, before the end
/// line; stdout keeps the final table.
#[test]
fn wait_with_logs_streams_each_line_once_before_the_end() {
    for version in VERSIONS {
        let (emu, sb) = with_test_flows(version, Duration::from_millis(1200));
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "run", "exec.test", "ok", "--wait", "--logs"])
            .ran()
            .code(0);
        let err = text(&out.stderr);
        for line in ["hello from ok", "second line"] {
            assert_eq!(err.matches(line).count(), 1, "{version} {line}: {err}");
        }
        let end = err.find("ended SUCCESS").unwrap();
        assert!(err.find("second line").unwrap() < end, "{err}");
        assert!(!text(&out.stdout).contains("hello from ok"));

        let id = run_ok(&sb, &emu);
        let out = sb
            .cmd_for(&emu)
            .args(["executions", "watch", &id, "--logs"])
            .ran()
            .code(0);
        assert_eq!(text(&out.stderr).matches("hello from ok").count(), 1);
    }
    let (emu, sb) = with_test_flows(KestraVersion::V2_0, Duration::ZERO);
    sb.cmd_for(&emu)
        .args(["executions", "run", "exec.test", "ok", "--logs"])
        .ran()
        .code(2)
        .says("--logs streams the logs while waiting, so it needs --wait");
}
