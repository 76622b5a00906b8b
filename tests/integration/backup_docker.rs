//! Backup, restore and upgrade on the real Docker Engine with real Postgres: a round trip through
//! `stop --remove --volumes`, damaged archives refused with nothing touched, a restore killed
//! during its database load, an upgrade from 1.3 to 2.0 that keeps the data, and upgrades that
//! fail (a crash, never ready, another version) rolled back onto the pre-upgrade data.
//!
//! The upgrade tests use tags of the emulator images: `kestractl-test/kestra:1.3.26` (the 1.3
//! mode) and `:2.0.5` (the 2.0 mode, which migrates the database for good, so 1.3 can no longer
//! read it). With KESTRACTL_E2E_IMAGE (real Kestra) they upgrade from
//! KESTRACTL_E2E_UPGRADE_FROM to KESTRACTL_E2E_IMAGE.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::common::{Pty, RanExt, stdout_json, text};
use crate::docker::*;

const REPO: &str = "kestractl-test/kestra";

fn flow(ns: &str, id: &str) -> String {
    format!(
        "id: {id}\nnamespace: {ns}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hello from {id}\n"
    )
}

/// Tags an existing image under another name (idempotent).
fn tag(from: &str, to: &str) {
    docker_ok(&["tag", from, to]);
}

/// The images an upgrade goes from and to.
fn upgrade_images() -> (String, String) {
    if real_kestra() {
        let from = std::env::var("KESTRACTL_E2E_UPGRADE_FROM").expect(
            "with KESTRACTL_E2E_IMAGE, KESTRACTL_E2E_UPGRADE_FROM names the Kestra image to upgrade from",
        );
        return (from, kestra_image());
    }
    let from = format!("{REPO}:1.3.26");
    let to = format!("{REPO}:2.0.5");
    tag("kestractl-test/kestra-emulator:dev-1.3", &from);
    tag(EMULATOR_IMAGE, &to);
    (from, to)
}

fn api_ok(stack: &Stack, method: &str, path: &str, ct: Option<&str>, body: &str) -> String {
    let (status, body) = api(method, &format!("{}{path}", stack.url()), ct, body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {body}"
    );
    body
}

fn deploy(stack: &Stack, ns: &str, id: &str) {
    api_ok(
        stack,
        "POST",
        "/api/v1/main/flows",
        Some("application/x-yaml"),
        &flow(ns, id),
    );
}

/// What a search route of the server returns, one line per result, sorted.
fn search(stack: &Stack, route: &str, line: impl Fn(&serde_json::Value) -> String) -> Vec<String> {
    let body = api_ok(stack, "GET", &format!("{route}?size=100&page=1"), None, "");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut out: Vec<String> = v["results"].as_array().unwrap().iter().map(line).collect();
    out.sort();
    out
}

/// The flows the server serves, as `namespace/id`.
fn flows(stack: &Stack) -> Vec<String> {
    search(stack, "/api/v1/main/flows/search", |f| {
        format!(
            "{}/{}",
            f["namespace"].as_str().unwrap(),
            f["id"].as_str().unwrap()
        )
    })
}

/// The executions the server serves, as their ids.
fn executions(stack: &Stack) -> Vec<String> {
    search(stack, "/api/v1/main/executions/search", |e| {
        e["id"].as_str().unwrap().to_string()
    })
}

