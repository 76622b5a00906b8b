//! What kestractl sends, held against what Kestra's router takes. Every emulator of the suite
//! checks this when its test ends (`common::Emu`); here the whole command surface runs once per
//! version and one assertion lists every request a real server would refuse or route elsewhere
//! (wrong Accept or Content-Type, unknown route, tenant, query value), and every request must
//! have reached an operation of Kestra's published spec.

use std::time::Duration;

use kestra_emulator::{KestraVersion, Options};

use crate::common::*;

const FLOW: &str = "id: conform\nnamespace: conform.team\ninputs:\n  - id: name\n    type: STRING\n    defaults: world\n  - id: data\n    type: FILE\n    required: false\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n  - id: later\n    type: io.kestra.plugin.core.log.Log\n    level: WARN\n    message: careful\n";
const FAILS: &str = "id: fails\nnamespace: conform.team\ntasks:\n  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n";
const SCHEDULED: &str = "id: scheduled\nnamespace: conform.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\ntriggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: \"0 2 * * *\"\n";
const CHILD: &str = "id: child\nnamespace: conform.team.sub\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n";

fn run(sb: &Sandbox, emu: &Emu, args: &[&str]) -> std::process::Output {
    sb.cmd_for(emu)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn ok(sb: &Sandbox, emu: &Emu, args: &[&str]) -> std::process::Output {
    let out = run(sb, emu, args);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(6),
        "{args:?}: {}",
        text(&out.stderr)
    );
    out
}

#[test]
fn every_command_sends_only_what_kestra_takes() {
    for version in [
        KestraVersion::V1_3,
        KestraVersion::V2_0,
        KestraVersion::V2_1Dev,
    ] {
        let mut opts = Options::for_tests(version, USER, PASSWORD);
        opts.knobs.execution_duration = Duration::from_millis(600);
        let emu = emulator_with(opts);
        let sb = Sandbox::new();
        let dir = sb.path().join("flows");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("conform.yml"), FLOW).unwrap();
        std::fs::write(dir.join("fails.yml"), FAILS).unwrap();
        std::fs::write(dir.join("sub/child.yml"), CHILD).unwrap();
        std::fs::write(dir.join("scheduled.yml"), SCHEDULED).unwrap();
        let d = dir.display().to_string();
        let input = sb.path().join("input.txt");
        std::fs::write(&input, "file input").unwrap();

        ok(&sb, &emu, &["server", "info", "-o", "json"]);
        ok(&sb, &emu, &["flows", "validate", &d]);
        ok(&sb, &emu, &["flows", "deploy", &d, "--dry-run"]);
        ok(&sb, &emu, &["flows", "deploy", &d]);
        std::fs::write(dir.join("conform.yml"), FLOW.replace("hi", "hello")).unwrap();
        ok(&sb, &emu, &["flows", "deploy", &d, "--prune", "--yes"]);
        ok(&sb, &emu, &["flows", "list"]);
        ok(&sb, &emu, &["flows", "list", "conform"]);
        ok(&sb, &emu, &["flows", "get", "conform.team", "conform"]);
        ok(
            &sb,
            &emu,
            &["flows", "get", "conform.team", "conform", "-o", "json"],
        );
        let export = sb.path().join("export");
        ok(
            &sb,
            &emu,
            &["flows", "export", &export.display().to_string()],
        );
        ok(&sb, &emu, &["flows", "diff", &d, "--prune"]);
        ok(&sb, &emu, &["flows", "revisions", "conform.team/conform"]);
        ok(&sb, &emu, &["flows", "disable", "conform.team/fails"]);
        ok(&sb, &emu, &["flows", "enable", "conform.team/fails"]);
        ok(
            &sb,
            &emu,
            &[
                "flows",
                "rollback",
                "conform.team/conform",
                "--to",
                "1",
                "--yes",
            ],
        );
        ok(
            &sb,
            &emu,
            &["kv", "set", "conform.team", "n", "1", "--ttl", "1h"],
        );
        ok(&sb, &emu, &["kv", "set", "conform.team", "s", "text"]);
        ok(&sb, &emu, &["kv", "list", "conform.team"]);
        ok(&sb, &emu, &["kv", "get", "conform.team", "n"]);
        ok(&sb, &emu, &["kv", "delete", "conform.team", "s", "--yes"]);
        let files = sb.path().join("nsfiles");
        std::fs::create_dir_all(files.join("sub")).unwrap();
        std::fs::write(files.join("a.sql"), "select 1").unwrap();
        std::fs::write(files.join("sub/b.py"), "print(1)").unwrap();
        let f = files.display().to_string();
        ok(&sb, &emu, &["nsfiles", "push", "conform.team", &f]);
        ok(
            &sb,
            &emu,
            &["nsfiles", "push", "conform.team", &f, "--prune", "--yes"],
        );
        ok(&sb, &emu, &["nsfiles", "list", "conform.team"]);
        ok(&sb, &emu, &["nsfiles", "get", "conform.team", "sub/b.py"]);
        ok(
            &sb,
            &emu,
            &["nsfiles", "delete", "conform.team", "sub", "--yes"],
        );

        let out = ok(
            &sb,
            &emu,
            &[
                "executions",
                "run",
                "conform.team",
                "conform",
                "--input",
                "name=you",
                "--input",
                &format!("data=@{}", input.display()),
                "--label",
                "team=data",
                "--wait",
                "-o",
                "json",
            ],
        );
        let id = stdout_json(&out)["id"].as_str().unwrap().to_string();
        ok(&sb, &emu, &["executions", "run", "conform.team", "conform"]);
        let out = ok(
            &sb,
            &emu,
            &[
                "executions",
                "run",
                "conform.team",
                "fails",
                "--wait",
                "-o",
                "json",
            ],
        );
        let failed = stdout_json(&out)["id"].as_str().unwrap().to_string();
        ok(
            &sb,
            &emu,
            &[
                "executions",
                "--namespace",
                "conform",
                "--flow",
                "conform",
                "--state",
                "SUCCESS,FAILED",
                "--since",
                "1h",
                "--label",
                "team=data",
            ],
        );
        ok(&sb, &emu, &["executions", "list", "--all", "-o", "jsonl"]);
        ok(&sb, &emu, &["executions", "get", &id, "--outputs"]);
        ok(&sb, &emu, &["executions", "logs", &id]);
        ok(
            &sb,
            &emu,
            &[
                "executions",
                "logs",
                &id,
                "--level",
                "WARN",
                "--task",
                "later",
            ],
        );
        ok(
            &sb,
            &emu,
            &[
                "executions",
                "logs",
                &id,
                "-f",
                "--level",
                "INFO",
                "--task",
                "hello",
            ],
        );
        ok(&sb, &emu, &["executions", "watch", &id]);
        ok(&sb, &emu, &["executions", "latest", "conform.team/conform"]);
        ok(&sb, &emu, &["executions", "outputs", "list", &id]);
        let out = ok(&sb, &emu, &["executions", "replay", &id, "--from", "later"]);
        let replayed = text(&out.stdout).trim().to_string();
        // Paused and resumed while it runs (or refused once it ended: the requests count).
        run(&sb, &emu, &["executions", "pause", &replayed]);
        run(&sb, &emu, &["executions", "resume", &replayed]);
        ok(&sb, &emu, &["executions", "watch", &replayed]);
        ok(&sb, &emu, &["executions", "delete", &replayed, "--yes"]);
        ok(&sb, &emu, &["triggers", "list"]);
        ok(
            &sb,
            &emu,
            &["triggers", "disable", "conform.team/scheduled", "daily"],
        );
        ok(
            &sb,
            &emu,
            &["triggers", "enable", "conform.team/scheduled", "daily"],
        );
        emu.control()
            .lock_trigger("conform.team", "scheduled", "daily", "x");
        ok(
            &sb,
            &emu,
            &[
                "triggers",
                "unlock",
                "conform.team/scheduled",
                "daily",
                "--yes",
            ],
        );
        ok(&sb, &emu, &["executions", "restart", &failed]);
        let out = run(&sb, &emu, &["executions", "run", "conform.team", "conform"]);
        let running = text(&out.stdout).trim().to_string();
        ok(&sb, &emu, &["executions", "kill", &running]);
        ok(&sb, &emu, &["executions", "kill", &id]);
        ok(
            &sb,
            &emu,
            &["flows", "delete", "conform.team.sub", "child", "--yes"],
        );

        let journal = emu.control().requests();
        assert!(journal.len() > 40, "{version}: {} requests", journal.len());
        let refused = emu.refused_requests();
        assert!(
            refused.is_empty(),
            "{version}: {} request(s) a real Kestra would refuse:\n{}",
            refused.len(),
            refused.join("\n")
        );
        let spec = kestra_emulator::router::spec(version);
        // Routes Kestra serves that its published spec lacks, each declared from Kestra's own
        // controller (2.0's OutputController; docs/kestra-compatibility.md).
        let declared = kestra_emulator::hidden_routes(version);
        let off_spec: Vec<String> = journal
            .iter()
            .filter(|r| {
                let Some(route) = &r.route else { return true };
                let (method, template) = route.split_once(' ').unwrap();
                let from_controller = declared
                    .iter()
                    .any(|(m, t, _)| m == method && *t == template);
                !from_controller
                    && !spec["paths"][template][method.to_ascii_lowercase()].is_object()
            })
            .map(|r| format!("{} {} -> {:?}", r.method, r.path, r.route))
            .collect();
        assert!(
            off_spec.is_empty(),
            "{version}: requests outside Kestra's spec:\n{}",
            off_spec.join("\n")
        );
    }
}

