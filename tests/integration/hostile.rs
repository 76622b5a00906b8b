//! Security (issue 18): a hostile server, a proxy, a planted symlink or a stray `.env` must not
//! turn kestractl against its operator. Each test stands for one finding of the audit and fails
//! on the code before it was fixed.

use std::io::Write;
use std::path::Path;

use crate::common::*;
use crate::fake::*;

/// A ZIP archive with these (entry name, content) pairs.
fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, content) in entries {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(content.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    buf.into_inner()
}

/// A fake Kestra whose one namespace holds one flow, with the namespace, id and export entry
/// name it is told to answer.
fn serving_one_flow(namespace: &str, id: &str) -> FakeServer {
    let (namespace, id) = (namespace.to_string(), id.to_string());
    let source = format!(
        "id: {id}\nnamespace: {namespace}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    );
    let listing =
        serde_json::json!([{"id": id, "namespace": namespace, "revision": 1}]).to_string();
    let names = serde_json::json!([namespace]).to_string();
    let archive = zip_of(&[(&format!("{namespace}-{id}.yml"), &source)]);
    FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_2_0)
        } else if path.ends_with("/flows/distinct-namespaces") {
            Reply::json(200, &names)
        } else if path.ends_with("/flows/export/by-query") {
            Reply::new(200, "application/octet-stream", archive.clone())
        } else {
            Reply::json(200, &listing)
        }
    })
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.display().to_string());
            if p.is_dir() {
                out.extend(files_under(&p));
            }
        }
    }
    out
}

/// Finding 1: `flows export` wrote wherever the server's namespace and id pointed.
#[test]
fn export_refuses_server_names_that_leave_the_folder() {
    for (namespace, id) in [
        ("../../outside", "pwned"),
        ("company", "../../../escaped"),
        ("company", "/tmp/kestractl-absolute-escape"),
        ("..", "x"),
    ] {
        let server = serving_one_flow(namespace, id);
        let sb = Sandbox::new();
        let out_dir = sb.path().join("export/inner");
        let out = sb
            .cmd()
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .args(["--server", &server.url, "flows", "export"])
            .arg(&out_dir)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{namespace}/{id}: {stderr}");
        assert!(
            stderr.contains("whose namespace or id Kestra does not allow"),
            "{namespace}/{id}: {stderr}"
        );
        assert!(stderr.contains("nothing was written"), "{stderr}");
        let written = files_under(sb.path());
        assert!(
            written.iter().all(|f| !f.ends_with(".yml")),
            "{namespace}/{id}: {written:?}"
        );
        assert!(!Path::new("/tmp/kestractl-absolute-escape.yml").exists());
    }
}

/// Finding 1, the other half: a link planted where the export writes is not written through.
#[test]
fn export_does_not_write_through_a_planted_link() {
    let server = serving_one_flow("company", "hello");
    let sb = Sandbox::new();
    let out_dir = sb.path().join("export");
    let elsewhere = sb.path().join("elsewhere");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    // The namespace folder is a link to elsewhere.
    std::os::unix::fs::symlink(&elsewhere, out_dir.join("company")).unwrap();
    let export = |sb: &Sandbox| {
        sb.cmd()
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .args(["--server", &server.url, "flows", "export", "--overwrite"])
            .arg(&out_dir)
            .output()
            .unwrap()
    };
    let out = export(&sb);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert!(files_under(&elsewhere).is_empty());
    // The file itself is a link to a file elsewhere: not followed, not replaced.
    std::fs::remove_file(out_dir.join("company")).unwrap();
    std::fs::create_dir(out_dir.join("company")).unwrap();
    let victim = elsewhere.join("victim.yml");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, out_dir.join("company/hello.yml")).unwrap();
    let out = export(&sb);
    out.assert_code(1);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // With the link gone, the same export works.
    std::fs::remove_file(out_dir.join("company/hello.yml")).unwrap();
    let out = export(&sb);
    out.assert_code(0);
    assert!(
        std::fs::read_to_string(out_dir.join("company/hello.yml"))
            .unwrap()
            .starts_with("id: hello")
    );
}

/// Finding 2: reqwest reads the proxy variables, so the Basic credential of a plain-HTTP call to
/// a server on this machine went to the proxy in clear. Loopback is reached directly.
#[test]
fn a_loopback_server_is_never_reached_through_a_proxy() {
    let proxy = FakeServer::start(|_, _| Reply::new(502, "text/plain", "proxy"));
    let emu = emulator(kestra_emulator::KestraVersion::V2_0);
    let sb = Sandbox::new();
    for args in [&["server", "info"][..], &["flows", "list"]] {
        sb.cmd_for(&emu)
            .env("HTTP_PROXY", &proxy.url)
            .env("http_proxy", &proxy.url)
            .env("HTTPS_PROXY", &proxy.url)
            .env("ALL_PROXY", &proxy.url)
            .args(args)
            .ran()
            .code(0);
    }
    assert!(
        proxy.log.lock().unwrap().is_empty(),
        "the proxy saw: {:?}",
        proxy.log.lock().unwrap()
    );
}