fn server_version(stack: &Stack) -> String {
    let out = stack.cmd().args(["status", "-o", "json"]).ran().code(0);
    stdout_json(&out)["kestra"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn storage_dir(stack: &Stack) -> PathBuf {
    stack.data_dir().join(&stack.name).join("storage")
}

/// Every file under `dir` with its SHA-256, sorted by path.
fn checksums(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let mut bytes = Vec::new();
                std::fs::File::open(&p)
                    .unwrap()
                    .read_to_end(&mut bytes)
                    .unwrap();
                let sum: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                out.push((p.strip_prefix(root).unwrap().display().to_string(), sum));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The databases in the stack's Postgres.
fn databases(stack: &Stack) -> Vec<String> {
    let out = docker_ok(&[
        "exec",
        "-u",
        "postgres",
        &stack.postgres_name(),
        "psql",
        "-X",
        "-A",
        "-t",
        "-U",
        "kestra",
        "-d",
        "postgres",
        "-c",
        "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1",
    ]);
    out.lines().map(str::to_string).collect()
}

/// Files and folders beside the storage directory (set-aside or staging leftovers show here).
fn beside_storage(stack: &Stack) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(stack.data_dir().join(&stack.name))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Files an operator's flows left in Kestra's storage, binary among them.
fn write_storage_files(stack: &Stack) {
    let dir = storage_dir(stack).join("main/e2e/backup/_files");
    std::fs::create_dir_all(dir.join("nested/deeper")).unwrap();
    std::fs::write(dir.join("script.py"), "print('hello')\n").unwrap();
    let binary: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("nested/deeper/blob.bin"), &binary).unwrap();
}

fn backup(stack: &Stack, file: &Path, extra: &[&str]) -> serde_json::Value {
    let out = stack
        .cmd()
        .args(["backup", "--file"])
        .arg(file)
        .args(extra)
        .args(["-o", "json"])
        .ran()
        .code(0);
    stdout_json(&out)
}

#[test]
fn docker_backup_remove_everything_and_restore_brings_back_flows_executions_and_files() {
    let stack = Stack::new();
    stack.start().ran().code(0);
    deploy(&stack, "e2e.backup", "first");
    deploy(&stack, "e2e.backup.child", "second");
    run_execution(&stack, "e2e.backup", "first");
    run_execution(&stack, "e2e.backup.child", "second");
    write_storage_files(&stack);
    let (flows_before, executions_before) = (flows(&stack), executions(&stack));
    let files_before = checksums(&storage_dir(&stack));
    assert_eq!(flows_before.len(), 2);
    assert_eq!(executions_before.len(), 2);

    let file = stack.sb.path().join("kestra.tar.gz");
    let json = backup(&stack, &file, &["--consistent"]);
    assert_eq!(json["manifest"]["format"], "kestractl-backup/1");
    assert_eq!(json["manifest"]["consistency"], "consistent");
    assert_eq!(json["manifest"]["served"]["flows"], 2);
    assert_eq!(json["manifest"]["served"]["executions"], 2);
    assert!(json["downtimeMs"].as_u64().is_some(), "{json}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Kestra was started again after the consistent copy.
    assert_eq!(flows(&stack), flows_before);
    // Never a password in the archive.
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&file).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let secret = STACK_PASSWORD.as_bytes();
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret),
        "the Basic Auth password is in the archive"
    );
    let db_password = std::fs::read_to_string(
        stack
            .data_dir()
            .join(&stack.name)
            .join("secrets/db-password"),
    )
    .expect("the stack's Postgres password file");
    let db_password = db_password.trim();
    assert!(!db_password.is_empty());
    assert!(
        !raw.windows(db_password.len())
            .any(|w| w == db_password.as_bytes()),
        "the Postgres password is in the archive"
    );
    // A second backup never overwrites the first.
    stack
        .cmd()
        .args(["backup", "--file"])
        .arg(&file)
        .ran()
        .code(2)
        .says("already exists");

    let out = stack
        .cmd()
        .args(["backup", "verify"])
        .arg(&file)
        .ran()
        .code(0);
    assert!(
        text(&out.stdout).contains("is usable"),
        "{}",
        text(&out.stdout)
    );

    stack
        .cmd()
        .args(["stop", "--remove", "--volumes", "--yes"])
        .ran()
        .code(0);
    assert!(
        !docker(&["volume", "inspect", &stack.volume])
            .status
            .success()
    );
    // Without the stack, the dump is read in a throw-away Postgres container, which leaves no
    // anonymous volume behind (security, second pass: one was left per check).
    let volumes = || docker_ok(&["volume", "ls", "-q"]);
    let before = volumes();
    let out = stack
        .cmd()
        .args(["backup", "verify"])
        .arg(&file)
        .ran()
        .code(0);
    assert!(
        text(&out.stdout).contains("is usable"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(volumes(), before, "a volume was left behind");

    let out = stack
        .cmd()
        .args(["restore", "--yes", "--pull", "never", "-o", "json"])
        .arg(&file)
        .ran()
        .code(0);
    let json = stdout_json(&out);
    assert_eq!(json["served"]["flows"], 2, "{json}");
    assert_eq!(flows(&stack), flows_before);
    assert_eq!(executions(&stack), executions_before);
    assert_eq!(checksums(&storage_dir(&stack)), files_before);
    // Nothing set aside is left behind.
    assert!(
        beside_storage(&stack)
            .iter()
            .all(|n| !n.contains(".previous-") && !n.contains(".restore-")),
        "{:?}",
        beside_storage(&stack)
    );
    assert!(
        databases(&stack).iter().all(|d| !d.contains("_previous_")),
        "{:?}",
        databases(&stack)
    );
}

/// Writes `bytes` as a new archive beside `file`.
fn variant(file: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = file.with_file_name(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The archive rewritten with its manifest's format replaced: checksums still right, format
/// unknown.
fn with_format(file: &Path, format: &str) -> Vec<u8> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(file).unwrap(),
    ));
    let mut out = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if path == Path::new("manifest.json") {
            let mut m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            m["format"] = format.into();
            bytes = serde_json::to_vec(&m).unwrap();
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        out.append_data(&mut header, &path, bytes.as_slice())
            .unwrap();
    }
    out.into_inner().unwrap().finish().unwrap()
}

#[test]
fn docker_damaged_archives_are_refused_before_anything_is_touched() {
    let stack = Stack::new();
    stack.start().ran().code(0);
    deploy(&stack, "e2e.backup", "kept");
    write_storage_files(&stack);
    let file = stack.sb.path().join("good.tar.gz");
    backup(&stack, &file, &[]);
    let bytes = std::fs::read(&file).unwrap();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 3] ^= 0x01;
    let damaged = [
        variant(&file, "truncated.tar.gz", &bytes[..bytes.len() * 2 / 3]),
        variant(&file, "flipped.tar.gz", &flipped),
        variant(
            &file,
            "future.tar.gz",
            &with_format(&file, "kestractl-backup/9"),
        ),
    ];

    // What must not change: the containers, the databases, the storage, what is served.
    let ids = (
        stack.container_id(&stack.name),
        stack.container_id(&stack.postgres_name()),
    );
    let dbs = databases(&stack);
    let files = checksums(&storage_dir(&stack));
    let dirs = beside_storage(&stack);
    let served = flows(&stack);
    for archive in &damaged {
        for args in [vec!["backup", "verify"], vec!["restore", "--yes"]] {
            let out = stack.cmd().args(&args).arg(archive).ran().code(5);
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains("cannot be used"),
                "{args:?} {archive:?}: {stderr}"
            );
            assert!(stderr.contains("nothing was changed"), "{stderr}");
        }
        assert_eq!(
            (
                stack.container_id(&stack.name),
                stack.container_id(&stack.postgres_name())
            ),
            ids
        );
        assert_eq!(databases(&stack), dbs);
        assert_eq!(checksums(&storage_dir(&stack)), files);
        assert_eq!(beside_storage(&stack), dirs);
        assert_eq!(flows(&stack), served);
    }
    stack
        .cmd()
        .args(["restore", "--yes"])
        .arg(&damaged[2])
        .ran()
        .code(5)
        .says("`kestractl-backup/9`");
    stack
        .cmd()
        .args(["backup", "verify"])
        .arg(&damaged[0])
        .ran()
        .code(5)
        .says("truncated");
}

