//! The bad-input corpus (issue 8): flow files, config and `.env` files, command-line arguments and
//! server answers that kestractl must refuse or survive, through the real binary.
//!
//! Every case checks the same three things:
//! - the exit code of the README's contract (1 error/bad settings, 2 usage, 5 invalid flows…);
//! - a message on stderr that names the problem and says what to do about it (a `hint:` line);
//! - nothing written: no POST/PUT/DELETE reached the server (the read-only `POST /flows/validate`
//!   aside), and no file of the sandbox (config dir, working directory with its `.env`, HOME)
//!   changed. The sandbox runs with `KESTRACTL_KEYRING=none`, so no keyring can be written; the
//!   two cases that are about credentials run against a real Secret Service and count its items.
//!
//! 46 cases, one test each, named by family: `flow_` (14: flow files, through both `flows deploy`
//! and `flows validate`), `settings_` (12: config file, `.env`, environment), `arg_` (10:
//! command-line values), `answer_` (8: what a server or a proxy answers, from a tiny canned HTTP
//! server), `keyring_` (2: credentials, with a real keyring). `cargo nextest run … bad_input::flow_`
//! runs one family.
//!
//! Flow fixtures live in `tests/fixtures/bad-input/` (see its README); the huge file and the deep
//! nesting are generated here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use kestra_emulator::{BackgroundEmulator, KestraVersion};

use crate::common::*;
use crate::fake::*;

// ---------------------------------------------------------------------------------------------
// Harness

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad-input")
        .join(name)
}

/// Every file (with its bytes) and folder under `root`: the sandbox before and after a command.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut entries = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                entries.insert(path.clone(), None);
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                entries.insert(path, Some(bytes));
            }
        }
    }
    entries
}

/// Runs the command (bounded in time: a hang is a failure), and checks that it changed no file of
/// the sandbox: the config file, `.env`, HOME.
fn run(sb: &Sandbox, cmd: &mut Command) -> Output {
    let before = snapshot(sb.path());
    let out = cmd.timeout(Duration::from_secs(30)).output().unwrap();
    let after = snapshot(sb.path());
    let changed: Vec<_> = after
        .iter()
        .filter(|(p, content)| before.get(*p) != Some(content))
        .map(|(p, _)| p.display().to_string())
        .chain(
            before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .map(|p| format!("{} (removed)", p.display())),
        )
        .collect();
    assert!(
        changed.is_empty(),
        "the command changed files: {changed:?}\nstderr:\n{}",
        text(&out.stderr)
    );
    out
}

/// The exit code, the problem named, the fix given (on a `hint:` line), and no panic.
#[track_caller]
fn expect(out: &Output, code: i32, problem: &[&str], fix: &[&str]) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code; stderr:\n{stderr}\nstdout:\n{}",
        text(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
    for p in problem {
        assert!(
            stderr.contains(p),
            "the problem `{p}` is not named:\n{stderr}"
        );
    }
    let hint = stderr
        .split_once("hint:")
        .map(|(_, h)| h)
        .unwrap_or_else(|| panic!("no `hint:` line:\n{stderr}"));
    for f in fix {
        assert!(
            hint.contains(f),
            "the fix `{f}` is not in the hint:\n{stderr}"
        );
    }
    stderr
}

fn is_write(method: &str, path: &str) -> bool {
    matches!(method, "POST" | "PUT" | "DELETE") && !path.ends_with("/flows/validate")
}

