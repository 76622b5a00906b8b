//! `kestractl flows …` against the emulator in both API versions, with Kestra's own flow corpus:
//! deploy, unchanged redeploys that write nothing, invalid input that writes nothing, byte-exact
//! sources, prune safety, export round trips.

use std::path::{Path, PathBuf};

use kestra_emulator::{BackgroundEmulator, KestraVersion, RecordedRequest};

use crate::common::*;

fn corpus(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kestra/flows")
        .join(kind)
}

/// Files of the valid corpus that current Kestra refuses, per version.
fn rejected_valids(version: KestraVersion) -> Vec<&'static str> {
    // `pause` is a reserved id since 1.0; `taskDefaults` is gone in 2.0.
    match version {
        KestraVersion::V1_3 => vec!["pause.yaml"],
        KestraVersion::V2_0 | KestraVersion::V2_1Dev => vec!["pause.yaml", "logs.yaml"],
    }
}

fn copy_corpus(to: &Path, skip: &[&str]) -> usize {
    std::fs::create_dir_all(to).unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(corpus("valids")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if skip.contains(&name.as_str()) {
            continue;
        }
        std::fs::copy(entry.path(), to.join(&name)).unwrap();
        n += 1;
    }
    n
}

fn is_write(r: &RecordedRequest) -> bool {
    matches!(r.method.as_str(), "POST" | "PUT" | "DELETE") && !r.path.ends_with("/flows/validate")
}

fn writes(emu: &BackgroundEmulator) -> Vec<String> {
    emu.control()
        .requests()
        .iter()
        .filter(|r| is_write(r))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn flow_source(sb: &Sandbox, emu: &BackgroundEmulator, ns: &str, id: &str) -> Option<String> {
    let out = sb
        .cmd_for(emu)
        .args(["flows", "get", ns, id])
        .output()
        .unwrap();
    out.status.success().then(|| text(&out.stdout))
}

#[test]
fn the_valid_corpus_deploys_and_an_unchanged_redeploy_writes_nothing() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("flows");
        let n = copy_corpus(&dir, &rejected_valids(version));
        let out = deploy_json(&sb, &emu, &dir);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{version:?}: {}",
            text(&out.stderr)
        );
        let json = stdout_json(&out);
        assert_eq!(json["summary"]["created"], n, "{version:?}");
        assert_eq!(json["summary"]["failed"], 0);
        assert_eq!(writes(&emu).len(), n);
        // Sources are stored byte-for-byte.
        let minimal = std::fs::read_to_string(dir.join("minimal.yaml")).unwrap();
        assert_eq!(
            flow_source(&sb, &emu, "io.kestra.tests", "minimal").unwrap(),
            minimal
        );

        // Redeploy: every flow unchanged, zero write requests, revisions unmoved.
        emu.control().clear_requests();
        let out = deploy_json(&sb, &emu, &dir);
        out.assert_code(0);
        let json = stdout_json(&out);
        assert_eq!(json["summary"]["unchanged"], n);
        assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));
        // Reads grow with namespaces, not flows: one configs probe and two per namespace; nothing
        // is written, so nothing is sent to be validated.
        let namespaces = {
            let mut set: Vec<String> = json["plan"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["namespace"].as_str().unwrap().to_string())
                .collect();
            set.sort();
            set.dedup();
            set.len()
        };
        let requests = emu.control().requests().len();
        assert_eq!(requests, 1 + 2 * namespaces, "{version:?}");
    }
}

fn validate_requests(emu: &BackgroundEmulator) -> usize {
    emu.control()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/flows/validate"))
        .count()
}

