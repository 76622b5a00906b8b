//! Test harness: a hermetic `kestractl` command (own config dir, working directory and HOME, none
//! of the caller's KESTRA*/KESTRACTL* variables) and emulator helpers.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kestra_emulator::{BackgroundEmulator, KestraVersion, Options};
use tempfile::TempDir;

pub const USER: &str = "admin@kestra.io";
pub const PASSWORD: &str = "Emul4tor-Passw0rd-xyz";

pub const VERSIONS: [KestraVersion; 2] = [KestraVersion::V1_3, KestraVersion::V2_0];

/// A sandbox for one test: config dir, working directory and HOME.
pub struct Sandbox {
    root: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        for d in ["config", "work", "home"] {
            std::fs::create_dir_all(root.path().join(d)).expect("mkdir");
        }
        Sandbox { root }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir().join("config.toml")
    }

    pub fn workdir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    pub fn write_dotenv(&self, text: &str) {
        std::fs::write(self.workdir().join(".env"), text).expect("write .env");
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_file(), text).expect("write config");
    }

    pub fn read_config(&self) -> Option<String> {
        std::fs::read_to_string(self.config_file()).ok()
    }

    /// `kestractl` with a clean environment: only PATH and what the sandbox provides.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::from_std(self.std_cmd());
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// The same as a `std::process::Command`, for tests that spawn, signal or pipe it.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("kestractl"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path().join("home"))
            .env("KESTRACTL_CONFIG_DIR", self.config_dir())
            // Tests never touch the caller's keyring; the keyring tests opt in (keyring.rs).
            .env("KESTRACTL_KEYRING", "none")
            .current_dir(self.workdir());
        cmd
    }

    /// `kestractl` aimed at an emulator, with the right password in KESTRACTL_PASSWORD.
    pub fn cmd_for(&self, emu: &BackgroundEmulator) -> Command {
        let mut cmd = self.cmd();
        cmd.args(["--server", &emu.api_url()])
            .env("KESTRACTL_PASSWORD", PASSWORD);
        cmd
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }
}

pub fn emulator(version: KestraVersion) -> Emu {
    emulator_with(Options::for_tests(version, USER, PASSWORD))
}

pub fn emulator_with(opts: Options) -> Emu {
    Emu {
        inner: kestra_emulator::start_in_background(opts).expect("start emulator"),
        refusals_expected: std::cell::Cell::new(false),
    }
}

/// An emulator that checks, when the test is over, that kestractl sent nothing a real Kestra
/// would refuse: every request reached a route of Kestra's spec with the media types,
/// parameters and tenant that route takes (the emulator's journal says which). A test that sends
/// such a request on purpose says so with [`Emu::expect_refusals`].
pub struct Emu {
    inner: BackgroundEmulator,
    refusals_expected: std::cell::Cell<bool>,
}

impl Emu {
    /// This test sends requests Kestra refuses on purpose (it checks kestractl's handling).
    pub fn expect_refusals(&self) {
        self.refusals_expected.set(true);
    }

    /// Requests a real Kestra's router would have refused, one line each.
    pub fn refused_requests(&self) -> Vec<String> {
        self.inner
            .control()
            .requests()
            .iter()
            .filter_map(|r| {
                let why = r.refusal.as_ref()?;
                let query = r
                    .query
                    .as_deref()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                let header = |name: &str| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map_or("-", |(_, v)| v.as_str())
                        .to_string()
                };
                Some(format!(
                    "{} {}{query} (Accept: {}, Content-Type: {}) -> {}: {why}",
                    r.method,
                    r.path,
                    header("accept"),
                    header("content-type"),
                    r.status
                ))
            })
            .collect()
    }
}

impl std::ops::Deref for Emu {
    type Target = BackgroundEmulator;

    fn deref(&self) -> &BackgroundEmulator {
        &self.inner
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if std::thread::panicking() || self.refusals_expected.get() {
            return;
        }
        let refused = self.refused_requests();
        assert!(
            refused.is_empty(),
            "kestractl sent {} request(s) a real Kestra would refuse:\n{}",
            refused.len(),
            refused.join("\n")
        );
    }
}

pub fn stdout_json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub use kestra_emulator::testkit::free_port as dead_port;

/// stdout and stderr of a run must not hold any of `secrets`.
pub fn assert_no_leak(out: &std::process::Output, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !text(&out.stdout).contains(s) && !text(&out.stderr).contains(s),
            "a password leaked into the output:\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

/// HTTP status of a route that always needs credentials, with these (0: unreachable).
pub fn protected_status(server: &str, username: &str, password: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{server}/api/v1/main/flows/distinct-namespaces"))
            .basic_auth(username, Some(password))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16())
    })
}

/// The keyring entry of the default context's password for `server`.
/// The keyring entry of the default context for `server`: a loopback server is spelled
/// `localhost`, whichever spelling it was given in (one server, one entry).
pub fn entry_for(server: &str) -> String {
    let server = server
        .replace("://127.0.0.1:", "://localhost:")
        .replace("://[::1]:", "://localhost:");
    format!("default/{USER}@{server}")
}

/// `kestractl flows deploy <dir> -o json` against `emu` with the right password.
pub fn deploy_json(sb: &Sandbox, emu: &BackgroundEmulator, dir: &Path) -> std::process::Output {
    sb.cmd_for(emu)
        .args(["flows", "deploy", &dir.display().to_string(), "-o", "json"])
        .output()
        .unwrap()
}

/// A finished run of the binary, asserted fluently: `cmd.args([..]).ran().code(2)`. A failed
/// assertion shows the exit code and both streams. It reads as the `Output` it holds.
pub struct Ran(std::process::Output);

