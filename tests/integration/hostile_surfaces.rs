//! Security, second pass (issue 27): the newer surfaces against a hostile server, a planted
//! `.env` or file, and a crafted archive. Each test stands for one finding, through the real
//! binary, and checks both the refusal (or the cleaned output) and that nothing was written,
//! sent or run.

use crate::common::*;
use crate::fake::*;

/// Characters that must never reach a terminal from a server or an archive.
pub const HOSTILE_CHARS: [char; 6] = ['\u{1b}', '\u{7}', '\r', '\u{202e}', '\u{9b}', '\u{0}'];

fn assert_inert(what: &str, text: &str) {
    for bad in HOSTILE_CHARS {
        assert!(
            !text.contains(bad),
            "{what}: {bad:?} reached the output: {text:?}"
        );
    }
}

/// Finding 1: a namespace like `c$(touch x)` became a completion candidate, inserted into the
/// command line unquoted (run at Enter); a newline in a name made an extra candidate. Only names
/// that match Kestra's own patterns are offered.
#[test]
fn completion_offers_only_names_kestra_allows() {
    let namespaces = serde_json::json!([
        "company",
        "c$(touch pwned)",
        "c`touch pwned`",
        "c;touch pwned",
        "c\n--server=http://evil",
        "c\u{1b}]0;x\u{7}",
        "c'quote",
        "c pace",
    ])
    .to_string();
    let flows = serde_json::json!({"results": [
        {"id": "hello", "namespace": "company"},
        {"id": "$(touch pwned)", "namespace": "company"},
        {"id": "x", "namespace": "c$(touch pwned)"},
        {"id": "a\nb", "namespace": "company"},
    ], "total": 4})
    .to_string();
    let executions = serde_json::json!({"results": [
        {"id": "4fGpDPJmkkZ8lAfd1a2QqE", "namespace": "company", "flowId": "hello", "state": {"current": "SUCCESS", "histories": []}},
        {"id": "e$(touch pwned)", "namespace": "company", "flowId": "hello", "state": {"current": "SUCCESS", "histories": []}},
        {"id": "e\n--yes", "namespace": "company", "flowId": "hello", "state": {"current": "SUCCESS", "histories": []}},
    ], "total": 3})
    .to_string();
    let server = FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_2_0)
        } else if path.ends_with("/flows/distinct-namespaces") {
            Reply::json(200, &namespaces)
        } else if path.ends_with("/flows/search") {
            Reply::json(200, &flows)
        } else if path.ends_with("/executions/search") {
            Reply::json(200, &executions)
        } else {
            Reply::json(200, "[]")
        }
    });
    let sb = Sandbox::new();
    // The values offered; a flag of the command itself may be offered beside them, but never one
    // that carries a value (`--server=…` from a newline in a name).
    let complete = |words: &[&str]| {
        let offered = complete_in_bash(&sb, &server.url, words);
        assert!(
            offered.iter().all(|c| !c.contains('=')),
            "{words:?}: {offered:?}"
        );
        offered
            .into_iter()
            .filter(|c| !c.starts_with("--"))
            .collect::<Vec<_>>()
    };
    assert_eq!(complete(&["kestractl", "flows", "list", ""]), ["company"]);
    assert_eq!(complete(&["kestractl", "flows", "list", "c"]), ["company"]);
    assert_eq!(
        complete(&["kestractl", "flows", "get", ""]),
        ["company/hello"]
    );
    assert_eq!(
        complete(&["kestractl", "executions", "get", ""]),
        ["4fGpDPJmkkZ8lAfd1a2QqE"]
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.contains("distinct-namespaces")),
        "the server was asked: {:?}",
        server.requests()
    );
    assert!(!sb.workdir().join("pwned").exists());
    for line in complete(&["kestractl", "kv", "list", ""]) {
        assert_inert("kv list completion", &line);
        assert!(!line.contains(['$', '`', ';', '\'', ' ']), "{line:?}");
    }
}

/// A page of `n` items built by `item(i)`, with a `total` that never lets a listing end.
fn endless_page(n: usize, item: impl Fn(usize) -> serde_json::Value) -> String {
    let results: Vec<serde_json::Value> = (0..n).map(item).collect();
    serde_json::json!({"results": results, "total": 4_000_000_000u64}).to_string()
}

