//! OpenAPI conformance: every route the emulator serves exists in Kestra's published spec for
//! that version, and a scripted scenario calls every one of them, validating each JSON body
//! (and each SSE event's `data`) against the spec's response schema for the status answered.
//! Fails if a served route was not exercised.
//!
//! Known defects of the published spec are waived explicitly (see `WAIVERS`), each with the
//! reason; everything else is enforced as written.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::common::*;
use kestra_emulator::{Emulator, KestraVersion, Options};
use serde_json::{Map, Value};

/// Spec defects the real server contradicts, so the emulator (faithful to the server) must too.
const WAIVERS: &[(&str, &str)] = &[
    (
        "State.required getDuration/getStartDate/getEndDate",
        "generated from Java getters; Kestra's JSON has duration/startDate/endDate only",
    ),
    (
        "additionalProperties: {type: object}",
        "a Java Map<String, Object> value; `Object` is any JSON value (inputs are strings, numbers…)",
    ),
    (
        "labels oneOf [Map_Object.Object_]",
        "the property's own description says 'a list of Label or a map'; the server answers a list",
    ),
    (
        "follow streams' `start` event",
        "both follow routes open with `Event.of(Execution.builder().id(id).build()).id(\"start\")` \
         or `Event.of(LogEntry.builder().build()).id(\"start\")` (1.3.25 ExecutionController, \
         LogController): a placeholder, not a valid Execution/LogEntry; checked for its own shape",
    ),
    (
        "AbstractTrigger.required when (2.0)",
        "the 2.0 spec marks a trigger's `when` condition required, yet a trigger without one is \
         answered without it; kestrapy 2.0.3 makes it optional for that reason (its \
         models/abstract_trigger.py: 'the server never returns `when` when it is unset')",
    ),
    (
        "KVController.KvDetail.value {type: object}",
        "a Java `Object` (KVController.KvDetail's `Object value`): the stored value as it is, \
         a number, text, boolean or JSON (1.3.25 KVController.getKeyValue)",
    ),
    (
        "createBasicAuth 200",
        "an HttpResponse<Void> documented as 200; the controller answers HttpResponse.noContent() (204, no body)",
    ),
];

fn load_spec(v: KestraVersion) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/kestra/openapi")
        .join(format!("kestra-ee-{}.yml", v.short()));
    let text = std::fs::read_to_string(p).unwrap();
    serde_saphyr::from_str::<Value>(&text).unwrap()
}

struct Validator<'a> {
    spec: &'a Value,
}

