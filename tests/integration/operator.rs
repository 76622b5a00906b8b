//! What an operator meets first: `--help` of every command, completions, the man page, `compose`
//! and `doctor --help` with no Docker, no network and no keyring; output without escape codes when
//! piped (and colour only on a terminal, never with NO_COLOR); a quiet broken pipe; `doctor`.

use std::process::Command as StdCommand;

use kestra_emulator::{KestraVersion, Knobs, Options};

use crate::common::*;

/// Every command path of the CLI (`["flows", "deploy"]`, …), from clap's own definitions.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut path = prefix.clone();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, path, out);
        }
    }
    let mut out = vec![Vec::new()];
    walk(&kestractl::command(), Vec::new(), &mut out);
    out
}

/// A sandboxed command with every external part pointing nowhere.
fn offline(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.cmd();
    cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env(
            "KESTRACTL_SERVER",
            format!("http://127.0.0.1:{}", dead_port()),
        )
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("KESTRACTL_KEYRING", "auto");
    cmd
}

#[test]
fn help_of_every_command_works_offline_without_escape_codes() {
    let sb = Sandbox::new();
    let paths = command_paths();
    assert!(paths.len() > 30, "{} command paths", paths.len());
    for path in paths {
        let out = offline(&sb).args(&path).arg("--help").ran().code(0);
        let stdout = text(&out.stdout);
        assert!(stdout.contains("Usage: kestractl"), "{path:?}: {stdout}");
        assert!(
            !stdout.contains('\x1b'),
            "{path:?} has escape codes when piped"
        );
        assert!(
            text(&out.stderr).is_empty(),
            "{path:?}: {}",
            text(&out.stderr)
        );
    }
    let out = offline(&sb).arg("--version").output().unwrap();
    assert_eq!(
        text(&out.stdout).trim(),
        format!("kestractl {}", env!("CARGO_PKG_VERSION"))
    );
    // Nothing was written by asking for help.
    assert!(!sb.config_file().exists());
}

#[test]
fn completions_man_page_and_compose_work_offline() {
    let sb = Sandbox::new();
    for (shell, needle) in [
        ("bash", "_clap_complete_kestractl()"),
        ("zsh", "#compdef kestractl"),
        (
            "fish",
            "complete --keep-order --exclusive --command kestractl",
        ),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[kestractl]"),
    ] {
        let out = offline(&sb).args(["completions", shell]).ran().code(0);
        let script = text(&out.stdout);
        assert!(script.contains(needle), "{shell}: {script}");
        // Each completion asks kestractl itself (so it knows contexts and the server).
        assert!(
            script.contains(shell) && script.contains("kestractl"),
            "{shell}"
        );
    }
    offline(&sb).args(["completions", "tcsh"]).ran().code(2);

    let out = offline(&sb).arg("man").ran().code(0);
    let page = text(&out.stdout);
    assert!(page.contains(".TH KESTRACTL 1"), "{page}");
    assert!(page.contains("doctor"));
    assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");

    // One page per command, each with its examples and the reader's sections.
    let dir = sb.path().join("man1");
    offline(&sb)
        .args(["man", "--dir"])
        .arg(&dir)
        .ran()
        .code(0)
        .says("man pages to");
    let deploy = std::fs::read_to_string(dir.join("kestractl-flows-deploy.1")).unwrap();
    for section in [
        ".SH EXAMPLES",
        ".SH \"ENVIRONMENT\"",
        ".SH \"FILES\"",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(deploy.contains(section), "{section}");
    }
    assert!(dir.join("kestractl-executions-run.1").exists());
    assert!(dir.join("kestractl.1").exists());

    let out = offline(&sb)
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .arg("compose")
        .ran()
        .code(0);
    assert!(text(&out.stdout).contains("services:"));
    assert!(!sb.path().join("data").exists(), "compose writes nothing");
}