/// Finding 5: log lines and flow fields printed raw let the server drive the terminal (retitle
/// it, clear it, overwrite a line, reverse text). Whatever the format, none of it reaches stdout.
#[test]
fn server_text_cannot_drive_the_terminal() {
    let hostile = "\u{1b}]0;pwned\u{7} \u{1b}[2J\u{1b}[31mred safe\rfake \u{202e}exe.pdf \u{9b}1m";
    let execution = serde_json::json!({
        "id": "ex1", "namespace": "company", "flowId": hostile,
        "state": {"current": "SUCCESS", "histories": [], "startDate": "2026-12-01T10:00:00Z"},
        "labels": [{"key": "team", "value": hostile}],
    })
    .to_string();
    let logs = serde_json::json!([{
        "timestamp": "2026-12-01T10:00:01Z", "level": "INFO", "taskId": hostile,
        "executionId": "ex1", "message": hostile,
    }])
    .to_string();
    let page = serde_json::json!({"results": [serde_json::from_str::<serde_json::Value>(&execution).unwrap()], "total": 1}).to_string();
    let flows = serde_json::json!({"results": [{"id": "f", "namespace": "company", "revision": 1, "description": hostile}], "total": 1}).to_string();
    let server = FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            Reply::json(200, CONFIGS_2_0)
        } else if path.starts_with("/api/v1/main/logs/") {
            Reply::json(200, &logs)
        } else if path == "/api/v1/main/executions/search" {
            Reply::json(200, &page)
        } else if path == "/api/v1/main/flows/search" {
            Reply::json(200, &flows)
        } else {
            Reply::json(200, &execution)
        }
    });
    let sb = Sandbox::new();
    for (args, shows_it) in [
        (&["executions", "logs", "ex1"][..], true),
        (&["executions", "logs", "ex1", "-o", "jsonl"], true),
        (&["executions", "get", "ex1"], true),
        (&["executions", "list"], true),
        (&["flows", "list"], false),
        (&["flows", "list", "-o", "json"], true),
    ] {
        let out = sb
            .cmd()
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .args(["--server", &server.url])
            .args(args)
            .ran()
            .code(0);
        let stdout = text(&out.stdout);
        for bad in ['\u{1b}', '\u{7}', '\r', '\u{202e}', '\u{9b}'] {
            assert!(
                !stdout.contains(bad) && !text(&out.stderr).contains(bad),
                "{args:?}: {bad:?} reached the output: {stdout:?}"
            );
        }
        if shows_it {
            assert!(
                stdout.contains("pwned"),
                "{args:?}: the text itself is kept: {stdout:?}"
            );
        }
    }
}

/// Runs a command to its end and samples its peak resident memory (VmHWM) while it runs. Its
/// output is drained as it comes (a full pipe would stop it).
pub fn peak_memory_mib(mut cmd: std::process::Command) -> (std::process::Output, u64) {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 65536];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // Enough to read what went wrong; the rest is drained, not kept.
                if all.len() < 1 << 20 {
                    all.extend_from_slice(&buf[..n]);
                }
            }
            all
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let started = std::time::Instant::now();
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed().as_secs() > 120 {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let output = std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (output, peak_kib / 1024)
}

/// The fake Kestra of the memory tests: `configs`, one execution, and `answer` for the rest.
fn bounded_server(answer: impl Fn(&str) -> Option<Reply> + Send + Sync + 'static) -> FakeServer {
    FakeServer::start(move |_, path| {
        if path == "/api/v1/configs" {
            return Reply::json(200, CONFIGS_2_0);
        }
        answer(path).unwrap_or_else(|| {
            Reply::json(
                200,
                r#"{"id":"ex1","namespace":"company","flowId":"f","state":{"current":"RUNNING","histories":[]}}"#,
            )
        })
    })
}