/// The server validates what a deploy writes, never an unchanged flow (the server's own copy
/// already): a change the server refuses still stops the deploy before its first write.
#[test]
fn a_redeploy_validates_only_what_it_writes() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    std::fs::create_dir_all(&dir).unwrap();
    let minimal = std::fs::read_to_string(corpus("valids").join("minimal.yaml")).unwrap();
    std::fs::write(dir.join("minimal.yaml"), &minimal).unwrap();
    std::fs::write(
        dir.join("other.yaml"),
        "id: other\nnamespace: io.kestra.tests\ntasks:\n- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n",
    )
    .unwrap();
    let deploy = |code: i32| {
        sb.cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap()])
            .ran()
            .code(code)
    };
    deploy(0);
    assert_eq!(validate_requests(&emu), 1);

    emu.control().clear_requests();
    deploy(0);
    assert_eq!(validate_requests(&emu), 0, "{:?}", emu.control().requests());

    // An update Kestra 2.0 refuses (`taskDefaults` is gone): validated, refused, nothing written.
    std::fs::write(
        dir.join("minimal.yaml"),
        format!(
            "{minimal}taskDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values:\n      message: x\n"
        ),
    )
    .unwrap();
    emu.control().clear_requests();
    let out = deploy(5);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("minimal.yaml"), "{stderr}");
    assert!(stderr.contains("taskDefaults"), "{stderr}");
    assert!(stderr.contains("nothing was deployed"), "{stderr}");
    assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));
    assert_eq!(validate_requests(&emu), 1);
}

#[test]
fn one_rejected_file_means_nothing_is_written() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("flows");
        copy_corpus(&dir, &[]);
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap()])
            .ran()
            .code(5);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("pause.yaml:1: id `pause` is reserved"),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was deployed"), "{stderr}");
        // A local problem stops everything before the first write; the server checks the rest
        // in the same pass, read-only.
        assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));
        assert!(
            emu.control()
                .requests()
                .iter()
                .all(|r| r.method == "GET" || r.path.ends_with("/flows/validate")),
            "{:?}",
            emu.control().requests()
        );
        if version == KestraVersion::V2_0 {
            std::fs::remove_file(dir.join("pause.yaml")).unwrap();
            let out = sb
                .cmd_for(&emu)
                .args(["flows", "deploy", dir.to_str().unwrap()])
                .ran()
                .code(5);
            let stderr = text(&out.stderr);
            // At the line of the key Kestra names, not the flow's first line.
            assert!(stderr.contains("logs.yaml:8: Kestra:"), "{stderr}");
            assert!(stderr.contains("taskDefaults"), "{stderr}");
            assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));
        }
    }
}

#[test]
fn every_invalid_corpus_file_that_is_rejected_writes_nothing() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let mut rejected = Vec::new();
        let mut accepted = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(corpus("invalids"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let out = sb
                .cmd_for(&emu)
                .args(["flows", "deploy", file.to_str().unwrap()])
                .output()
                .unwrap();
            match out.status.code() {
                Some(5) => {
                    let stderr = text(&out.stderr);
                    assert!(
                        stderr.contains(&format!("{}:", file.display())) || stderr.contains(&name),
                        "{name}: {stderr}"
                    );
                    rejected.push(name);
                }
                Some(0) => accepted.push(name),
                other => panic!("{name}: unexpected exit {other:?}: {}", text(&out.stderr)),
            }
        }
        assert!(
            writes(&emu)
                .iter()
                .all(|w| !accepted.is_empty() || w.is_empty())
        );
        // Only what was accepted was written.
        assert_eq!(
            writes(&emu).len(),
            accepted.len(),
            "{version:?}: {:?}",
            writes(&emu)
        );
        // Most of Kestra's invalid corpus needs no plugin knowledge to reject.
        assert!(
            rejected.len() >= 12,
            "{version:?}: only {} rejected; accepted: {accepted:?}",
            rejected.len()
        );
    }
}