#[test]
fn doctor_reports_a_missing_docker_and_a_taken_port_with_their_fixes() {
    let sb = Sandbox::new();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    // The server is the local stack's (derived from KESTRA_HTTP_PORT), so its checks apply.
    let out = offline(&sb)
        .env_remove("KESTRACTL_SERVER")
        .env("KESTRACTL_TIMEOUT", "2s")
        .env("KESTRA_HTTP_PORT", port.to_string())
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .args(["doctor", "-o", "json"])
        .ran()
        .code(1);
    let checks = stdout_json(&out);
    let check = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name} check in {checks}"))
            .clone()
    };
    let docker = check("docker");
    assert_eq!(docker["status"], "fail");
    assert!(
        docker["detail"]
            .as_str()
            .unwrap()
            .contains("unix:///nonexistent/docker.sock")
    );
    assert!(
        docker["fix"]
            .as_str()
            .unwrap()
            .contains("Docker Engine running")
    );
    let api = check("api port");
    assert_eq!(api["status"], "fail", "{api}");
    let detail = api["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("127.0.0.1:{port} is taken by process")),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("pid {}", std::process::id())),
        "{detail}"
    );
    assert!(api["fix"].as_str().unwrap().contains("KESTRA_HTTP_PORT"));
    assert_eq!(check("management port")["status"], "ok");
    assert_eq!(check("server")["status"], "fail");
    assert_eq!(check("credentials")["status"], "skip");
    assert_eq!(check("config file")["status"], "ok");
    drop(holder);

    // The human form marks each check and prints the fixes; no escape codes when piped.
    let out = offline(&sb)
        .env_remove("KESTRACTL_SERVER")
        .env("KESTRACTL_TIMEOUT", "2s")
        .arg("doctor")
        .ran()
        .code(1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("docker\tfail\t")),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'));
}

#[test]
fn doctor_passes_against_a_working_server() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let out = sb
        .cmd_for(&emu)
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .args(["doctor", "-o", "json"])
        .output()
        .unwrap();
    let checks = stdout_json(&out);
    let status = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .map(|c| c["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("server"), "ok");
    assert_eq!(status("credentials"), "ok");
    assert_eq!(status("kestra version"), "ok");
    let out = sb
        .cmd_for(&emu)
        .env("KESTRACTL_PASSWORD", "wrong-Passw0rd")
        .args(["doctor", "-o", "json"])
        .ran()
        .code(1);
    let checks = stdout_json(&out);
    let creds = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "credentials")
        .unwrap();
    assert_eq!(creds["status"], "fail");
    assert!(creds["fix"].as_str().unwrap().contains("auth login"));
}

#[test]
fn piped_output_has_no_escape_codes_anywhere() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.yml"),
        "id: a\nnamespace: pipe.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n",
    )
    .unwrap();
    sb.cmd()
        .args(["config", "add", "x", "--server", &emu.api_url()])
        .assert()
        .success();
    let runs: Vec<Vec<&str>> = vec![
        vec!["config", "list"],
        vec!["config", "show"],
        vec!["server", "info"],
        vec!["flows", "deploy", dir.to_str().unwrap()],
        vec!["flows", "list"],
        vec!["executions", "run", "pipe.test", "a", "--wait"],
        vec!["executions"],
    ];
    for args in runs {
        for format in [None, Some("table")] {
            let mut cmd = sb.cmd_for(&emu);
            cmd.args(&args);
            if let Some(f) = format {
                cmd.args(["-o", f]);
            }
            let out = cmd.ran().code(0);
            assert!(
                !text(&out.stdout).contains('\x1b'),
                "{args:?} {format:?}: stdout"
            );
            assert!(
                !text(&out.stderr).contains('\x1b'),
                "{args:?} {format:?}: stderr"
            );
        }
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // `script` gives the command a pseudo-terminal (util-linux).
    if StdCommand::new("script").arg("--version").output().is_err() {
        kestra_emulator::prerequisite::missing(
            "`script` is not installed (apt-get install bsdutils)",
        );
        return;
    }
    let sb = Sandbox::new();
    let bin = assert_cmd::cargo::cargo_bin!("kestractl");
    let run = |no_color: bool| {
        let inner = format!("{} config show", bin.display());
        let mut cmd = StdCommand::new("script");
        cmd.args(["-qec", &inner, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", sb.path().join("home"))
            .env("TERM", "xterm")
            .env("KESTRACTL_CONFIG_DIR", sb.config_dir())
            .current_dir(sb.workdir());
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        text(&cmd.output().unwrap().stdout)
    };
    let tty = run(false);
    assert!(tty.contains("SETTING"), "a table on a terminal: {tty}");
    assert!(tty.contains("\x1b["), "colour on a terminal: {tty:?}");
    let plain = run(true);
    assert!(plain.contains("SETTING"));
    assert!(!plain.contains("\x1b["), "NO_COLOR: {plain:?}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs = Knobs {
        seed_executions: 3000,
        ..Knobs::default()
    };
    let emu = emulator_with(opts);
    let sb = Sandbox::new();
    let bin = assert_cmd::cargo::cargo_bin!("kestractl");
    let script = format!(
        "{} --server {} executions --all | head -n 1; echo \"status=${{PIPESTATUS[0]}}\"",
        bin.display(),
        emu.api_url()
    );
    let out = StdCommand::new("bash")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.path().join("home"))
        .env("KESTRACTL_CONFIG_DIR", sb.config_dir())
        .env("KESTRACTL_KEYRING", "none")
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout.ends_with("status=0\n"),
        "kestractl must exit 0: {stdout}"
    );
    assert!(text(&out.stderr).is_empty(), "quiet: {}", text(&out.stderr));
}