impl Validator<'_> {
    fn resolve<'b>(&'b self, s: &'b Value) -> &'b Value {
        let mut cur = s;
        while let Some(r) = cur.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/components/schemas/");
            cur = &self.spec["components"]["schemas"][name];
        }
        cur
    }

    fn ref_name(s: &Value) -> Option<&str> {
        s.get("$ref")
            .and_then(Value::as_str)
            .map(|r| r.trim_start_matches("#/components/schemas/"))
    }

    /// Validate `v` against `schema`; push "path: problem" lines into `errs`.
    fn check(&self, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
        let name = Self::ref_name(schema).map(str::to_string);
        let s = self.resolve(schema);
        if v.is_null() {
            let nullable = s.get("nullable").and_then(Value::as_bool).unwrap_or(false)
                || schema
                    .get("nullable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            if !nullable {
                errs.push(format!("{path}: null but not nullable"));
            }
            return;
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check(sub, v, path, errs);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = s.get(key).and_then(Value::as_array) {
                // Waiver: labels typed as a map, answered as a list of Label.
                let labels_waiver = path.ends_with(".labels") && v.is_array();
                if labels_waiver {
                    let label = serde_json::json!({"$ref": "#/components/schemas/Label"});
                    for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                        self.check(&label, item, &format!("{path}[{i}]"), errs);
                    }
                    continue;
                }
                let ok = alts.iter().any(|alt| {
                    let mut e = Vec::new();
                    self.check(alt, v, path, &mut e);
                    e.is_empty()
                });
                if !ok {
                    errs.push(format!("{path}: matches none of {key}"));
                }
            }
        }
        if let Some(t) = s.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                _ => true,
            };
            if !ok {
                errs.push(format!("{path}: expected {t}, got {v}"));
                return;
            }
        }
        if let (Some(fmt), Some(text)) = (s.get("format").and_then(Value::as_str), v.as_str())
            && fmt == "date-time"
            && kestra_emulator::timefmt::parse_instant(text).is_none()
        {
            errs.push(format!("{path}: not a date-time: {text}"));
        }
        if let (Some(fmt), Some(n)) = (s.get("format").and_then(Value::as_str), v.as_i64())
            && fmt == "int32"
            && i32::try_from(n).is_err()
        {
            errs.push(format!("{path}: {n} overflows int32"));
        }
        if let Some(en) = s.get("enum").and_then(Value::as_array)
            && !en.contains(v)
        {
            errs.push(format!("{path}: {v} not in enum {en:?}"));
        }
        if let Some(items) = s.get("items")
            && let Some(arr) = v.as_array()
        {
            for (i, item) in arr.iter().enumerate() {
                self.check(items, item, &format!("{path}[{i}]"), errs);
            }
        }
        if let Some(obj) = v.as_object() {
            self.check_object(s, name.as_deref(), obj, path, errs);
        }
    }

    fn check_object(
        &self,
        s: &Value,
        name: Option<&str>,
        obj: &Map<String, Value>,
        path: &str,
        errs: &mut Vec<String>,
    ) {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                let waived = (name == Some("State") && r.starts_with("get"))
                    || (name == Some("AbstractTrigger") && r == "when");
                if !waived && !obj.contains_key(r) {
                    errs.push(format!("{path}: missing required '{r}'"));
                }
            }
        }
        if let Some(props) = props {
            for (k, v) in obj {
                // Waiver: `KvDetail.value` is Java's `Object`, written `{type: object}`.
                if name == Some("KVController.KvDetail") && k == "value" {
                    continue;
                }
                if let Some(ps) = props.get(k) {
                    self.check(ps, v, &format!("{path}.{k}"), errs);
                }
            }
        }
        match s.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                // Only meaningful when the schema lists its properties; allOf parts list theirs
                // separately and are checked one by one.
                let known: BTreeSet<&str> = props
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for k in obj.keys() {
                    if !known.contains(k.as_str()) && s.get("allOf").is_none() {
                        errs.push(format!("{path}: unexpected property '{k}'"));
                    }
                }
            }
            // Waiver: `{type: object}` here is Java's `Object`, i.e. any JSON value.
            Some(extra @ Value::Object(m))
                if !(m.len() == 1 && m.get("type") == Some(&Value::from("object"))) =>
            {
                for (k, v) in obj {
                    if props.is_none_or(|p| !p.contains_key(k)) {
                        self.check(extra, v, &format!("{path}.{k}"), errs);
                    }
                }
            }
            _ => {}
        }
    }
}

struct Scenario {
    v: KestraVersion,
    spec: Value,
    e: Emulator,
    covered: BTreeSet<(String, String)>,
    errors: Vec<String>,
}

enum Body {
    None,
    Yaml(String),
    Text(String),
    Json(Value),
    Multipart(reqwest::multipart::Form),
}

impl Scenario {
    fn operation(&self, method: &str, template: &str) -> &Value {
        &self.spec["paths"][template][method.to_ascii_lowercase()]
    }