#[test]
fn a_dashed_description_crlf_and_multi_document_files_survive_byte_for_byte() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("flows");
        std::fs::create_dir_all(&dir).unwrap();
        let dashed = "id: dashed\nnamespace: bytes.test\ndescription: |\n  Before the rule\n  ---\n  After the rule\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: \"--- not a separator ---\"\n";
        let crlf = "id: crlf\r\nnamespace: bytes.test\r\ntasks:\r\n  - id: hello\r\n    type: io.kestra.plugin.core.log.Log\r\n    message: hi\r\n";
        let second = "id: second\nnamespace: bytes.other\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: two\n";
        std::fs::write(dir.join("dashed.yml"), dashed).unwrap();
        std::fs::write(dir.join("crlf.yaml"), format!("\u{feff}{crlf}")).unwrap();
        std::fs::write(
            dir.join("multi.yml"),
            format!("{dashed}---\n{second}").replace("id: dashed", "id: dashed2"),
        )
        .unwrap();
        sb.cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap()])
            .ran()
            .code(0);
        assert_eq!(
            flow_source(&sb, &emu, "bytes.test", "dashed").unwrap(),
            dashed
        );
        assert_eq!(flow_source(&sb, &emu, "bytes.test", "crlf").unwrap(), crlf);
        assert_eq!(
            flow_source(&sb, &emu, "bytes.other", "second").unwrap(),
            second
        );
        assert_eq!(
            flow_source(&sb, &emu, "bytes.test", "dashed2").unwrap(),
            dashed.replace("id: dashed", "id: dashed2")
        );
    }
}

#[test]
fn prune_is_confined_to_deployed_namespaces_and_asks_first() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let setup = sb.path().join("setup");
        let flow = |ns: &str, id: &str| {
            format!(
                "id: {id}\nnamespace: {ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {id}\n"
            )
        };
        std::fs::create_dir_all(&setup).unwrap();
        for (ns, id) in [
            ("team.a", "keep"),
            ("team.a", "stale"),
            ("team.a.child", "child"),
            ("team.b", "other"),
            ("system", "sys"),
        ] {
            std::fs::write(setup.join(format!("{ns}-{id}.yml")), flow(ns, id)).unwrap();
        }
        sb.cmd_for(&emu)
            .args(["flows", "deploy", setup.to_str().unwrap()])
            .assert()
            .success();

        let dir = sb.path().join("flows");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep.yml"), flow("team.a", "keep")).unwrap();
        std::fs::write(dir.join("new.yml"), flow("team.a", "new")).unwrap();
        std::fs::write(dir.join("mine.yml"), flow("system", "mine")).unwrap();

        // Without a terminal and without --yes: refused, nothing written at all.
        emu.control().clear_requests();
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap(), "--prune"])
            .ran()
            .code(2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("team.a/stale"), "{stderr}");
        assert!(!stderr.contains("team.a.child/child"), "{stderr}");
        assert!(stderr.contains("--yes"), "{stderr}");
        assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));

        // The dry run shows the same plan and writes nothing.
        let out = sb
            .cmd_for(&emu)
            .args([
                "flows",
                "deploy",
                dir.to_str().unwrap(),
                "--prune",
                "--dry-run",
                "-o",
                "json",
            ])
            .ran()
            .code(0);
        let json = stdout_json(&out);
        assert_eq!(json["dryRun"], true);
        assert_eq!(json["summary"]["deleted"], 1);
        assert!(writes(&emu).is_empty());

        // With --yes: exactly team.a/stale goes; other namespaces, children and system stay.
        sb.cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap(), "--prune", "--yes"])
            .ran()
            .code(0);
        let deletes: Vec<String> = writes(&emu)
            .into_iter()
            .filter(|w| w.starts_with("DELETE"))
            .collect();
        assert_eq!(deletes, ["DELETE /api/v1/main/flows/team.a/stale"]);
        for (ns, id) in [
            ("team.a.child", "child"),
            ("team.b", "other"),
            ("system", "sys"),
            ("system", "mine"),
            ("team.a", "new"),
        ] {
            assert!(
                flow_source(&sb, &emu, ns, id).is_some(),
                "{ns}/{id} must exist"
            );
        }
        assert!(flow_source(&sb, &emu, "team.a", "stale").is_none());
    }
}