/// A prompt as people expect it: `[y/N]`, `y` or `yes` goes on, anything else keeps things, and
/// Ctrl-C at the prompt ends at once with exit 130 and nothing deleted.
#[test]
fn terminal_prompts_take_y_and_ctrl_c_aborts_at_once() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("prompt-flows");
    std::fs::create_dir_all(&dir).unwrap();
    for id in ["one", "two"] {
        std::fs::write(
            dir.join(format!("{id}.yml")),
            format!("id: {id}\nnamespace: prompt.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"),
        )
        .unwrap();
    }
    sb.cmd_for(&emu)
        .args(["flows", "deploy", dir.to_str().unwrap()])
        .ran()
        .code(0);
    let exists = |id: &str| {
        sb.cmd_for(&emu)
            .args(["flows", "get", "prompt.test", id])
            .output()
            .unwrap()
            .status
            .code()
            == Some(0)
    };
    let api = emu.api_url();
    let delete = |id: &'static str| {
        Pty::spawn(
            &sb,
            &["--server", &api, "flows", "delete", "prompt.test", id],
            &[("KESTRACTL_PASSWORD", PASSWORD)],
        )
    };

    // Ctrl-C at the prompt: at once, exit 130, nothing deleted.
    let Some(mut pty) = delete("one") else { return };
    pty.expect("Delete flow prompt.test/one? [y/N] ");
    let asked = std::time::Instant::now();
    pty.send("\x03");
    let (code, shown) = pty.wait();
    assert_eq!(code, Some(130), "{shown}");
    assert!(asked.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        shown.contains("interrupted at the prompt: nothing was deleted"),
        "{shown}"
    );
    assert!(exists("one"));

    // Enter alone, or `no`: nothing deleted, and declining is not an error (exit 0, no
    // "error:").
    for answer in ["\r", "no\r"] {
        let mut pty = delete("one").unwrap();
        pty.expect("[y/N] ");
        pty.send(answer);
        let (code, shown) = pty.wait();
        assert_eq!(code, Some(0), "{answer:?}: {shown}");
        assert!(shown.contains("Nothing was deleted."), "{shown}");
        assert!(!shown.contains("error:"), "{shown}");
        assert!(exists("one"));
    }

    // `y` and `yes` go on.
    for (id, answer) in [("one", "y\r"), ("two", "YES\r")] {
        let mut pty = delete(id).unwrap();
        pty.expect("[y/N] ");
        pty.send(answer);
        let (code, shown) = pty.wait();
        assert_eq!(code, Some(0), "{answer:?}: {shown}");
        assert!(!exists(id), "{id} deleted");
    }
}