/// The harness itself: requests Kestra's router refuses, or routes elsewhere than their path
/// says, are listed with why.
#[test]
fn the_harness_names_requests_kestra_would_refuse() {
    let emu = emulator(KestraVersion::V1_3);
    emu.expect_refusals();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let base = emu.api_url();
        for (method, path, accept, content_type) in [
            (
                "GET",
                "/api/v1/main/flows/export/by-query",
                "application/json",
                None,
            ),
            (
                "DELETE",
                "/api/v1/main/executions/x/kill",
                "application/json",
                None,
            ),
            (
                "POST",
                "/api/v1/main/executions/ns/flow",
                "application/json",
                Some("text/plain"),
            ),
            (
                "GET",
                "/api/v1/other/flows/search",
                "application/json",
                None,
            ),
        ] {
            let mut rb = c
                .request(method.parse().unwrap(), format!("{base}{path}"))
                .basic_auth(USER, Some(PASSWORD))
                .header("accept", accept);
            if let Some(ct) = content_type {
                rb = rb.header("content-type", ct).body("x");
            }
            rb.send().await.unwrap();
        }
    });
    let refused = emu.refused_requests();
    assert_eq!(refused.len(), 4, "{refused:#?}");
    assert!(refused[0].contains("fell through"), "{}", refused[0]);
    assert!(refused[1].contains("-> 406: 406"), "{}", refused[1]);
    assert!(refused[2].contains("-> 415: 415"), "{}", refused[2]);
    assert!(refused[3].contains("tenant `other`"), "{}", refused[3]);
}