/// Finding 6: bodies, stream events and archive entries were read whole: an endless answer grew
/// the process past 1 GiB. Each is now capped (32 MiB for a JSON answer since the second pass, 16 MiB for a stream
/// event, 16 MiB per flow in an export, 1 GiB for a whole export) and refused with a message.
#[test]
fn endless_answers_and_zip_bombs_keep_memory_bounded() {
    let sb = Sandbox::new();
    let run = |server: &FakeServer, args: &[&str]| {
        let mut cmd = sb.std_cmd();
        cmd.env("KESTRACTL_PASSWORD", PASSWORD)
            .args(["--server", &server.url, "--timeout", "60s"])
            .args(args);
        peak_memory_mib(cmd)
    };

    // An endless JSON answer.
    let server = bounded_server(|path| {
        path.ends_with("/flows/search").then(|| {
            Reply::endless(
                200,
                "application/json",
                r#"{"results":["#,
                r#"{"id":"f","namespace":"n"},"#,
            )
        })
    });
    let (out, peak) = run(&server, &["flows", "list"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("larger than 32 MiB"), "{stderr}");
    assert!(peak < 256, "peak memory {peak} MiB");

    // An endless line in the log stream.
    let server = bounded_server(|path| {
        path.ends_with("/follow").then(|| {
            Reply::endless(
                200,
                "text/event-stream",
                "id: progress\ndata: {\"message\":\"",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            )
        })
    });
    let (out, peak) = run(&server, &["executions", "logs", "ex1", "-f"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("event larger than 16 MiB"), "{stderr}");
    assert!(peak < 256, "peak memory {peak} MiB");

    // A ZIP bomb as a namespace's export: a few hundred KiB that inflate to 200 MiB.
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut zipped);
        zip.start_file(
            "company-bomb.yml",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..200 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
    }
    let bomb = zipped.into_inner();
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let server = bounded_server(move |path| {
        if path.ends_with("/export/by-query") {
            Some(Reply::new(200, "application/octet-stream", bomb.clone()))
        } else if path.ends_with("/distinct-namespaces") {
            Some(Reply::json(200, r#"["company"]"#))
        } else {
            Some(Reply::json(
                200,
                r#"[{"id":"bomb","namespace":"company","revision":1}]"#,
            ))
        }
    });
    let dir = sb.path().join("export");
    let (out, peak) = run(&server, &["flows", "export", &dir.display().to_string()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("inflates past 16 MiB"), "{stderr}");
    assert!(peak < 256, "peak memory {peak} MiB");
    assert!(!dir.exists());
}

/// Finding 7: `--bind 0.0.0.0` published Kestra's API (root-equivalent through the Docker
/// socket) without a word. Said once, before the engine is contacted; loopback says nothing.
#[test]
fn publishing_kestra_beyond_this_machine_is_said_plainly() {
    let sb = Sandbox::new();
    let start = |bind: &str| {
        sb.cmd()
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
            .env("KESTRACTL_PASSWORD", "Admin1234xyz")
            .args(["start", "--pull", "never", "--bind", bind])
            .output()
            .unwrap()
    };
    let out = start("0.0.0.0");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("reachable from other machines").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("0.0.0.0:8080"), "{stderr}");
    assert!(stderr.contains("plain text"), "{stderr}");
    assert!(stderr.contains("firewall"), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Docker Engine"),
        "{stderr}"
    );
    let out = start("127.0.0.1");
    assert!(!text(&out.stderr).contains("reachable from other machines"));
}

/// Finding 4: a `.env` in the working directory (a repository one clones can bring one) pointed
/// `KESTRACTL_SERVER` elsewhere and set `KESTRACTL_ALLOW_INSECURE_HTTP`, redirecting the password
/// of the selected context. Refused; the switch is never read from `.env`.
#[test]
fn a_working_directory_dotenv_cannot_redirect_credentials() {
    let legit = FakeServer::start(|_, _| Reply::json(200, CONFIGS_2_0));
    let evil = FakeServer::start(|_, _| Reply::json(200, CONFIGS_2_0));
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "current-context = \"prod\"\n\n[contexts.prod]\nserver = \"{}\"\n",
        legit.url
    ));
    sb.write_dotenv(&format!(
        "KESTRACTL_SERVER={}\nKESTRACTL_ALLOW_INSECURE_HTTP=1\n",
        evil.url
    ));
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["flows", "list"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("while the selected context `prod` points at"),
        "{stderr}"
    );
    assert!(
        evil.log.lock().unwrap().is_empty(),
        "the .env's server was contacted"
    );
    assert!(legit.log.lock().unwrap().is_empty());

    // Without a context, `.env` may name the server, but not lift the plain-HTTP guard.
    let sb = Sandbox::new();
    sb.write_dotenv(
        "KESTRACTL_SERVER=http://kestra.example.invalid:8080\nKESTRACTL_ALLOW_INSECURE_HTTP=1\n",
    );
    let out = sb
        .cmd()
        .env("KESTRACTL_PASSWORD", PASSWORD)
        .args(["flows", "list"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("KESTRACTL_ALLOW_INSECURE_HTTP: ignored"),
        "{stderr}"
    );
    // The password is not sent at all: the server came from the `.env` (second pass), which
    // holds before the plain-HTTP guard.
    assert!(
        stderr.contains("sends no password to a server a .env names"),
        "{stderr}"
    );
}

/// Findings 8 and 9: the secrets, storage and work folders followed a planted symbolic link
/// (`start` wrote the secrets through it; `stop --volumes` emptied its target). Each is refused
/// before Docker is contacted, and the link's target is left as it was.
#[test]
fn planted_links_for_the_stacks_folders_are_refused() {
    for leaf in ["secrets", "storage", "workdir"] {
        let sb = Sandbox::new();
        let data = sb.path().join("data");
        let stack_dir = data.join("tools-kestra");
        std::fs::create_dir_all(&stack_dir).unwrap();
        let target = sb.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("precious.txt"), "keep me").unwrap();
        std::os::unix::fs::symlink(&target, stack_dir.join(leaf)).unwrap();
        let run = |args: &[&str]| {
            sb.cmd()
                .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
                .env("KESTRACTL_DATA_DIR", &data)
                .env("KESTRACTL_PASSWORD", "Admin1234xyz")
                .env("KESTRA_DB_PASSWORD", "Db-Passw0rd-long")
                .args(args)
                .output()
                .unwrap()
        };
        for args in [
            &["start", "--pull", "never"][..],
            &["stop", "--remove", "--volumes", "--yes"][..],
        ] {
            let out = run(args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{leaf} {args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("{leaf} is a symbolic link")),
                "{leaf} {args:?}: {stderr}"
            );
            assert!(
                !stderr.contains("Docker Engine"),
                "{leaf} {args:?}: {stderr}"
            );
            assert_eq!(
                files_under(&target),
                [target.join("precious.txt").display().to_string()],
                "{leaf} {args:?}"
            );
        }
    }
}

/// Finding 11: `auth import-env --rewrite-env` on a symbolic link replaced the link with a regular
/// file, leaving the passwords in the link's target while saying they were gone. Refused before
/// the keyring is written, naming the real file, which can then be given.
#[test]
fn keyring_import_env_does_not_rewrite_a_linked_dotenv() {
    let Some(ss) = crate::keyring::SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let real = sb.path().join("seed.env");
    let original = "KESTRA_BASICAUTH_PASSWORD=Seed-Passw0rd-1\nKESTRA_DB_PASSWORD=Db-Passw0rd-1\n";
    std::fs::write(&real, original).unwrap();
    let link = sb.workdir().join(".env");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    let out = cmd
        .args(["auth", "import-env", "--rewrite-env"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(".env is a symbolic link"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    let canonical = std::fs::canonicalize(&real).unwrap();
    assert!(
        stderr.contains(&format!("--file {}", canonical.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("Passw0rd"), "leaked: {stderr}");
    assert_eq!(ss.count(), 0, "the keyring was written");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), original);
    assert_eq!(files_under(&sb.workdir()), [link.display().to_string()]);

    // The real file, named, is rewritten in place.
    let mut cmd = sb.cmd();
    ss.apply(&mut cmd);
    cmd.args(["auth", "import-env", "--rewrite-env", "--file"])
        .arg(&canonical)
        .ran()
        .code(0);
    assert_eq!(ss.count(), 2);
    assert!(!std::fs::read_to_string(&real).unwrap().contains("Passw0rd"));
}

/// Finding 10: relative storage and work folders in a `.env` (named `./.env`) became relative
/// bind sources — a named volume to Docker — while `stop --volumes` emptied a host folder. They
/// are taken from the `.env`'s own folder, absolute.
#[test]
fn relative_folders_of_a_dotenv_become_absolute_bind_sources() {
    let sb = Sandbox::new();
    sb.write_dotenv("KESTRA_STORAGE_DIR=./store\nKESTRA_WORKDIR_DIR=wd\n");
    let out = sb
        .cmd()
        .env("KESTRACTL_DATA_DIR", sb.path().join("data"))
        .arg("compose")
        .ran()
        .code(0);
    let compose = text(&out.stdout);
    let work = sb.workdir();
    for leaf in ["store", "wd"] {
        let source = format!("source: {}", work.join(leaf).display());
        assert!(compose.contains(&source), "{source} not in:\n{compose}");
    }
    for line in compose
        .lines()
        .filter(|l| l.trim_start().starts_with("source:"))
    {
        let path = line.trim_start().trim_start_matches("source:").trim();
        assert!(path.starts_with('/'), "a relative bind source: {line}");
    }
}
