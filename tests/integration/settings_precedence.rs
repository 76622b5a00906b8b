//! The settings precedence (flag > env > .env > config file > default) through the real binary
//! and real files, read back with `config show -o json`; and the same order deciding which server
//! a real API call goes to.

use kestra_emulator::KestraVersion;

use crate::common::*;

fn show(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let out = cmd.args(["config", "show", "-o", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    stdout_json(&out)
}

fn setting<'a>(show: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    show["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {show}"))
}

#[test]
fn every_layer_wins_over_the_ones_below_it() {
    let sb = Sandbox::new();
    sb.write_config(
        "current-context = \"c\"\n[contexts.c]\nserver = \"http://config:1\"\ntenant = \"fromconfig\"\nusername = \"config@example.com\"\n",
    );
    sb.write_dotenv(
        "KESTRACTL_SERVER=http://dotenv:2\nKESTRACTL_TENANT=fromdotenv\nKESTRA_BASICAUTH_USERNAME=dotenv@example.com\nKESTRACTL_TIMEOUT=7s\nUNRELATED_SERVICE_SETTING=1\n",
    );

    // Flag beats everything.
    let s = show(sb.cmd().env("KESTRACTL_SERVER", "http://env:3").args([
        "--server",
        "http://flag:4",
        "--timeout",
        "9s",
    ]));
    assert_eq!(setting(&s, "server")["value"], "http://flag:4");
    assert_eq!(setting(&s, "server")["source"]["kind"], "flag");
    assert_eq!(setting(&s, "timeout")["value"], "9s");

    // Environment beats .env.
    let s = show(
        sb.cmd()
            .env("KESTRACTL_SERVER", "http://env:3")
            .env("KESTRACTL_TENANT", "fromenv"),
    );
    assert_eq!(setting(&s, "server")["value"], "http://env:3");
    assert_eq!(setting(&s, "server")["source"]["var"], "KESTRACTL_SERVER");
    assert_eq!(setting(&s, "tenant")["value"], "fromenv");

    // .env beats the config file, except that it may not send the selected context `c` to
    // another server (security finding 4: a cloned repository can bring a .env): refused.
    let out = sb
        .cmd()
        .args(["config", "show", "-o", "json"])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("while the selected context `c` points at http://config:1"),
        "{stderr}"
    );
    sb.write_dotenv(
        "KESTRACTL_TENANT=fromdotenv\nKESTRA_BASICAUTH_USERNAME=dotenv@example.com\nKESTRACTL_TIMEOUT=7s\nUNRELATED_SERVICE_SETTING=1\n",
    );
    let s = show(&mut sb.cmd());
    assert_eq!(setting(&s, "server")["value"], "http://config:1");
    assert_eq!(setting(&s, "tenant")["value"], "fromdotenv");
    assert_eq!(setting(&s, "username")["value"], "dotenv@example.com");
    assert_eq!(setting(&s, "timeout")["value"], "7s");
    assert!(s["dotenv"].as_str().unwrap().ends_with(".env"));

    // Config file beats defaults.
    std::fs::remove_file(sb.workdir().join(".env")).unwrap();
    let s = show(&mut sb.cmd());
    assert_eq!(setting(&s, "server")["value"], "http://config:1");
    assert_eq!(setting(&s, "tenant")["value"], "fromconfig");
    assert_eq!(setting(&s, "username")["value"], "config@example.com");
    assert_eq!(setting(&s, "timeout")["source"]["kind"], "default");

    // Defaults.
    std::fs::remove_file(sb.config_file()).unwrap();
    let s = show(&mut sb.cmd());
    assert_eq!(setting(&s, "server")["value"], "http://localhost:8080");
    assert_eq!(setting(&s, "tenant")["value"], "main");
    assert_eq!(setting(&s, "username")["value"], "admin@kestra.io");
    assert_eq!(setting(&s, "context")["source"]["kind"], "default");
}

#[test]
fn the_seed_port_decides_the_server_only_when_nothing_names_one() {
    let sb = Sandbox::new();
    sb.write_dotenv("KESTRA_HTTP_PORT=18080\n");
    let s = show(&mut sb.cmd());
    assert_eq!(setting(&s, "server")["value"], "http://localhost:18080");
    assert_eq!(setting(&s, "server")["source"]["kind"], "derived");

    sb.write_config("current-context = \"r\"\n[contexts.r]\nserver = \"https://remote:443\"\n");
    let s = show(&mut sb.cmd());
    assert_eq!(setting(&s, "server")["value"], "https://remote");
}

#[test]
fn bad_values_name_their_source_and_change_nothing() {
    let sb = Sandbox::new();
    sb.write_dotenv("KESTRA_HTTP_PORT=eighty\n");
    let out = sb.cmd().args(["config", "show"]).ran().code(1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("`eighty` is not a TCP port"), "{stderr}");
    assert!(stderr.contains(".env KESTRA_HTTP_PORT"), "{stderr}");
    assert!(
        stderr.contains("hint: correct KESTRA_HTTP_PORT in"),
        "{stderr}"
    );

    std::fs::remove_file(sb.workdir().join(".env")).unwrap();
    let out = sb
        .cmd()
        .env("KESTRACTL_TIMEOUT", "soon")
        .args(["--server", "http://localhost:1", "server", "info"])
        .ran()
        .code(1);
    assert!(text(&out.stderr).contains("environment KESTRACTL_TIMEOUT"));
    assert!(sb.read_config().is_none());
}

#[test]
fn the_resolved_server_and_password_reach_the_api() {
    // The real call goes where the precedence says: .env names the emulator, the config file's
    // context names no server.
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    sb.write_config("current-context = \"c\"\n[contexts.c]\ntenant = \"main\"\n");
    sb.write_dotenv(&format!(
        "KESTRACTL_SERVER={}\nKESTRA_BASICAUTH_PASSWORD={PASSWORD}\n",
        emu.api_url()
    ));
    let out = sb.cmd().args(["server", "info"]).ran().code(0);
    // The plain-text password from .env works, with a warning that names the file, not the value.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: using KESTRA_BASICAUTH_PASSWORD from"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD));
    // KESTRACTL_PASSWORD wins over the .env one — and so never goes to a server only the .env
    // names (security, second pass): refused before any request.
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", "wrong-one")
        .args(["server", "info"])
        .ran()
        .code(1);
    assert!(
        text(&out.stderr).contains("sends no password to a server a .env names"),
        "{}",
        text(&out.stderr)
    );
    // Named explicitly, that server gets it (and refuses it).
    sb.cmd()
        .env("KESTRACTL_PASSWORD", "wrong-one")
        .args(["--server", &emu.api_url(), "server", "info"])
        .ran()
        .code(4);
}

/// With a selected context that names a server, a `.env` naming another one is refused before
/// any request, even with the password given in the environment (security finding 4).
#[test]
fn a_dotenv_cannot_send_the_selected_context_elsewhere() {
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "current-context = \"c\"\n[contexts.c]\nserver = \"http://127.0.0.1:{}\"\n",
        dead_port()
    ));
    sb.write_dotenv(&format!("KESTRACTL_SERVER={}\n", emu.api_url()));
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["server", "info"])
        .ran()
        .code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("while the selected context `c` points at"),
        "{stderr}"
    );
    assert!(stderr.contains("--server"), "{stderr}");
    // Given explicitly, the same server is used.
    sb.cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["--server", &emu.api_url(), "server", "info"])
        .ran()
        .code(0);
}