#[test]
fn export_then_deploy_round_trips_unchanged() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("flows");
        copy_corpus(&dir, &rejected_valids(version));
        sb.cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap()])
            .assert()
            .success();
        let exported = sb.path().join("exported");
        sb.cmd_for(&emu)
            .args(["flows", "export", exported.to_str().unwrap()])
            .ran()
            .code(0);
        assert!(exported.join("io.kestra.tests/minimal.yml").exists());
        emu.control().clear_requests();
        let out = deploy_json(&sb, &emu, &exported);
        out.assert_code(0);
        let json = stdout_json(&out);
        assert_eq!(json["summary"]["created"], 0);
        assert_eq!(json["summary"]["updated"], 0);
        assert!(writes(&emu).is_empty());
        // A second export into the same folder writes nothing; a changed file is not overwritten.
        let minimal = exported.join("io.kestra.tests/minimal.yml");
        std::fs::write(&minimal, "changed\n").unwrap();
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "export", exported.to_str().unwrap()])
            .ran()
            .code(2);
        assert!(text(&out.stderr).contains("--overwrite"));
        assert_eq!(std::fs::read_to_string(&minimal).unwrap(), "changed\n");
    }
}

#[test]
fn local_errors_are_listed_with_positions_and_the_server_is_not_called() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("ok.yml"), "id: ok\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n").unwrap();
    std::fs::write(
        dir.join("syntax.yml"),
        "id: a\nnamespace: n\ntasks:\n  - id: t\n   type: x\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sub/dup.yml"),
        "id: ok\nnamespace: n\ntasks: [x]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.yaml"),
        "id: Bad Id\nnamespace: Team\ntasks: []\n",
    )
    .unwrap();
    std::fs::write(dir.join("binary.yml"), [0xffu8, 0xfe, 0x00, 0x41]).unwrap();
    std::fs::write(dir.join(".hidden.yml"), "not: [valid").unwrap();
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "deploy", dir.to_str().unwrap()])
        .ran()
        .code(5);
    let stderr = text(&out.stderr);
    for needle in [
        "syntax.yml:5:",
        "sub/dup.yml:1: flow n/ok is also defined in ok.yml:1",
        // Each at the line of the key it is about.
        "bad.yaml:1: id `Bad Id` is not valid",
        "bad.yaml:2: namespace `Team` is not valid",
        "bad.yaml:3: `tasks` is empty",
        "binary.yml: not UTF-8 text",
        "6 problems in the flow files; nothing was deployed",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    assert!(!stderr.contains(".hidden.yml"), "{stderr}");
    // Grouped by file, in line order.
    let at = |needle: &str| stderr.find(needle).unwrap();
    assert!(at("bad.yaml:1:") < at("bad.yaml:2:") && at("bad.yaml:2:") < at("binary.yml"));
    // One pass: the flows that loaded are checked on the server too (read-only).
    assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));

    let out = sb
        .cmd_for(&emu)
        .args(["flows", "validate", dir.to_str().unwrap(), "-o", "json"])
        .ran()
        .code(5);
    let rows = stdout_json(&out);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "ok" && r["valid"] == true)
    );
}

#[test]
fn namespace_override_wrong_password_and_missing_folder() {
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    let dir = sb.path().join("flows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yml"), "id: a\nnamespace: dev.team # owner\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n").unwrap();
    sb.cmd_for(&emu)
        .args([
            "flows",
            "deploy",
            dir.to_str().unwrap(),
            "--namespace",
            "prod.team",
        ])
        .ran()
        .code(0);
    assert_eq!(
        flow_source(&sb, &emu, "prod.team", "a").unwrap(),
        "id: a\nnamespace: prod.team # owner\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
    );
    sb.cmd_for(&emu)
        .env("KESTRACTL_PASSWORD", "wrong-password")
        .args(["flows", "deploy", dir.to_str().unwrap()])
        .ran()
        .code(4);
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "deploy", sb.path().join("nope").to_str().unwrap()])
        .ran()
        .code(2);
    assert!(text(&out.stderr).contains("does not exist"));
}

