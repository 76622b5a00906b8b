//! `kestractl kv`: the KV store through the real binary against the emulator, both versions.

use kestra_emulator::KestraVersion;

use crate::common::*;

const VERSIONS: [KestraVersion; 2] = [KestraVersion::V1_3, KestraVersion::V2_0];

/// `kv get NS KEY -o json` (type, value, revision).
fn detail(sb: &Sandbox, emu: &Emu, ns: &str, key: &str) -> serde_json::Value {
    stdout_json(
        &sb.cmd_for(emu)
            .args(["kv", "get", ns, key, "-o", "json"])
            .ran()
            .code(0),
    )
}

/// The Content-Type of the last PUT of a key the emulator received.
fn last_put_content_type(emu: &Emu, key: &str) -> String {
    emu.control()
        .requests()
        .iter()
        .rev()
        .find(|r| r.method == "PUT" && r.path.ends_with(&format!("/kv/{key}")))
        .map(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k == "content-type")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

#[test]
fn set_get_list_delete_with_types_as_kestra_stores_them() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let set = |args: &[&str]| {
            let mut all = vec!["kv", "set"];
            all.extend_from_slice(args);
            sb.cmd_for(&emu).args(&all).ran().code(0)
        };
        set(&["kv.test", "retries", "3"]).says("(NUMBER)");
        set(&["kv.test", "greeting", "hello world"]).says("(STRING)");
        set(&["kv.test", "zip", "01234", "--type", "string"]);
        set(&["kv.test", "on", "true"]);
        set(&["kv.test", "settings", r#"{"a": [1, 2]}"#]);
        set(&["kv.test", "day", "2026-12-06"]);
        set(&["kv.test", "neg", "-5"]);
        set(&["kv.test", "wait", "PT30M"]).says("(DURATION)");
        // A date-time with an offset is sent as the same instant in UTC: Kestra stores a
        // DATETIME (with the offset, its Ion reader would make it JSON).
        set(&[
            "kv.time",
            "at",
            "2026-12-07T12:30:00+02:00",
            "--type",
            "datetime",
        ])
        .says("(DATETIME)");
        let d = detail(&sb, &emu, "kv.time", "at");
        assert_eq!(
            (d["type"].as_str(), d["value"].as_str()),
            (Some("DATETIME"), Some("2026-12-07T10:30:00Z")),
            "{version}: {d}"
        );
        assert_eq!(
            last_put_content_type(&emu, "neg"),
            "text/plain",
            "{version}"
        );

        let d = detail(&sb, &emu, "kv.test", "retries");
        assert_eq!(
            (d["type"].as_str(), d["value"].as_i64()),
            (Some("NUMBER"), Some(3)),
            "{version}: {d}"
        );
        // Unquoted text would be read by Kestra's Ion reader as symbols: kestractl quotes it,
        // so the whole text is kept.
        let d = detail(&sb, &emu, "kv.test", "greeting");
        assert_eq!(
            (d["type"].as_str(), d["value"].as_str()),
            (Some("STRING"), Some("hello world")),
            "{version}: {d}"
        );
        let d = detail(&sb, &emu, "kv.test", "zip");
        assert_eq!(d["value"].as_str(), Some("01234"), "{version}: {d}");
        assert_eq!(detail(&sb, &emu, "kv.test", "on")["type"], "BOOLEAN");
        assert_eq!(detail(&sb, &emu, "kv.test", "settings")["value"]["a"][1], 2);
        assert_eq!(detail(&sb, &emu, "kv.test", "day")["type"], "DATE");
        assert_eq!(detail(&sb, &emu, "kv.test", "neg")["value"], -5);
        assert_eq!(detail(&sb, &emu, "kv.test", "wait")["type"], "DURATION");

        // For people: the value alone, so `$(kestractl kv get …)` is the value.
        let got = sb
            .cmd_for(&emu)
            .args(["kv", "get", "kv.test", "greeting"])
            .ran()
            .code(0);
        assert_eq!(text(&got.stdout), "hello world\n");
        let got = sb
            .cmd_for(&emu)
            .args(["kv", "get", "kv.test", "settings"])
            .ran()
            .code(0);
        assert_eq!(text(&got.stdout), "{\"a\":[1,2]}\n");

        // A rewrite is a new revision of the same key.
        let before = detail(&sb, &emu, "kv.test", "retries")["revision"]
            .as_i64()
            .unwrap();
        set(&["kv.test", "retries", "4"]);
        let after = detail(&sb, &emu, "kv.test", "retries");
        assert_eq!(after["value"], 4);
        assert_eq!(after["revision"].as_i64(), Some(before + 1), "{version}");

        // Another namespace's keys (a child included) are not listed.
        set(&["kv.test.child", "other", "x"]);
        let listed = stdout_json(
            &sb.cmd_for(&emu)
                .args(["kv", "list", "kv.test", "-o", "json"])
                .ran()
                .code(0),
        );
        let keys: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_str().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "day", "greeting", "neg", "on", "retries", "settings", "wait", "zip"
            ],
            "{version}"
        );
        let table = sb
            .cmd_for(&emu)
            .args(["kv", "list", "kv.test"])
            .ran()
            .code(0);
        let out = text(&table.stdout);
        // Piped: one tab-separated row per key (key, description, updated, expires).
        let first: Vec<&str> = out.lines().next().unwrap().split('\t').collect();
        assert_eq!(
            (first.len(), first[0], first[3]),
            (4, "day", "never"),
            "{out}"
        );
        let quiet = sb
            .cmd_for(&emu)
            .args(["kv", "ls", "kv.test", "-q"])
            .ran()
            .code(0);
        assert_eq!(text(&quiet.stdout).lines().count(), 8);
        let empty = sb
            .cmd_for(&emu)
            .args(["kv", "list", "kv.none"])
            .ran()
            .code(0);
        assert!(text(&empty.stderr).contains("no keys in namespace kv.none"));

        sb.cmd_for(&emu)
            .args(["kv", "delete", "kv.test", "zip", "--yes"])
            .ran()
            .code(0)
            .says("Deleted key zip of namespace kv.test");
        sb.cmd_for(&emu)
            .args(["kv", "get", "kv.test", "zip"])
            .ran()
            .code(3)
            .says("there is no key zip in namespace kv.test");
    }
}

