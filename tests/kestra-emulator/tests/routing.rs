//! Route selection as Kestra's Micronaut router does it (docs/kestra-compatibility.md,
//! "Routing"): Accept against what a route produces, Content-Type against what it consumes, a
//! refused route letting a less specific template take the request, the route-miss answers with
//! Micronaut's messages, the tenant filter, tenant-less paths, query values converted.

use crate::common::*;
use kestra_emulator::{Emulator, KestraVersion};
use serde_json::Value;

async fn with_flow(v: KestraVersion) -> Emulator {
    let e = emu(v).await;
    let r = post_yaml(
        &e,
        "/api/v1/main/flows",
        &flow_yaml("company.team", "hello"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    e
}

/// The route the emulator's journal says the last request reached, and its refusal.
fn last(e: &Emulator) -> (Option<String>, Option<String>) {
    let r = e.control().requests();
    let l = r.last().unwrap();
    (l.route.clone(), l.refusal.clone())
}

/// The error text: 1.x `message` ("<reason>: <text>"), 2.0 `detail`.
fn message(v: KestraVersion, body: &Value) -> String {
    if v.is_v2() {
        body["detail"].as_str().unwrap_or_default().to_string()
    } else {
        body["message"].as_str().unwrap_or_default().to_string()
    }
}

#[tokio::test]
async fn the_export_route_is_chosen_by_accept_and_falls_through_when_refused() {
    for v in BOTH {
        let e = with_flow(v).await;
        let path = "/api/v1/main/flows/export/by-query?filters[namespace][EQUALS]=company.team";
        // What it produces, no Accept, or */*: the export.
        for accept in [Some("application/octet-stream"), None, Some("*/*")] {
            let mut rb = get(&e, path);
            if let Some(a) = accept {
                rb = rb.header("accept", a);
            }
            let r = rb.send().await.unwrap();
            assert_eq!(r.status(), 200, "{v} {accept:?}");
            assert_eq!(r.headers()["content-type"], "application/octet-stream");
            assert_eq!(
                last(&e).0.as_deref(),
                Some("GET /api/v1/{tenant}/flows/export/by-query")
            );
        }
        // Asking for JSON drops the export: `GET /flows/{namespace}/{id}` takes it, as
        // namespace `export` and id `by-query`, and finds no such flow.
        for accept in ["application/json", "application/json, */*"] {
            let r = get(&e, path).header("accept", accept).send().await.unwrap();
            assert_eq!(r.status(), 404, "{v} {accept}");
            let (route, refusal) = last(&e);
            assert_eq!(
                route.as_deref(),
                Some("GET /api/v1/{tenant}/flows/{namespace}/{id}"),
                "{v} {accept}"
            );
            // The journal flags it: the path named the export, the Accept header ruled it out.
            assert!(
                refusal
                    .as_deref()
                    .is_some_and(|r| r
                        .starts_with("fell through: GET /api/v1/{tenant}/flows/export/by-query")),
                "{refusal:?}"
            );
        }
        // Nothing on that path produces CSV: 406 with Micronaut's message.
        let r = get(&e, path)
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 406);
        let body: Value = r.json().await.unwrap();
        let m = message(v, &body);
        assert!(
            m.contains("Specified Accept Types [text/csv] not supported. Supported types: [application/octet-stream, application/json]"),
            "{v}: {m}"
        );
        assert!(last(&e).1.unwrap().starts_with("406"));
        e.shutdown().await;
    }
}

#[tokio::test]
async fn kill_produces_text_json_and_follow_an_event_stream() {
    for v in BOTH {
        let e = with_flow(v).await;
        let x: Value = client()
            .post(format!(
                "{}/api/v1/main/executions/company.team/hello?wait=true",
                e.api_url()
            ))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = x["id"].as_str().unwrap();
        let kill = if v.is_v2() {
            format!("/api/v1/main/executions/{id}/actions/kill")
        } else {
            format!("/api/v1/main/executions/{id}/kill")
        };
        // kestra-io/kestra#3106's refusal: text/json is not application/json.
        let r = delete(&e, &kill)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 406, "{v}");
        let m = message(v, &r.json().await.unwrap());
        assert!(
            m.contains("Specified Accept Types [application/json] not supported. Supported types: [text/json]"),
            "{m}"
        );
        let r = delete(&e, &kill)
            .header("accept", "text/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), if v.is_v2() { 200 } else { 202 });

        let follow = format!("/api/v1/main/executions/{id}/follow");
        let r = get(&e, &follow)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 406);
        let r = get(&e, &follow)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // A JSON route asked for an event stream.
        let r = get(&e, &format!("/api/v1/main/executions/{id}"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 406);
        // `type/*` is not a match in Micronaut.
        let r = get(&e, &format!("/api/v1/main/executions/{id}"))
            .header("accept", "application/*")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 406);
        let r = get(&e, &format!("/api/v1/main/executions/{id}"))
            .header("accept", "text/html;q=0.9, application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn content_types_are_checked_against_what_the_route_consumes() {
    for v in BOTH {
        let e = with_flow(v).await;
        // A parameter on the media type does not matter.
        let r = client()
            .post(format!("{}/api/v1/main/flows/validate", e.api_url()))
            .basic_auth(USER, Some(PASS))
            .header("content-type", "application/x-yaml; charset=utf-8")
            .body(flow_yaml("company.team", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // No Content-Type matches any route: the validate body is read as YAML.
        let r = client()
            .post(format!("{}/api/v1/main/flows/validate", e.api_url()))
            .basic_auth(USER, Some(PASS))
            .body(flow_yaml("company.team", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let results: Value = r.json().await.unwrap();
        assert_eq!(results[0]["flow"], "x");
        // A type nothing on the path consumes.
        let r = client()
            .post(format!("{}/api/v1/main/flows/validate", e.api_url()))
            .basic_auth(USER, Some(PASS))
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);
        let m = message(v, &r.json().await.unwrap());
        assert!(
            m.contains("Content Type [text/plain] not allowed. Allowed types: ["),
            "{m}"
        );
        assert!(m.contains("application/x-yaml") && m.contains("multipart/form-data"));
        // The flow update on 1.3 has a YAML and a hidden JSON route: without a Content-Type
        // both match and neither wins (Micronaut's DuplicateRouteException, a 500 in Kestra).
        let r = client()
            .put(format!(
                "{}/api/v1/main/flows/company.team/hello",
                e.api_url()
            ))
            .basic_auth(USER, Some(PASS))
            .body(flow_yaml("company.team", "hello"))
            .send()
            .await
            .unwrap();
        if v.is_v2() {
            assert_eq!(r.status(), 200);
        } else {
            assert_eq!(r.status(), 500);
            let m = r.text().await.unwrap();
            assert!(
                m.contains("More than 1 route matched the incoming request"),
                "{m}"
            );
            assert!(last(&e).1.unwrap().starts_with("ambiguous"));
        }
        e.shutdown().await;
    }
}

#[tokio::test]
async fn methods_not_served_are_listed_as_micronaut_lists_them() {
    for v in BOTH {
        let e = with_flow(v).await;
        let r = client()
            .post(format!(
                "{}/api/v1/main/flows/company.team/hello?x=1",
                e.api_url()
            ))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        let m = message(v, &r.json().await.unwrap());
        assert!(
            m.ends_with("Method [POST] not allowed for URI [/api/v1/main/flows/company.team/hello?x=1]. Allowed methods: [HEAD, DELETE, PUT, GET]"),
            "{m}"
        );
        if !v.is_v2() {
            // 1.3.25's ErrorController: "<reason>: <Micronaut's message>".
            assert!(m.starts_with("Method Not Allowed: "), "{m}");
        }
        // HEAD is served wherever GET is.
        let r = client()
            .head(format!(
                "{}/api/v1/main/flows/company.team/hello",
                e.api_url()
            ))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn the_tenant_must_be_main_and_a_missing_one_means_main() {
    for v in BOTH {
        let e = with_flow(v).await;
        // Checked before the credentials (TenantValidationFilter runs first).
        for auth in [true, false] {
            let mut rb = client().get(format!(
                "{}/api/v1/acme/flows/company.team/hello",
                e.api_url()
            ));
            if auth {
                rb = rb.basic_auth(USER, Some(PASS));
            }
            let r = rb.send().await.unwrap();
            assert_eq!(r.status(), 400, "{v} auth={auth}");
            let m = message(v, &r.json().await.unwrap());
            assert!(m.contains("Tenant must be 'main' for OSS version"), "{m}");
        }
        // `/api/v1/flows/…` matches nothing directly: Kestra routes it under `main`.
        let r = get(&e, "/api/v1/flows/company.team/hello")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let f: Value = r.json().await.unwrap();
        assert_eq!(f["id"], "hello");
        // An unknown path without credentials is a 401: filters run before the route miss.
        let r = client()
            .get(format!("{}/api/v1/main/nothing/here", e.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = get(&e, "/api/v1/main/nothing/here").send().await.unwrap();
        assert_eq!(r.status(), 404);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn query_values_are_converted_to_their_declared_types() {
    for v in BOTH {
        let e = with_flow(v).await;
        let r = get(&e, "/api/v1/main/flows/company.team/hello?source=maybe")
            .send()
            .await
            .unwrap();
        // 1.3.25's ErrorController answers a ConversionErrorException 422; 2.0 400.
        assert_eq!(r.status(), if v.is_v2() { 400 } else { 422 }, "{v}");
        let m = message(v, &r.json().await.unwrap());
        assert!(
            m.contains("Failed to convert argument [source] for value [maybe]"),
            "{m}"
        );
        assert!(last(&e).1.unwrap().contains("source=maybe"));
        let r = get(&e, "/api/v1/main/flows/company.team/hello?revision=one")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), if v.is_v2() { 400 } else { 422 });
        // Unknown query values are ignored (Micronaut binds only what a method declares).
        let r = get(&e, "/api/v1/main/flows/company.team/hello?nonsense=1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // A required one missing.
        let r = get(&e, "/api/v1/main/executions?namespace=company.team")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let m = message(v, &r.json().await.unwrap());
        assert!(
            m.contains("Required QueryValue [flowId] not specified"),
            "{m}"
        );
        e.shutdown().await;
    }
}

#[tokio::test]
async fn json_bodies_are_checked_against_their_schema() {
    for v in BOTH {
        let e = emu_with(kestra_emulator::Options::for_tests_api_managed(
            v, USER, PASS,
        ))
        .await;
        let url = format!("{}/api/v1/main/basicAuth", e.api_url());
        // A declared string property given an object: refused, nothing changed.
        let r = client()
            .post(&url)
            .basic_auth(USER, Some(PASS))
            .header("content-type", "application/json")
            .body(r#"{"username": {"a": 1}, "password": "Other-Passw0rd"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{v}");
        // Unknown properties are accepted (FAIL_ON_UNKNOWN_PROPERTIES: false).
        let r = client()
            .post(&url)
            .basic_auth(USER, Some(PASS))
            .header("content-type", "application/json")
            .body(r#"{"username": "admin@kestra.io", "password": "Other-Passw0rd", "extra": [1]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{v}");
        e.shutdown().await;
    }
}

#[test]
fn every_served_route_takes_its_media_types_from_the_spec() {
    for v in [
        KestraVersion::V1_3,
        KestraVersion::V2_0,
        KestraVersion::V2_1Dev,
    ] {
        let spec = kestra_emulator::router::spec(v);
        for (m, p) in kestra_emulator::served_routes(v) {
            assert!(
                spec["paths"][p][m.to_ascii_lowercase()].is_object(),
                "{v}: {m} {p} is served but not in the spec"
            );
        }
        for (m, p, source) in kestra_emulator::hidden_routes(v) {
            assert!(
                source.contains(".java"),
                "{v}: hidden {m} {p} names no Kestra source"
            );
        }
    }
}