#[test]
fn get_delete_and_list() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("flows");
        std::fs::create_dir_all(&dir).unwrap();
        for (ns, id) in [("acme", "one"), ("acme.sub", "two"), ("other", "three")] {
            std::fs::write(
                dir.join(format!("{id}.yml")),
                format!("id: {id}\nnamespace: {ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"),
            )
            .unwrap();
        }
        sb.cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap()])
            .assert()
            .success();
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "list", "acme"])
            .ran()
            .code(0);
        let lines: Vec<String> = text(&out.stdout)
            .lines()
            .map(|l| l.split('\t').take(2).collect::<Vec<_>>().join("/"))
            .collect();
        assert_eq!(lines, ["acme/one", "acme.sub/two"]);
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "list", "-o", "jsonl"])
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout).lines().count(), 3);

        let out = sb
            .cmd_for(&emu)
            .args(["flows", "get", "acme", "one", "-o", "json"])
            .output()
            .unwrap();
        assert_eq!(stdout_json(&out)["id"], "one");
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "get", "acme", "nope"])
            .ran()
            .code(3);
        assert!(text(&out.stderr).contains("there is no flow acme/nope"));

        // delete asks; without a terminal it needs --yes, and refuses otherwise.
        sb.cmd_for(&emu)
            .args(["flows", "delete", "acme", "one"])
            .ran()
            .code(2);
        assert!(flow_source(&sb, &emu, "acme", "one").is_some());
        sb.cmd_for(&emu)
            .args(["flows", "delete", "acme", "one", "--yes"])
            .assert()
            .success();
        assert!(flow_source(&sb, &emu, "acme", "one").is_none());
        sb.cmd_for(&emu)
            .args(["flows", "delete", "acme", "one", "--yes"])
            .ran()
            .code(3);
    }
}

/// Kestra splits a YAML validation body on `\n+---\n*?` after trimming it, so a column-0 line
/// starting with `---` inside a document (here a top-level key `---x`, which is no document
/// marker to YAML) would split one flow in two and shift every result after it onto the wrong
/// file. Each document goes as its own multipart file and results come back by file name: the
/// problem is blamed on the file that has it, and nothing is written.
#[test]
fn a_separator_inside_a_document_is_blamed_on_the_right_file() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = sb.path().join("flows");
        std::fs::create_dir_all(&dir).unwrap();
        let flow = |id: &str, extra: &str| {
            format!(
                "id: {id}\nnamespace: blame.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n{extra}"
            )
        };
        std::fs::write(dir.join("a.yml"), flow("a", "")).unwrap();
        std::fs::write(dir.join("b.yml"), flow("b", "---x: 1\n")).unwrap();
        std::fs::write(dir.join("c.yml"), flow("c", "")).unwrap();
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "deploy", &dir.display().to_string()])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{version}: {stderr}");
        // At the offending key's line (7), in the right file (said once, by the local check
        // that knows Kestra's flow properties).
        assert!(
            stderr.contains("b.yml:7:1: `---x` is not a flow property Kestra knows"),
            "{version}: {stderr}"
        );
        assert!(
            !stderr.contains("Unrecognized field"),
            "{version}: {stderr}"
        );
        assert!(!stderr.contains("a.yml:"), "{version}: {stderr}");
        assert!(!stderr.contains("c.yml:"), "{version}: {stderr}");
        assert!(writes(&emu).is_empty());
        // The validation went as one multipart request.
        let validate: Vec<_> = emu
            .control()
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/flows/validate"))
            .collect();
        assert_eq!(validate.len(), 1);
        assert!(
            validate[0]
                .headers
                .iter()
                .any(|(k, v)| k == "content-type" && v.starts_with("multipart/form-data")),
            "{:?}",
            validate[0].headers
        );
    }
}

/// In a CI log (stderr piped) the deploy ends with its totals, the last counter line is the final
/// count (never a stale `writing flows: 0/N`), and `-v` lines carry no colour escapes.
#[test]
fn a_piped_deploy_ends_its_log_with_the_totals() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    let dir = sb.path().join("ci-flows");
    std::fs::create_dir_all(&dir).unwrap();
    for id in ["a", "b", "c"] {
        std::fs::write(
            dir.join(format!("{id}.yml")),
            format!("id: {id}\nnamespace: ci.log\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"),
        )
        .unwrap();
    }
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "deploy", dir.to_str().unwrap(), "-v"])
        .ran()
        .code(0);
    let err = text(&out.stderr);
    assert_eq!(
        err.lines().last(),
        Some("3 created, 0 updated, 0 unchanged, 0 deleted, 0 failed"),
        "{err}"
    );
    let counters: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("writing flows"))
        .collect();
    assert_eq!(counters.last(), Some(&"writing flows: 3/3"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "escape codes in a piped log: {err:?}"
    );
    // stdout stays one tab-separated row per flow.
    assert_eq!(text(&out.stdout).lines().count(), 3);

    std::fs::write(dir.join("a.yml"), "id: a\nnamespace: ci.log\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: changed\n").unwrap();
    let out = sb
        .cmd_for(&emu)
        .args(["flows", "deploy", dir.to_str().unwrap()])
        .ran()
        .code(0);
    assert_eq!(
        text(&out.stderr).lines().last(),
        Some("0 created, 1 updated, 2 unchanged, 0 deleted, 0 failed")
    );
}

