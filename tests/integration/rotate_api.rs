//! `kestractl auth rotate` for a server kestractl does not run (its credential set up through
//! the UI or API), through the real binary with a real keyring (gnome-keyring on a private bus)
//! against the emulator: the rotation changes the password on the server and in the keyring;
//! a failure injected after each step rolls back to the previous password (verified on the
//! server, held by the keyring, no pending entry); a server whose credential comes from its
//! config file, or that does not say, is refused before anything changes.

use kestra_emulator::{KestraVersion, Options};

use crate::common::{
    Emu, PASSWORD, RanExt, Sandbox, USER, assert_no_leak, emulator, emulator_with, entry_for,
    protected_status, stdout_json, text,
};
use crate::keyring::*;

/// HTTP status of a protected route with this password (0: unreachable).
fn api_status(server: &str, password: &str) -> u16 {
    protected_status(server, USER, password)
}

/// An emulator whose credential was set up through its API (not its config file).
fn api_managed(version: KestraVersion) -> Emu {
    emulator_with(Options::for_tests_api_managed(version, USER, PASSWORD))
}

/// A keyring, an emulator and a sandbox whose keyring holds the emulator's password.
struct LoggedIn {
    ss: SecretService,
    emu: Emu,
    sb: Sandbox,
    server: String,
    entry: String,
}

impl LoggedIn {
    /// `None` (test skipped) when this machine has no Secret Service programs.
    fn to(emu: Emu) -> Option<Self> {
        let ss = SecretService::start()?;
        let server = emu.api_url();
        let f = LoggedIn {
            ss,
            emu,
            sb: Sandbox::new(),
            entry: entry_for(&server),
            server,
        };
        f.cmd()
            .args(["auth", "login", "--password-stdin"])
            .write_stdin(format!("{PASSWORD}\n"))
            .ran()
            .code(0);
        Some(f)
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.sb.cmd();
        self.ss.apply(&mut c);
        c.args(["--server", &self.server]);
        c
    }

    fn stored(&self) -> Option<String> {
        self.ss.lookup(&self.entry)
    }

    fn pending(&self) -> Option<String> {
        self.ss.lookup(&format!("{}#pending", self.entry))
    }
}

#[test]
fn rotate_through_the_api_replaces_the_password_on_the_server_and_in_the_keyring() {
    // Kestra's development line: it reports where its credential comes from and takes the
    // current password in the change.
    let Some(f) = LoggedIn::to(api_managed(KestraVersion::V2_1Dev)) else {
        return;
    };

    // Dry run: the server's steps, nothing changed.
    let out = f
        .cmd()
        .args(["auth", "rotate", "--dry-run", "-o", "json"])
        .ran()
        .code(0);
    let steps: Vec<String> = stdout_json(&out)["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        steps,
        ["preflight", "stage", "apply", "verify", "commit"].map(String::from)
    );
    assert_eq!(api_status(&f.server, PASSWORD), 200);
    assert_eq!(f.stored().as_deref(), Some(PASSWORD));

    let out = f
        .cmd()
        .args(["-vv", "auth", "rotate", "-o", "json"])
        .ran()
        .code(0);
    assert_eq!(stdout_json(&out)["entry"], f.entry.as_str());
    let new = f.stored().expect("the keyring holds the new password");
    assert_eq!(new.len(), 32);
    assert_ne!(new, PASSWORD);
    assert_eq!(f.pending(), None);
    assert_eq!(api_status(&f.server, &new), 200);
    assert_eq!(api_status(&f.server, PASSWORD), 401);
    assert_no_leak(&out, &[PASSWORD, &new]);

    // Commands go on working from the keyring alone, and the text output says what to do next.
    f.cmd().args(["flows", "list"]).ran().code(0);
    let out = f.cmd().args(["auth", "rotate"]).ran().code(0);
    assert!(
        text(&out.stdout).contains("auth show --reveal"),
        "{}",
        text(&out.stdout)
    );
    let newer = f.stored().unwrap();
    assert_ne!(newer, new);
    assert_eq!(api_status(&f.server, &newer), 200);
    assert_eq!(api_status(&f.server, &new), 401);
}

/// After a failed rotation the previous password works, the keyring holds it, nothing pends.
fn assert_rolled_back(f: &LoggedIn, out: &std::process::Output, step: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
    assert!(
        stderr.contains(&format!("failed at step `{step}`")),
        "{step}: {stderr}"
    );
    assert!(stderr.contains("rolled back"), "{step}: {stderr}");
    assert_eq!(api_status(&f.server, PASSWORD), 200, "{step}");
    assert_eq!(f.stored().as_deref(), Some(PASSWORD), "{step}");
    assert_eq!(f.pending(), None, "{step}");
    assert_no_leak(out, &[PASSWORD]);
}

#[test]
fn rotate_through_the_api_rolls_back_after_a_failure_at_every_step() {
    let Some(f) = LoggedIn::to(api_managed(KestraVersion::V2_1Dev)) else {
        return;
    };
    for step in ["stage", "apply", "verify"] {
        let out = f
            .cmd()
            .env("KESTRACTL_ROTATE_FAIL_AT", step)
            .args(["auth", "rotate"])
            .output()
            .unwrap();
        assert_rolled_back(&f, &out, step);
    }

    // The server refuses the change (a 503 on that one call): nothing changed, rolled back.
    f.emu
        .control()
        .fail_matching("POST", "/api/v1/main/basicAuth", 1);
    let out = f.cmd().args(["auth", "rotate"]).output().unwrap();
    assert_rolled_back(&f, &out, "apply");
    assert!(text(&out.stderr).contains("503"), "{}", text(&out.stderr));
}

/// A refused rotation: exit 1, the message says `why`, and nothing changed anywhere.
fn assert_refused(f: &LoggedIn, args: &[&str], why: &str) {
    let out = f.cmd().args(args).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert_eq!(api_status(&f.server, PASSWORD), 200);
    assert_eq!(f.stored().as_deref(), Some(PASSWORD));
    assert_eq!(f.pending(), None);
}

#[test]
fn rotate_through_the_api_refuses_a_server_whose_credential_it_cannot_change_for_good() {
    // The credential comes from the server's config file (re-applied at every start).
    let Some(f) = LoggedIn::to(emulator(KestraVersion::V2_1Dev)) else {
        return;
    };
    assert_refused(&f, &["auth", "rotate"], "configuration file");
    assert_refused(&f, &["auth", "rotate"], "Nothing was changed");

    // Released 1.3 and 2.0 do not say where their credential comes from (`/configs` has no
    // `isBasicAuthManagedByConfig`): a change could be undone at their next restart.
    for version in [KestraVersion::V1_3, KestraVersion::V2_0] {
        let Some(f) = LoggedIn::to(api_managed(version)) else {
            return;
        };
        assert_refused(&f, &["auth", "rotate", "--dry-run"], "does not say");
        assert_refused(&f, &["auth", "rotate"], "does not say");
    }

    // The Postgres password of a server kestractl does not run is not its to rotate.
    let Some(f) = LoggedIn::to(api_managed(KestraVersion::V2_1Dev)) else {
        return;
    };
    assert_refused(
        &f,
        &["auth", "rotate", "--db"],
        "not the stack kestractl manages",
    );

    // No password in the keyring for this server: log in first.
    f.cmd().args(["auth", "logout"]).ran().code(0);
    let out = f.cmd().args(["auth", "rotate"]).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("auth login"), "{stderr}");
    assert_eq!(api_status(&f.server, PASSWORD), 200);
    assert_eq!(f.stored(), None);
}
