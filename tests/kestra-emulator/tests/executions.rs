//! Executions, logs, SSE, kill/restart and seeding on both versions.

use std::time::Duration;

use crate::common::*;
use futures_util::StreamExt;
use kestra_emulator::{KestraVersion, Knobs, Options, Outcome};
use serde_json::Value;

fn trigger(
    e: &kestra_emulator::Emulator,
    ns: &str,
    id: &str,
    query: &str,
) -> reqwest::RequestBuilder {
    client()
        .post(format!(
            "{}/api/v1/main/executions/{ns}/{id}{query}",
            e.api_url()
        ))
        .basic_auth(USER, Some(PASS))
        .multipart(reqwest::multipart::Form::new())
}

async fn create_flow(e: &kestra_emulator::Emulator, src: &str) {
    let r = post_yaml(e, "/api/v1/main/flows", src)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

const WITH_INPUT: &str = "id: greet\nnamespace: company.team\ninputs:\n  - id: name\n    type: STRING\n  - id: count\n    type: INT\n    defaults: 3\n  - id: doc\n    type: FILE\n    required: false\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hello\n  - id: ret\n    type: io.kestra.plugin.core.debug.Return\n    format: done\n";

#[tokio::test]
async fn trigger_wait_get_logs_outputs() {
    for v in BOTH {
        let e = emu(v).await;
        create_flow(&e, WITH_INPUT).await;
        // Missing required input → 422.
        let r = trigger(&e, "company.team", "greet", "")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("missing required input"));
        // No body and no Content-Type is routed (Micronaut matches `consumes` only against a
        // Content-Type that is given): no part, so the required input is missing.
        let r = client()
            .post(format!(
                "{}/api/v1/main/executions/company.team/greet",
                e.api_url()
            ))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("missing required input"));
        // Another Content-Type → 415.
        let r = client()
            .post(format!(
                "{}/api/v1/main/executions/company.team/greet",
                e.api_url()
            ))
            .basic_auth(USER, Some(PASS))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);
        let body = r.text().await.unwrap();
        assert!(
            body.contains(
                "Content Type [application/json] not allowed. Allowed types: [multipart/form-data]"
            ),
            "{body}"
        );
        // Unknown flow → 404.
        let r = trigger(&e, "company.team", "nope", "")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        let form = reqwest::multipart::Form::new().text("name", "world").part(
            "doc",
            reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a.txt"),
        );
        let r = client()
            .post(format!("{}/api/v1/main/executions/company.team/greet?wait=true&labels=team:data&labels=env:prod", e.api_url()))
            .basic_auth(USER, Some(PASS))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let x: Value = r.json().await.unwrap();
        assert_eq!(x["state"]["current"], "SUCCESS", "{x}");
        assert_eq!(x["inputs"]["name"], "world");
        assert_eq!(x["inputs"]["count"], 3);
        assert!(
            x["inputs"]["doc"]
                .as_str()
                .unwrap()
                .starts_with("kestra:///company/team/greet/executions/")
        );
        assert_eq!(x["labels"][0]["key"], "team");
        assert!(x["url"].as_str().unwrap().ends_with(&format!(
            "/ui/main/executions/company.team/greet/{}",
            x["id"].as_str().unwrap()
        )));
        let id = x["id"].as_str().unwrap().to_string();

        let g: Value = get(&e, &format!("/api/v1/main/executions/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(g["taskRunList"].as_array().unwrap().len(), 2);
        assert!(g["state"]["endDate"].is_string());
        assert!(g["state"]["duration"].as_str().unwrap().starts_with("PT"));

        let logs: Value = get(&e, &format!("/api/v1/main/logs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(logs[0]["message"], "hello");
        let q = if v.is_v2() {
            "filters[level][GREATER_THAN_OR_EQUAL_TO]=ERROR"
        } else {
            "minLevel=ERROR"
        };
        let logs: Value = get(&e, &format!("/api/v1/main/logs/{id}?{q}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(logs.as_array().unwrap().is_empty());
        if v.is_v2() {
            // 2.0's `level` filter is a minimum or a maximum, never EQUALS (400).
            let r = get(
                &e,
                &format!("/api/v1/main/logs/{id}?filters[level][EQUALS]=ERROR"),
            )
            .send()
            .await
            .unwrap();
            assert_eq!(r.status(), 400);
            assert!(
                r.text()
                    .await
                    .unwrap()
                    .contains("Operation EQUALS is not supported for field MIN_LEVEL")
            );
        }

        // The 2.0.0-SNAPSHOT spec's `GET /outputs/{executionId}` is served by no Kestra release
        // (1.3 has no outputs routes; 2.0's are `/outputs/executions/…` and `/outputs/tasks/…`).
        let r = get(&e, &format!("/api/v1/main/outputs/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        e.shutdown().await;
    }
}

const WITH_OUTPUTS: &str = "id: outs\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n  - id: ret\n    type: io.kestra.plugin.core.debug.Return\n    format: done\noutputs:\n  - id: result\n    type: STRING\n    value: \"{{ outputs.ret.value }}\"\n";

async fn json_of(e: &kestra_emulator::Emulator, path: &str) -> (u16, Value) {
    let r = get(e, path).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// 1.3 inlines task outputs in `taskRunList[].outputs` and the flow's outputs in `outputs`
/// (1.3.25 `ExecutionController.getExecution`, `TaskRun.outputs`, `ExecutorService.onEnd`) and
/// has no outputs routes. 2.0 keeps both apart (`ApiExecution`/`ApiTaskRun` have no `outputs`)
/// and serves them from `OutputController`.
#[tokio::test]
async fn outputs_inline_on_1_3_and_apart_on_2_x() {
    for v in ALL {
        let e = emu(v).await;
        create_flow(&e, WITH_OUTPUTS).await;
        let x: Value = trigger(&e, "company.team", "outs", "?wait=true")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(x["state"]["current"], "SUCCESS", "{v}: {x}");
        let id = x["id"].as_str().unwrap().to_string();
        let (_, g) = json_of(&e, &format!("/api/v1/main/executions/{id}")).await;
        let runs = g["taskRunList"].as_array().unwrap().clone();
        let (log_run, ret_run) = (
            runs[0]["id"].as_str().unwrap().to_string(),
            runs[1]["id"].as_str().unwrap().to_string(),
        );
        let (_, search) = json_of(
            &e,
            "/api/v1/main/executions/search?filters[flowId][EQUALS]=outs",
        )
        .await;
        let outputs_routes = [
            format!("/api/v1/main/outputs/executions/{id}"),
            format!("/api/v1/main/outputs/tasks/{id}"),
            format!("/api/v1/main/outputs/tasks/{id}/{ret_run}"),
        ];
        if !v.is_v2() {
            assert_eq!(runs[1]["outputs"], serde_json::json!({"value": "done"}));
            assert!(runs[0].get("outputs").is_none(), "{v}: {g}");
            assert_eq!(g["outputs"], serde_json::json!({"result": "done"}));
            assert_eq!(x["outputs"], serde_json::json!({"result": "done"}));
            assert_eq!(
                search["results"][0]["outputs"],
                serde_json::json!({"result": "done"})
            );
            for p in &outputs_routes {
                assert_eq!(json_of(&e, p).await.0, 404, "{v}: {p}");
            }
            e.shutdown().await;
            continue;
        }
        // 2.x: no outputs on the execution, in any of its shapes.
        assert!(runs.iter().all(|r| r.get("outputs").is_none()), "{v}: {g}");
        assert!(g.get("outputs").is_none(), "{v}: {g}");
        assert!(x.get("outputs").is_none(), "{v}: {x}");
        let runs = x["taskRunList"].as_array().unwrap();
        assert!(runs.iter().all(|r| r.get("outputs").is_none()), "{v}: {x}");
        assert_eq!(search["results"][0]["outputs"], serde_json::json!({}));

        let (status, o) = json_of(&e, &outputs_routes[0]).await;
        assert_eq!((status, o), (200, serde_json::json!({"result": "done"})));
        let (status, o) = json_of(&e, &outputs_routes[1]).await;
        assert_eq!(
            (status, o),
            (
                200,
                serde_json::json!([{"taskId": "ret", "taskRunId": ret_run, "inline": true}])
            )
        );
        let (status, o) = json_of(&e, &outputs_routes[2]).await;
        assert_eq!((status, o), (200, serde_json::json!({"value": "done"})));
        // A task run without outputs: an empty map. Unknown task run or execution: 404.
        let (status, o) = json_of(&e, &format!("/api/v1/main/outputs/tasks/{id}/{log_run}")).await;
        assert_eq!((status, o), (200, serde_json::json!({})));
        for p in [
            format!("/api/v1/main/outputs/tasks/{id}/nope"),
            "/api/v1/main/outputs/tasks/nope/nope".to_string(),
            "/api/v1/main/outputs/tasks/nope".to_string(),
            "/api/v1/main/outputs/executions/nope".to_string(),
        ] {
            assert_eq!(json_of(&e, &p).await.0, 404, "{v}: {p}");
        }

        // Not terminated yet: no flow outputs (404).
        let mut slow = Options::for_tests(v, USER, PASS);
        slow.knobs.execution_duration = Duration::from_secs(5);
        let slow = kestra_emulator::start(slow).await.unwrap();
        create_flow(&slow, WITH_OUTPUTS).await;
        let y: Value = trigger(&slow, "company.team", "outs", "")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let yid = y["id"].as_str().unwrap();
        let p = format!("/api/v1/main/outputs/executions/{yid}");
        assert_eq!(json_of(&slow, &p).await.0, 404, "{v}: running");
        slow.shutdown().await;
        e.shutdown().await;
    }
}

/// Flow outputs that cannot be rendered fail the execution, which then has none
/// (`ExecutorService.onEnd`: "Failed to render output values").
#[tokio::test]
async fn flow_outputs_that_cannot_be_rendered_fail_the_execution() {
    for v in BOTH {
        let e = emu(v).await;
        create_flow(
            &e,
            &WITH_OUTPUTS.replace("outputs.ret.value", "outputs.missing.value"),
        )
        .await;
        let x: Value = trigger(&e, "company.team", "outs", "?wait=true")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(x["state"]["current"], "FAILED", "{v}: {x}");
        assert!(x.get("outputs").is_none(), "{v}: {x}");
        let id = x["id"].as_str().unwrap();
        let (_, logs) = json_of(&e, &format!("/api/v1/main/logs/{id}")).await;
        assert!(
            logs.as_array().unwrap().iter().any(|l| l["message"]
                .as_str()
                .unwrap()
                .starts_with("Failed to render output values")),
            "{v}: {logs}"
        );
        if v.is_v2() {
            let p = format!("/api/v1/main/outputs/executions/{id}");
            assert_eq!(json_of(&e, &p).await.0, 404);
        }
        e.shutdown().await;
    }
}

#[tokio::test]
async fn fail_task_and_forced_outcome() {
    let e = emu(KestraVersion::V2_0).await;
    create_flow(&e, "id: boom\nnamespace: a.b\ntasks:\n  - id: f\n    type: io.kestra.plugin.core.execution.Fail\n").await;
    let x: Value = trigger(&e, "a.b", "boom", "?wait=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(x["state"]["current"], "FAILED");
    e.control().set_knobs(Knobs {
        execution_outcome: Some(Outcome::Warning),
        ..Knobs::default()
    });
    let x: Value = trigger(&e, "a.b", "boom", "?wait=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(x["state"]["current"], "WARNING");
    e.shutdown().await;
}

#[tokio::test]
async fn follow_kill_restart() {
    for v in BOTH {
        let mut o = Options::for_tests(v, USER, PASS);
        o.knobs.execution_duration = Duration::from_millis(400);
        let e = emu_with(o).await;
        create_flow(&e, &flow_yaml("a.b", "slow")).await;
        let x: Value = trigger(&e, "a.b", "slow", "")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(x["state"]["current"], "CREATED");
        let id = x["id"].as_str().unwrap().to_string();

        // Follow to the end: progress events, then one `end`, then the stream closes.
        let r = get(&e, &format!("/api/v1/main/executions/{id}/follow"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let text = tokio::time::timeout(Duration::from_secs(5), r.text())
            .await
            .unwrap()
            .unwrap();
        assert!(text.contains("id: progress"), "{text}");
        assert_eq!(text.matches("id: end").count(), 1, "{text}");
        // Every stream opens with `start`: an execution with only its id.
        assert_eq!(text.matches("id: start").count(), 1, "{text}");
        assert!(
            text.find("id: start").unwrap() < text.find("id: progress").unwrap(),
            "{text}"
        );
        // Terminal: `start`, then a single end event.
        let text = get(&e, &format!("/api/v1/main/executions/{id}/follow"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("id: start"), "{text}");
        assert!(text.contains("id: end"), "{text}");
        assert!(!text.contains("progress"));

        // Kill a running one; killing it again is a conflict.
        let x: Value = trigger(&e, "a.b", "slow", "")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id2 = x["id"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let kill = if v.is_v2() {
            format!("/api/v1/main/executions/{id2}/actions/kill")
        } else {
            format!("/api/v1/main/executions/{id2}/kill")
        };
        let other = if v.is_v2() {
            format!("/api/v1/main/executions/{id2}/kill")
        } else {
            format!("/api/v1/main/executions/{id2}/actions/kill")
        };
        // The other version's spelling is not routed: 404, or 405 where the path happens to
        // match another route (2.0's `/{namespace}/{id}` is POST-only), as Micronaut answers.
        let st = delete(&e, &other).send().await.unwrap().status();
        assert_eq!(st, if v.is_v2() { 405 } else { 404 });
        let r = delete(&e, &kill).send().await.unwrap();
        assert_eq!(r.status(), if v.is_v2() { 200 } else { 202 });
        let mut state = String::new();
        for _ in 0..40 {
            let g: Value = get(&e, &format!("/api/v1/main/executions/{id2}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            state = g["state"]["current"].as_str().unwrap().to_string();
            if state == "KILLED" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(state, "KILLED");
        // Killing an ended execution is accepted with the default `isOnKillCascade=true`
        // (the kill still reaches its subflows) and changes nothing; only `false` refuses it.
        let r = delete(&e, &kill).send().await.unwrap();
        assert_eq!(r.status(), if v.is_v2() { 200 } else { 202 });
        let r = delete(&e, &format!("{kill}?isOnKillCascade=false"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        let text = r.text().await.unwrap();
        assert!(
            text.contains(if v.is_v2() {
                "Cannot kill execution: execution is already terminated."
            } else {
                "Execution is already finished, can't kill it"
            }),
            "{text}"
        );

        // `State.canBeRestarted`: a KILLED execution is refused…
        let restart = |x: &str| {
            let path = if v.is_v2() {
                format!("/api/v1/main/executions/{x}/actions/restart")
            } else {
                format!("/api/v1/main/executions/{x}/restart")
            };
            client()
                .post(format!("{}{path}", e.api_url()))
                .basic_auth(USER, Some(PASS))
        };
        let r = restart(&id2).send().await.unwrap();
        assert_eq!(r.status(), 409);
        let text = r.text().await.unwrap();
        assert!(
            text.contains(if v.is_v2() {
                "current state is 'KILLED', expected terminated or paused."
            } else {
                "terminated or paused and not killed"
            }),
            "{text}"
        );
        // …so is a successful one: 2.0 restarts FAILED or PAUSED only (409); 1.3 lets an ended
        // one through but finds no failed task to restart from (422).
        let r = restart(&id).send().await.unwrap();
        assert_eq!(r.status(), if v.is_v2() { 409 } else { 422 });
        if !v.is_v2() {
            assert!(
                r.text()
                    .await
                    .unwrap()
                    .contains("No task found to restart execution from!")
            );
        }
        // A FAILED one restarts: RESTARTED, then it runs to the end again.
        create_flow(&e, "id: boom\nnamespace: a.b\ntasks:\n  - id: f\n    type: io.kestra.plugin.core.execution.Fail\n").await;
        let x: Value = trigger(&e, "a.b", "boom", "?wait=true")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(x["state"]["current"], "FAILED");
        let failed = x["id"].as_str().unwrap().to_string();
        let r = restart(&failed).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let x: Value = r.json().await.unwrap();
        assert_eq!(x["state"]["current"], "RESTARTED");
        let text = get(&e, &format!("/api/v1/main/executions/{failed}/follow"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("id: end"), "{text}");
        // A running one cannot be restarted.
        let x: Value = trigger(&e, "a.b", "slow", "")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = restart(x["id"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(r.status(), 409);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn log_follow_replays_and_stays_open() {
    let e = emu(KestraVersion::V1_3).await;
    create_flow(&e, &flow_yaml("a.b", "logs")).await;
    let x: Value = trigger(&e, "a.b", "logs", "?wait=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = x["id"].as_str().unwrap();
    let r = get(&e, &format!("/api/v1/main/logs/{id}/follow"))
        .send()
        .await
        .unwrap();
    let mut s = r.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(2), s.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let mut text = String::from_utf8_lossy(&first).into_owned();
    while !text.contains("Hello from logs") {
        let more = tokio::time::timeout(Duration::from_secs(2), s.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&more));
    }
    // Opened with `start`: an empty entry (only `attemptNumber`, always written).
    assert!(
        text.starts_with("id: start\ndata: {\"attemptNumber\":null}")
            || text.starts_with("data: {\"attemptNumber\":null}\nid: start"),
        "{text}"
    );
    // Never ends on its own.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), s.next())
            .await
            .is_err()
    );
    e.shutdown().await;
}

#[tokio::test]
async fn seeded_search_paging_and_filters() {
    for v in BOTH {
        let mut o = Options::for_tests(v, USER, PASS);
        o.knobs.seed_executions = 100_000;
        let t = std::time::Instant::now();
        let e = emu_with(o).await;
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "seeding took {:?}",
            t.elapsed()
        );
        let r: Value = get(
            &e,
            "/api/v1/main/executions/search?size=25&page=3&sort=state.startDate:desc",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(r["total"], 100_000);
        let items = r["results"].as_array().unwrap();
        assert_eq!(items.len(), 25);
        assert_eq!(items[0].get("taskRunList").is_none(), v.is_v2());
        let r: Value = get(&e, "/api/v1/main/executions/search?filters[namespace][PREFIX]=acme.sales&filters[state][IN]=FAILED,KILLED&filters[labels][EQUALS][team]=data")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let total = r["total"].as_u64().unwrap();
        assert!(total > 0 && total < 100_000);
        for it in r["results"].as_array().unwrap() {
            assert!(it["namespace"].as_str().unwrap().starts_with("acme.sales"));
            assert!(["FAILED", "KILLED"].contains(&it["state"]["current"].as_str().unwrap()));
        }
        // Legacy flat params: 1.3 filters, 2.0 ignores.
        let r: Value = get(
            &e,
            "/api/v1/main/executions/search?namespace=company.ops&size=1",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(r["total"] == 100_000, v.is_v2());
        // Invalid sort → 422.
        let r = get(&e, "/api/v1/main/executions/search?sort=bogus")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let r: Value = get(
            &e,
            "/api/v1/main/executions?namespace=company.team&flowId=etl&size=5",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert!(r["total"].as_u64().unwrap() > 0);
        let r = get(&e, "/api/v1/main/executions?namespace=company.team")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn disabled_flow_bad_labels_and_large_files() {
    for v in BOTH {
        let e = emu(v).await;
        create_flow(
            &e,
            &format!("{}disabled: true\n", flow_yaml("a.b", "switched-off")),
        )
        .await;
        let r = trigger(&e, "a.b", "switched-off", "").send().await.unwrap();
        assert_eq!(r.status(), 409, "{v}");
        create_flow(&e, "id: up\nnamespace: a.b\ninputs:\n  - id: f\n    type: FILE\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n").await;
        let r = trigger(&e, "a.b", "up", "?labels=nocolon")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let big = vec![b'x'; 3 * 1024 * 1024];
        let form = reqwest::multipart::Form::new().part(
            "f",
            reqwest::multipart::Part::bytes(big).file_name("big.bin"),
        );
        let r = client()
            .post(format!("{}/api/v1/main/executions/a.b/up", e.api_url()))
            .basic_auth(USER, Some(PASS))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let reqs = e.control().requests();
        assert!(reqs.last().unwrap().body_len > 3 * 1024 * 1024);
        e.shutdown().await;
    }
}

/// `ExecutionController.followExecution` answers 200 and the `start` event before looking the
/// execution up; an unknown id makes the stream fail after its ~10 s wait, with the connection
/// closed (no status can be sent any more).
#[tokio::test]
async fn unknown_follow_opens_then_closes() {
    let e = emu(KestraVersion::V2_0).await;
    let started = std::time::Instant::now();
    let r = get(&e, "/api/v1/main/executions/nope/follow")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut s = r.bytes_stream();
    let first = s.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("id: start"));
    // Then nothing until the stream errors.
    let end = tokio::time::timeout(Duration::from_secs(15), s.next())
        .await
        .unwrap();
    assert!(matches!(end, Some(Err(_)) | None), "{end:?}");
    assert!(started.elapsed() >= Duration::from_secs(9));
    e.shutdown().await;
}

/// Kestra ends a follow stream that stayed an hour without an event (`Flux.timeout`): the
/// `sse_idle_timeout` knob shortens that hour for tests.
#[tokio::test]
async fn idle_follow_streams_end_with_an_error() {
    let mut o = Options::for_tests(KestraVersion::V1_3, USER, PASS);
    o.knobs.sse_idle_timeout = Some(Duration::from_millis(300));
    o.knobs.execution_duration = Duration::from_secs(5);
    let e = emu_with(o).await;
    create_flow(&e, &flow_yaml("a.b", "slowish")).await;
    let x: Value = trigger(&e, "a.b", "slowish", "")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = x["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/main/executions/{id}/follow"),
        format!("/api/v1/main/logs/{id}/follow"),
    ] {
        let started = std::time::Instant::now();
        let r = get(&e, &path).send().await.unwrap();
        let mut s = r.bytes_stream();
        let mut ended = false;
        while let Ok(next) = tokio::time::timeout(Duration::from_secs(4), s.next()).await {
            if !matches!(next, Some(Ok(_))) {
                ended = true;
                break;
            }
        }
        assert!(ended, "{path} did not end");
        assert!(started.elapsed() < Duration::from_secs(4), "{path}");
    }
    e.shutdown().await;
}