impl Ran {
    /// Asserts the exit code.
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        self.0.assert_code(expected);
        self
    }

    /// Asserts that standard error says `part`.
    #[track_caller]
    pub fn says(self, part: &str) -> Self {
        let stderr = text(&self.0.stderr);
        assert!(stderr.contains(part), "stderr lacks {part:?}:\n{stderr}");
        self
    }
}

impl std::ops::Deref for Ran {
    type Target = std::process::Output;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// `.ran()` on a command: runs it to the end and keeps what it left.
pub trait RanExt {
    fn ran(&mut self) -> Ran;
}

impl RanExt for Command {
    fn ran(&mut self) -> Ran {
        Ran(self.output().expect("run kestractl"))
    }
}

impl RanExt for std::process::Command {
    fn ran(&mut self) -> Ran {
        Ran(self.output().expect("run kestractl"))
    }
}

/// `out.assert_code(N)` on a finished run: the exit code, with both streams shown on a failure.
pub trait AssertCode {
    fn assert_code(&self, expected: i32);
}

impl AssertCode for std::process::Output {
    #[track_caller]
    fn assert_code(&self, expected: i32) {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "exit code; stderr:\n{}\nstdout:\n{}",
            text(&self.stderr),
            text(&self.stdout)
        );
    }
}

/// kestractl on a pseudo-terminal (util-linux `script`, which CI installs): what it prints is
/// read as it comes, and keys are typed into it (`\x03` is Ctrl-C: the terminal turns it into
/// SIGINT for the program, as for a person).
pub struct Pty {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Pty {
    /// Runs `kestractl ARGS` with `envs`, in `sb`'s sandbox; `None` (after reporting the missing
    /// prerequisite) when `script` is not installed.
    pub fn spawn(sb: &Sandbox, args: &[&str], envs: &[(&str, &str)]) -> Option<Pty> {
        Self::spawn_sized(sb, args, envs, None)
    }

    /// [`spawn`](Self::spawn) on a terminal `columns` wide (40 rows).
    pub fn spawn_sized(
        sb: &Sandbox,
        args: &[&str],
        envs: &[(&str, &str)],
        columns: Option<u16>,
    ) -> Option<Pty> {
        use std::io::Read;
        if std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_err()
        {
            kestra_emulator::prerequisite::missing(
                "`script` is not installed (apt-get install bsdutils)",
            );
            return None;
        }
        let bin = assert_cmd::cargo::cargo_bin!("kestractl");
        let quoted: Vec<String> = std::iter::once(bin.display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        let mut cmd = sb.std_cmd();
        cmd.env("TERM", "xterm");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        // `script -qec CMD /dev/null`: CMD on a new terminal, its output copied to stdout.
        let size = columns.map_or(String::new(), |c| format!("stty cols {c} rows 40; "));
        let mut child = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("{size}exec {}", quoted.join(" ")),
                "/dev/null",
            ])
            .env_clear()
            .envs(
                cmd.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .current_dir(sb.workdir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn script");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Some(Pty {
            child,
            stdin,
            seen,
            reader,
        })
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Waits until `needle` has been printed (panics after 20 s with what was).
    pub fn expect(&self, needle: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.output().contains(needle) {
            assert!(
                std::time::Instant::now() < deadline,
                "waited for {needle:?}; the terminal shows {:?}",
                self.output()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn send(&mut self, keys: &str) {
        use std::io::Write;
        self.stdin.write_all(keys.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The program's exit code (script passes it on with -e) and everything it printed.
    pub fn wait(mut self) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Everything it printed: the reader stops at the end of script's output.
                let _ = self.reader.join();
                let shown = String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned();
                return (status.code(), shown);
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running; the terminal shows {:?}", self.output());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Writes `files` (name, YAML) into the sandbox folder `folder` and deploys it to `emu`.
pub fn deploy_files(
    sb: &Sandbox,
    emu: &BackgroundEmulator,
    folder: &str,
    files: &[(&str, &str)],
) -> PathBuf {
    let dir = sb.path().join(folder);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, yaml) in files {
        std::fs::write(dir.join(name), yaml).expect("write flow");
    }
    sb.cmd_for(emu)
        .args(["flows", "deploy"])
        .arg(&dir)
        .assert()
        .success();
    dir
}

/// Runs `cmd` with its output captured, sends it SIGINT (what Ctrl-C sends) after `after`, and
/// returns what it printed and how it ended.
pub fn interrupted_after(
    mut cmd: std::process::Command,
    after: std::time::Duration,
) -> std::process::Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(after);
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    child.wait_with_output().expect("wait")
}

/// What bash's completion of `kestractl` offers (COMPREPLY, one a line) for the words typed so
/// far, the last being the word completed, with `server` as KESTRACTL_SERVER.
pub fn complete_in_bash(sb: &Sandbox, server: &str, words: &[&str]) -> Vec<String> {
    let bin_dir = assert_cmd::cargo::cargo_bin!("kestractl")
        .parent()
        .unwrap()
        .to_path_buf();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let current = words.last().unwrap();
    let previous = words[words.len() - 2];
    let script = format!(
        "source <(kestractl completions bash)\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_clap_complete_kestractl kestractl '{current}' '{previous}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quoted.join(" "),
        words.len() - 1
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", sb.path().join("home"))
        .env("KESTRACTL_CONFIG_DIR", sb.config_dir())
        .env("KESTRACTL_KEYRING", "none")
        .env("KESTRACTL_SERVER", server)
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .current_dir(sb.workdir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