/// `flows validate`: local and server problems in one run, each at the line of the key it is
/// about, listed after the rows with a count; `--offline` checks without a server.
#[test]
fn validate_points_at_lines_and_works_offline() {
    let sb = Sandbox::new();
    let dir = sb.path().join("to-validate");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("good.yml"),
        "id: good\nnamespace: v.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
    )
    .unwrap();
    // Valid YAML with a mistyped task key: only the server sees it.
    std::fs::write(
        dir.join("typo.yml"),
        "id: typo\nnamespace: v.test\ntasks:\n  - id: first\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n  - id: second\n    typ: io.kestra.plugin.core.log.Log\n    message: hi\n",
    )
    .unwrap();
    // Not even YAML: a local problem.
    std::fs::write(dir.join("broken.yml"), "id: broken\nnamespace: [\n").unwrap();
    // A mistyped top-level key.
    std::fs::write(
        dir.join("top.yml"),
        "id: top\nnamespace: v.test\ndescripton: x\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
    )
    .unwrap();

    for version in [KestraVersion::V1_3, KestraVersion::V2_0] {
        let emu = emulator(version);
        let out = sb
            .cmd_for(&emu)
            .args(["flows", "validate", dir.to_str().unwrap()])
            .ran()
            .code(5);
        let err = text(&out.stderr);
        // The server's problem at the mistyped key's line, the local one in the same run.
        assert!(
            err.contains("typo.yml:8: Kestra: Invalid type: null"),
            "{version}: {err}"
        );
        // The local line that suggests the property, not Kestra's Java message as well.
        assert!(
            err.contains("top.yml:3:1: `descripton` is not a flow property Kestra knows (did you mean `description`?)"),
            "{err}"
        );
        assert!(!err.contains("Unrecognized field"), "{err}");
        assert!(err.contains("broken.yml:"), "{err}");
        assert!(
            err.contains("4 problems in 3 files") || err.contains("3 problems in 3 files"),
            "{err}"
        );
        let rows = text(&out.stdout);
        assert!(rows.contains("good.yml\tv.test\tgood\tvalid"), "{rows}");
        assert!(rows.contains("typo.yml\tv.test\ttypo\tinvalid"), "{rows}");
    }

    // Offline: no server asked (none answers here), the top-level typo still caught.
    let out = sb
        .cmd()
        .env(
            "KESTRACTL_SERVER",
            format!("http://127.0.0.1:{}", dead_port()),
        )
        .args(["flows", "validate", dir.to_str().unwrap(), "--offline"])
        .ran()
        .code(5);
    let err = text(&out.stderr);
    assert!(
        err.contains("top.yml:3:1: `descripton` is not a flow property Kestra knows (did you mean `description`?)"),
        "{err}"
    );
    assert!(err.contains("checked offline"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
    let good = sb.path().join("only-good");
    std::fs::create_dir_all(&good).unwrap();
    std::fs::copy(dir.join("good.yml"), good.join("good.yml")).unwrap();
    sb.cmd()
        .env(
            "KESTRACTL_SERVER",
            format!("http://127.0.0.1:{}", dead_port()),
        )
        .args(["flows", "validate", good.to_str().unwrap(), "--offline"])
        .ran()
        .code(0);
}

/// `flows diff` for CI gates (exit 0: nothing to change, 8: changes pending) and `deploy --diff`:
/// a unified diff per update, carried as a field with -o json; nothing written by either.
#[test]
fn diff_shows_what_a_deploy_would_change_and_gates_on_it() {
    let flow = |message: &str| {
        format!(
            "id: one\nnamespace: diff.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
        )
    };
    for version in [KestraVersion::V1_3, KestraVersion::V2_0] {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = deploy_files(
            &sb,
            &emu,
            "diff-flows",
            &[
                ("one.yml", &flow("first")),
                (
                    "two.yml",
                    "id: two\nnamespace: diff.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
                ),
            ],
        );
        let diff = |extra: &[&str]| {
            let mut cmd = sb.cmd_for(&emu);
            cmd.args(["flows", "diff", dir.to_str().unwrap()])
                .args(extra);
            cmd
        };
        // In step with the server: exit 0.
        diff(&[])
            .ran()
            .code(0)
            .says("0 to create, 0 to update, 0 to delete, 2 unchanged");

        // A changed flow, a new one, and (with --prune) one the folder no longer has.
        std::fs::write(dir.join("one.yml"), flow("second")).unwrap();
        std::fs::write(
            dir.join("three.yml"),
            "id: three\nnamespace: diff.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
        )
        .unwrap();
        std::fs::remove_file(dir.join("two.yml")).unwrap();
        let before = writes(&emu).len();
        let out = diff(&[]).ran().code(8);
        let shown = text(&out.stdout);
        assert!(
            shown.contains("--- diff.test/one (server)\n+++ diff.test/one (local)\n"),
            "{shown}"
        );
        assert!(
            shown.contains("-    message: first\n+    message: second\n"),
            "{shown}"
        );
        assert!(
            shown.contains("+ diff.test/three (new, from three.yml)"),
            "{shown}"
        );
        assert!(!shown.contains("two"), "no --prune, no deletion: {shown}");
        let v = stdout_json(&diff(&["--prune", "-o", "json"]).ran().code(8));
        assert_eq!(v["pending"], 3, "{v}");
        let actions: Vec<&str> = v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["update", "create", "delete"], "{v}");

        // deploy --dry-run --diff shows the same diff and writes nothing.
        let out = sb
            .cmd_for(&emu)
            .args([
                "flows",
                "deploy",
                dir.to_str().unwrap(),
                "--dry-run",
                "--diff",
                "-o",
                "json",
            ])
            .ran()
            .code(0);
        let v = stdout_json(&out);
        assert!(
            v["changes"][0]["diff"]
                .as_str()
                .unwrap()
                .contains("+    message: second"),
            "{v}"
        );
        assert_eq!(
            writes(&emu).len(),
            before,
            "diff and a dry run write nothing"
        );

        // After the deploy, nothing pending (without --prune, `two` stays and is not counted).
        sb.cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap(), "--diff"])
            .ran()
            .code(0)
            .stdout
            .len();
        diff(&[]).ran().code(0);
    }
}