/// The same rules in every command: `NAMESPACE/ID` wherever a flow is asked for, an empty list
/// says so, a capped list says how many it left out, `-q` prints ids alone.
#[test]
fn flows_by_one_name_empty_and_capped_lists_quiet_ids() {
    let mut opts = Options::for_tests(KestraVersion::V2_0, USER, PASSWORD);
    opts.knobs.seed_executions = 40;
    let emu = emulator_with(opts);
    let sb = Sandbox::new();
    deploy_files(
        &sb,
        &emu,
        "ref-flows",
        &[(
            "hello.yml",
            "id: hello\nnamespace: ref.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
        )],
    );

    // NAMESPACE/ID and NAMESPACE ID name the same flow.
    let two = sb
        .cmd_for(&emu)
        .args(["flows", "get", "ref.team", "hello"])
        .ran()
        .code(0);
    let one = sb
        .cmd_for(&emu)
        .args(["flows", "get", "ref.team/hello"])
        .ran()
        .code(0);
    assert_eq!(text(&two.stdout), text(&one.stdout));
    sb.cmd_for(&emu)
        .args(["flows", "get", "ref.team"])
        .ran()
        .code(2)
        .says("`ref.team` names a namespace but no flow")
        .says("NAMESPACE/ID");
    let id = text(
        &sb.cmd_for(&emu)
            .args(["executions", "run", "ref.team/hello"])
            .ran()
            .code(0)
            .stdout,
    )
    .trim()
    .to_string();
    let listed = sb
        .cmd_for(&emu)
        .args(["executions", "--flow", "ref.team/hello", "-q"])
        .ran()
        .code(0);
    assert_eq!(text(&listed.stdout).trim(), id);

    // Empty lists say so (on stderr; stdout stays empty for scripts).
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "list", "no.such.ns"])
        .ran()
        .code(0);
    assert!(text(&out.stdout).is_empty());
    assert!(
        text(&out.stderr).contains("No flows."),
        "{}",
        text(&out.stderr)
    );
    sb.cmd_for(&emu)
        .args(["executions", "--namespace", "no.such.ns"])
        .ran()
        .code(0)
        .says("No executions match.");

    // A capped list says how many it left out.
    let out = sb.cmd_for(&emu).arg("executions").ran().code(0);
    assert_eq!(text(&out.stdout).lines().count(), 25);
    assert!(
        text(&out.stderr).contains("showing 25 of 41 (--all for every one, or --limit N)"),
        "{}",
        text(&out.stderr)
    );
    let out = sb.cmd_for(&emu).args(["executions", "--all"]).ran().code(0);
    assert_eq!(text(&out.stdout).lines().count(), 41);
    assert!(!text(&out.stderr).contains("showing"));

    // -q: ids alone.
    let out = sb
        .cmd_for(&emu)
        .args(["executions", "-q", "--limit", "3"])
        .ran()
        .code(0);
    let ids: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().all(|i| !i.contains('\t') && !i.is_empty()),
        "{ids:?}"
    );
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "list", "ref.team", "-q"])
        .ran()
        .code(0);
    assert_eq!(text(&out.stdout), "ref.team/hello\n");
}

