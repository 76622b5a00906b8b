//! `kestractl nsfiles`: a namespace's files through the real binary against the emulator, both
//! versions.

use std::path::Path;

use kestra_emulator::KestraVersion;

use crate::common::*;

const VERSIONS: [KestraVersion; 2] = [KestraVersion::V1_3, KestraVersion::V2_0];

/// Writes requests (uploads and deletions of namespace files) the emulator received so far.
fn file_writes(emu: &Emu) -> usize {
    emu.control()
        .requests()
        .iter()
        .filter(|r| (r.method == "POST" || r.method == "DELETE") && r.path.ends_with("/files"))
        .count()
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A tree with text, binary, nested and awkward names.
fn tree(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let files: Vec<(&'static str, Vec<u8>)> = vec![
        ("etl.py", b"print('hi')\n".to_vec()),
        ("queries/daily.sql", b"select 1;\n".to_vec()),
        ("queries/deep/er/x.sql", b"select 2;\n".to_vec()),
        ("model.bin", (0..=255u8).cycle().take(70_000).collect()),
        // Kestra extracts an upload whose file name ends in .zip: this one must stay a file.
        ("bundle.zip", b"PK\x03\x04 not really a zip".to_vec()),
        ("my report.txt", b"spaces\n".to_vec()),
    ];
    for (rel, bytes) in &files {
        write(root, rel, bytes);
    }
    write(root, ".git/HEAD", b"hidden");
    files
}

fn push_json(sb: &Sandbox, emu: &Emu, ns: &str, dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["nsfiles", "push", ns, dir.to_str().unwrap(), "-o", "json"];
    args.extend_from_slice(extra);
    stdout_json(&sb.cmd_for(emu).args(&args).ran().code(0))
}

#[test]
fn push_a_tree_then_again_unchanged_then_changed() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("files");
        let files = tree(&dir);

        let first = push_json(&sb, &emu, "nf.test", &dir, &[]);
        assert_eq!(first["summary"]["created"], 6, "{version}: {first}");
        assert_eq!(file_writes(&emu), 6);
        let paths: Vec<&str> = first["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&"/my+report.txt"), "{paths:?}");
        assert!(!paths.iter().any(|p| p.contains(".git")));

        // Listed as stored, and read back byte for byte (the binary one too, piped).
        let listed = stdout_json(
            &sb.cmd_for(&emu)
                .args(["nsfiles", "list", "nf.test", "-o", "json"])
                .ran()
                .code(0),
        );
        assert_eq!(listed.as_array().unwrap().len(), 6, "{version}: {listed}");
        for (rel, bytes) in &files {
            let got = sb
                .cmd_for(&emu)
                .args(["nsfiles", "get", "nf.test", rel])
                .ran()
                .code(0);
            assert_eq!(&got.stdout, bytes, "{version}: {rel}");
        }
        let sub = sb
            .cmd_for(&emu)
            .args(["nsfiles", "ls", "nf.test", "queries", "-q"])
            .ran()
            .code(0);
        assert_eq!(
            text(&sub.stdout),
            "/queries/daily.sql\n/queries/deep/er/x.sql\n"
        );

        // Unchanged: nothing written (same sizes are read back and compared).
        let again = push_json(&sb, &emu, "nf.test", &dir, &[]);
        assert_eq!(again["summary"]["unchanged"], 6, "{version}: {again}");
        assert_eq!(file_writes(&emu), 6, "{version}: an unchanged push wrote");

        // Same size, other bytes; another size; a new file.
        write(&dir, "etl.py", b"print('HI')\n");
        write(&dir, "queries/daily.sql", b"select 10;\n");
        write(&dir, "new/one.txt", b"1");
        let third = push_json(&sb, &emu, "nf.test", &dir, &[]);
        let s = &third["summary"];
        assert_eq!(
            (
                s["created"].as_u64(),
                s["updated"].as_u64(),
                s["unchanged"].as_u64()
            ),
            (Some(1), Some(2), Some(4)),
            "{version}: {third}"
        );
        assert_eq!(file_writes(&emu), 9);
        let got = sb
            .cmd_for(&emu)
            .args(["nsfiles", "get", "nf.test", "/etl.py"])
            .ran()
            .code(0);
        assert_eq!(got.stdout, b"print('HI')\n");

        // A table for people, the totals last.
        write(&dir, "etl.py", b"print('changed again')\n");
        let table = sb
            .cmd_for(&emu)
            .args(["nsfiles", "push", "nf.test", dir.to_str().unwrap()])
            .ran()
            .code(0);
        let out = text(&table.stdout);
        assert!(out.contains("etl.py\t/etl.py\tupdated"), "{out}");
        assert!(
            text(&table.stderr)
                .contains("nf.test: 0 created, 1 updated, 6 unchanged, 0 deleted, 0 failed")
        );
    }
}