#[test]
fn docker_a_restore_killed_during_the_load_puts_the_previous_data_back() {
    let stack = Stack::new();
    stack.start().ran().code(0);
    deploy(&stack, "e2e.backup", "in_backup");
    // Ballast so the load takes long enough to be interrupted.
    docker_ok(&[
        "exec",
        "-u",
        "postgres",
        &stack.postgres_name(),
        "psql",
        "-X",
        "-q",
        "-U",
        "kestra",
        "-d",
        "kestra",
        "-c",
        "CREATE TABLE ballast AS SELECT g AS id, md5(g::text) AS a, md5((g*7)::text) AS b \
         FROM generate_series(1, 1500000) g; CREATE INDEX ON ballast (a);",
    ]);
    let file = stack.sb.path().join("big.tar.gz");
    backup(&stack, &file, &[]);
    // The current data differs from the backup: one more flow.
    deploy(&stack, "e2e.backup", "only_now");
    let served = flows(&stack);
    assert_eq!(served.len(), 2);

    let mut child = stack
        .std_cmd()
        .args(["restore", "--yes", "--pull", "never"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if line.contains("loading the database") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(300))
        .expect("the restore reached the load");
    std::thread::sleep(Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("The restore was interrupted"), "{stderr}");
    assert!(
        stderr.contains("The previous data is back and Kestra"),
        "{stderr}"
    );
    // The previous data, served: the flow the backup lacks is there.
    assert_eq!(flows(&stack), served);
    assert!(
        databases(&stack).iter().all(|d| !d.contains("_previous_")),
        "{:?}",
        databases(&stack)
    );
    assert!(
        beside_storage(&stack)
            .iter()
            .all(|n| !n.contains(".previous-") && !n.contains(".restore-")),
        "{:?}",
        beside_storage(&stack)
    );
}

/// A stack on the image an upgrade starts from, with flows and executions.
fn stack_on(image: &str) -> Stack {
    let stack = Stack::new();
    stack.start().args(["--image", image]).ran().code(0);
    deploy(&stack, "e2e.upgrade", "alpha");
    deploy(&stack, "e2e.upgrade.team", "beta");
    run_execution(&stack, "e2e.upgrade", "alpha");
    stack
}

#[test]
fn docker_upgrade_from_1_3_to_2_0_keeps_the_flows_and_executions() {
    let (from, to) = upgrade_images();
    let stack = stack_on(&from);
    let (flows_before, executions_before) = (flows(&stack), executions(&stack));
    let file = stack.sb.path().join("pre-upgrade.tar.gz");
    let target_tag = to.rsplit(':').next().unwrap().to_string();
    let out = stack
        .cmd()
        .args([
            "upgrade",
            "--to",
            &target_tag,
            "--yes",
            "--pull",
            "never",
            "--backup-file",
        ])
        .arg(&file)
        .args(["--wait-timeout", "3m", "-o", "json"])
        .ran()
        .code(0);
    let json = stdout_json(&out);
    assert_eq!(json["changed"], true, "{json}");
    assert_eq!(json["toImage"], to.as_str());
    let version = server_version(&stack);
    if !real_kestra() {
        assert_eq!(version, "2.0.5");
        assert_eq!(json["fromVersion"], "1.3.26");
    }
    assert_eq!(json["toVersion"], version.as_str());
    assert_eq!(flows(&stack), flows_before);
    assert_eq!(executions(&stack), executions_before);
    assert!(file.exists());
    stack
        .cmd()
        .args(["backup", "verify"])
        .arg(&file)
        .ran()
        .code(0);
    // The settings still name the old image: said, with how to pin the new one.
    assert!(
        text(&out.stderr).contains(&format!("KESTRA_IMAGE={to}")),
        "{}",
        text(&out.stderr)
    );
}

/// An upgrade to `target` fails with `code`, and Kestra runs the previous image on the same data.
fn assert_rolled_back(stack: &Stack, from: &str, target: &str, code: i32, says: &str) {
    let (flows_before, executions_before) = (flows(stack), executions(stack));
    let version_before = server_version(stack);
    let file = stack
        .sb
        .path()
        .join(format!("before-{}.tar.gz", target.replace(['/', ':'], "_")));
    let out = stack
        .cmd()
        .args([
            "upgrade",
            "--image",
            target,
            "--yes",
            "--pull",
            "never",
            "--wait-timeout",
            "25s",
            "--backup-file",
        ])
        .arg(&file)
        .ran()
        .code(code);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(says), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Rolled back: Kestra runs {from} on the pre-upgrade data, restored from {}",
            file.display()
        )),
        "{stderr}"
    );
    assert_eq!(server_version(stack), version_before);
    assert_eq!(stack.inspect(&stack.name)["Config"]["Image"], from);
    assert_eq!(flows(stack), flows_before);
    assert_eq!(executions(stack), executions_before);
    assert!(
        databases(stack).iter().all(|d| !d.contains("_previous_")),
        "{:?}",
        databases(stack)
    );
}