/// Help that teaches: every command has examples, and every example parses with the command line
/// it documents; every positional argument is described; the global options are listed once
/// (one "Inherited flags" line elsewhere); only `kestractl` has --version; `kestractl help CMD`
/// and `kestractl version` work.
#[test]
fn help_has_examples_that_parse_and_describes_every_argument() {
    fn leaves(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let path = format!("{prefix} {}", sub.get_name()).trim().to_string();
            let has_children = sub.get_subcommands().next().is_some();
            // A group whose own invocation does something (executions, backup) counts too.
            if !has_children || sub.is_args_conflicts_with_subcommands_set() || path == "executions"
            {
                out.push((path.clone(), sub.clone()));
            }
            leaves(sub, &path, out);
        }
    }
    let root = kestractl::command();
    let mut all = Vec::new();
    leaves(&root, "", &mut all);
    assert!(all.len() > 40, "{}", all.len());
    let mut parsed = 0;
    for (path, cmd) in &all {
        let after = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        let long = cmd
            .get_long_about()
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            after.contains("Examples:") || long.contains("Examples:"),
            "`kestractl {path}` has no examples"
        );
        assert!(
            after.contains("Inherited flags: --context"),
            "{path}: {after}"
        );
        for arg in cmd.get_positionals() {
            assert!(
                arg.get_help().is_some(),
                "{path}: <{}> is not described",
                arg.get_id()
            );
        }
        // Every example line that runs kestractl parses with the real definition.
        for line in after.lines().chain(long.lines()).map(str::trim) {
            let Some(rest) = line.strip_prefix("kestractl ") else {
                continue;
            };
            let command = rest
                .split(['|', '>', '#'])
                .next()
                .unwrap()
                .split("&&")
                .next()
                .unwrap();
            // Words as a shell splits them: a single-quoted value is one word.
            let words: Vec<String> = command
                .split('\'')
                .enumerate()
                .flat_map(|(i, part)| {
                    if i % 2 == 1 {
                        vec![part.to_string()]
                    } else {
                        part.split_whitespace().map(str::to_string).collect()
                    }
                })
                .collect();
            let mut argv = vec!["kestractl".to_string()];
            argv.extend(words);
            if let Err(e) = kestractl::command().try_get_matches_from(&argv) {
                panic!("{path}: the example `{line}` does not parse: {e}");
            }
            parsed += 1;
        }
    }
    assert!(parsed > 60, "{parsed} examples parsed");

    let sb = Sandbox::new();
    // The global options: described at the top only.
    let top = text(&offline(&sb).arg("--help").ran().code(0).stdout);
    assert!(top.contains("--password-stdin"), "{top}");
    let sub = text(
        &offline(&sb)
            .args(["flows", "deploy", "--help"])
            .ran()
            .code(0)
            .stdout,
    );
    assert!(
        !sub.contains("Read the password from the first line of stdin"),
        "{sub}"
    );
    assert!(sub.contains("Inherited flags:"), "{sub}");
    assert!(!sub.contains("--version"), "{sub}");
    // …and still accepted after a subcommand.
    offline(&sb)
        .args(["config", "show", "-o", "json", "--no-color"])
        .ran()
        .code(0);
    offline(&sb)
        .args(["flows", "--version"])
        .ran()
        .code(2)
        .says("unexpected argument '--version'");
    let help = text(
        &offline(&sb)
            .args(["help", "flows", "deploy"])
            .ran()
            .code(0)
            .stdout,
    );
    assert!(help.contains("Usage: kestractl flows deploy"), "{help}");
    // `version` also asks the server (`--version` never does): none answers here, said so.
    let v = offline(&sb).arg("version").ran().code(0);
    let shown = text(&v.stdout);
    assert!(
        shown.starts_with(&format!(
            "kestractl {}\nKestra at http://127.0.0.1:",
            env!("CARGO_PKG_VERSION")
        )),
        "{shown}"
    );
    assert!(shown.contains("cannot reach Kestra"), "{shown}");
}