#[test]
fn more_than_a_page_of_keys_is_listed_whole() {
    let emu = emulator(KestraVersion::V2_0);
    let sb = Sandbox::new();
    for i in 0..105 {
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.many", &format!("k{i:03}"), &i.to_string()])
            .ran()
            .code(0);
    }
    let listed = stdout_json(
        &sb.cmd_for(&emu)
            .args(["kv", "list", "kv.many", "-o", "json"])
            .ran()
            .code(0),
    );
    assert_eq!(listed.as_array().unwrap().len(), 105);
}

#[test]
fn values_from_files_and_stdin_with_ttl_and_description() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        let file = sb.path().join("settings.json");
        std::fs::write(&file, "{\"pool\": 8}\n").unwrap();
        sb.cmd_for(&emu)
            .args([
                "kv",
                "set",
                "kv.test",
                "settings",
                &format!("@{}", file.display()),
            ])
            .args(["--ttl", "7d", "--description", "pool settings"])
            .ran()
            .code(0)
            .says("expires in 7d");
        assert_eq!(detail(&sb, &emu, "kv.test", "settings")["value"]["pool"], 8);
        let listed = stdout_json(
            &sb.cmd_for(&emu)
                .args(["kv", "list", "kv.test", "-o", "json"])
                .ran()
                .code(0),
        );
        let e = &listed[0];
        assert_eq!(e["description"], "pool settings", "{version}: {e}");
        assert!(e["expirationDate"].is_string(), "{version}: {e}");

        // A value from stdin stays out of argv.
        let secret = "s3cr3t value";
        let mut child = sb
            .std_cmd()
            .env("KESTRACTL_SERVER", emu.api_url())
            .env("KESTRACTL_USERNAME", USER)
            .env("KESTRACTL_PASSWORD", PASSWORD)
            .args(["kv", "set", "kv.test", "token", "@-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(secret.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        out.assert_code(0);
        assert_no_leak(&out, &[secret]);
        assert_eq!(detail(&sb, &emu, "kv.test", "token")["value"], secret);
    }
}

#[test]
fn an_expired_key_is_gone_and_says_so() {
    let emu = emulator(KestraVersion::V1_3);
    let sb = Sandbox::new();
    sb.cmd_for(&emu)
        .args(["kv", "set", "kv.test", "brief", "x", "--ttl", "1s"])
        .ran()
        .code(0);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    sb.cmd_for(&emu)
        .args(["kv", "get", "kv.test", "brief"])
        .ran()
        .code(3)
        .says("has expired");
    sb.cmd_for(&emu)
        .args(["kv", "get", "kv.test", "brief"])
        .ran()
        .code(3)
        .says("there is no key brief");
}

