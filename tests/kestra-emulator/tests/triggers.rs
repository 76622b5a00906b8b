//! Switching triggers on and off, per version: 1.3's `PUT /triggers` (a realtime trigger is
//! refused) and `POST /triggers/set-disabled/by-triggers` (full `Trigger` items, realtime ones
//! skipped silently but counted); 2.0's `PUT /triggers/set-disabled` and by-triggers (no realtime
//! check, 202 `{operationId, totalItems}`).

use crate::common::*;
use kestra_emulator::{Emulator, KestraVersion};
use serde_json::{Value, json};

const FLOW: &str = "id: trig\nnamespace: company.team\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: \"0 2 * * *\"\n  - id: hourly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: \"0 * * * *\"\n  - id: stream\n    type: io.kestra.plugin.kafka.RealtimeTrigger\n    topic: events\n";

async fn setup(v: KestraVersion) -> Emulator {
    let e = emu(v).await;
    let r = post_yaml(&e, "/api/v1/main/flows", FLOW)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    e
}

async fn send(
    e: &Emulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = client()
        .request(method, format!("{}{path}", e.api_url()))
        .basic_auth(USER, Some(PASS));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `trigger id → disabled`, from the search.
async fn disabled(e: &Emulator, v: KestraVersion) -> Vec<(String, bool)> {
    let (_, page) = send(
        e,
        reqwest::Method::GET,
        "/api/v1/main/triggers/search?filters[namespace][EQUALS]=company.team&sort=triggerId:asc",
        None,
    )
    .await;
    let ctx = if v.is_v2() { "state" } else { "triggerContext" };
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i[ctx]["triggerId"].as_str().unwrap().to_string(),
                i[ctx]["disabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn states(pairs: &[(&str, bool)]) -> Vec<(String, bool)> {
    pairs.iter().map(|(k, d)| (k.to_string(), *d)).collect()
}

#[tokio::test]
async fn v1_refuses_realtime_on_put_and_skips_it_in_bulk() {
    let v = KestraVersion::V1_3;
    let e = setup(v).await;
    let one = |trigger: &str| json!({"namespace": "company.team", "flowId": "trig", "triggerId": trigger, "disabled": true});
    let (status, body) = send(
        &e,
        reqwest::Method::PUT,
        "/api/v1/main/triggers",
        Some(one("stream")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["message"],
        "Illegal argument: Realtime triggers can not be updated through the API, please edit the trigger from the flow."
    );
    let (status, body) = send(
        &e,
        reqwest::Method::PUT,
        "/api/v1/main/triggers",
        Some(one("daily")),
    )
    .await;
    assert_eq!((status, &body["disabled"]), (200, &json!(true)), "{body}");

    // By triggers: full `Trigger` items; `tenantId` names the row, realtime ones are skipped,
    // unknown ones too, and all of them are counted.
    let item = |trigger: &str, tenant: Option<&str>| {
        let mut t = json!({
            "namespace": "company.team", "flowId": "trig", "triggerId": trigger,
            "date": "2026-12-07T10:00:00Z"
        });
        if let Some(tenant) = tenant {
            t["tenantId"] = json!(tenant);
        }
        t
    };
    let body = json!({"triggers": [
        item("daily", Some("main")),
        item("hourly", None),
        item("stream", Some("main")),
        item("nope", Some("main")),
    ], "disabled": false});
    let path = "/api/v1/main/triggers/set-disabled/by-triggers";
    let (status, answer) = send(&e, reqwest::Method::POST, path, Some(body)).await;
    assert_eq!((status, answer), (200, json!({"count": 4})));
    assert_eq!(
        disabled(&e, v).await,
        states(&[("daily", false), ("hourly", false), ("stream", false)])
    );
    let body = json!({"triggers": [item("hourly", Some("main")), item("stream", Some("main"))], "disabled": true});
    let (status, answer) = send(&e, reqwest::Method::POST, path, Some(body)).await;
    assert_eq!((status, answer), (200, json!({"count": 2})));
    assert_eq!(
        disabled(&e, v).await,
        states(&[("daily", false), ("hourly", true), ("stream", false)])
    );

    // `@NotNull @NotEmpty` triggers, `@NotNull` disabled: 422.
    for body in [
        Some(json!({"triggers": [], "disabled": true})),
        Some(json!({"disabled": true})),
        Some(json!({"triggers": [item("daily", Some("main"))]})),
        None,
    ] {
        let (status, answer) = send(&e, reqwest::Method::POST, path, body.clone()).await;
        assert_eq!(status, 422, "{body:?}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid entity: "),
            "{answer}"
        );
    }
    e.shutdown().await;
}

#[tokio::test]
async fn v2_disables_realtime_triggers_too() {
    for v in [KestraVersion::V2_0, KestraVersion::V2_1Dev] {
        let e = setup(v).await;
        // No `PUT /triggers` on 2.x.
        let one = |trigger: &str, disabled: bool| json!({"namespace": "company.team", "flowId": "trig", "triggerId": trigger, "disabled": disabled});
        let (status, _) = send(
            &e,
            reqwest::Method::PUT,
            "/api/v1/main/triggers",
            Some(one("daily", true)),
        )
        .await;
        assert!(matches!(status, 404 | 405), "{v}: {status}");

        let path = "/api/v1/main/triggers/set-disabled";
        let (status, state) = send(&e, reqwest::Method::PUT, path, Some(one("stream", true))).await;
        assert_eq!(status, 200, "{v}: {state}");
        assert_eq!(
            (&state["triggerId"], &state["disabled"], &state["kind"]),
            (&json!("stream"), &json!(true), &json!("REALTIME"))
        );
        let mut with_recovery = one("stream", false);
        with_recovery["recoverMissedSchedules"] = json!(true);
        let (status, state) = send(&e, reqwest::Method::PUT, path, Some(with_recovery)).await;
        assert_eq!(
            (status, &state["disabled"]),
            (200, &json!(false)),
            "{v}: {state}"
        );
        let (status, _) = send(&e, reqwest::Method::PUT, path, Some(one("nope", true))).await;
        assert_eq!(status, 404, "{v}");

        // By triggers: `{namespace, flowId, triggerId}` items, unknown ones dropped, realtime
        // ones switched like the others; 202 with the number switched.
        let id = |trigger: &str| json!({"namespace": "company.team", "flowId": "trig", "triggerId": trigger});
        let path = "/api/v1/main/triggers/set-disabled/by-triggers";
        let body = json!({"triggers": [id("daily"), id("stream"), id("nope")], "disabled": true});
        let (status, answer) = send(&e, reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, 202, "{v}: {answer}");
        assert_eq!(answer["totalItems"], 2, "{v}: {answer}");
        assert!(
            answer["operationId"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        assert_eq!(
            disabled(&e, v).await,
            states(&[("daily", true), ("hourly", false), ("stream", true)])
        );
        for body in [
            Some(json!({"triggers": [], "disabled": true})),
            Some(json!({"disabled": true})),
            None,
        ] {
            let (status, answer) = send(&e, reqwest::Method::POST, path, body.clone()).await;
            assert_eq!(status, 422, "{v} {body:?}: {answer}");
        }
        e.shutdown().await;
    }
}