/// `flows revisions` lists them; `flows rollback --to N` writes revision N's source, byte for
/// byte, as a new revision, after showing the diff; refusals change nothing.
#[test]
fn rollback_restores_an_old_source_as_a_new_revision() {
    let source = |message: &str| {
        format!(
            "id: r\nnamespace: rb.test\n# kept as written\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
        )
    };
    for version in [KestraVersion::V1_3, KestraVersion::V2_0] {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = deploy_files(&sb, &emu, "rb", &[("r.yml", &source("one"))]);
        std::fs::write(dir.join("r.yml"), source("two")).unwrap();
        sb.cmd_for(&emu)
            .args(["flows", "deploy", dir.to_str().unwrap()])
            .ran()
            .code(0);
        let revisions = || {
            stdout_json(
                &sb.cmd_for(&emu)
                    .args(["flows", "revisions", "rb.test/r", "-o", "json"])
                    .ran()
                    .code(0),
            )
        };
        let before = revisions();
        assert_eq!(before.as_array().unwrap().len(), 2, "{version}: {before}");

        // Refusals: no terminal to ask on, a revision that does not exist, a flow that does not.
        sb.cmd_for(&emu)
            .args(["flows", "rollback", "rb.test", "r", "--to", "1"])
            .ran()
            .code(2)
            .says("nothing was written");
        sb.cmd_for(&emu)
            .args(["flows", "rollback", "rb.test/r", "--to", "9", "--yes"])
            .ran()
            .code(3)
            .says("rb.test/r has no revision 9")
            .says("its revisions: 1, 2");
        sb.cmd_for(&emu)
            .args(["flows", "rollback", "rb.test/nope", "--to", "1", "--yes"])
            .ran()
            .code(3);
        assert_eq!(revisions(), before, "refusals wrote nothing");

        let out = sb
            .cmd_for(&emu)
            .args(["flows", "rollback", "rb.test/r", "--to", "1", "--yes"])
            .ran()
            .code(0);
        let shown = text(&out.stdout);
        assert!(
            shown.contains("-    message: two\n+    message: one\n"),
            "{shown}"
        );
        assert!(
            shown.contains("is now revision 3, with the source of revision 1"),
            "{shown}"
        );
        let after = revisions();
        assert_eq!(after.as_array().unwrap().len(), 3);
        assert_eq!(after[2]["source"], after[0]["source"], "byte for byte");
        assert_eq!(after[2]["source"].as_str().unwrap(), source("one"));

        // Already that source: nothing written.
        sb.cmd_for(&emu)
            .args(["flows", "rollback", "rb.test/r", "--to", "1", "--yes"])
            .ran()
            .code(0);
        assert_eq!(revisions().as_array().unwrap().len(), 3);
    }
}

