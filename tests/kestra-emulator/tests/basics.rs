//! Configs, auth, error shapes, health, ping and the control surface, on both versions.

use std::time::Duration;

use crate::common::*;
use kestra_emulator::{KestraVersion, Knobs, Options};
use serde_json::Value;

#[tokio::test]
async fn configs_and_login_per_version() {
    let e = emu(KestraVersion::V1_3).await;
    // 1.3: /configs answers anyone.
    let r = client()
        .get(format!("{}/api/v1/configs", e.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], "1.3.26");
    assert_eq!(v["edition"], "OSS");
    assert_eq!(v["isBasicAuthInitialized"], true);
    assert_eq!(v["systemNamespace"], "system");
    let r = get(&e, "/api/v1/configs/login").send().await.unwrap();
    assert_eq!(r.status(), 404);
    e.shutdown().await;

    let e = emu(KestraVersion::V2_0).await;
    let r = client()
        .get(format!("{}/api/v1/configs", e.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = get(&e, "/api/v1/configs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], "2.0.5");
    let r = client()
        .get(format!("{}/api/v1/configs/login", e.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, serde_json::json!({"isBasicAuthInitialized": true}));
    e.shutdown().await;
}

#[tokio::test]
async fn unauthenticated_shapes() {
    let e = emu(KestraVersion::V1_3).await;
    let url = format!("{}/api/v1/main/flows/distinct-namespaces", e.api_url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // `AuthenticationFilter` (1.3.25): `HttpResponse.unauthorized()` with a bare `Basic`.
    assert_eq!(r.headers()["www-authenticate"], "Basic");
    assert!(r.bytes().await.unwrap().is_empty());
    // Coming from the UI's login page: no challenge (the browser would prompt).
    let r = client()
        .get(&url)
        .header("referer", "http://localhost:8080/ui/login?from=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
    // Wrong password, or a cookie with a wrong one: still 401.
    let r = client()
        .get(&url)
        .basic_auth(USER, Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .get(&url)
        .header("cookie", "BASIC_AUTH=bm9ib2R5OndoYXRldmVy")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The UI's cookie with the right credential is as good as the header (`BasicAuthService`
    // reads the cookie first).
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    let r = client()
        .get(&url)
        .header("cookie", format!("theme=dark; BASIC_AUTH={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    e.shutdown().await;

    let e = emu(KestraVersion::V2_0).await;
    let r = client()
        .get(format!(
            "{}/api/v1/main/flows/distinct-namespaces",
            e.api_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["type"],
        "https://kestra.io/docs/api-reference/problems/unauthenticated"
    );
    assert_eq!(v["status"], 401);
    assert_eq!(v["instance"], "/api/v1/main/flows/distinct-namespaces");
    e.shutdown().await;
}

#[tokio::test]
async fn no_credential_configured_means_uninitialized_and_locked() {
    for v in BOTH {
        let mut o = Options::for_tests(v, USER, PASS);
        o.config.basic_auth = None;
        let e = emu_with(o).await;
        let path = if v.is_v2() {
            "/api/v1/configs/login"
        } else {
            "/api/v1/configs"
        };
        let body: Value = client()
            .get(format!("{}{path}", e.api_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["isBasicAuthInitialized"], false);
        let r = get(&e, "/api/v1/main/flows/distinct-namespaces")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_routes_and_404_headers() {
    let e = emu(KestraVersion::V1_3).await;
    let r = get(&e, "/api/v1/main/nothing-here").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["message"], "Not Found");
    assert_eq!(v["_links"]["self"]["href"], "/api/v1/main/nothing-here");
    e.shutdown().await;

    let e = emu(KestraVersion::V2_0).await;
    let r = get(&e, "/api/v1/main/nothing-here").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-kestra-edition"], "OSS");
    assert_eq!(r.headers()["x-kestra-route-matched"], "false");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["type"],
        "https://kestra.io/docs/api-reference/problems/not-found"
    );
    e.shutdown().await;
}

#[tokio::test]
async fn ping_and_health() {
    for v in BOTH {
        let e = emu(v).await;
        let r = client()
            .get(format!("{}/ping", e.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "pong");
        let r = client()
            .get(format!("{}/health", e.management_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h: Value = r.json().await.unwrap();
        assert_eq!(h["status"], "UP");
        // `endpoints.health.details-visible: ANONYMOUS` and no disk-space indicator (1.3.25 and
        // 2.0's cli application.yml).
        assert!(h["details"].is_object(), "details visibility on {v}");
        assert!(h["details"].get("diskSpace").is_none(), "{h}");
        for p in ["/health/liveness", "/health/readiness"] {
            let r = client()
                .get(format!("{}{p}", e.management_url()))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{p}");
        }
        // The same with credentials (the management port has no filter unless
        // `endpoints.all.basic-auth` is configured).
        let h: Value = client()
            .get(format!("{}/health", e.management_url()))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(h["details"]["service"].is_object());
        e.shutdown().await;
    }
}

#[tokio::test]
async fn ready_delay_keeps_health_down() {
    let mut o = Options::for_tests(KestraVersion::V2_0, USER, PASS);
    o.knobs = Knobs {
        ready_delay: Duration::from_millis(400),
        ..Knobs::default()
    };
    let e = emu_with(o).await;
    let r = client()
        .get(format!("{}/health", e.management_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "DOWN");
    let r = client()
        .get(format!("{}/health/liveness", e.management_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = client()
        .get(format!("{}/health", e.management_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    e.shutdown().await;
}

#[tokio::test]
async fn fail_first_latency_and_journal() {
    for v in BOTH {
        let e = emu(v).await;
        let c = e.control();
        c.fail_next(2);
        for _ in 0..2 {
            let r = get(&e, "/api/v1/main/flows/distinct-namespaces")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 503);
            let body: Value = r.json().await.unwrap();
            if v.is_v2() {
                assert_eq!(
                    body["type"],
                    "https://kestra.io/docs/api-reference/problems/service-unavailable"
                );
            } else {
                assert_eq!(body["message"], "Service Unavailable");
            }
        }
        let r = get(&e, "/api/v1/main/flows/distinct-namespaces?q=x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        c.set_latency(Duration::from_millis(150));
        let t = std::time::Instant::now();
        get(&e, "/api/v1/main/flows/distinct-namespaces")
            .send()
            .await
            .unwrap();
        assert!(t.elapsed() >= Duration::from_millis(150));
        let reqs = c.requests();
        assert_eq!(reqs.len(), 4);
        assert_eq!(reqs[0].status, 503);
        assert_eq!(reqs[2].query.as_deref(), Some("q=x"));
        assert!(
            reqs[2]
                .headers
                .iter()
                .any(|(k, v)| k == "authorization" && v.starts_with("Basic "))
        );
        c.clear_requests();
        assert!(c.requests().is_empty());

        // The same over HTTP on the management port.
        let m = e.management_url();
        let k: Value = client()
            .post(format!("{m}/emulator/knobs"))
            .json(&serde_json::json!({"failFirst": 1, "latencyMs": 0}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(k["failFirst"], 1);
        let r = get(&e, "/api/v1/main/flows/distinct-namespaces")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        let reqs: Value = client()
            .get(format!("{m}/emulator/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reqs.as_array().unwrap().len(), 1);
        let r = client()
            .delete(format!("{m}/emulator/requests"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        e.shutdown().await;
    }
}

#[test]
fn background_emulator_serves_blocking_clients() {
    let bg =
        kestra_emulator::start_in_background(Options::for_tests(KestraVersion::V2_0, USER, PASS))
            .unwrap();
    let url = format!("{}/ping", bg.api_url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async { reqwest::get(&url).await.unwrap().status() });
    assert_eq!(status, 200);
    assert_eq!(bg.control().requests().len(), 1);
    drop(bg);
}