#[test]
fn prune_is_scoped_confirmed_and_dry_run_writes_nothing() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("files");
        write(&dir, "keep.sql", b"k");
        write(&dir, "old/gone.sql", b"g");
        push_json(&sb, &emu, "nf.prune", &dir, &[]);
        // Another namespace's files are never touched by this one's prune.
        let other = sb.path().join("other");
        write(&other, "gone.sql", b"other");
        push_json(&sb, &emu, "nf.other", &other, &[]);
        std::fs::remove_dir_all(dir.join("old")).unwrap();
        let writes = file_writes(&emu);

        let plan = push_json(&sb, &emu, "nf.prune", &dir, &["--prune", "--dry-run"]);
        assert_eq!(plan["summary"]["deleted"], 1, "{version}: {plan}");
        assert_eq!(plan["dryRun"], true);
        sb.cmd_for(&emu)
            .args([
                "nsfiles",
                "push",
                "nf.prune",
                dir.to_str().unwrap(),
                "--prune",
            ])
            .ran()
            .code(2)
            .says("/old/gone.sql")
            .says("nothing was written or deleted");
        assert_eq!(
            file_writes(&emu),
            writes,
            "{version}: a refused prune wrote"
        );

        let done = push_json(&sb, &emu, "nf.prune", &dir, &["--prune", "--yes"]);
        assert_eq!(done["summary"]["deleted"], 1, "{version}: {done}");
        let left = stdout_json(
            &sb.cmd_for(&emu)
                .args(["nsfiles", "list", "nf.prune", "-o", "json"])
                .ran()
                .code(0),
        );
        assert_eq!(left.as_array().unwrap().len(), 1);
        assert_eq!(left[0]["path"], "/keep.sql");
        let theirs = sb
            .cmd_for(&emu)
            .args(["nsfiles", "get", "nf.other", "gone.sql"])
            .ran()
            .code(0);
        assert_eq!(theirs.stdout, b"other");
    }
}

#[test]
fn refusals_say_why_and_change_nothing() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("files");
        write(&dir, "a.sql", b"a");
        write(&dir, "scripts/b.py", b"b");
        write(&dir, "scripts/c.py", b"c");
        push_json(&sb, &emu, "nf.bad", &dir, &[]);
        let writes = file_writes(&emu);

        let flows = sb.path().join("with-flows");
        write(&flows, "_flows/f.yml", b"id: f\n");
        sb.cmd_for(&emu)
            .args(["nsfiles", "push", "nf.bad", flows.to_str().unwrap()])
            .ran()
            .code(5)
            .says("_flows");
        let clash = sb.path().join("clash");
        write(&clash, "a b.txt", b"1");
        write(&clash, "a+b.txt", b"2");
        sb.cmd_for(&emu)
            .args(["nsfiles", "push", "nf.bad", clash.to_str().unwrap()])
            .ran()
            .code(5)
            .says("would both be stored as /a+b.txt");
        sb.cmd_for(&emu)
            .args(["nsfiles", "push", "nf.bad", "/nonexistent/dir"])
            .ran()
            .code(2)
            .says("does not exist");
        sb.cmd_for(&emu)
            .args(["nsfiles", "push", "bad ns!", dir.to_str().unwrap()])
            .ran()
            .code(2);
        sb.cmd_for(&emu)
            .args(["nsfiles", "get", "nf.bad", "nope.sql"])
            .ran()
            .code(3)
            .says("there is no /nope.sql in namespace nf.bad");
        sb.cmd_for(&emu)
            .args(["nsfiles", "get", "nf.bad", "scripts"])
            .ran()
            .code(2)
            .says("is a folder");
        sb.cmd_for(&emu)
            .args(["nsfiles", "delete", "nf.bad", "nope.sql", "--yes"])
            .ran()
            .code(3)
            .says("there is no /nope.sql");
        sb.cmd_for(&emu)
            .args(["nsfiles", "delete", "nf.bad", "scripts"])
            .ran()
            .code(2)
            .says("nothing was deleted");
        sb.cmd_for(&emu)
            .args(["nsfiles", "delete", "nf.bad", "/", "--yes"])
            .ran()
            .code(2);
        assert_eq!(file_writes(&emu), writes, "{version}: a refusal wrote");

        sb.cmd_for(&emu)
            .args(["nsfiles", "rm", "nf.bad", "scripts", "--yes"])
            .ran()
            .code(0)
            .says("Deleted folder /scripts of nf.bad and the 2 files under it");
        let left = stdout_json(
            &sb.cmd_for(&emu)
                .args(["nsfiles", "list", "nf.bad", "-o", "json"])
                .ran()
                .code(0),
        );
        assert_eq!(left.as_array().unwrap().len(), 1, "{version}: {left}");
        let empty = sb
            .cmd_for(&emu)
            .args(["nsfiles", "list", "nf.none"])
            .ran()
            .code(0);
        assert!(text(&empty.stderr).contains("no files in namespace nf.none"));
    }
}

