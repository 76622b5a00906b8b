//! Real keyrings for the credential tests.
//!
//! - [`SecretService`]: a private D-Bus session bus (its own config: no service activation, so
//!   nothing outside the test can be started on it) with gnome-keyring-daemon's Secret Service,
//!   its HOME and runtime directory in a temporary directory. Unlocked (the keyring password goes
//!   on the daemon's stdin, as `--unlock` wants), or locked (a login keyring that exists on disk,
//!   daemon restarted without `--unlock`).
//! - [`Keyutils`]: the kernel keyring under `keyctl session NAME`, each test its own session.
//!
//! When the programs are missing the tests say so and return, except in CI (`CI` set), where
//! `.ci/run` installs them and a missing one is a failure.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

use crate::common::Sandbox;

pub const SERVICE: &str = "kestractl";

fn have(program: &str) -> bool {
    StdCommand::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the programs exist; prints why a test is skipped, and fails in CI.
pub fn available(programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| !have(p)).collect();
    if missing.is_empty() {
        return true;
    }
    kestra_emulator::prerequisite::missing(&format!(
        "{missing:?} not installed (apt-get install dbus gnome-keyring libsecret-tools keyutils)"
    ));
    false
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A private session bus with gnome-keyring's Secret Service on it.
pub struct SecretService {
    dir: TempDir,
    bus: Child,
    daemon: Option<Child>,
    pub address: String,
}

const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=@SOCKET@</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

pub const KEYRING_PASSWORD: &str = "harness-keyring-pw";

impl SecretService {
    /// An unlocked Secret Service; `None` (test skipped) when the programs are missing here.
    pub fn start() -> Option<Self> {
        if !available(&[
            "dbus-daemon",
            "gnome-keyring-daemon",
            "secret-tool",
            "dbus-send",
        ]) {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["home", "run"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        set_mode(&dir.path().join("run"), 0o700);
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            BUS_CONFIG.replace("@SOCKET@", &socket.display().to_string()),
        )
        .expect("bus config");
        let mut bus = StdCommand::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path().join("home"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("bus address");
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "bus address: {address:?}");
        let mut ss = SecretService {
            dir,
            bus,
            daemon: None,
            address,
        };
        ss.start_daemon(true);
        // Ready when an item can be stored in the default collection (then removed).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = ss
                .tool(&[
                    "store",
                    "--label=harness",
                    "service",
                    "kestractl-harness",
                    "probe",
                    "1",
                ])
                .stdin(Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    c.stdin.take().expect("stdin").write_all(b"probe")?;
                    c.wait()
                })
                .is_ok_and(|s| s.success());
            if ok {
                let _ = ss
                    .tool(&["clear", "service", "kestractl-harness", "probe", "1"])
                    .status();
                break;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring did not become usable"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(ss)
    }

    /// A Secret Service whose default keyring exists but is locked.
    pub fn start_locked() -> Option<Self> {
        let mut ss = Self::start()?;
        ss.stop_daemon();
        ss.start_daemon(false);
        Some(ss)
    }

    fn env(&self, cmd: &mut StdCommand) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address);
    }

    fn start_daemon(&mut self, unlock: bool) {
        let mut cmd = StdCommand::new("gnome-keyring-daemon");
        self.env(&mut cmd);
        cmd.args(["--foreground", "--components=secrets"]);
        if unlock {
            cmd.arg("--unlock");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        let mut stdin = child.stdin.take().expect("stdin");
        if unlock {
            stdin
                .write_all(KEYRING_PASSWORD.as_bytes())
                .expect("keyring password");
        }
        drop(stdin);
        self.daemon = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.name_has_owner() {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not take org.freedesktop.secrets"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn stop_daemon(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.name_has_owner() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn name_has_owner(&self) -> bool {
        let mut cmd = StdCommand::new("dbus-send");
        self.env(&mut cmd);
        cmd.args([
            "--session",
            "--dest=org.freedesktop.DBus",
            "--type=method_call",
            "--print-reply",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ]);
        cmd.output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    }

    /// `secret-tool` on this bus.
    pub fn tool(&self, args: &[&str]) -> StdCommand {
        let mut cmd = StdCommand::new("secret-tool");
        self.env(&mut cmd);
        cmd.args(args);
        cmd
    }

    /// The secret of a kestractl entry, looked up with libsecret's own tool.
    pub fn lookup(&self, user: &str) -> Option<String> {
        let out = self
            .tool(&["lookup", "service", SERVICE, "username", user])
            .output()
            .expect("secret-tool");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// How many kestractl items the keyring holds.
    pub fn count(&self) -> usize {
        let out = self
            .tool(&["search", "--all", "service", SERVICE])
            .output()
            .expect("secret-tool");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
            .filter(|l| l.starts_with("attribute.service = kestractl"))
            .count()
    }

    /// The environment that points a command at this keyring (for a pseudo-terminal's).
    pub fn envs(&self) -> Vec<(String, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            (
                "XDG_RUNTIME_DIR".into(),
                self.dir.path().join("run").display().to_string(),
            ),
            ("KESTRACTL_KEYRING".into(), "secret-service".into()),
        ]
    }

    /// Points a kestractl command at this keyring.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("KESTRACTL_KEYRING", "secret-service");
    }

    pub fn apply_std(&self, cmd: &mut StdCommand) {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("KESTRACTL_KEYRING", "secret-service");
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        self.stop_daemon();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The kernel keyring: each command runs in the named session keyring of this test.
pub struct Keyutils {
    pub session: String,
}

impl Keyutils {
    pub fn new() -> Option<Self> {
        if !available(&["keyctl"]) {
            return None;
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Some(Keyutils {
            session: format!("kestractl-test-{}-{n}", std::process::id()),
        })
    }

    /// `kestractl` (with the sandbox's environment) inside this test's session keyring.
    pub fn cmd(&self, sb: &Sandbox) -> Command {
        let mut cmd = sandboxed(sb, "keyctl");
        cmd.args([
            "session",
            &self.session,
            &kestractl_bin().display().to_string(),
        ])
        .env("KESTRACTL_KEYRING", "keyutils");
        cmd
    }

    /// `kestractl` in a fresh session keyring that may not be written to, and no D-Bus: no
    /// keyring at all, whatever the machine's own sessions look like.
    pub fn no_keyring_cmd(sb: &Sandbox) -> Command {
        let mut cmd = sandboxed(sb, "keyctl");
        cmd.args([
            "session",
            "-",
            "sh",
            "-c",
            "keyctl setperm @s 0 && exec \"$0\" \"$@\"",
            &kestractl_bin().display().to_string(),
        ])
        .env("KESTRACTL_KEYRING", "auto");
        cmd
    }
}

pub fn kestractl_bin() -> PathBuf {
    PathBuf::from(assert_cmd::cargo::cargo_bin!("kestractl"))
}

/// `program` with the sandbox's hermetic environment (as `Sandbox::cmd` sets it up).
pub fn sandboxed_std(sb: &Sandbox, program: &str) -> StdCommand {
    let mut cmd = StdCommand::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.path().join("home"))
        .env("KESTRACTL_CONFIG_DIR", sb.config_dir())
        .env("KESTRACTL_KEYRING", "none")
        .current_dir(sb.workdir());
    cmd
}

pub fn sandboxed(sb: &Sandbox, program: &str) -> Command {
    let mut cmd = Command::from_std(sandboxed_std(sb, program));
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// Fails if `secret` appears in any process's command line (checked while something runs).
pub fn assert_not_in_any_cmdline(secret: &str) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(e.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
            assert!(
                !text.contains(secret),
                "a password is in the command line of pid {}: {text}",
                name.to_string_lossy()
            );
        }
    }
}

/// Runs `cmd` to the end while scanning every process's argv for `secrets`; returns its output.
pub fn run_watching_argv(cmd: &mut StdCommand, secrets: &[&str]) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    let mut scans = 0u32;
    while rx.try_recv().is_err() {
        for s in secrets {
            assert_not_in_any_cmdline(s);
        }
        scans += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = waiter.join().expect("join").expect("output");
    eprintln!("scanned /proc/*/cmdline {scans} times while pid {pid} ran");
    out
}