    /// Send, then validate the answer against the spec for the status received.
    async fn call(&mut self, method: &str, template: &str, path: &str, body: Body) -> (u16, Value) {
        let url = format!("{}{path}", self.e.api_url());
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = client().request(m, url).basic_auth(USER, Some(PASS));
        rb = match body {
            Body::None => rb,
            Body::Yaml(y) => rb.header("content-type", "application/x-yaml").body(y),
            Body::Text(t) => rb.header("content-type", "text/plain").body(t),
            Body::Json(j) => rb.json(&j),
            Body::Multipart(f) => rb.multipart(f),
        };
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let bytes = r.bytes().await.unwrap();
        let op = self.operation(method, template).clone();
        let label = format!("{} {method} {path} -> {status}", self.v);
        // Waiver: createBasicAuth's 204 stands for the spec's bodiless 200.
        if status == 204
            && op["operationId"] == "createBasicAuth"
            && op["responses"].get("204").is_none()
        {
            if !bytes.is_empty() {
                self.errors
                    .push(format!("{label}: 204 with {} bytes of body", bytes.len()));
            }
            self.covered
                .insert((method.to_string(), template.to_string()));
            return (status, Value::Null);
        }
        let Some(resp) = op["responses"].get(status.to_string()) else {
            self.errors
                .push(format!("{label}: status not declared in the spec"));
            return (status, Value::Null);
        };
        let content = resp.get("content").and_then(Value::as_object);
        let json = match content {
            None => {
                if !bytes.is_empty() {
                    self.errors.push(format!(
                        "{label}: spec declares no body, got {} bytes",
                        bytes.len()
                    ));
                }
                Value::Null
            }
            Some(c) => {
                let Some(media) = c.get(&ct) else {
                    self.errors.push(format!(
                        "{label}: content type {ct} not declared ({:?})",
                        c.keys().collect::<Vec<_>>()
                    ));
                    return (status, Value::Null);
                };
                if ct == "text/event-stream" {
                    self.check_sse(&label, &media["schema"], &bytes);
                    Value::Null
                } else if ct.contains("json") {
                    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    let mut errs = Vec::new();
                    Validator { spec: &self.spec }.check(&media["schema"], &v, "$", &mut errs);
                    self.errors
                        .extend(errs.into_iter().map(|e| format!("{label}: {e}")));
                    v
                } else {
                    assert!(!bytes.is_empty(), "{label}: empty {ct} body");
                    Value::Null
                }
            }
        };
        self.covered
            .insert((method.to_string(), template.to_string()));
        (status, json)
    }

    /// Validate each event's `data` against the `Event_*` schema's `data` property.
    fn check_sse(&mut self, label: &str, schema: &Value, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let validator = Validator { spec: &self.spec };
        let event_schema = validator.resolve(schema);
        let data_schema = &event_schema["properties"]["data"];
        let mut n = 0;
        for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n");
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id:"))
                .map(str::trim)
                .unwrap_or_default();
            let v: Value = serde_json::from_str(&data).unwrap();
            // Waiver: the opening `start` event is a placeholder (see WAIVERS), first and only once.
            if id == "start" {
                if n != 0 {
                    self.errors.push(format!(
                        "{label}: event[{n}] is a `start` event but not the first"
                    ));
                }
                let placeholder = v == serde_json::json!({"attemptNumber": null})
                    || (v["id"].is_string()
                        && v["originalId"] == v["id"]
                        && v["deleted"] == false
                        && v["metadata"]["attemptNumber"] == 1
                        && v.as_object().is_some_and(|o| o.len() == 4));
                if !placeholder {
                    self.errors
                        .push(format!("{label}: unexpected `start` event data {v}"));
                }
                n += 1;
                continue;
            }
            if n == 0 {
                self.errors.push(format!(
                    "{label}: the stream does not open with a `start` event"
                ));
            }
            let mut errs = Vec::new();
            validator.check(data_schema, &v, &format!("event[{n}].data"), &mut errs);
            self.errors
                .extend(errs.into_iter().map(|e| format!("{label}: {e}")));
            n += 1;
        }
        if n == 0 {
            self.errors.push(format!("{label}: no SSE event"));
        }
    }
}

const FLOW: &str = "id: conform\nnamespace: company.team\ndescription: conformance\nlabels:\n  team: data\ninputs:\n  - id: name\n    type: STRING\n    required: false\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n  - id: ret\n    type: io.kestra.plugin.core.debug.Return\n    format: done\n";

/// A flow with a schedule (a trigger context) and a file written into its execution's storage.
const SECOND: &str = "id: second\nnamespace: company.team\ntasks:\n  - id: write\n    type: io.kestra.plugin.core.storage.Write\n    content: hello\n    extension: .txt\ntriggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: \"0 2 * * *\"\n";