#[test]
fn the_emulator_refuses_what_kestra_refuses() {
    // What kestractl never sends, checked on the emulator: the content route produces only
    // octet-stream (JSON Accept: 406), `_flows` is forbidden (422), and an upload whose file name
    // ends in .zip is extracted.
    let emu = emulator(KestraVersion::V1_3);
    emu.expect_refusals();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("{}/api/v1/main/namespaces/nf.raw/files", emu.api_url());
    let (accept_json, forbidden, extracted) = rt.block_on(async {
        let c = reqwest::Client::new();
        let zip = {
            let mut buf = std::io::Cursor::new(Vec::new());
            let mut w = zip::ZipWriter::new(&mut buf);
            w.start_file("inside/x.txt", zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, b"x").unwrap();
            w.finish().unwrap();
            buf.into_inner()
        };
        let form = reqwest::multipart::Form::new().part(
            "fileContent",
            reqwest::multipart::Part::bytes(zip).file_name("b.zip"),
        );
        c.post(format!("{base}?path=/ignored.zip"))
            .basic_auth(USER, Some(PASSWORD))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let accept = c
            .get(format!("{base}?path=/inside/x.txt"))
            .basic_auth(USER, Some(PASSWORD))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let forbidden = c
            .get(format!("{base}/directory?path=/_flows"))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        let extracted = c
            .get(format!("{base}?path=/inside/x.txt"))
            .basic_auth(USER, Some(PASSWORD))
            .header("accept", "application/octet-stream")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (
            accept,
            (forbidden.status().as_u16(), forbidden.text().await.unwrap()),
            extracted,
        )
    });
    assert_eq!(accept_json, 406);
    assert_eq!(forbidden.0, 422);
    assert!(
        forbidden.1.contains("Forbidden path: /_flows"),
        "{}",
        forbidden.1
    );
    assert_eq!(extracted, 200);
}