/// Write requests the emulator received.
fn writes(emu: &BackgroundEmulator) -> Vec<String> {
    emu.control()
        .requests()
        .iter()
        .filter(|r| is_write(&r.method, &r.path))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[track_caller]
fn assert_nothing_written(emu: &BackgroundEmulator) {
    assert!(writes(emu).is_empty(), "written: {:?}", writes(emu));
}

#[track_caller]
fn assert_not_contacted(emu: &BackgroundEmulator) {
    let requests = emu.control().requests();
    assert!(requests.is_empty(), "the server was asked: {requests:?}");
}

/// `flows deploy PATH` and `flows validate PATH` on a broken flow file: both exit 5, name the
/// file (and position), and neither writes anything. Both report every problem in one pass, so
/// they may have the server check the flows that did load (read-only).
fn flow_file_is_refused(path: &Path, problem: &[&str]) {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let out = run(
        &sb,
        sb.cmd_for(&emu)
            .args(["flows", "deploy", path.to_str().unwrap()]),
    );
    let stderr = expect(&out, 5, problem, &["fix the files listed above"]);
    assert!(stderr.contains("nothing was deployed"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_nothing_written(&emu);

    let out = run(
        &sb,
        sb.cmd_for(&emu)
            .args(["flows", "validate", path.to_str().unwrap()]),
    );
    expect(&out, 5, problem, &["fix the files listed above"]);
    assert_nothing_written(&emu);
}

/// A valid flow in the sandbox, for the cases where something else is wrong.
fn valid_flow(sb: &Sandbox) -> String {
    let path = sb.path().join("valid.yml");
    std::fs::copy(fixture("valid.yml"), &path).unwrap();
    path.display().to_string()
}

/// `flows deploy` of a valid flow against the emulator with `settings` broken; refused before
/// any request.
fn deploy_with_bad_settings(
    prepare: impl FnOnce(&Sandbox, &BackgroundEmulator, &mut Command),
    problem: &[&str],
    fix: &[&str],
) -> String {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let flow = valid_flow(&sb);
    let mut cmd = sb.cmd();
    cmd.env("KESTRACTL_PASSWORD", PASSWORD);
    prepare(&sb, &emu, &mut cmd);
    cmd.args(["flows", "deploy", &flow]);
    let out = run(&sb, &mut cmd);
    let stderr = expect(&out, 1, problem, fix);
    assert_not_contacted(&emu);
    stderr
}

// ---------------------------------------------------------------------------------------------
// Flow files

#[test]
fn flow_yaml_syntax_error_is_reported_at_file_line_column() {
    flow_file_is_refused(
        &fixture("syntax-error.yml"),
        &["syntax-error.yml:6:14: YAML: unclosed bracket"],
    );
}

#[test]
fn flow_id_given_as_a_list_is_a_type_error() {
    flow_file_is_refused(
        &fixture("wrong-type-id.yml"),
        &["wrong-type-id.yml:1:5: expected a single text value here"],
    );
}

#[test]
fn flow_tasks_given_as_a_number_is_a_type_error() {
    flow_file_is_refused(
        &fixture("wrong-type-tasks.yml"),
        &["wrong-type-tasks.yml:3:8: expected a list here (`tasks` is a list of tasks)"],
    );
}

#[test]
fn flow_file_over_4_mib_is_refused_before_parsing() {
    let sb = Sandbox::new();
    let path = sb.path().join("huge.yml");
    // A valid flow followed by comments: only the size is wrong.
    let mut body = std::fs::read_to_string(fixture("valid.yml")).unwrap();
    let line = format!("# {}\n", "x".repeat(1021));
    while body.len() <= 4 * 1024 * 1024 {
        body.push_str(&line);
    }
    std::fs::write(&path, &body).unwrap();
    let started = Instant::now();
    flow_file_is_refused(
        &path,
        &[
            "huge.yml: the file is 4.0 MiB",
            &format!("({} bytes)", body.len()),
            "flow files are limited to 4 MiB",
        ],
    );
    // Refused from its size, not after reading it as YAML (a generous bound for slow machines).
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn flow_file_of_binary_junk_is_refused() {
    flow_file_is_refused(
        &fixture("binary-junk.yml"),
        &["binary-junk.yml:1:1: YAML: unexpected character"],
    );
}

#[test]
fn flow_file_in_latin1_is_not_utf8() {
    flow_file_is_refused(
        &fixture("invalid-utf8.yml"),
        &["invalid-utf8.yml: not UTF-8 text", "save it as UTF-8"],
    );
}

#[test]
fn flow_nested_10000_deep_is_refused_without_a_stack_overflow() {
    let sb = Sandbox::new();
    let path = sb.path().join("deep.yml");
    let mut body = String::from(
        "id: deep\nnamespace: bad.input\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: ",
    );
    body.push_str(&"[".repeat(10_000));
    body.push_str(&"]".repeat(10_000));
    body.push('\n');
    std::fs::write(&path, body).unwrap();
    flow_file_is_refused(&path, &["deep.yml:6:", "nested too deeply"]);

    // Mappings nest through another path of the parser.
    let mut body = String::from(
        "id: deep\nnamespace: bad.input\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: ",
    );
    body.push_str(&"{a: ".repeat(10_000));
    body.push_str(&"}".repeat(10_000));
    body.push('\n');
    std::fs::write(&path, body).unwrap();
    flow_file_is_refused(&path, &["deep.yml:6:", "nested too deeply"]);
}

#[test]
fn flow_with_a_duplicate_key_is_refused() {
    flow_file_is_refused(
        &fixture("duplicate-key.yml"),
        &["duplicate-key.yml:3:1: YAML: duplicate key: namespace"],
    );
}

#[test]
fn flow_defined_in_two_files_names_both() {
    flow_file_is_refused(
        &fixture("duplicate-flows"),
        &[
            "team/hello-copy.yaml:1: flow bad.input/hello is also defined in hello.yml:1",
            "each flow must be defined once",
        ],
    );
}

#[test]
fn flow_with_a_reserved_id_is_refused() {
    flow_file_is_refused(
        &fixture("reserved-id.yml"),
        &[
            "reserved-id.yml:1: id `pause` is reserved",
            "rename the flow",
        ],
    );
}

#[test]
fn flow_with_a_bad_namespace_is_refused() {
    flow_file_is_refused(
        &fixture("bad-namespace.yml"),
        &["bad-namespace.yml:2: namespace `Company Team` is not valid: lower-case letters"],
    );
}

#[test]
fn flow_file_empty_is_refused() {
    flow_file_is_refused(
        &fixture("empty.yml"),
        &["empty.yml: the file holds no flow"],
    );
}

#[test]
fn flow_alias_bomb_is_refused_quickly_and_in_little_memory() {
    let started = Instant::now();
    flow_file_is_refused(
        &fixture("alias-bomb.yml"),
        &[
            "alias-bomb.yml:8:14: YAML: too many values once its aliases (`*name`) are expanded",
            "alias bomb",
        ],
    );
    // Nine levels of nine aliases would be 387 million nodes; the parser's budget stops it long
    // before (the harness kills a hung command at 30 s; this bound is far above a normal run).
    assert!(started.elapsed() < Duration::from_secs(25));

    // And in little memory: its peak resident set, sampled from /proc while it runs.
    let sb = Sandbox::new();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("kestractl"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.path().join("home"))
        .env("KESTRACTL_CONFIG_DIR", sb.config_dir())
        .env("KESTRACTL_KEYRING", "none")
        .current_dir(sb.workdir())
        .args(["flows", "validate"])
        .arg(fixture("alias-bomb.yml"));
    let (out, peak_kib) = run_sampling_memory(cmd);
    out.assert_code(5);
    if let Some(kib) = peak_kib {
        assert!(kib < 256 * 1024, "peak RSS {kib} KiB");
    }
}

/// Runs a command to its end (killed after 30 s) and samples its peak resident set size
/// (`VmHWM` of /proc/PID/status, Linux; `None` where there is no /proc).
fn run_sampling_memory(mut cmd: std::process::Command) -> (Output, Option<u64>) {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut peak = None;
    while child.try_wait().unwrap().is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = Some(peak.unwrap_or(0).max(kib));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (child.wait_with_output().unwrap(), peak)
}

#[test]
fn flow_kestra_rejects_server_side_exits_5_and_writes_nothing() {
    // Kestra 2.0 dropped `taskDefaults`: only the server knows. A valid flow beside it is not
    // deployed either.
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("valid.yml"), dir.join("valid.yml")).unwrap();
    std::fs::copy(fixture("task-defaults.yml"), dir.join("task-defaults.yml")).unwrap();
    for command in ["deploy", "validate"] {
        let out = run(
            &sb,
            sb.cmd_for(&emu)
                .args(["flows", command, dir.to_str().unwrap()]),
        );
        expect(
            &out,
            5,
            &["task-defaults.yml:3: Kestra:", "taskDefaults"],
            &["fix the files listed above"],
        );
    }
    // It was asked (validate is read-only) and nothing else.
    assert!(
        emu.control()
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/flows/validate"))
    );
    assert_nothing_written(&emu);
}

// ---------------------------------------------------------------------------------------------
// Config and .env files

#[test]
fn settings_config_with_an_unknown_key_names_it() {
    deploy_with_bad_settings(
        |sb, emu, _| {
            sb.write_config(&format!(
                "current-context = \"local\"\n[contexts.local]\nserver = \"{}\"\nhost = \"localhost\"\n",
                emu.api_url()
            ));
        },
        &[
            "config.toml is not a valid kestractl config: unknown field `host`",
            "expected one of `server`, `tenant`, `username`",
        ],
        &["edit", "config.toml"],
    );
}

#[test]
fn settings_config_with_a_password_is_refused_without_echoing_it() {
    let stderr = deploy_with_bad_settings(
        |sb, emu, _| {
            sb.write_config(&format!(
                "current-context = \"local\"\n[contexts.local]\nserver = \"{}\"\npassword = \"Config-Secr3t-xyz\"\n",
                emu.api_url()
            ));
        },
        &["context `local` has a `password` key"],
        &["remove the `password` line", "--password-stdin"],
    );
    assert!(!stderr.contains("Config-Secr3t-xyz"), "leaked: {stderr}");
}

fn dotenv_port_is_refused(value: &str) {
    deploy_with_bad_settings(
        |sb, emu, cmd| {
            sb.write_dotenv(&format!("KESTRA_HTTP_PORT={value}\n"));
            // The port is checked even when another setting names the server.
            cmd.args(["--server", &emu.api_url()]);
        },
        &[
            &format!("`{value}` is not a TCP port (1-65535)"),
            ".env KESTRA_HTTP_PORT",
        ],
        &["correct KESTRA_HTTP_PORT in", ".env"],
    );
}

#[test]
fn settings_dotenv_port_zero_is_refused() {
    dotenv_port_is_refused("0");
}

#[test]
fn settings_dotenv_port_too_large_is_refused() {
    dotenv_port_is_refused("99999");
}

#[test]
fn settings_dotenv_port_in_words_is_refused() {
    dotenv_port_is_refused("eighty");
}

#[test]
fn settings_server_url_with_another_scheme_is_refused() {
    deploy_with_bad_settings(
        |_, emu, cmd| {
            let url = emu.api_url().replace("http://", "ftp://");
            cmd.env("KESTRACTL_SERVER", url);
        },
        &[
            "uses `ftp`; a Kestra server URL must start with http:// or https://",
            "(from environment KESTRACTL_SERVER)",
        ],
        &["correct or unset the environment variable KESTRACTL_SERVER"],
    );
}

#[test]
fn settings_server_url_with_credentials_is_refused_without_echoing_them() {
    let stderr = deploy_with_bad_settings(
        |sb, emu, _| {
            let url = emu
                .api_url()
                .replace("http://", "http://admin%40kestra.io:Url-Secr3t-xyz@");
            sb.write_dotenv(&format!("KESTRACTL_SERVER={url}\n"));
        },
        &["the server URL contains credentials", "KESTRACTL_SERVER"],
        &["correct KESTRACTL_SERVER in"],
    );
    assert!(!stderr.contains("Url-Secr3t-xyz"), "leaked: {stderr}");
    assert!(stderr.contains("--password-stdin"), "{stderr}");
}

#[test]
fn settings_server_url_with_a_query_is_refused() {
    deploy_with_bad_settings(
        |_, emu, cmd| {
            cmd.env(
                "KESTRACTL_SERVER",
                format!("{}/?tenant=main", emu.api_url()),
            );
        },
        &["has a query or fragment; give only scheme, host, port and an optional path"],
        &["KESTRACTL_SERVER"],
    );
}

#[test]
fn settings_dotenv_with_an_unterminated_quote_gives_the_line_not_its_content() {
    let stderr = deploy_with_bad_settings(
        |sb, emu, cmd| {
            sb.write_dotenv(
                "# the seed's settings\nKESTRA_HTTP_PORT=8080\nKESTRA_BASICAUTH_PASSWORD='Dotenv-Secr3t-xyz\nKESTRA_IMAGE=kestra/kestra:latest\n",
            );
            cmd.args(["--server", &emu.api_url()]);
        },
        &[".env", "line 3", "quote"],
        &["fix the line"],
    );
    assert!(!stderr.contains("Dotenv-Secr3t-xyz"), "leaked: {stderr}");
    assert!(!stderr.contains("KESTRA_IMAGE"), "{stderr}");
}

#[test]
fn settings_dotenv_tenant_with_upper_case_is_refused() {
    deploy_with_bad_settings(
        |sb, emu, cmd| {
            sb.write_dotenv("KESTRACTL_TENANT=Main\n");
            cmd.args(["--server", &emu.api_url()]);
        },
        &["`Main` is not a valid tenant", "Kestra OSS uses `main`"],
        &["correct KESTRACTL_TENANT in"],
    );
}

#[test]
fn settings_username_that_is_not_an_email_is_refused() {
    deploy_with_bad_settings(
        |_, emu, cmd| {
            cmd.env("KESTRACTL_USERNAME", "admin")
                .args(["--server", &emu.api_url()]);
        },
        &[
            "`admin` is not a valid Kestra username",
            "requires an e-mail address",
        ],
        &["correct or unset the environment variable KESTRACTL_USERNAME"],
    );
}

#[test]
fn settings_timeout_in_words_from_the_environment_is_refused() {
    deploy_with_bad_settings(
        |_, emu, cmd| {
            cmd.env("KESTRACTL_TIMEOUT", "soon")
                .args(["--server", &emu.api_url()]);
        },
        &["`soon` is not a duration", "500ms, 30s, 5m"],
        &["KESTRACTL_TIMEOUT"],
    );
}

// ---------------------------------------------------------------------------------------------
// Command-line arguments: usage errors, exit 2, before any request.

/// Runs a command line against the emulator; exit 2 and not a single request.
fn usage_error(args: &[&str], problem: &[&str], fix: &[&str]) -> String {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let out = run(&sb, sb.cmd_for(&emu).args(args));
    let stderr = expect(&out, 2, problem, fix);
    assert_not_contacted(&emu);
    stderr
}

#[test]
fn arg_timeout_in_words_is_a_usage_error() {
    let sb = Sandbox::new();
    let flow = valid_flow(&sb);
    usage_error(
        &["--timeout", "soon", "flows", "deploy", &flow],
        &["`soon` is not a duration", "(from flag --timeout)"],
        &["correct the value of --timeout"],
    );
}

#[test]
fn arg_since_yesterday_is_a_usage_error() {
    usage_error(
        &["executions", "--since", "yesterday"],
        &["`yesterday` is neither a duration nor a date"],
        &["--since takes a duration back from now (24h, 7d) or a date"],
    );
}

#[test]
fn arg_negative_wait_timeout_is_a_usage_error() {
    // Both spellings reach kestractl's own check (not clap's "unexpected argument '-1'").
    for args in [
        ["--wait-timeout", "-1s"].as_slice(),
        ["--wait-timeout=-1s"].as_slice(),
    ] {
        let mut all = vec!["executions", "run", "bad.input", "hello", "--wait"];
        all.extend_from_slice(args);
        usage_error(
            &all,
            &["`-1s` is negative", "500ms, 30s, 5m"],
            &["--wait-timeout"],
        );
    }
}

#[test]
fn arg_label_without_a_value_is_a_usage_error() {
    usage_error(
        &[
            "executions",
            "run",
            "bad.input",
            "hello",
            "--label",
            "novalue",
        ],
        &["`novalue` is not a label: expected KEY=VALUE"],
        &["key=value, e.g. team=data"],
    );
}

#[test]
fn arg_label_without_a_key_is_a_usage_error() {
    usage_error(
        &["executions", "--label", "=x"],
        &["`=x` is not a label: expected KEY=VALUE"],
        &["key=value"],
    );
}

#[test]
fn arg_input_from_a_missing_file_is_a_usage_error() {
    usage_error(
        &[
            "executions",
            "run",
            "bad.input",
            "hello",
            "--input",
            "f=@/nonexistent/data.csv",
        ],
        &["input `f`: /nonexistent/data.csv is not a readable file"],
        &["name=@./data.csv"],
    );
}

#[test]
fn arg_unknown_execution_state_is_a_usage_error() {
    usage_error(
        &["executions", "--state", "success,DONE"],
        &["`DONE` is not an execution state"],
        &["use one of: CREATED", "SUCCESS", "FAILED"],
    );
}

#[test]
fn arg_deploy_namespace_override_must_be_a_namespace() {
    let sb = Sandbox::new();
    let flow = valid_flow(&sb);
    usage_error(
        &["flows", "deploy", &flow, "--namespace", "Bad NS"],
        &["namespace `Bad NS` is not valid"],
        &["fix --namespace"],
    );
}

#[test]
fn arg_unknown_context_is_a_usage_error() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "current-context = \"local\"\n[contexts.local]\nserver = \"{}\"\n",
        emu.api_url()
    ));
    let flow = valid_flow(&sb);
    let out = run(
        &sb,
        sb.cmd().env("KESTRACTL_PASSWORD", PASSWORD).args([
            "--context",
            "nope",
            "flows",
            "deploy",
            &flow,
        ]),
    );
    expect(
        &out,
        2,
        &["there is no context named `nope` (from flag --context)"],
        &["known contexts: local", "kestractl config list"],
    );
    assert_not_contacted(&emu);
}