#[test]
fn disable_and_enable_write_a_revision_and_refuse_executions_meanwhile() {
    let source = "id: sw\nnamespace: sw.test\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n";
    for version in [KestraVersion::V1_3, KestraVersion::V2_0] {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let dir = deploy_files(&sb, &emu, "sw", &[("sw.yml", source)]);
        let flow = |field: &str| {
            stdout_json(
                &sb.cmd_for(&emu)
                    .args(["flows", "get", "sw.test/sw", "-o", "json"])
                    .ran()
                    .code(0),
            )[field]
                .clone()
        };

        let out = sb
            .cmd_for(&emu)
            .args(["flows", "disable", "sw.test", "sw"])
            .ran()
            .code(0)
            .says("Disabled flow sw.test/sw (revision 2)")
            .says("enables it again");
        assert!(out.stdout.is_empty());
        assert_eq!(flow("disabled"), true, "{version}");
        assert!(
            flow("source")
                .as_str()
                .unwrap()
                .ends_with("\ndisabled: true"),
            "{version}: Kestra appends the line"
        );
        // Kestra refuses to start a disabled flow.
        sb.cmd_for(&emu)
            .args(["executions", "run", "sw.test/sw"])
            .ran()
            .code(1)
            .says("disabled");
        // Already disabled: nothing written.
        sb.cmd_for(&emu)
            .args(["flows", "disable", "sw.test/sw"])
            .ran()
            .code(0)
            .says("already disabled: nothing was written");
        assert_eq!(flow("revision"), 2);

        let report = stdout_json(
            &sb.cmd_for(&emu)
                .args(["flows", "enable", "sw.test/sw", "-o", "json"])
                .ran()
                .code(0),
        );
        assert_eq!(
            (&report["disabled"], &report["changed"], &report["revision"]),
            (
                &serde_json::json!(false),
                &serde_json::json!(true),
                &serde_json::json!(3)
            ),
            "{version}: {report}"
        );
        assert_eq!(flow("disabled"), false);
        sb.cmd_for(&emu)
            .args(["executions", "run", "sw.test/sw"])
            .ran()
            .code(0);

        // An unknown flow is named, nothing written; a bad name never reaches the server.
        sb.cmd_for(&emu)
            .args(["flows", "disable", "sw.test/nope"])
            .ran()
            .code(3)
            .says("there is no flow sw.test/nope");
        sb.cmd_for(&emu)
            .args(["flows", "enable", "sw test", "x"])
            .ran()
            .code(2);
        assert_eq!(flow("revision"), 3);
        // The folder is now behind the server by the injected line: deploy converges it.
        sb.cmd_for(&emu)
            .args(["flows", "diff", dir.to_str().unwrap()])
            .ran()
            .code(8);
    }
}