/// Finding 2: peak memory against a hostile server: a 3 GiB download buffered, endless
/// `/prometheus` and `/health`, endless paging of keys, flows and files, exports that inflate
/// to gigabytes, and a page of a few bytes an object. Every path stays under 256 MiB and ends
/// with a clear error — or, for a download, streams to disk.
#[test]
fn no_command_grows_past_256_mib_whatever_the_server_sends() {
    use crate::hostile::peak_memory_mib;
    let sb = Sandbox::new();
    let run = |server: &FakeServer, args: &[&str], env: &[(&str, String)]| {
        let mut cmd = sb.std_cmd();
        cmd.env("KESTRACTL_PASSWORD", PASSWORD)
            .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .args(["--server", &server.url, "--timeout", "60s"])
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (out, peak) = peak_memory_mib(cmd);
        assert!(peak < 256, "{args:?}: peak memory {peak} MiB");
        out
    };
    let expect = |out: &std::process::Output, code: i32, says: &str| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "wanted {says:?}: {stderr}");
        assert!(stderr.contains(says), "wanted {says:?} in: {stderr}");
    };

    // A 1 GiB output file: streamed to disk, never held.
    let chunk = vec![b'x'; 1 << 20];
    let execution = serde_json::json!({
        "id": "ex1", "namespace": "company", "flowId": "f",
        "state": {"current": "SUCCESS", "histories": []},
        "taskRunList": [{"id": "tr1", "taskId": "t", "executionId": "ex1", "namespace": "company",
            "flowId": "f", "state": {"current": "SUCCESS", "histories": []},
            "outputs": {"uri": "kestra:///company/f/executions/ex1/tasks/t/tr1/big.bin"}}],
    })
    .to_string();
    let server = FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_1_3)
        } else if path.ends_with("/file") {
            Reply::repeated(200, "application/octet-stream", &chunk, 1024)
        } else {
            Reply::json(200, &execution)
        }
    });
    let dir = sb.path().join("outputs");
    let out = run(
        &server,
        &[
            "executions",
            "outputs",
            "download",
            "ex1",
            &dir.display().to_string(),
        ],
        &[],
    );
    expect(&out, 0, "Downloaded 1 file");
    let big = dir.join("t/big.bin");
    assert_eq!(std::fs::metadata(&big).unwrap().len(), 1 << 30);
    std::fs::remove_file(&big).unwrap();

    // Endless metrics and health on the management port.
    let endless = FakeServer::start(|_, path| {
        if path == "/prometheus" {
            Reply::endless(200, "text/plain", "# HELP x\n", "kestra_x_total 1\n")
        } else {
            Reply::endless(
                200,
                "application/json",
                "{\"status\":\"",
                "UPUPUPUPUPUPUPUP",
            )
        }
    });
    let port = endless.url.rsplit(':').next().unwrap().to_string();
    let management = [("KESTRA_MANAGEMENT_PORT", port)];
    let out = run(&endless, &["metrics"], &management);
    expect(&out, 1, "larger than 16 MiB");
    let out = run(&endless, &["status", "--probe"], &management);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Endless paging.
    let keys = endless_page(
        100,
        |i| serde_json::json!({"key": format!("k{i}"), "namespace": "company", "type": "STRING"}),
    );
    let flows = endless_page(
        100,
        |i| serde_json::json!({"id": format!("f{i}"), "namespace": "company", "revision": 1}),
    );
    let triggers = endless_page(100, |i| {
        serde_json::json!({"trigger": {"id": format!("t{i}"), "type": "io.kestra.plugin.core.trigger.Schedule"},
            "state": {"namespace": "company", "flowId": "f", "triggerId": format!("t{i}")}})
    });
    let entries: Vec<serde_json::Value> = (0..2500)
        .map(|i| serde_json::json!({"fileName": format!("f{i}.txt"), "type": "File", "size": 1}))
        .chain([serde_json::json!({"fileName": "d", "type": "Directory"})])
        .collect();
    let entries = serde_json::Value::Array(entries).to_string();
    let server = FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_2_0)
        } else if path.ends_with("/kv") {
            Reply::json(200, &keys)
        } else if path.ends_with("/flows/search") {
            Reply::json(200, &flows)
        } else if path.ends_with("/files/directory") {
            Reply::json(200, &entries)
        } else if path.ends_with("/triggers/search") {
            Reply::json(200, &triggers)
        } else {
            Reply::json(404, "{}")
        }
    });
    let out = run(&server, &["kv", "list", "company"], &[]);
    expect(&out, 1, "listed more than 100000 keys");
    let out = run(&server, &["flows", "list"], &[]);
    expect(&out, 1, "listed more than 100000 flows");
    let out = run(&server, &["flows", "list", "-q"], &[]);
    expect(&out, 1, "listed more than 100000 flows");
    let out = run(&server, &["triggers", "list"], &[]);
    expect(&out, 1, "listed more than 100000 triggers");
    let out = run(&server, &["nsfiles", "list", "company"], &[]);
    expect(&out, 1, "more than 100000 files and folders");

    // Three namespaces whose small exports inflate to gigabytes together.
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(&mut zipped);
        let spaces = vec![b' '; 1 << 20];
        for n in 0..64 {
            zip.start_file(
                format!("company-f{n}.yml"),
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
            for _ in 0..15 {
                zip.write_all(&spaces).unwrap();
            }
        }
        zip.finish().unwrap();
    }
    let bomb = zipped.into_inner();
    let server = FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_2_0)
        } else if path.ends_with("/export/by-query") {
            Reply::new(200, "application/octet-stream", bomb.clone())
        } else if path.ends_with("/distinct-namespaces") {
            Reply::json(200, r#"["a","b","c"]"#)
        } else {
            Reply::json(200, "[]")
        }
    });
    let export = sb.path().join("export");
    let out = run(
        &server,
        &["flows", "export", &export.display().to_string()],
        &[],
    );
    expect(&out, 1, "more than 160 MiB in all");
    assert!(!export.exists());

    // A page of empty objects: 30 MiB of text, gigabytes once decoded.
    let mut page = String::from(r#"{"total":1,"results":["#);
    while page.len() < 30 << 20 {
        page.push_str("{},");
    }
    page.push_str("{}]}");
    let server = FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_2_0)
        } else {
            Reply::json(200, &page)
        }
    });
    let out = run(&server, &["executions", "list", "--all"], &[]);
    expect(
        &out,
        1,
        "more JSON objects and values than kestractl decodes at once",
    );
}