#[test]
fn docker_failed_upgrades_roll_back_to_the_previous_image_and_data() {
    let (from, to) = upgrade_images();
    let stack = stack_on(&from);
    // An image that exits at once.
    let crash = derived(&to, &format!("{REPO}:crash"), "ENTRYPOINT [\"/bin/false\"]");
    assert_rolled_back(&stack, &from, &crash, 1, "The upgrade failed");
    // An image that runs but never becomes ready.
    let stuck = derived(
        &to,
        &format!("{REPO}:stuck"),
        "ENTRYPOINT [\"sh\", \"-c\", \"exec sleep infinity\"]",
    );
    assert_rolled_back(&stack, &from, &stuck, 3, "The upgrade failed");
    if !real_kestra() {
        // The 2.0 mode under a tag that promises another version: it starts, migrates the
        // database for good (1.3 can no longer read it), and reports 2.0.5: only the restore of
        // the database brings 1.3 back.
        let wrong = format!("{REPO}:2.0.9");
        tag(EMULATOR_IMAGE, &wrong);
        assert_rolled_back(&stack, &from, &wrong, 3, "reports version 2.0.5, not 2.0.9");
    }
}

#[test]
fn docker_backup_commands_refuse_what_they_cannot_do_and_change_nothing() {
    let stack = Stack::new();
    // No stack: nothing to back up, nothing to upgrade; no container or volume appears.
    let file = stack.sb.path().join("none.tar.gz");
    stack
        .cmd()
        .args(["backup", "--file"])
        .arg(&file)
        .ran()
        .code(3)
        .says("is not running, and the backup is taken from it");
    assert!(!file.exists());
    stack
        .cmd()
        .args(["upgrade", "--to", "2.0.5", "--yes"])
        .ran()
        .code(3)
        .says("there is no Kestra container");
    // An archive that does not exist, or a folder.
    for (path, says) in [
        (stack.sb.path().join("missing.tar.gz"), "does not exist"),
        (stack.sb.path().to_path_buf(), "is not a file"),
    ] {
        for args in [vec!["backup", "verify"], vec!["restore", "--yes"]] {
            stack.cmd().args(&args).arg(&path).ran().code(2).says(says);
        }
    }
    // upgrade needs a target.
    stack
        .cmd()
        .args(["upgrade", "--yes"])
        .ran()
        .code(2)
        .says("--to");
    assert!(
        !docker(&["inspect", &stack.postgres_name()])
            .status
            .success()
    );
    assert!(
        !docker(&["volume", "inspect", &stack.volume])
            .status
            .success()
    );

    // A running stack: a restore without a terminal and without --yes asks, cannot, and
    // changes nothing; neither does a backup onto an existing file.
    stack.start().ran().code(0);
    deploy(&stack, "e2e.backup", "kept");
    let file = stack.sb.path().join("one.tar.gz");
    backup(&stack, &file, &[]);
    let ids = (
        stack.container_id(&stack.name),
        stack.container_id(&stack.postgres_name()),
    );
    stack
        .cmd()
        .arg("restore")
        .arg(&file)
        .ran()
        .code(2)
        .says("--yes");
    stack
        .cmd()
        .args(["upgrade", "--to", "9.9.9"])
        .ran()
        .code(2)
        .says("--yes");
    assert_eq!(
        (
            stack.container_id(&stack.name),
            stack.container_id(&stack.postgres_name())
        ),
        ids
    );
    assert!(databases(&stack).iter().all(|d| !d.contains("_previous_")));
    assert!(
        beside_storage(&stack)
            .iter()
            .all(|n| !n.contains(".restore-")),
        "{:?}",
        beside_storage(&stack)
    );
    assert_eq!(flows(&stack), vec!["e2e.backup/kept".to_string()]);
}