#[test]
fn arg_deploy_concurrency_zero_is_a_usage_error() {
    // clap's own message: no `hint:` line, but the accepted range is the fix.
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let flow = valid_flow(&sb);
    let out = run(
        &sb,
        sb.cmd_for(&emu)
            .args(["flows", "deploy", &flow, "--concurrency", "0"]),
    );
    out.assert_code(2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("invalid value '0' for '--concurrency <N>': 0 is not in 1..=256"),
        "{stderr}"
    );
    assert_not_contacted(&emu);
}

// ---------------------------------------------------------------------------------------------
// Server answers: a tiny HTTP server with canned responses.

/// No POST/PUT/DELETE reached the fake server (the read-only validation aside).
#[track_caller]
fn assert_server_untouched(server: &FakeServer) {
    let writes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|l| {
            let mut p = l.split(' ');
            is_write(p.next().unwrap_or_default(), p.next().unwrap_or_default())
        })
        .collect();
    assert!(writes.is_empty(), "written: {writes:?}");
}

/// A fake Kestra 2.0 good enough for `flows list` and for `flows deploy` of `valid.yml` up to its
/// first write: `answer(method, path)` replaces the canned answer of any route it covers.
fn fake_kestra(answer: impl Fn(&str, &str) -> Option<Reply> + Send + Sync + 'static) -> FakeServer {
    FakeServer::start(move |method, path| {
        answer(method, path).unwrap_or_else(|| match path {
            "/api/v1/configs" => Reply::json(200, CONFIGS_2_0),
            "/api/v1/main/flows/search" => Reply::json(200, r#"{"results":[],"total":0}"#),
            "/api/v1/main/flows/validate" => Reply::json(
                200,
                r#"[{"index":0,"flow":"hello","namespace":"bad.input","warnings":[],"infos":[]}]"#,
            ),
            "/api/v1/main/flows/bad.input" => Reply::json(200, "[]"),
            "/api/v1/main/flows/export/by-query" => Reply::new(200, "application/octet-stream", ""),
            _ => Reply::new(
                404,
                "application/problem+json",
                r#"{"type":"about:blank","title":"Not Found","status":404}"#,
            ),
        })
    })
}

/// Runs kestractl against a fake server; `VALID` as the last argument is replaced by the path of
/// a valid flow file.
fn against(server: &FakeServer, args: &[&str]) -> Output {
    let sb = Sandbox::new();
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if args.last().is_some_and(|a| a == "VALID") {
        args.pop();
        args.push(valid_flow(&sb));
    }
    run(
        &sb,
        sb.cmd()
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .args(["--server", &server.url, "--timeout", "10s"])
            .args(&args),
    )
}

const LIST: &[&str] = &["flows", "list"];
const DEPLOY: &[&str] = &["flows", "deploy", "VALID"];

#[test]
fn answer_html_login_page_instead_of_json_is_explained() {
    let page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method=post>Password: <input type=password></form></body></html>";
    let server = FakeServer::start(move |_, _| Reply::new(200, "text/html; charset=utf-8", page));
    for args in [LIST, DEPLOY] {
        let out = against(&server, args);
        let stderr = expect(
            &out,
            1,
            &["HTML page instead of Kestra's JSON"],
            &["is the server URL a Kestra API"],
        );
        assert!(!stderr.contains("<form"), "the page is dumped: {stderr}");
    }
    assert_server_untouched(&server);
}

#[test]
fn answer_truncated_json_is_explained() {
    let server = fake_kestra(|_, path| {
        if path.ends_with("/flows/search") {
            Some(Reply::json(
                200,
                r#"{"results":[{"id":"hello","namespace":"bad.in"#,
            ))
        } else if path.ends_with("/flows/bad.input") {
            Some(Reply::json(200, r#"[{"id":"hello","namespace":"bad.in"#))
        } else {
            None
        }
    });
    for (args, route) in [
        (LIST, "GET http://127.0.0.1"),
        (DEPLOY, "/api/v1/main/flows/bad.input"),
    ] {
        expect(
            &against(&server, args),
            1,
            &[
                route,
                "returned an answer kestractl cannot read",
                "the body is not valid JSON (it starts with `",
            ],
            &["is the server URL a Kestra API"],
        );
    }
    assert_server_untouched(&server);
}

#[test]
fn answer_with_unexpected_extra_fields_is_accepted() {
    let server = fake_kestra(|_, path| {
        path.ends_with("/flows/search").then(|| {
            Reply::json(
                200,
                r#"{"results":[{"id":"hello","namespace":"bad.input","revision":3,"disabled":false,"deleted":false,"futureField":{"nested":[1,2,3]},"labels":[{"key":"a","value":"b"}],"sla":null}],"total":1,"nextPageHint":"abc","_links":{}}"#,
            )
        })
    });
    let out = against(&server, &["flows", "list", "-o", "json"]);
    out.assert_code(0);
    let json = stdout_json(&out);
    assert_eq!(json[0]["id"], "hello");
    assert_eq!(json[0]["namespace"], "bad.input");
    assert_eq!(json[0]["revision"], 3);
    assert_server_untouched(&server);
}

#[test]
fn answer_flow_without_its_id_is_a_clear_error_not_a_panic() {
    let server = fake_kestra(|_, path| {
        if path.ends_with("/flows/search") {
            Some(Reply::json(
                200,
                r#"{"results":[{"namespace":"bad.input","revision":1}],"total":1}"#,
            ))
        } else if path.ends_with("/flows/bad.input") {
            // What deploy reads to plan: a flow without id must not be planned around.
            Some(Reply::json(
                200,
                r#"[{"namespace":"bad.input","revision":1}]"#,
            ))
        } else {
            None
        }
    });
    for args in [LIST, DEPLOY] {
        let out = against(&server, args);
        expect(
            &out,
            1,
            &[
                "returned an answer kestractl cannot read",
                "unexpected JSON: missing field `id`",
            ],
            &["is the server URL a Kestra API"],
        );
    }
    assert_server_untouched(&server);
}

#[test]
fn answer_rfc9457_problem_is_shown_with_its_detail() {
    let server = fake_kestra(|_, path| {
        (path.ends_with("/flows/search") || path.ends_with("/flows/validate")).then(|| {
            Reply::new(
                400,
                "application/problem+json",
                r#"{"type":"https://kestra.io/docs/api-reference/problems/invalid-request","title":"Invalid request","status":400,"detail":"Unknown property: sort","instance":"/api/v1/main/flows","errors":[{"detail":"must be one of id, updated","path":"sort"}]}"#,
            )
        })
    });
    for args in [LIST, DEPLOY] {
        expect(
            &against(&server, args),
            1,
            &[
                "Kestra rejected",
                "(HTTP 400): Invalid request: Unknown property: sort",
                "sort: must be one of id, updated",
            ],
            &["Kestra's reason is above", "kestractl server info"],
        );
    }
    assert_server_untouched(&server);
}

#[test]
fn answer_micronaut_json_error_is_shown_with_its_detail() {
    // Kestra 1.3 speaks Micronaut's JsonError.
    let server = fake_kestra(|_, path| match path {
        "/api/v1/configs" => Some(Reply::json(
            200,
            r#"{"version":"1.3.26","edition":"OSS","isBasicAuthInitialized":true}"#,
        )),
        p if p.ends_with("/flows/search") || p.ends_with("/flows/validate") => Some(Reply::json(
            422,
            r#"{"message":"Invalid entity: flow.tasks: must not be empty","_links":{"self":{"href":"/api/v1/main/flows","templated":false}},"_embedded":{"errors":[{"message":"must not be empty","path":"flow.tasks"}]}}"#,
        )),
        _ => None,
    });
    for args in [LIST, DEPLOY] {
        expect(
            &against(&server, args),
            1,
            &[
                "(HTTP 422): Invalid entity: flow.tasks: must not be empty",
                "flow.tasks: must not be empty",
            ],
            &["Kestra's reason is above", "kestractl server info"],
        );
    }
    assert_server_untouched(&server);
}

#[test]
fn answer_500_with_an_empty_body_is_reported() {
    let server = fake_kestra(|_, path| {
        (path.ends_with("/flows/search") || path.ends_with("/flows/validate"))
            .then(|| Reply::new(500, "", ""))
    });
    for args in [LIST, DEPLOY] {
        let stderr = expect(
            &against(&server, args),
            1,
            &["Kestra failed on", "(HTTP 500)"],
            &["the Kestra logs"],
        );
        assert!(!stderr.contains("(HTTP 500):"), "an empty detail: {stderr}");
    }
    // A 500 is not retried blindly: one attempt each.
    let attempts = server
        .requests()
        .iter()
        .filter(|l| l.contains("/flows/search") || l.contains("/flows/validate"))
        .count();
    assert_eq!(attempts, 2, "{:?}", server.requests());
    assert_server_untouched(&server);
}

#[test]
fn answer_redirect_is_explained_and_credentials_are_not_followed() {
    // The redirect target logs whatever reaches it: nothing must.
    let elsewhere = FakeServer::start(|_, _| Reply::json(200, CONFIGS_2_0));
    let target = format!("{}/login?next=/api/v1/configs", elsewhere.url);
    let server = FakeServer::start(move |_, _| {
        Reply::new(302, "text/html", "<a href=\"/login\">Found</a>").header("Location", &target)
    });
    let out = against(&server, DEPLOY);
    expect(
        &out,
        1,
        &["was redirected (HTTP 302) to", &elsewhere.url],
        &["point --server at Kestra itself"],
    );
    // The credentials went to the server named, and nowhere else.
    let log = server.log.lock().unwrap().clone();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].1,
        "the first request carried no credentials: {log:?}"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "followed: {:?}",
        elsewhere.requests()
    );
    assert_server_untouched(&server);
}

// ---------------------------------------------------------------------------------------------
// Credentials with a real keyring: a bad input stores nothing.

#[test]
fn keyring_login_with_a_username_that_is_not_an_email_stores_nothing() {
    let Some(ss) = crate::keyring::SecretService::start() else {
        return;
    };
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    cmd.args([
        "--server",
        &emu.api_url(),
        "--username",
        "admin",
        "auth",
        "login",
        "--password-stdin",
    ])
    .write_stdin(format!("{PASSWORD}\n"));
    let out = run(&sb, &mut cmd);
    let stderr = expect(
        &out,
        2,
        &["`admin` is not a valid Kestra username"],
        &["correct the value of --username"],
    );
    assert!(!stderr.contains(PASSWORD));
    assert_eq!(ss.count(), 0, "something was stored");
    assert_not_contacted(&emu);

    // The control: the same login with a good username does store (so 0 above means something).
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    cmd.args([
        "--server",
        &emu.api_url(),
        "--username",
        USER,
        "auth",
        "login",
        "--password-stdin",
    ])
    .write_stdin(format!("{PASSWORD}\n"));
    cmd.ran().code(0);
    assert_eq!(ss.count(), 1);
}

#[test]
fn keyring_import_env_of_a_broken_dotenv_stores_nothing_and_keeps_the_file() {
    let Some(ss) = crate::keyring::SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    sb.write_dotenv(
        "KESTRA_DB_PASSWORD=Db-Secr3t-xyz\nKESTRA_BASICAUTH_PASSWORD=\"Import-Secr3t-xyz\nKESTRA_HTTP_PORT=8080\n",
    );
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    cmd.args(["auth", "import-env", "--rewrite-env"]);
    // `run` checks that .env is byte for byte the same and no backup appeared.
    let out = run(&sb, &mut cmd);
    let stderr = expect(&out, 1, &[".env", "line 2", "quote"], &["fix the line"]);
    assert!(!stderr.contains("Secr3t"), "leaked: {stderr}");
    assert_eq!(ss.count(), 0, "something was stored");

    // The control: with the quote closed, both passwords are imported.
    sb.write_dotenv(
        "KESTRA_DB_PASSWORD=Db-Secr3t-xyz\nKESTRA_BASICAUTH_PASSWORD=\"Import-Secr3t-xyz\"\nKESTRA_HTTP_PORT=8080\n",
    );
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    cmd.args(["auth", "import-env"]).ran().code(0);
    assert_eq!(ss.count(), 2);
}