#[test]
fn refusals_change_nothing() {
    for version in VERSIONS {
        let emu = emulator(version);
        let sb = Sandbox::new();
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", "n", "1"])
            .ran()
            .code(0);
        let puts = || {
            emu.control()
                .requests()
                .iter()
                .filter(|r| r.method == "PUT" || r.method == "DELETE")
                .count()
        };
        let writes = puts();

        // Bad input is refused before anything is sent.
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", "n", "abc", "--type", "number"])
            .ran()
            .code(5)
            .says("`abc` is not a number");
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", "n", "{broken", "--type", "json"])
            .ran()
            .code(5)
            .says("not JSON");
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", "n", "2026-02-30", "--type", "date"])
            .ran()
            .code(5);
        // What Kestra's Ion reader would not store as a DATETIME (a UTC midnight is a DATE,
        // sub-milliseconds are dropped) is refused, saying so.
        sb.cmd_for(&emu)
            .args([
                "kv",
                "set",
                "kv.test",
                "n",
                "2026-12-07T02:00:00+02:00",
                "--type",
                "datetime",
            ])
            .ran()
            .code(5)
            .says("midnight UTC (2026-12-07), which Kestra stores as a DATE");
        sb.cmd_for(&emu)
            .args([
                "kv",
                "set",
                "kv.test",
                "n",
                "2026-12-07T10:00:00.123456Z",
                "--type",
                "datetime",
            ])
            .ran()
            .code(5)
            .says("finer than a millisecond");
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", ".n", "1"])
            .ran()
            .code(2)
            .says("must start with a letter or a digit");
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", "a/b", "1"])
            .ran()
            .code(2)
            .says("may hold only");
        sb.cmd_for(&emu)
            .args(["kv", "set", "bad namespace!", "n", "1"])
            .ran()
            .code(2);
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", "n", "1", "--ttl", "soon"])
            .ran()
            .code(2)
            .says("--ttl");
        sb.cmd_for(&emu)
            .args(["kv", "set", "kv.test", "n", "@/nonexistent/value"])
            .ran()
            .code(1)
            .says("/nonexistent/value");
        let binary = sb.path().join("blob");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        sb.cmd_for(&emu)
            .args([
                "kv",
                "set",
                "kv.test",
                "n",
                &format!("@{}", binary.display()),
            ])
            .ran()
            .code(5)
            .says("not UTF-8");
        // Deleting: a missing key is named; without a terminal nothing is asked nor deleted.
        sb.cmd_for(&emu)
            .args(["kv", "delete", "kv.test", "missing", "--yes"])
            .ran()
            .code(3)
            .says("there is no key missing in namespace kv.test");
        sb.cmd_for(&emu)
            .args(["kv", "delete", "kv.test", "n"])
            .ran()
            .code(2)
            .says("nothing was deleted");
        assert_eq!(puts(), writes, "{version}: a refusal wrote something");
        let d = detail(&sb, &emu, "kv.test", "n");
        assert_eq!(
            (d["value"].as_i64(), d["revision"].as_i64()),
            (Some(1), Some(1)),
            "{version}"
        );
    }
}

#[test]
fn the_emulator_takes_only_text_plain_and_validates_keys_as_kestra() {
    // What kestractl never sends, checked on the emulator directly: Kestra's router refuses a
    // JSON body for the text/plain route, and its key rule is a 422.
    let emu = emulator(KestraVersion::V1_3);
    emu.expect_refusals();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (json_status, bad_key) = rt.block_on(async {
        let c = reqwest::Client::new();
        let base = format!("{}/api/v1/main/namespaces/kv.test/kv", emu.api_url());
        let json = c
            .put(format!("{base}/k"))
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", "application/json")
            .body("1")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let bad = c
            .put(format!("{base}/.k"))
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", "text/plain")
            .body("1")
            .send()
            .await
            .unwrap();
        (json, (bad.status().as_u16(), bad.text().await.unwrap()))
    });
    assert_eq!(json_status, 415);
    assert_eq!(bad_key.0, 422);
    assert!(
        bad_key.1.contains("Illegal argument: Key must start"),
        "{}",
        bad_key.1
    );
}