#[test]
fn a_flow_deploy_ships_each_namespaces_files_folder() {
    let flow = |ns: &str, id: &str| {
        format!(
            "id: {id}\nnamespace: {ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
        )
    };
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let root = sb.path().join("repo");
        write(&root, "team/hello.yml", flow("nf.team", "hello").as_bytes());
        write(&root, "team/_files/scripts/etl.py", b"print(1)\n");
        // YAML under _files is a namespace file, not a flow.
        write(&root, "team/_files/conf.yml", b"not: a flow\n");
        write(&root, "other/x.yml", flow("nf.other", "x").as_bytes());
        let deploy = |extra: &[&str]| {
            let mut args = vec!["flows", "deploy", root.to_str().unwrap(), "-o", "json"];
            args.extend_from_slice(extra);
            stdout_json(&sb.cmd_for(&emu).args(&args).ran().code(0))
        };

        let first = deploy(&[]);
        assert_eq!(first["summary"]["created"], 2, "{version}: {first}");
        let files = &first["files"];
        assert_eq!(files.as_array().unwrap().len(), 1, "{version}: {first}");
        assert_eq!(files[0]["namespace"], "nf.team");
        assert_eq!(files[0]["summary"]["created"], 2);
        let got = sb
            .cmd_for(&emu)
            .args(["nsfiles", "get", "nf.team", "scripts/etl.py"])
            .ran()
            .code(0);
        assert_eq!(got.stdout, b"print(1)\n");
        let writes = file_writes(&emu);

        let again = deploy(&[]);
        assert_eq!(
            again["files"][0]["summary"]["unchanged"], 2,
            "{version}: {again}"
        );
        assert_eq!(
            file_writes(&emu),
            writes,
            "{version}: an unchanged deploy wrote files"
        );

        sb.cmd_for(&emu)
            .args(["flows", "diff", root.to_str().unwrap()])
            .ran()
            .code(0);
        write(&root, "team/_files/scripts/etl.py", b"print(2)\n");
        // A CI gate on `flows diff` sees a pending namespace-file change too.
        let gate = sb
            .cmd_for(&emu)
            .args(["flows", "diff", root.to_str().unwrap(), "-o", "json"])
            .ran()
            .code(8);
        let gate = stdout_json(&gate);
        assert_eq!(gate["pending"], 1, "{version}: {gate}");
        assert_eq!(gate["fileChanges"][0]["path"], "/scripts/etl.py");
        assert_eq!(gate["fileChanges"][0]["action"], "update");
        sb.cmd_for(&emu)
            .args(["flows", "diff", root.to_str().unwrap()])
            .ran()
            .code(8)
            .says("1 namespace file to write or delete");
        assert_eq!(file_writes(&emu), writes, "{version}: a diff wrote files");
        let plan = deploy(&["--dry-run"]);
        assert_eq!(
            plan["files"][0]["summary"]["updated"], 1,
            "{version}: {plan}"
        );
        assert_eq!(
            file_writes(&emu),
            writes,
            "{version}: a dry run wrote files"
        );

        // A _files folder nobody claims stops the whole deploy before anything is written.
        write(&root, "loose/_files/q.sql", b"select 1");
        write(&root, "team/new.yml", flow("nf.team", "new").as_bytes());
        sb.cmd_for(&emu)
            .args(["flows", "deploy", root.to_str().unwrap()])
            .ran()
            .code(5)
            .says("loose/_files/: no flow beside it");
        assert_eq!(file_writes(&emu), writes);
        sb.cmd_for(&emu)
            .args(["flows", "get", "nf.team/new"])
            .ran()
            .code(3);
    }
}

/// Requests for one file's content (`GET …/files?path=`) and for the namespace's export.
fn content_reads(emu: &Emu) -> (usize, usize) {
    let reqs = emu.control().requests();
    let get = |suffix: &str| {
        reqs.iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(suffix))
            .count()
    };
    (get("/files"), get("/files/export"))
}

#[test]
fn a_many_file_re_push_compares_against_one_export() {
    let flow = "id: beside\nnamespace: nf.many\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n";
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("files");
        for i in 0..20 {
            write(
                &dir,
                &format!("d{}/f{i}.txt", i % 3),
                format!("file {i:02}\n").as_bytes(),
            );
        }
        // A flow of the namespace: the export carries it under _flows/, which is not a file.
        let flows = sb.path().join("flows");
        write(&flows, "beside.yml", flow.as_bytes());
        sb.cmd_for(&emu)
            .args(["flows", "deploy", flows.to_str().unwrap()])
            .ran()
            .code(0);
        let first = push_json(&sb, &emu, "nf.many", &dir, &[]);
        assert_eq!(first["summary"]["created"], 20, "{version}: {first}");

        emu.control().clear_requests();
        let again = push_json(&sb, &emu, "nf.many", &dir, &["--prune", "--yes"]);
        assert_eq!(again["summary"]["unchanged"], 20, "{version}: {again}");
        assert_eq!(again["summary"]["deleted"], 0, "{version}: {again}");
        assert_eq!(file_writes(&emu), 0, "{version}: an unchanged push wrote");
        assert_eq!(
            content_reads(&emu),
            (0, 1),
            "{version}: the copies are compared from one export, not read one by one"
        );

        // Same size, other bytes: found in the export and rewritten; the rest untouched.
        write(&dir, "d1/f7.txt", b"FILE 07\n");
        emu.control().clear_requests();
        let third = push_json(&sb, &emu, "nf.many", &dir, &[]);
        let s = &third["summary"];
        assert_eq!(
            (s["updated"].as_u64(), s["unchanged"].as_u64()),
            (Some(1), Some(19)),
            "{version}: {third}"
        );
        assert_eq!(file_writes(&emu), 1);
        let got = sb
            .cmd_for(&emu)
            .args(["nsfiles", "get", "nf.many", "d1/f7.txt"])
            .ran()
            .code(0);
        assert_eq!(got.stdout, b"FILE 07\n");
        // The flow beside the files is still there.
        sb.cmd_for(&emu)
            .args(["flows", "get", "nf.many", "beside"])
            .ran()
            .code(0);
    }
}