/// A context that points at another machine's Kestra: `status` reports its API without Docker
/// and says the containers are not managed here; `doctor` skips the local-stack checks instead of
/// failing them; `logs ID` with an execution id points to `executions logs`.
#[test]
fn remote_servers_need_no_docker() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let nowhere = |cmd: &mut assert_cmd::Command| {
        cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    };
    let mut status = sb.cmd_for(&emu);
    nowhere(&mut status);
    let out = status.args(["status", "-o", "json"]).ran().code(0);
    let v = stdout_json(&out);
    assert_eq!(v["managed"], false, "{v}");
    assert_eq!(v["health"], "UP");
    assert_eq!(v["version"], "2.0.5");
    assert_eq!(v["credentials"], "valid");
    assert_eq!(v["ready"], true);
    let mut status = sb.cmd_for(&emu);
    nowhere(&mut status);
    let out = status.arg("status").ran().code(0);
    assert!(
        text(&out.stdout).contains("not managed here"),
        "{}",
        text(&out.stdout)
    );

    // Refused credentials, and a server that does not answer: not ready (exit 3).
    let mut status = sb.cmd_for(&emu);
    nowhere(&mut status);
    let out = status
        .env("KESTRACTL_PASSWORD", "Wrong-passw0rd")
        .args(["status", "-o", "json"])
        .ran()
        .code(3);
    assert_eq!(stdout_json(&out)["credentials"], "refused");
    let mut status = sb.cmd();
    nowhere(&mut status);
    let out = status
        .args(["--server", &format!("http://127.0.0.1:{}", dead_port())])
        .args(["--timeout", "2s", "status", "-o", "json"])
        .ran()
        .code(3);
    assert_eq!(stdout_json(&out)["health"], "unreachable");

    // doctor: the local stack's checks are skipped, with the reason, not failed.
    let mut doctor = sb.cmd_for(&emu);
    nowhere(&mut doctor);
    let out = doctor.args(["doctor", "-o", "json"]).ran().code(0);
    let checks = stdout_json(&out);
    for name in [
        "docker",
        "docker socket",
        "ports",
        "disk: storage",
        "disk: workdir",
    ] {
        let c = checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("{name}: {checks}"));
        assert_eq!(c["status"], "skip", "{c}");
        assert!(
            c["detail"].as_str().unwrap().contains("not managed here"),
            "{c}"
        );
    }

    // A refused password: the hint says where it came from.
    sb.cmd_for(&emu)
        .env("KESTRACTL_PASSWORD", "Wrong-passw0rd")
        .args(["flows", "list"])
        .ran()
        .code(4)
        .says("the password came from environment KESTRACTL_PASSWORD");
    // A page of the UI pasted as the server: its server is used, with a note.
    let page = format!(
        "{}/ui/main/flows/edit/company.team/hello?tab=source",
        emu.api_url()
    );
    sb.cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &page, "flows", "list"])
        .ran()
        .code(0)
        .says("is a page of Kestra's UI; using its server");

    sb.cmd()
        .args(["logs", "4fGpDPJmkkZ8lAfd1a2QqE"])
        .ran()
        .code(2)
        .says("looks like an execution id")
        .says("kestractl executions logs 4fGpDPJmkkZ8lAfd1a2QqE");
}

/// The bash completion, run in bash: context names from the config file, `--state` values (the
/// last of a comma list), directories for a flows folder, and — from a server that answers —
/// flows as NAMESPACE/ID and recent execution ids.
#[test]
fn bash_completion_knows_contexts_states_paths_and_the_server() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    for (name, server) in [
        ("prod", "https://kestra.example.com"),
        ("staging", "https://staging.example.com"),
    ] {
        sb.cmd()
            .args(["config", "add", name, "--server", server])
            .ran()
            .code(0);
    }
    let dir = sb.workdir().join("flows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hello.yml"),
        "id: hello\nnamespace: comp.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
    )
    .unwrap();
    sb.cmd_for(&emu)
        .args(["flows", "deploy", dir.to_str().unwrap()])
        .ran()
        .code(0);
    let id = text(
        &sb.cmd_for(&emu)
            .args(["executions", "run", "comp.team/hello"])
            .ran()
            .code(0)
            .stdout,
    )
    .trim()
    .to_string();

    let complete = |words: &[&str]| complete_in_bash(&sb, &emu.api_url(), words);

    assert_eq!(complete(&["kestractl", "--context", "st"]), ["staging"]);
    let used = complete(&["kestractl", "config", "use", ""]);
    assert!(
        used.contains(&"prod".to_string()) && used.contains(&"staging".to_string()),
        "{used:?}"
    );
    assert_eq!(
        complete(&["kestractl", "executions", "--state", "failed,RU"]),
        ["failed,RUNNING"]
    );
    let levels = complete(&["kestractl", "executions", "logs", "x", "--level", "W"]);
    assert_eq!(levels, ["WARN"]);
    assert!(complete(&["kestractl", "flows", "deploy", "fl"]).contains(&"flows/".to_string()));
    assert_eq!(
        complete(&["kestractl", "flows", "get", "comp."]),
        ["comp.team/hello"]
    );
    assert!(
        complete(&["kestractl", "executions", "get", ""]).contains(&id),
        "recent executions offered"
    );
}