/// Finding 4: a `.env` in the working directory chose the image, mounted `/` as storage,
/// switched the context without a word, and (no context selected, the password in the
/// environment) sent the credential to a server of its own. Now: a `.env` others may write or
/// own is refused; a system folder is refused; what it picks is named with the file; and no
/// password goes to a server only a `.env` names.
#[test]
fn a_planted_dotenv_is_named_refused_or_denied_the_credential() {
    let evil = FakeServer::start(|_, _| Reply::json(200, CONFIGS_2_0));
    let sb = Sandbox::new();
    let run = |args: &[&str]| {
        sb.cmd()
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
            .args(args)
            .output()
            .unwrap()
    };

    // The credential does not follow the `.env`'s server.
    sb.write_dotenv(&format!("KESTRACTL_SERVER={}\n", evil.url));
    for args in [
        &["flows", "list"][..],
        &["server", "info"],
        &["auth", "status"],
    ] {
        let out = run(args);
        let stderr = text(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("KESTRACTL_SERVER picks the server {}", evil.url)),
            "{args:?}: {stderr}"
        );
        assert!(
            evil.log
                .lock()
                .unwrap()
                .iter()
                .all(|(_, authorized)| !authorized),
            "{args:?}: the credential reached the .env's server: {:?}",
            evil.requests()
        );
    }

    // A `.env` others may change is not read at all.
    let dotenv = sb.workdir().join(".env");
    sb.write_dotenv("KESTRA_IMAGE=attacker.example/evil-kestra\n");
    set_mode(&dotenv, 0o666);
    let out = run(&["compose"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("may be changed by others (mode 0666)"),
        "{stderr}"
    );
    assert!(!text(&out.stdout).contains("evil-kestra"));
    set_mode(&dotenv, 0o600);

    // What it picks is said, with the file.
    let out = run(&["compose"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(".env KESTRA_IMAGE picks the Kestra image attacker.example/evil-kestra"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("picks the Kestra image").count(),
        1,
        "{stderr}"
    );

    // `/` as storage, beside the Docker socket: refused before anything is created.
    sb.write_dotenv("KESTRA_STORAGE_DIR=/\n");
    let out = run(&["compose"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("KESTRA_STORAGE_DIR=/ is the system folder /"),
        "{stderr}"
    );
    assert!(stderr.contains(".env"), "{stderr}");

    // A context switched by a `.env` is named.
    sb.write_config(
        "current-context = \"dev\"\n[contexts.dev]\nserver = \"http://127.0.0.1:9\"\n[contexts.prod]\nserver = \"https://kestra.example.com\"\n",
    );
    sb.write_dotenv("KESTRACTL_CONTEXT=prod\n");
    let out = run(&["config", "show"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(".env KESTRACTL_CONTEXT picks the context `prod`"),
        "{stderr}"
    );
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// What an entry of a hand-made archive holds.
enum Content {
    Bytes(&'static [u8]),
    /// This many zero bytes (a sparse file: nothing written to build it).
    Zeros(u64),
}

/// A kestractl backup archive made by hand (with the system's `tar`, which compresses at native
/// speed): `entries` (path, content) then a manifest listing them with their true sizes and
/// checksums, as `patch` leaves it.
fn crafted_backup(
    path: &std::path::Path,
    entries: &[(&str, Content)],
    patch: impl Fn(&mut serde_json::Value),
) {
    use sha2::Digest;
    let staging = tempfile::tempdir().unwrap();
    let mut listed = Vec::new();
    for (name, content) in entries {
        let file = staging.path().join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let (size, sha) = match content {
            Content::Bytes(bytes) => {
                std::fs::write(&file, bytes).unwrap();
                let sha: String = sha2::Sha256::digest(bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (bytes.len() as u64, sha)
            }
            // Its checksum is never reached: the size is the lie.
            Content::Zeros(n) => {
                std::fs::File::create(&file).unwrap().set_len(*n).unwrap();
                (*n, "0".repeat(64))
            }
        };
        listed.push(serde_json::json!({"path": name, "size": size, "sha256": sha}));
    }
    let mut manifest = serde_json::json!({
        "format": "kestractl-backup/1",
        "createdAt": "2026-12-01T10:00:00Z",
        "kestractlVersion": "0.1.0",
        "consistency": "online",
        "kestra": {"image": "kestra/kestra:1.3.25", "imageId": "sha256:1", "version": "1.3.25"},
        "postgres": {"image": "postgres:15", "imageId": "sha256:2", "database": "kestra"},
        "served": {"flows": 1, "executions": 1},
        "entries": listed,
    });
    patch(&mut manifest);
    std::fs::write(
        staging.path().join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let status = std::process::Command::new("tar")
        .args(["--format=gnu", "-czf"])
        .arg(path)
        .arg("-C")
        .arg(staging.path())
        .args(entries.iter().map(|(name, _)| *name))
        .arg("manifest.json")
        .status()
        .unwrap();
    assert!(status.success());
}

/// Finding 5: a manifest rewritten to name another image made `restore --yes` create Kestra
/// from it, and its text reached the terminal raw. With `--yes`, only the stack's own image or
/// one `--image` names is run (nothing changed otherwise); an image with escape sequences is no
/// image at all.
#[test]
fn docker_restore_runs_no_image_an_archive_names_without_consent() {
    let sb = Sandbox::new();
    let archive = sb.path().join("evil.tar.gz");
    crafted_backup(
        &archive,
        &[
            ("postgres.dump", Content::Bytes(b"PGDMP not really")),
            ("config/application.yml", Content::Bytes(b"kestra: {}\n")),
        ],
        |m| m["kestra"]["image"] = "attacker.example/evil-kestra:1".into(),
    );
    let container = format!("kestractl-hostile-{}", std::process::id());
    let restore = |args: &[&str]| {
        sb.cmd()
            .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
            .env("KESTRA_CONTAINER_NAME", &container)
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .arg("restore")
            .arg(&archive)
            .args(args)
            .output()
            .unwrap()
    };
    let out = restore(&["--yes", "--pull", "never"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("names the Kestra image attacker.example/evil-kestra:1 to run"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--image attacker.example/evil-kestra:1"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    for name in [container.clone(), format!("{container}-postgres")] {
        assert!(
            !crate::docker::docker(&["inspect", &name]).status.success(),
            "{name} was created"
        );
    }
    assert!(
        !sb.path()
            .join("data")
            .join(&container)
            .join("storage")
            .exists(),
        "a staging folder was left"
    );

    // Escape sequences in the manifest's image: not an image, refused as damaged, cleaned.
    crafted_backup(
        &archive_with(&sb, "escapes.tar.gz"),
        &[("postgres.dump", Content::Bytes(b"x"))],
        |m| m["kestra"]["image"] = "kestra/kestra:1\u{1b}]0;pwned\u{7}\u{202e}".into(),
    );
    let out = sb
        .cmd()
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .env("KESTRA_CONTAINER_NAME", &container)
        .args(["backup", "verify"])
        .arg(archive_with(&sb, "escapes.tar.gz"))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("which is not an image reference"),
        "{stderr}"
    );
    assert_inert("backup verify", &stderr);
    assert_inert("backup verify", &text(&out.stdout));
}

fn archive_with(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    sb.path().join(name)
}

/// Finding 8: an archive of a few MiB whose dump inflates to gigabytes while its manifest says
/// 16 bytes wrote them all to a temporary folder before the size check. The first reading
/// writes nothing; only an archive whose entries all match is unpacked. A tar entry name with
/// escape sequences is shown cleaned.
#[test]
fn backup_verify_writes_nothing_of_an_archive_that_lies() {
    let sb = Sandbox::new();
    let archive = sb.path().join("zeros.tar.gz");
    crafted_backup(
        &archive,
        &[("postgres.dump", Content::Zeros(256 << 20))],
        |m| m["entries"][0]["size"] = 16.into(),
    );
    let archive_size = std::fs::metadata(&archive).unwrap().len();
    assert!(archive_size < 8 << 20, "{archive_size} bytes");
    // No file of more than 16 MiB may be written (RLIMIT_FSIZE: a bigger write kills the
    // process with SIGXFSZ): the archive's 256 MiB never reach the disk.
    let base = sb.std_cmd();
    let mut limited = std::process::Command::new("bash");
    limited
        .arg("-c")
        .arg("ulimit -f 16384; exec \"$0\" \"$@\"")
        .arg(base.get_program())
        .args(["backup", "verify"])
        .arg(&archive)
        .env_clear()
        .envs(
            base.get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .current_dir(sb.workdir());
    let out = limited.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{:?} {stderr}", out.status);
    assert!(
        stderr.contains("`postgres.dump` has 268435456 bytes where the manifest says 16"),
        "{stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(sb.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An entry whose name carries escape sequences: named cleaned.
    let named = sb.path().join("named.tar.gz");
    crafted_backup(
        &named,
        &[("storage/\u{1b}]0;pwned\u{7}x\u{202e}", Content::Bytes(b"x"))],
        |m| m["entries"] = serde_json::json!([]),
    );
    let out = sb
        .cmd()
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .args(["backup", "verify"])
        .arg(&named)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("is not listed in its manifest"), "{stderr}");
    assert_inert("backup verify", &stderr);

    // A text file is not a gzip archive, said so; a flipped byte is damage, not tar internals.
    let plain = sb.path().join("notes.txt");
    std::fs::write(&plain, "not an archive\n").unwrap();
    let out = sb
        .cmd()
        .args(["backup", "verify"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("it is not a gzip archive"),
        "{}",
        text(&out.stderr)
    );
}

/// What a hostile server puts in its text: a title change, a colour, a reversed name, a C1
/// control. Our own colours are off (NO_COLOR) so any escape seen is the server's.
const PAYLOAD: &str = "\u{1b}]0;pwned\u{7}\u{1b}[31mEVIL\u{202e}txt.exe\u{9b}1m";

fn assert_no_payload(what: &str, shown: &str) {
    for bad in ["\u{1b}]0;", "\u{1b}[31m", "\u{202e}", "\u{9b}"] {
        assert!(
            !shown.contains(bad),
            "{what}: {bad:?} reached the terminal: {shown:?}"
        );
    }
}

/// Finding 6: escape sequences reached the terminal from `flows diff`, `executions outputs`,
/// `metrics` (and `--raw`), `nsfiles get` and error bodies. On a terminal every byte a server
/// supplies is made inert; piped, the bytes stay as they are; a file the server names with
/// control or bidi characters is not created.
#[test]
fn server_text_on_the_newer_surfaces_cannot_drive_the_terminal() {
    let source = format!(
        "id: hello\nnamespace: company\n# {PAYLOAD}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    );
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(&mut zipped);
        zip.start_file(
            "company-hello.yml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(source.as_bytes()).unwrap();
        zip.finish().unwrap();
    }
    let archive = zipped.into_inner();
    let execution = serde_json::json!({
        "id": "ex1", "namespace": "company", "flowId": "hello",
        "state": {"current": "SUCCESS", "histories": []},
        "taskRunList": [
            {"id": "tr1", "taskId": "t", "executionId": "ex1", "namespace": "company", "flowId": "hello",
             "state": {"current": "SUCCESS", "histories": []},
             "outputs": {"uri": format!("kestra:///company/hello/executions/ex1/tasks/t/tr1/{PAYLOAD}.txt")}},
            {"id": "tr2", "taskId": "u", "executionId": "ex1", "namespace": "company", "flowId": "hello",
             "state": {"current": "SUCCESS", "histories": []},
             "outputs": "{\"uri\":\"kestra:///company/hello/executions/ex1/tasks/u/tr2/a\\u001b[31mEVIL\\u202e.txt\"}"},
        ],
    })
    .to_string();
    let metrics = format!(
        "kestra_worker_running_count{{flow_id=\"hello\",namespace_id=\"company\",task_type=\"io.kestra.{PAYLOAD}\"}} 1.0\nprocess_uptime_seconds 10\n"
    );
    let file_body = format!("plain line\n{PAYLOAD}\n");
    let problem = serde_json::json!({"message": format!("Invalid entity: {PAYLOAD}")}).to_string();
    let server = FakeServer::start(move |method, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_1_3)
        } else if path.ends_with("/flows/distinct-namespaces") {
            Reply::json(200, r#"["company"]"#)
        } else if path.ends_with("/export/by-query") {
            Reply::new(200, "application/octet-stream", archive.clone())
        } else if path == "/api/v1/main/flows/company" {
            Reply::json(
                200,
                r#"[{"id":"hello","namespace":"company","revision":1}]"#,
            )
        } else if path == "/prometheus" {
            Reply::new(200, "text/plain", metrics.clone())
        } else if path.ends_with("/files") && method == "GET" {
            Reply::new(200, "application/octet-stream", file_body.clone())
        } else if path.ends_with("/files/stats") {
            Reply::json(200, r#"{"fileName":"notes.txt","type":"File","size":10}"#)
        } else if path.ends_with("/kv/bad") {
            Reply::new(422, "application/json", problem.clone())
        } else {
            Reply::json(200, &execution)
        }
    });
    let sb = Sandbox::new();
    let local = sb.path().join("flows");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(
        local.join("hello.yml"),
        "id: hello\nnamespace: company\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: changed\n",
    )
    .unwrap();
    let port = server.url.rsplit(':').next().unwrap().to_string();
    let envs = [
        ("KESTRACTL_PASSWORD", PASSWORD),
        ("NO_COLOR", "1"),
        ("KESTRA_MANAGEMENT_PORT", port.as_str()),
        ("COLUMNS", "200"),
    ];
    let on_terminal = |args: &[&str]| {
        let mut all = vec!["--server", server.url.as_str()];
        all.extend_from_slice(args);
        let pty = Pty::spawn(&sb, &all, &envs).expect("script");
        pty.wait()
    };
    let local_dir = local.display().to_string();
    for (args, shows_it) in [
        (&["flows", "diff", local_dir.as_str()][..], true),
        (&["executions", "outputs", "list", "ex1"], true),
        (&["metrics", "-o", "json"], false),
        (&["metrics"], false),
        (&["metrics", "--raw"], true),
        (&["nsfiles", "get", "company", "notes.txt"], true),
        (&["kv", "set", "company", "bad", "v"], true),
    ] {
        let (code, shown) = on_terminal(args);
        assert!(code.is_some(), "{args:?}: {shown}");
        assert_no_payload(&format!("{args:?}"), &shown);
        if shows_it {
            assert!(
                shown.contains("EVIL"),
                "{args:?}: the text itself is shown: {shown:?}"
            );
        }
    }

    // Piped, the bytes are as the server sent them (for scripts and files).
    let piped = |args: &[&str]| {
        let mut cmd = sb.cmd();
        cmd.env("KESTRACTL_PASSWORD", PASSWORD)
            .env("KESTRA_MANAGEMENT_PORT", &port)
            .args(["--server", &server.url])
            .args(args);
        cmd.output().unwrap()
    };
    let out = piped(&["nsfiles", "get", "company", "notes.txt"]);
    assert_eq!(text(&out.stdout), format!("plain line\n{PAYLOAD}\n"));
    let out = piped(&["metrics", "--raw"]);
    assert!(text(&out.stdout).contains(PAYLOAD));

    // A file named with control or bidi characters is not created; nothing is written.
    let dir = sb.path().join("downloads");
    let out = piped(&[
        "executions",
        "outputs",
        "download",
        "ex1",
        &dir.display().to_string(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a plain file name"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_inert("outputs download", &stderr);
    assert!(!dir.exists(), "something was written");
}

/// Finding 7: `_files/config.ini` -> `~/.aws/credentials` was uploaded by `flows deploy` (and
/// `nsfiles push`). A link that leaves the folder stops the push before anything is sent, naming
/// it; a link that stays inside is followed as before.
#[test]
fn pushes_never_follow_a_link_out_of_their_folder() {
    let emu = emulator(kestra_emulator::KestraVersion::V2_0);
    let sb = Sandbox::new();
    let secret = sb.path().join("home/.aws/credentials");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "aws_secret_access_key = AKIA-very-secret\n").unwrap();
    let flows = sb.path().join("flows");
    let files = flows.join("_files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        flows.join("hello.yml"),
        "id: hello\nnamespace: company\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n",
    )
    .unwrap();
    std::fs::write(files.join("etl.py"), "print('hi')\n").unwrap();
    std::os::unix::fs::symlink(&secret, files.join("config.ini")).unwrap();
    let writes = |emu: &Emu| {
        emu.control()
            .requests()
            .iter()
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "DELETE"))
            .count()
    };
    for args in [
        vec![
            "flows".to_string(),
            "deploy".into(),
            flows.display().to_string(),
        ],
        vec![
            "nsfiles".into(),
            "push".into(),
            "company".into(),
            files.display().to_string(),
        ],
        vec!["flows".into(), "diff".into(), flows.display().to_string()],
    ] {
        let out = sb.cmd_for(&emu).args(&args).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {stderr}");
        assert!(
            stderr.contains("config.ini is a link to"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("nothing was sent"), "{args:?}: {stderr}");
        assert!(!stderr.contains("AKIA"), "{stderr}");
        assert_eq!(writes(&emu), 0, "{args:?} wrote");
    }
    // A flow file that is a link out of the folder is refused the same way.
    std::fs::remove_file(files.join("config.ini")).unwrap();
    let outside_flow = sb.path().join("elsewhere.yml");
    std::fs::write(&outside_flow, "id: other\nnamespace: company\ntasks: []\n").unwrap();
    std::os::unix::fs::symlink(&outside_flow, flows.join("other.yml")).unwrap();
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "deploy"])
        .arg(&flows)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("other.yml is a link to"));
    assert_eq!(writes(&emu), 0);
    // Links that stay inside are followed.
    std::fs::remove_file(flows.join("other.yml")).unwrap();
    std::os::unix::fs::symlink(files.join("etl.py"), files.join("alias.py")).unwrap();
    sb.cmd_for(&emu)
        .args(["flows", "deploy"])
        .arg(&flows)
        .ran()
        .code(0);
    let listed = text(
        &sb.cmd_for(&emu)
            .args(["nsfiles", "list", "company", "-q"])
            .ran()
            .code(0)
            .stdout,
    );
    assert!(
        listed.contains("alias.py") && listed.contains("etl.py"),
        "{listed}"
    );
}

/// Finding 9: `manifest --merge` replaced a symlinked manifest with a regular file holding the
/// target's content, read `/dev/zero` until memory ran out, blocked forever on a FIFO and took
/// 3.5 GB for a 425 MB file. Links, anything but a regular file, hard-linked files and files
/// over 16 MiB are refused, untouched.
#[test]
fn manifest_merge_refuses_links_devices_fifos_and_huge_files() {
    use crate::hostile::peak_memory_mib;
    let sb = Sandbox::new();
    let real = sb.path().join("real-manifest.json");
    std::fs::write(&real, "[]\n").unwrap();
    let link = sb.workdir().join("services-manifest.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let fifo = sb.workdir().join("fifo.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let huge = sb.workdir().join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(425 << 20)
        .unwrap();
    let hard = sb.workdir().join("hard.json");
    let other_name = sb.path().join("other-name.json");
    std::fs::write(&hard, "[]\n").unwrap();
    std::fs::hard_link(&hard, &other_name).unwrap();
    for (file, says) in [
        (link.clone(), "is a symbolic link"),
        (
            std::path::PathBuf::from("/dev/zero"),
            "is not a regular file",
        ),
        (fifo.clone(), "is not a regular file"),
        (huge.clone(), "more than the 16 MiB"),
        (hard.clone(), "has 2 hard links"),
    ] {
        let mut cmd = sb.std_cmd();
        cmd.args(["manifest", "--merge"]).arg(&file);
        let (out, peak) = peak_memory_mib(cmd);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file:?}: {stderr}");
        assert!(stderr.contains(says), "{file:?}: {stderr}");
        assert!(stderr.contains("nothing was changed"), "{file:?}: {stderr}");
        assert!(peak < 64, "{file:?}: peak memory {peak} MiB");
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "[]\n");
    assert_eq!(std::fs::read_to_string(&other_name).unwrap(), "[]\n");
    // The real file, named, is merged.
    sb.cmd()
        .args(["manifest", "--merge"])
        .arg(&real)
        .ran()
        .code(0);
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("kestra-orchestrator")
    );
}

/// Finding 10: `executions outputs download` wrote through a planted task folder link
/// (`DIR/t` -> elsewhere), which `flows export` already refused: one rule for both.
#[test]
fn outputs_download_does_not_write_through_a_planted_folder_link() {
    let execution = serde_json::json!({
        "id": "ex1", "namespace": "company", "flowId": "f",
        "state": {"current": "SUCCESS", "histories": []},
        "taskRunList": [{"id": "tr1", "taskId": "t", "executionId": "ex1", "namespace": "company",
            "flowId": "f", "state": {"current": "SUCCESS", "histories": []},
            "outputs": {"uri": "kestra:///company/f/executions/ex1/tasks/t/tr1/report.csv"}}],
    })
    .to_string();
    let server = FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_1_3)
        } else if path.ends_with("/file") {
            Reply::new(200, "application/octet-stream", "a,b\n1,2\n")
        } else {
            Reply::json(200, &execution)
        }
    });
    let sb = Sandbox::new();
    let dir = sb.path().join("dl");
    let elsewhere = sb.path().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("t")).unwrap();
    let download = || {
        sb.cmd()
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .args([
                "--server",
                &server.url,
                "executions",
                "outputs",
                "download",
                "ex1",
            ])
            .arg(&dir)
            .output()
            .unwrap()
    };
    let out = download();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert!(
        !server.requests().iter().any(|r| r.contains("/file")),
        "a download started"
    );
    // Without the link, the same download works.
    std::fs::remove_file(dir.join("t")).unwrap();
    let out = download();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.join("t/report.csv")).unwrap(),
        "a,b\n1,2\n"
    );
}

/// Finding 11: a hard-linked `.env` was rewritten by `auth import-env --rewrite-env` while the
/// other name kept the passwords; a link in place of the secrets folder's parent was followed.
#[test]
fn rewrites_and_secrets_refuse_hard_links_and_linked_parents() {
    let sb = Sandbox::new();
    let dotenv = sb.workdir().join(".env");
    let original = "KESTRA_BASICAUTH_PASSWORD=Seed-Passw0rd-1\n";
    std::fs::write(&dotenv, original).unwrap();
    let other = sb.path().join("seed-copy.env");
    std::fs::hard_link(&dotenv, &other).unwrap();
    let out = sb
        .cmd()
        .args(["auth", "import-env", "--rewrite-env"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has 2 hard links"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(!stderr.contains("Passw0rd"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&dotenv).unwrap(), original);
    std::fs::remove_file(&other).unwrap();
    std::fs::remove_file(&dotenv).unwrap();

    // The stack's folder, above its secrets, as a link elsewhere: refused before Docker.
    let data = sb.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let elsewhere = sb.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, data.join("tools-kestra")).unwrap();
    let out = sb
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KESTRACTL_DATA_DIR", &data)
        .env("KESTRACTL_PASSWORD", "Admin1234xyz")
        .env("KESTRA_DB_PASSWORD", "Db-Passw0rd-long")
        .args(["start", "--pull", "never"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("tools-kestra is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// Finding 3: with `KESTRA_BIND=203.0.113.5` in a `.env`, `status` sent the stack's Basic Auth
/// credential in plain HTTP to that address (through the proxy of the environment). The stack
/// is reached on this machine only: a bind address of another machine is refused, said, and
/// nothing goes to it or to a proxy.
#[test]
fn docker_the_local_stack_is_never_reached_off_this_machine() {
    crate::docker::ensure_images();
    let catcher = FakeServer::start(|_, _| Reply::json(200, CONFIGS_2_0));
    let health = FakeServer::start(|_, _| Reply::json(200, r#"{"status":"UP"}"#));
    let sb = Sandbox::new();
    let name = format!("kestractl-hostile-bind-{}", std::process::id());
    // A running container under the stack's name, so `status` goes on to ask Kestra's API.
    crate::docker::docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--entrypoint",
        "sleep",
        crate::docker::EMULATOR_IMAGE,
        "120",
    ]);
    sb.write_dotenv(&format!(
        "KESTRA_CONTAINER_NAME={name}\nKESTRA_BIND=203.0.113.5\nKESTRA_MANAGEMENT_PORT={}\n",
        health.url.rsplit(':').next().unwrap()
    ));
    let out = sb
        .cmd()
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .env("HTTP_PROXY", &catcher.url)
        .env("http_proxy", &catcher.url)
        .env("ALL_PROXY", &catcher.url)
        .args(["status", "-o", "json"])
        .output()
        .unwrap();
    crate::docker::docker(&["rm", "-f", &name]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("203.0.113.5") && stderr.contains("not an address of this machine"),
        "{stderr}"
    );
    assert!(stderr.contains(".env KESTRA_BIND picks"), "{stderr}");
    assert!(
        catcher.requests().is_empty(),
        "the proxy saw: {:?}",
        catcher.requests()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["kestra"]["credentials"], "unchecked", "{report}");
}