async fn state_of(s: &Scenario, id: &str) -> Value {
    let g: Value = get(&s.e, &format!("/api/v1/main/executions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    g["state"]["current"].clone()
}

async fn wait_state(s: &Scenario, id: &str, wanted: &str) {
    for _ in 0..200 {
        if state_of(s, id).await == wanted {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{id} never became {wanted}");
}

/// Flow switches, KV, namespace files, triggers and the execution controls.
async fn second_wave(s: &mut Scenario, v: KestraVersion) {
    let t = |p: &str| format!("/api/v1/{{tenant}}{p}");
    let ids = serde_json::json!([{"namespace": "company.team", "id": "conform"}]);
    s.call(
        "POST",
        &t("/flows/disable/by-ids"),
        "/api/v1/main/flows/disable/by-ids",
        Body::Json(ids.clone()),
    )
    .await;
    s.call(
        "POST",
        &t("/flows/enable/by-ids"),
        "/api/v1/main/flows/enable/by-ids",
        Body::Json(ids),
    )
    .await;

    // KV.
    let key = "/namespaces/{namespace}/kv/{key}";
    let concrete_key = "/api/v1/main/namespaces/company.team/kv/retries";
    s.call("PUT", &t(key), concrete_key, Body::Text("3".into()))
        .await;
    s.call(
        "GET",
        &t("/kv"),
        "/api/v1/main/kv?filters[namespace][EQUALS]=company.team&sort=key:asc",
        Body::None,
    )
    .await;
    s.call("GET", &t(key), concrete_key, Body::None).await;
    s.call("DELETE", &t(key), concrete_key, Body::None).await;

    // Namespace files.
    let files = "/namespaces/{namespace}/files";
    let form = reqwest::multipart::Form::new().part(
        "fileContent",
        reqwest::multipart::Part::bytes(b"select 1".to_vec()).file_name("content"),
    );
    s.call(
        "POST",
        &t(files),
        "/api/v1/main/namespaces/company.team/files?path=/q/a.sql",
        Body::Multipart(form),
    )
    .await;
    s.call(
        "GET",
        &t("/namespaces/{namespace}/files/directory"),
        "/api/v1/main/namespaces/company.team/files/directory?path=/q",
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/namespaces/{namespace}/files/stats"),
        "/api/v1/main/namespaces/company.team/files/stats?path=/q/a.sql",
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t(files),
        "/api/v1/main/namespaces/company.team/files?path=/q/a.sql",
        Body::None,
    )
    .await;
    let (_, found) = s
        .call(
            "GET",
            &t("/namespaces/{namespace}/files/search"),
            "/api/v1/main/namespaces/company.team/files/search?q=a.sql",
            Body::None,
        )
        .await;
    assert_eq!(found, serde_json::json!(["/q/a.sql"]));
    let (status, _) = s
        .call(
            "GET",
            &t("/namespaces/{namespace}/files/export"),
            "/api/v1/main/namespaces/company.team/files/export",
            Body::None,
        )
        .await;
    assert_eq!(status, 200);
    s.call(
        "DELETE",
        &t(files),
        "/api/v1/main/namespaces/company.team/files?path=/q",
        Body::None,
    )
    .await;

    // Triggers.
    s.call(
        "POST",
        &t("/flows"),
        "/api/v1/main/flows",
        Body::Yaml(SECOND.into()),
    )
    .await;
    s.call(
        "GET",
        &t("/triggers/search"),
        "/api/v1/main/triggers/search?filters[namespace][PREFIX]=company&page=1&size=10",
        Body::None,
    )
    .await;
    let switch = serde_json::json!({
        "namespace": "company.team", "flowId": "second", "triggerId": "daily", "disabled": true
    });
    if v.is_v2() {
        s.call(
            "PUT",
            &t("/triggers/set-disabled"),
            "/api/v1/main/triggers/set-disabled",
            Body::Json(switch),
        )
        .await;
        let (status, _) = s
            .call(
                "POST",
                &t("/triggers/set-disabled/by-triggers"),
                "/api/v1/main/triggers/set-disabled/by-triggers",
                Body::Json(serde_json::json!({
                    "triggers": [{"namespace": "company.team", "flowId": "second", "triggerId": "daily"}],
                    "disabled": false
                })),
            )
            .await;
        assert_eq!(status, 202);
    } else {
        s.call(
            "PUT",
            &t("/triggers"),
            "/api/v1/main/triggers",
            Body::Json(switch),
        )
        .await;
        // 1.3's items are full `Trigger`s; `tenantId` names the row to change.
        let (status, x) = s
            .call(
                "POST",
                &t("/triggers/set-disabled/by-triggers"),
                "/api/v1/main/triggers/set-disabled/by-triggers",
                Body::Json(serde_json::json!({
                    "triggers": [{
                        "tenantId": "main", "namespace": "company.team", "flowId": "second",
                        "triggerId": "daily", "date": "2026-12-07T10:00:00Z"
                    }],
                    "disabled": false
                })),
            )
            .await;
        assert_eq!((status, x), (200, serde_json::json!({"count": 1})));
    }
    s.e.control()
        .lock_trigger("company.team", "second", "daily", "someExecutionId");
    s.call(
        "POST",
        &t("/triggers/{namespace}/{flowId}/{triggerId}/unlock"),
        "/api/v1/main/triggers/company.team/second/daily/unlock",
        Body::None,
    )
    .await;

    // Execution controls: pause and resume one while it runs, then replay, its file, latest,
    // delete.
    let (pause, resume, replay) = if v.is_v2() {
        (
            "/executions/{executionId}/actions/pause",
            "/executions/{executionId}/actions/resume",
            "/executions/{executionId}/actions/replay",
        )
    } else {
        (
            "/executions/{executionId}/pause",
            "/executions/{executionId}/resume",
            "/executions/{executionId}/replay",
        )
    };
    let concrete = |p: &str, id: &str| format!("/api/v1/main{}", p.replace("{executionId}", id));
    let (_, x) = s
        .call(
            "POST",
            &t("/executions/{namespace}/{id}"),
            "/api/v1/main/executions/company.team/second",
            Body::Multipart(reqwest::multipart::Form::new()),
        )
        .await;
    let id = x["id"].as_str().unwrap().to_string();
    wait_state(s, &id, "RUNNING").await;
    s.call("POST", &t(pause), &concrete(pause, &id), Body::None)
        .await;
    assert_eq!(state_of(s, &id).await, "PAUSED");
    s.call(
        "POST",
        &t(resume),
        &concrete(resume, &id),
        Body::Multipart(reqwest::multipart::Form::new()),
    )
    .await;
    wait_state(s, &id, "SUCCESS").await;
    s.call("POST", &t(replay), &concrete(replay, &id), Body::None)
        .await;
    s.call(
        "POST",
        &t("/executions/latest"),
        "/api/v1/main/executions/latest",
        Body::Json(serde_json::json!([{"namespace": "company.team", "id": "second"}])),
    )
    .await;
    let uri = if v.is_v2() {
        // 2.0's outputs routes (outside the spec file: `unspecified_routes_answer_as_documented`).
        let o: Value = get(&s.e, &format!("/api/v1/main/outputs/tasks/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let run = o[0]["taskRunId"].as_str().unwrap();
        let outputs: Value = get(&s.e, &format!("/api/v1/main/outputs/tasks/{id}/{run}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        outputs["uri"].as_str().unwrap().to_string()
    } else {
        let g: Value = get(&s.e, &format!("/api/v1/main/executions/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        g["taskRunList"][0]["outputs"]["uri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("path", &uri)
        .finish();
    s.call(
        "GET",
        &t("/executions/{executionId}/file"),
        &format!("/api/v1/main/executions/{id}/file?{query}"),
        Body::None,
    )
    .await;
    s.call(
        "DELETE",
        &t("/executions/{executionId}"),
        &format!("/api/v1/main/executions/{id}"),
        Body::None,
    )
    .await;
}

async fn run(v: KestraVersion) {
    let spec = load_spec(v);
    // Every served route exists in the spec with that method.
    for (m, p) in kestra_emulator::served_routes(v) {
        assert!(
            spec["paths"][p].get(m.to_ascii_lowercase()).is_some(),
            "{v}: {m} {p} is served but not in the spec"
        );
    }
    let mut o = Options::for_tests(v, USER, PASS);
    o.config.kestra_url = Some("http://localhost:8080/".into());
    o.knobs.execution_duration = std::time::Duration::from_millis(300);
    let e = kestra_emulator::start(o).await.unwrap();
    let mut s = Scenario {
        v,
        spec,
        e,
        covered: BTreeSet::new(),
        errors: Vec::new(),
    };
    let t = |p: &str| format!("/api/v1/{{tenant}}{p}");

    s.call("GET", "/api/v1/configs", "/api/v1/configs", Body::None)
        .await;
    if v.is_v2() {
        s.call(
            "GET",
            "/api/v1/configs/login",
            "/api/v1/configs/login",
            Body::None,
        )
        .await;
    }
    s.call(
        "POST",
        &t("/flows"),
        "/api/v1/main/flows",
        Body::Yaml(FLOW.into()),
    )
    .await;
    s.call(
        "PUT",
        &t("/flows/{namespace}/{id}"),
        "/api/v1/main/flows/company.team/conform",
        Body::Yaml(FLOW.replace("hi", "hello")),
    )
    .await;
    s.call(
        "GET",
        &t("/flows/{namespace}/{id}"),
        "/api/v1/main/flows/company.team/conform?source=true",
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/flows/{namespace}/{id}/revisions"),
        "/api/v1/main/flows/company.team/conform/revisions",
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/flows/{namespace}"),
        "/api/v1/main/flows/company.team",
        Body::None,
    )
    .await;
    // The namespace sync the official Go kestractl sends (`delete` and `override` always given).
    s.call(
        "POST",
        &t("/flows/{namespace}"),
        "/api/v1/main/flows/company.team?delete=false&override=false",
        Body::Yaml(FLOW.replace("hi", "hello")),
    )
    .await;
    s.call(
        "GET",
        &t("/flows/search"),
        "/api/v1/main/flows/search?filters[namespace][PREFIX]=company&sort=id:asc",
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/flows/distinct-namespaces"),
        "/api/v1/main/flows/distinct-namespaces",
        Body::None,
    )
    .await;
    s.call(
        "POST",
        &t("/flows/validate"),
        "/api/v1/main/flows/validate",
        Body::Yaml(format!("{FLOW}\n---\nid: x\nnamespace: a\ntasks: []\n")),
    )
    .await;
    s.call(
        "GET",
        &t("/flows/export/by-query"),
        "/api/v1/main/flows/export/by-query?filters[namespace][EQUALS]=company.team",
        Body::None,
    )
    .await;

    let form = reqwest::multipart::Form::new().text("name", "world");
    let (_, x) = s
        .call(
            "POST",
            &t("/executions/{namespace}/{id}"),
            "/api/v1/main/executions/company.team/conform?labels=env:prod",
            Body::Multipart(form),
        )
        .await;
    let id = x["id"].as_str().unwrap().to_string();
    s.call(
        "GET",
        &t("/executions/{executionId}/follow"),
        &format!("/api/v1/main/executions/{id}/follow"),
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/executions/{executionId}"),
        &format!("/api/v1/main/executions/{id}"),
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/executions/search"),
        "/api/v1/main/executions/search?sort=state.startDate:desc&filters[state][IN]=SUCCESS",
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/executions"),
        "/api/v1/main/executions?namespace=company.team&flowId=conform",
        Body::None,
    )
    .await;
    s.call(
        "GET",
        &t("/logs/{executionId}"),
        &format!("/api/v1/main/logs/{id}"),
        Body::None,
    )
    .await;
    // Log follow never ends: read what is there, then drop the stream.
    {
        let url = format!("{}/api/v1/main/logs/{id}/follow", s.e.api_url());
        let r = client()
            .get(url)
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let mut stream = futures_util::StreamExt::boxed(r.bytes_stream());
        let chunk = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            futures_util::StreamExt::next(&mut stream),
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
        let schema = s.operation("GET", &t("/logs/{executionId}/follow"))["responses"]["200"]["content"]["text/event-stream"]["schema"].clone();
        let label = format!("{v} GET logs follow");
        s.check_sse(&label, &schema, &chunk);
        s.covered
            .insert(("GET".into(), t("/logs/{executionId}/follow")));
    }

    // Kill a running execution, then restart it.
    let form = reqwest::multipart::Form::new();
    let (_, x) = s
        .call(
            "POST",
            &t("/executions/{namespace}/{id}"),
            "/api/v1/main/executions/company.team/conform",
            Body::Multipart(form),
        )
        .await;
    let id2 = x["id"].as_str().unwrap().to_string();
    let (kill, restart) = if v.is_v2() {
        (
            "/executions/{executionId}/actions/kill",
            "/executions/{executionId}/actions/restart",
        )
    } else {
        (
            "/executions/{executionId}/kill",
            "/executions/{executionId}/restart",
        )
    };
    let concrete = |p: &str, id: &str| format!("/api/v1/main{}", p.replace("{executionId}", id));
    s.call("DELETE", &t(kill), &concrete(kill, &id2), Body::None)
        .await;
    for _ in 0..100 {
        let g: Value = get(&s.e, &format!("/api/v1/main/executions/{id2}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if g["state"]["current"] == "KILLED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A FAILED execution is one every version restarts.
    let fails = "id: fails\nnamespace: company.team\ntasks:\n  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n";
    s.call(
        "POST",
        &t("/flows"),
        "/api/v1/main/flows",
        Body::Yaml(fails.into()),
    )
    .await;
    let (_, x) = s
        .call(
            "POST",
            &t("/executions/{namespace}/{id}"),
            "/api/v1/main/executions/company.team/fails?wait=true",
            Body::Multipart(reqwest::multipart::Form::new()),
        )
        .await;
    assert_eq!(x["state"]["current"], "FAILED");
    let failed = x["id"].as_str().unwrap().to_string();
    let (status, _) = s
        .call("POST", &t(restart), &concrete(restart, &failed), Body::None)
        .await;
    assert_eq!(status, 200);

    second_wave(&mut s, v).await;

    s.call(
        "DELETE",
        &t("/flows/{namespace}/{id}"),
        "/api/v1/main/flows/company.team/conform",
        Body::None,
    )
    .await;
    let (_, errs) = s
        .call(
            "GET",
            "/api/v1/basicAuthValidationErrors",
            "/api/v1/basicAuthValidationErrors",
            Body::None,
        )
        .await;
    assert_eq!(errs, serde_json::json!([]));

    // Changing the credential needs an instance whose credential was set up through the API
    // (a config-managed 2.0 refuses); the change is the last call made with the old one.
    let api_managed = Options::for_tests_api_managed(v, USER, PASS);
    let old = std::mem::replace(&mut s.e, kestra_emulator::start(api_managed).await.unwrap());
    old.shutdown().await;
    let (status, _) = s
        .call(
            "POST",
            &t("/basicAuth"),
            "/api/v1/main/basicAuth",
            Body::Json(serde_json::json!({
                "username": USER, "password": "Rotated-Passw0rd", "currentPassword": PASS
            })),
        )
        .await;
    assert_eq!(status, 204);

    let served: BTreeSet<(String, String)> = kestra_emulator::served_routes(v)
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missed: Vec<_> = served.difference(&s.covered).collect();
    assert!(
        missed.is_empty(),
        "{v}: served routes not exercised: {missed:?}"
    );
    assert!(
        s.errors.is_empty(),
        "{v}: {} conformance errors (waivers: {WAIVERS:?}):\n{}",
        s.errors.len(),
        s.errors.join("\n")
    );
    s.e.shutdown().await;
}

#[tokio::test]
async fn conforms_to_the_1_3_spec() {
    run(KestraVersion::V1_3).await;
}

#[tokio::test]
async fn conforms_to_the_2_0_spec() {
    run(KestraVersion::V2_0).await;
}

/// A flow whose execution has task outputs (`ret`) and flow outputs (`result`).
const WITH_OUTPUTS: &str = "id: outs\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n  - id: ret\n    type: io.kestra.plugin.core.debug.Return\n    format: done\noutputs:\n  - id: result\n    type: STRING\n    value: \"{{ outputs.ret.value }}\"\n";

/// Routes outside the spec, checked by hand. 2.0's outputs routes are newer than its spec file,
/// but the file has the item they list (`OutputController.TaskOutputInformation`): checked
/// against it.
#[tokio::test]
async fn unspecified_routes_answer_as_documented() {
    for v in ALL {
        let e = emu(v).await;
        let (mut execution, mut task_run) = (String::new(), String::new());
        if v.is_v2() {
            let r = post_yaml(&e, "/api/v1/main/flows", WITH_OUTPUTS)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let x: Value = client()
                .post(format!(
                    "{}/api/v1/main/executions/company.team/outs?wait=true",
                    e.api_url()
                ))
                .basic_auth(USER, Some(PASS))
                .multipart(reqwest::multipart::Form::new())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            execution = x["id"].as_str().unwrap().to_string();
            task_run = x["taskRunList"][1]["id"].as_str().unwrap().to_string();
        }
        // 2.1-dev is served from the 2.0 file.
        let spec = kestra_emulator::router::spec(v);
        for (m, p) in kestra_emulator::unspecified_routes(v) {
            let api = p == "/ping" || p.starts_with("/api/");
            let base = if api { e.api_url() } else { e.management_url() };
            let path = p
                .replace("{tenant}", "main")
                .replace("{executionId}", &execution)
                .replace("{taskRunId}", &task_run);
            let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
            let mut rb = client().request(method, format!("{base}{path}"));
            if p.starts_with("/api/") {
                rb = rb.basic_auth(USER, Some(PASS));
            }
            if m == "POST" {
                rb = rb.json(&serde_json::json!({}));
            }
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            match p {
                "/ping" => assert_eq!((status, body.as_str()), (200, "pong")),
                "/api/v1/{tenant}/outputs/executions/{executionId}" => {
                    assert_eq!(status, 200, "{v} {path}: {body}");
                    let o: Value = serde_json::from_str(&body).unwrap();
                    assert_eq!(o, serde_json::json!({"result": "done"}));
                }
                "/api/v1/{tenant}/outputs/tasks/{executionId}" => {
                    assert_eq!(status, 200, "{v} {path}: {body}");
                    let o: Value = serde_json::from_str(&body).unwrap();
                    let item = serde_json::json!({"$ref": "#/components/schemas/OutputController.TaskOutputInformation"});
                    let list = serde_json::json!({"type": "array", "items": item});
                    let mut errs = Vec::new();
                    Validator { spec }.check(&list, &o, "$", &mut errs);
                    assert!(errs.is_empty(), "{v} {path}: {errs:?}");
                    // Only the task run with outputs; `value` (its loop value) is null, left out.
                    assert_eq!(
                        o,
                        serde_json::json!([{"taskId": "ret", "taskRunId": task_run, "inline": true}])
                    );
                }
                "/api/v1/{tenant}/outputs/tasks/{executionId}/{taskRunId}" => {
                    assert_eq!(status, 200, "{v} {path}: {body}");
                    let o: Value = serde_json::from_str(&body).unwrap();
                    assert_eq!(o, serde_json::json!({"value": "done"}));
                }
                "/emulator/requests" if m == "DELETE" => assert_eq!(status, 204),
                // 1.3 ships `endpoints.all.sensitive: false`; 2.0 leaves Micronaut's default, so
                // the endpoint is refused to everyone until configured non-sensitive.
                "/prometheus" if v.is_v2() => assert_eq!(status, 401),
                "/prometheus" => {
                    assert_eq!(status, 200);
                    assert!(
                        body.contains("# TYPE kestra_worker_job_thread gauge"),
                        "{body}"
                    );
                }
                _ => {
                    assert_eq!(status, 200, "{m} {p}");
                    let v: Value = serde_json::from_str(&body).unwrap();
                    if p.starts_with("/health") {
                        assert_eq!(v["status"], "UP");
                        assert_eq!(v["name"], "kestra");
                    }
                }
            }
        }
        e.shutdown().await;
    }
}

/// The validator is not vacuous: known-bad documents are rejected.
#[test]
fn validator_rejects_broken_documents() {
    let spec = load_spec(KestraVersion::V2_0);
    let val = Validator { spec: &spec };
    let schema = serde_json::json!({"$ref": "#/components/schemas/ApiExecution"});
    let mut errs = Vec::new();
    let bad = serde_json::json!({
        "id": "x", "namespace": "a", "flowId": "f", "flowRevision": "one",
        "state": {"current": "DONE", "histories": [{"state": "CREATED", "date": "yesterday"}]},
        "labels": [{"key": "k"}]
    });
    val.check(&schema, &bad, "$", &mut errs);
    let all = errs.join("\n");
    for needle in [
        "missing required 'tenantId'",
        "$.flowRevision: expected integer",
        "not in enum",
        "not a date-time",
        "missing required 'value'",
    ] {
        assert!(all.contains(needle), "expected {needle:?} in:\n{all}");
    }
}