/// Correctness (issue 28, finding 1): a stack started with `--postgres-image` (a mirror, a pinned
/// tag) kept that image through neither an upgrade nor a restore: both asked for the default
/// `postgres:15`, which is not on this machine, and the upgrade's rollback failed the same way.
/// An upgrade moves Kestra only; a restore uses the backup's Postgres image; a rollback needs no
/// image that is not here.
#[test]
fn docker_upgrade_restore_and_rollback_keep_the_postgres_image_the_stack_runs() {
    let (from, to) = upgrade_images();
    let mirror = "kestractl-test/pg-mirror:15";
    tag(&postgres_image(), mirror);
    let stack = Stack::new();
    let cmd = |args: &[&str]| {
        let mut c = stack.cmd();
        // Only the flag names the Postgres image: the settings' default is `postgres:15`.
        c.env_remove("KESTRA_POSTGRES_IMAGE").args(args);
        c
    };
    let pg_image = || {
        stack.inspect(&stack.postgres_name())["Config"]["Image"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    cmd(&[
        "start",
        "--pull",
        "never",
        "--image",
        &from,
        "--postgres-image",
        mirror,
    ])
    .ran()
    .code(0);
    deploy(&stack, "e2e.mirror", "kept");
    assert_eq!(pg_image(), mirror);

    // A failed upgrade (an image that exits at once) rolls back, with `--pull always` and no
    // registry: nothing the rollback needs is missing.
    let crash = derived(&to, &format!("{REPO}:crash"), "ENTRYPOINT [\"/bin/false\"]");
    let out = cmd(&["upgrade", "--image", &crash, "--yes", "--pull", "always"])
        .args(["--wait-timeout", "90s"])
        .ran();
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("The rollback failed too"), "{stderr}");
    assert!(!stderr.contains("postgres:15"), "{stderr}");
    assert_eq!(pg_image(), mirror);
    assert_eq!(server_version_of_image(&stack), from);

    // A successful upgrade: Kestra moves, Postgres stays.
    let target_tag = to.rsplit(':').next().unwrap().to_string();
    cmd(&["upgrade", "--to", &target_tag, "--yes", "--pull", "never"])
        .args(["--wait-timeout", "3m"])
        .ran()
        .code(0);
    assert_eq!(pg_image(), mirror);

    // A restore on a machine where the stack was removed: the backup's Postgres image.
    let file = stack.sb.path().join("mirror.tar.gz");
    cmd(&["backup", "--file"]).arg(&file).ran().code(0);
    cmd(&["stop", "--remove", "--volumes", "--yes"])
        .ran()
        .code(0);
    let out = cmd(&["restore", "--yes", "--pull", "never", "--image", &to])
        .arg(&file)
        .ran();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("postgres:15"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(pg_image(), mirror);
    assert!(flows(&stack).contains(&"e2e.mirror/kept".to_string()));
}

/// The image the stack's Kestra container runs.
fn server_version_of_image(stack: &Stack) -> String {
    stack.inspect(&stack.name)["Config"]["Image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Correctness (issue 28, item 6): `restore FILE` printed its question and the next spinner
/// frame erased it. No progress is drawn while a question waits; declining changes nothing.
#[test]
fn docker_restore_question_on_a_terminal_is_not_erased_by_a_spinner() {
    let stack = Stack::new();
    stack.start().ran().code(0);
    deploy(&stack, "e2e.prompt", "kept");
    let file = stack.sb.path().join("prompt.tar.gz");
    stack
        .cmd()
        .args(["backup", "--file"])
        .arg(&file)
        .ran()
        .code(0);
    let envs: Vec<(String, String)> = stack
        .std_cmd()
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    let envs: Vec<(&str, &str)> = envs
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "PATH" | "HOME" | "KESTRACTL_CONFIG_DIR"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let file_arg = file.display().to_string();
    let mut pty = Pty::spawn(&stack.sb, &["restore", &file_arg], &envs).expect("script");
    pty.expect("[y/N] ");
    let asked_at = pty.output().len();
    std::thread::sleep(Duration::from_millis(800));
    let after = pty.output()[asked_at..].to_string();
    assert!(
        !after.contains('\r') && !after.contains("\x1b[2K") && !after.contains('⠋'),
        "something was drawn over the question: {after:?}"
    );
    pty.send("n\r");
    let (code, shown) = pty.wait();
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("Restore cancelled; nothing was changed."),
        "{shown}"
    );
    assert!(!shown.contains("error:"), "{shown}");
    assert!(flows(&stack).contains(&"e2e.prompt/kept".to_string()));
}
