//! Security, second pass (issue 27): the newer surfaces against a hostile server, a planted
//! `.env` or file, and a crafted archive. Each test stands for one finding, through the real
//! binary, and checks both the refusal (or the cleaned output) and that nothing was written,
//! sent or run.

use std::path::Path;

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
