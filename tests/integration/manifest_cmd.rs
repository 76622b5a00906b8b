//! `kestractl manifest [--merge FILE]` through the binary: the entry from the stack's settings,
//! a merge that keeps every other entry as the text it was, idempotence, and refusals that leave
//! the file untouched.

use crate::common::*;

const MANIFEST: &str = "[\n  {\n    \"id\": \"grafana\",\n    \"stack\": \"tools\",\n    \"start\": \"docker compose up -d grafana\"\n  },\n  {\"id\": \"minio\", \"stack\": \"tools\", \"managed\": false}\n]\n";

#[test]
fn the_entry_follows_the_stack_settings() {
    let sb = Sandbox::new();
    sb.write_dotenv("KESTRA_HTTP_PORT=18080\nKESTRA_CONTAINER_NAME=ops-kestra\n");
    let out = sb.cmd().arg("manifest").ran().code(0);
    let v = stdout_json(&out);
    assert_eq!(v["id"], "kestra-orchestrator");
    assert_eq!(v["stack"], "tools");
    assert_eq!(v["managed"], true);
    assert_eq!(v["start"], "kestractl start");
    assert_eq!(v["healthUrl"], "http://127.0.0.1:8081/health");
    assert_eq!(v["uiUrl"], "http://localhost:18080");
    assert_eq!(v["ports"]["http"], 18080);
    assert_eq!(v["containers"][0], "ops-kestra");
    assert_eq!(v["containers"][1], "ops-kestra-postgres");
}

#[test]
fn merge_keeps_the_other_entries_and_a_second_run_changes_nothing() {
    let sb = Sandbox::new();
    let file = sb.workdir().join("services-manifest.json");
    std::fs::write(&file, MANIFEST).unwrap();
    let out = sb
        .cmd()
        .args(["manifest", "--merge"])
        .arg(&file)
        .args(["-o", "json"])
        .ran()
        .code(0);
    assert_eq!(stdout_json(&out)["action"], "added");
    let merged = std::fs::read_to_string(&file).unwrap();
    // The other entries are the text they were.
    assert!(
        merged.starts_with(MANIFEST.trim_end().trim_end_matches(']').trim_end()),
        "{merged}"
    );
    let v: serde_json::Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[2]["id"], "kestra-orchestrator");

    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    sb.cmd()
        .args(["manifest", "--merge"])
        .arg(&file)
        .ran()
        .code(0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), merged);
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        before
    );

    // A changed port updates the entry in place.
    let out = sb
        .cmd()
        .args(["manifest", "--merge"])
        .arg(&file)
        .env("KESTRA_HTTP_PORT", "19090")
        .ran()
        .code(0);
    assert!(
        text(&out.stdout).contains("updated in"),
        "{}",
        text(&out.stdout)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[2]["ports"]["http"], 19090);
}

#[test]
fn merge_refuses_what_is_not_a_manifest_and_leaves_it_untouched() {
    let sb = Sandbox::new();
    let file = sb.workdir().join("broken.json");
    let broken = "[\n  {\"id\": \"grafana\",}\n]\n";
    std::fs::write(&file, broken).unwrap();
    sb.cmd()
        .args(["manifest", "--merge"])
        .arg(&file)
        .ran()
        .code(5)
        .says("is not valid JSON")
        .says("line 2 column")
        .says("it was not changed");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);

    std::fs::write(&file, "{\"version\": 1}\n").unwrap();
    sb.cmd()
        .args(["manifest", "--merge"])
        .arg(&file)
        .ran()
        .code(5)
        .says("holds no list of services");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\"version\": 1}\n"
    );

    sb.cmd()
        .args(["manifest", "--merge"])
        .arg(sb.workdir().join("absent.json"))
        .ran()
        .code(2)
        .says("does not exist");
    assert!(!sb.workdir().join("absent.json").exists());
}
