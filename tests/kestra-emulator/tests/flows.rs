//! Flow routes on both versions: create/get/update/delete, revisions, search, validate, export.

use std::io::Read;

use crate::common::*;
use kestra_emulator::KestraVersion;
use serde_json::Value;

#[tokio::test]
async fn create_get_update_delete_cycle() {
    for v in BOTH {
        let e = emu(v).await;
        let src = flow_yaml("company.team", "hello");
        let r = post_yaml(&e, "/api/v1/main/flows", &src)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{v}");
        let f: Value = r.json().await.unwrap();
        assert_eq!(f["revision"], 1);
        assert_eq!(f["source"], src);
        assert_eq!(f["deleted"], false);
        assert_eq!(f.get("draft").is_some(), v.is_v2());

        // Duplicate create → 422 "Flow id already exists".
        let r = post_yaml(&e, "/api/v1/main/flows", &src)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("Flow id already exists"), "{body}");

        // 1.3: JSON goes to Kestra's hidden `createFlowFromJson` (`consumes = ALL`): an empty
        // flow is an invalid one (422). 2.0 removed that route: 415.
        let r = client()
            .post(format!("{}/api/v1/main/flows", e.api_url()))
            .basic_auth(USER, Some(PASS))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        if v.is_v2() {
            assert_eq!(r.status(), 415);
            let body = r.text().await.unwrap();
            assert!(
                body.contains("Content Type [application/json] not allowed. Allowed types: [application/x-yaml]"),
                "{body}"
            );
        } else {
            assert_eq!(r.status(), 422);
            // A JSON flow with its source is created, answered without the source.
            let r = client()
                .post(format!("{}/api/v1/main/flows", e.api_url()))
                .basic_auth(USER, Some(PASS))
                .header("content-type", "application/json")
                .body(serde_json::json!({"id": "fromjson", "namespace": "company.team", "source": flow_yaml("company.team", "fromjson")}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let f: Value = r.json().await.unwrap();
            assert_eq!(f["id"], "fromjson");
            assert!(f.get("source").is_none());
        }

        // Get with and without source.
        let f: Value = get(&e, "/api/v1/main/flows/company.team/hello")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(f.get("source").is_none());
        let f: Value = get(&e, "/api/v1/main/flows/company.team/hello?source=true")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(f["source"], src);

        // Unchanged update keeps the revision; a change bumps it.
        let r: Value = put_yaml(&e, "/api/v1/main/flows/company.team/hello", &src)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["revision"], 1);
        let src2 = src.replace("Hello from", "Bonjour de");
        let r: Value = put_yaml(&e, "/api/v1/main/flows/company.team/hello", &src2)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["revision"], 2);

        // Id mismatch → 422.
        let other = flow_yaml("company.team", "other");
        let r = put_yaml(&e, "/api/v1/main/flows/company.team/hello", &other)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("Illegal flow id update"));

        // Update of an unknown flow → 404.
        let r = put_yaml(
            &e,
            "/api/v1/main/flows/company.team/nope",
            &flow_yaml("company.team", "nope"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 404);

        let revs: Value = get(&e, "/api/v1/main/flows/company.team/hello/revisions")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(revs.as_array().unwrap().len(), 2);

        // Delete: 204, then 404; the deleted revision is visible with allowDeleted.
        let r = delete(&e, "/api/v1/main/flows/company.team/hello")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let r = get(&e, "/api/v1/main/flows/company.team/hello")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let f: Value = get(
            &e,
            "/api/v1/main/flows/company.team/hello?allowDeleted=true",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(f["deleted"], true);
        assert_eq!(f["revision"], 3);
        let r = delete(&e, "/api/v1/main/flows/company.team/hello")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        // Re-creating continues the revision history.
        let f: Value = post_yaml(&e, "/api/v1/main/flows", &src)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(f["revision"], 4);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn invalid_flows_answer_422_in_the_version_shape() {
    let bad = "id: my#flow\nnamespace: MY$NS\ntasks:\n- type: io.kestra.plugin.core.log.Log\n  message: x\n";
    let e = emu(KestraVersion::V1_3).await;
    let r = post_yaml(&e, "/api/v1/main/flows", bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid entity: ")
    );
    assert!(v["_embedded"]["errors"].as_array().unwrap().len() >= 2);
    e.shutdown().await;

    let e = emu(KestraVersion::V2_0).await;
    let r = post_yaml(&e, "/api/v1/main/flows", bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["type"],
        "https://kestra.io/docs/api-reference/problems/validation-failed"
    );
    // taskDefaults: accepted on 1.3, gone on 2.0.
    let td = format!(
        "{}taskDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values:\n      level: WARN\n",
        flow_yaml("a.b", "td")
    );
    let r = post_yaml(&e, "/api/v1/main/flows", &td)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // A reserved id.
    let r = post_yaml(&e, "/api/v1/main/flows", &flow_yaml("a.b", "pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    e.shutdown().await;
    let e = emu(KestraVersion::V1_3).await;
    let r = post_yaml(&e, "/api/v1/main/flows", &td)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    e.shutdown().await;
}

#[tokio::test]
async fn validate_multi_document() {
    for v in BOTH {
        let e = emu(v).await;
        let body = format!(
            "{}\n---\nid: broken\nnamespace: a.b\ntasks: []\n---\n{}",
            flow_yaml("a.b", "one"),
            flow_yaml("a.b", "two")
        );
        let r: Value = post_yaml(&e, "/api/v1/main/flows/validate", &body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = r.as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["index"], 0);
        assert!(items[0].get("constraints").is_none());
        assert_eq!(items[1]["flow"], "broken");
        assert!(
            items[1]["constraints"]
                .as_str()
                .unwrap()
                .contains("tasks: must not be empty")
        );
        assert!(items[2].get("constraints").is_none());
        // Multipart files too.
        let form = reqwest::multipart::Form::new().part(
            "flows",
            reqwest::multipart::Part::text(flow_yaml("a.b", "one")).file_name("one.yml"),
        );
        let r: Value = client()
            .post(format!("{}/api/v1/main/flows/validate", e.api_url()))
            .basic_auth(USER, Some(PASS))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r[0]["filename"], "one.yml");
        e.shutdown().await;
    }
}

#[tokio::test]
async fn search_list_namespaces_export() {
    for v in BOTH {
        let e = emu(v).await;
        for (ns, id) in [
            ("company.team", "a"),
            ("company.team", "b"),
            ("company.team.sub", "c"),
            ("other", "d"),
        ] {
            let r = post_yaml(&e, "/api/v1/main/flows", &flow_yaml(ns, id))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let ns: Vec<String> = get(&e, "/api/v1/main/flows/distinct-namespaces")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ns, vec!["company.team", "company.team.sub", "other"]);
        let list: Value = get(&e, "/api/v1/main/flows/company.team")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 2);

        let r: Value = get(&e, "/api/v1/main/flows/search?filters[namespace][PREFIX]=company.team&size=2&page=1&sort=id:desc")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["total"], 3);
        assert_eq!(r["results"].as_array().unwrap().len(), 2);
        assert_eq!(r["results"][0]["id"], "c");
        // Legacy flat namespace: honoured on 1.3, ignored on 2.0.
        let r: Value = get(&e, "/api/v1/main/flows/search?namespace=other")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["total"], if v.is_v2() { 4 } else { 1 });
        // Unsupported operation → 400.
        let r = get(
            &e,
            "/api/v1/main/flows/search?filters[namespace][GREATER_THAN]=x",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 400);

        let r = get(
            &e,
            "/api/v1/main/flows/export/by-query?filters[namespace][EQUALS]=company.team",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        let bytes = r.bytes().await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        assert_eq!(zip.len(), 2);
        let mut names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        names.sort();
        // `FlowController.exportFlowsByQuery` (1.3.25 and 2.0): `<namespace>-<id>.yml`.
        assert_eq!(names, ["company.team-a.yml", "company.team-b.yml"]);
        let mut s = String::new();
        zip.by_index(0).unwrap().read_to_string(&mut s).unwrap();
        assert!(s.starts_with("id: "));
        e.shutdown().await;
    }
}

/// `updateFlowsInNamespace` (YAML): the body split at every `---`; flows of another namespace
/// and duplicate ids refused before any write; unchanged flows keep their revision; `delete`
/// (default true) removes the namespace's other flows, listed first in the answer.
#[tokio::test]
async fn update_flows_in_namespace_from_yaml() {
    for v in BOTH {
        let e = emu(v).await;
        let path = "/api/v1/main/flows/company.team";
        let (a, b, c) = (
            flow_yaml("company.team", "a"),
            flow_yaml("company.team", "b"),
            flow_yaml("company.team", "c"),
        );
        let r = post_yaml(&e, &format!("{path}?delete=false"), &format!("{a}---\n{b}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{v}");
        let flows: Vec<Value> = r.json().await.unwrap();
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[0]["id"], "a");
        assert_eq!(flows[0]["revision"], 1);
        assert_eq!(flows[1]["source"], b.trim());

        // Another namespace, or a duplicate id: 422, nothing written.
        let other = flow_yaml("company.other", "x");
        for (body, says) in [
            (format!("{c}---\n{other}"), "flow namespace is invalid"),
            (format!("{c}---\n{c}"), "Duplicate flow id"),
            (format!("{c}---\n"), "yaml"),
        ] {
            let r = post_yaml(&e, &format!("{path}?delete=false"), &body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 422, "{v}: {body}");
            let text = r.text().await.unwrap();
            assert!(text.contains(says), "{v}: {text}");
            let r = get(&e, "/api/v1/main/flows/company.team/c")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{v}: written despite the 422");
        }

        // The same `a` again keeps revision 1; without `delete=false`, `b` goes (listed first).
        let r = post_yaml(&e, path, &format!("{a}---\n{c}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{v}");
        let flows: Vec<Value> = r.json().await.unwrap();
        let ids: Vec<&str> = flows.iter().map(|f| f["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["b", "a", "c"], "{v}");
        assert_eq!(
            flows[1]["revision"], 1,
            "{v}: an unchanged flow got a new revision"
        );
        let r = get(&e, "/api/v1/main/flows/company.team/b")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{v}");
    }
}
