//! Basic Auth managed through the API (`POST /api/v1/{tenant}/basicAuth`, the credential kept in
//! the settings store) versus by the config file, on both versions.

use crate::common::*;
use kestra_emulator::{Emulator, EmulatorConfig, KestraVersion, Options};
use serde_json::{Value, json};

const NEW: &str = "Rotated-Passw0rd";
const PROTECTED: &str = "/api/v1/main/flows/distinct-namespaces";

async fn status_with(e: &Emulator, user: &str, pass: &str) -> u16 {
    client()
        .get(format!("{}{PROTECTED}", e.api_url()))
        .basic_auth(user, Some(pass))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// POST the body, with `auth` as the `Authorization` header if given.
async fn change(e: &Emulator, auth: Option<(&str, &str)>, body: Value) -> (u16, String, Value) {
    let mut rb = client().post(format!("{}/api/v1/main/basicAuth", e.api_url()));
    if let Some((u, p)) = auth {
        rb = rb.basic_auth(u, Some(p));
    }
    let r = rb.json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|h| h.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, ct, v)
}

async fn configs(e: &Emulator) -> Value {
    get(e, "/api/v1/configs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn problem_errors(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn configs_report_initialized_and_only_the_development_line_reports_config_management() {
    for v in ALL {
        for (opts, managed) in [
            (Options::for_tests(v, USER, PASS), true),
            (Options::for_tests_api_managed(v, USER, PASS), false),
        ] {
            let e = emu_with(opts).await;
            let c = configs(&e).await;
            assert_eq!(c["isBasicAuthInitialized"], true, "{v}");
            if v.guards_credential_changes() {
                assert_eq!(c["isBasicAuthManagedByConfig"], managed, "{v}");
            } else {
                assert!(c.get("isBasicAuthManagedByConfig").is_none(), "{v}: {c}");
            }
            assert_eq!(status_with(&e, USER, PASS).await, 200);
            e.shutdown().await;
        }
    }
}

#[tokio::test]
async fn rotate_with_the_current_password_2_1_dev() {
    let e = emu_with(Options::for_tests_api_managed(
        KestraVersion::V2_1Dev,
        USER,
        PASS,
    ))
    .await;
    let (status, _, body) = change(
        &e,
        Some((USER, PASS)),
        json!({"username": USER, "password": NEW, "currentPassword": PASS}),
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(status_with(&e, USER, NEW).await, 200);
    assert_eq!(status_with(&e, USER, PASS).await, 401);
    // The next change needs the new password, in both places.
    let (status, _, _) = change(
        &e,
        Some((USER, PASS)),
        json!({"username": USER, "password": PASS, "currentPassword": NEW}),
    )
    .await;
    assert_eq!(status, 401);
    e.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_current_password_is_refused_2_1_dev() {
    let e = emu_with(Options::for_tests_api_managed(
        KestraVersion::V2_1Dev,
        USER,
        PASS,
    ))
    .await;
    for body in [
        json!({"username": USER, "password": NEW, "currentPassword": "Wrong-Passw0rd"}),
        json!({"username": USER, "password": NEW}),
        json!({"username": USER, "password": NEW, "currentPassword": null}),
    ] {
        let (status, ct, v) = change(&e, Some((USER, PASS)), body).await;
        assert_eq!(status, 422, "{v}");
        assert_eq!(ct, "application/problem+json");
        assert_eq!(
            v["type"],
            "https://kestra.io/docs/api-reference/problems/validation-failed"
        );
        assert_eq!(
            problem_errors(&v),
            [
                "The current password is required and must be correct to change Basic Authentication credentials."
            ]
        );
    }
    // The current-password check comes before validation: an invalid new one is not reported.
    let (status, _, v) = change(
        &e,
        Some((USER, PASS)),
        json!({"username": "admin", "password": "weak"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem_errors(&v).len(), 1);
    assert!(problem_errors(&v)[0].starts_with("The current password"));
    assert_eq!(status_with(&e, USER, PASS).await, 200);
    assert_eq!(status_with(&e, USER, NEW).await, 401);
    e.shutdown().await;
}

#[tokio::test]
async fn config_managed_credential_cannot_change_on_2_1_dev() {
    let e = emu(KestraVersion::V2_1Dev).await;
    let (status, _, v) = change(
        &e,
        Some((USER, PASS)),
        json!({"username": USER, "password": NEW, "currentPassword": PASS}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        problem_errors(&v),
        [
            "Basic Authentication credentials are managed in the configuration file and cannot be changed from the API."
        ]
    );
    assert_eq!(v["status"], 422);
    assert_eq!(v["instance"], "/api/v1/main/basicAuth");
    assert_eq!(status_with(&e, USER, PASS).await, 200);
    assert_eq!(status_with(&e, USER, NEW).await, 401);
    e.shutdown().await;
}

#[tokio::test]
async fn released_versions_change_without_current_password_even_when_config_managed() {
    for opts in BOTH.into_iter().flat_map(|v| {
        [
            Options::for_tests(v, USER, PASS),
            Options::for_tests_api_managed(v, USER, PASS),
        ]
    }) {
        let e = emu_with(opts).await;
        let (status, _, _) = change(
            &e,
            Some((USER, PASS)),
            json!({"username": USER, "password": NEW, "currentPassword": "ignored: unknown field"}),
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(status_with(&e, USER, NEW).await, 200);
        assert_eq!(status_with(&e, USER, PASS).await, 401);
        // Still behind the filter: the old credential no longer passes it.
        let (status, _, _) = change(
            &e,
            Some((USER, PASS)),
            json!({"username": USER, "password": PASS}),
        )
        .await;
        assert_eq!(status, 401);
        e.shutdown().await;
    }
}

#[tokio::test]
async fn validation_lists_every_failing_rule_and_changes_nothing() {
    for v in BOTH {
        let e = emu_with(Options::for_tests_api_managed(v, USER, PASS)).await;
        let (status, ct, body) = change(
            &e,
            Some((USER, PASS)),
            json!({"username": "admin", "password": "weak", "currentPassword": PASS}),
        )
        .await;
        let expected = [
            "Invalid username for Basic Authentication. Please provide a valid email address.",
            "Invalid password for Basic Authentication. The password must have 8 chars, one upper, one lower and one number",
        ];
        if v.is_v2() {
            assert_eq!((status, ct.as_str()), (422, "application/problem+json"));
            assert_eq!(problem_errors(&body), expected);
        } else {
            // 1.x's ErrorController: ValidationErrorException is a 400 whose message is the
            // joined errors followed by the exception's own message; no _embedded errors.
            assert_eq!((status, ct.as_str()), (400, "application/json"));
            assert_eq!(
                body["message"],
                format!("{}: Resource fails validation", expected.join(", "))
            );
            assert!(body.get("_embedded").is_none(), "{body}");
            assert_eq!(body["_links"]["self"]["href"], "/api/v1/main/basicAuth");
        }
        let (status, _, body) = change(
            &e,
            Some((USER, PASS)),
            json!({"currentPassword": PASS, "uid": "x"}),
        )
        .await;
        let expected = [
            "No user name set for Basic Authentication. Please provide a user name.",
            "No password set for Basic Authentication. Please provide a password.",
        ];
        if v.is_v2() {
            assert_eq!(status, 422);
            assert_eq!(problem_errors(&body), expected);
        } else {
            assert_eq!(status, 400);
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(&expected.join(", ")),
                "{body}"
            );
        }
        let long = format!("{}@kestra.io", "a".repeat(250));
        let (status, _, body) = change(
            &e,
            Some((USER, PASS)),
            json!({"username": long, "password": NEW, "currentPassword": PASS}),
        )
        .await;
        assert_eq!(status, if v.is_v2() { 422 } else { 400 });
        let text = body.to_string();
        assert!(
            text.contains("The length of email or password should not exceed 256 characters."),
            "{text}"
        );
        assert_eq!(status_with(&e, USER, PASS).await, 200, "{v}");
        e.shutdown().await;
    }
}

#[tokio::test]
async fn setup_routes_are_open_only_before_a_credential_exists() {
    for v in ALL {
        let mut o = Options::for_tests(v, USER, PASS);
        o.config.basic_auth = None;
        let e = emu_with(o).await;
        let errs = client()
            .get(format!("{}/api/v1/basicAuthValidationErrors", e.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(errs.status(), 200);
        assert_eq!(errs.json::<Value>().await.unwrap(), json!([]));
        // Anonymous first setup; 2.0 asks no current password when none is stored.
        let (status, _, _) = change(&e, None, json!({"username": USER, "password": PASS})).await;
        assert_eq!(status, 204, "{v}");
        assert_eq!(status_with(&e, USER, PASS).await, 200);
        let login = if v.is_v2() {
            "/api/v1/configs/login"
        } else {
            "/api/v1/configs"
        };
        let c: Value = client()
            .get(format!("{}{login}", e.api_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(c["isBasicAuthInitialized"], true);
        if v.guards_credential_changes() {
            assert_eq!(configs(&e).await["isBasicAuthManagedByConfig"], false);
        }
        // Now both need the credential.
        let (status, _, _) = change(
            &e,
            None,
            json!({"username": USER, "password": NEW, "currentPassword": PASS}),
        )
        .await;
        assert_eq!(status, 401, "{v}");
        // The validation errors stay open on released versions (Kestra's default `open-urls`
        // lists the route); the development line closes them once a credential exists.
        let errs = client()
            .get(format!("{}/api/v1/basicAuthValidationErrors", e.api_url()))
            .send()
            .await
            .unwrap();
        let closed = v.guards_credential_changes();
        assert_eq!(errs.status(), if closed { 401 } else { 200 }, "{v}");
        e.shutdown().await;
    }
}

#[tokio::test]
async fn an_invalid_config_credential_is_not_stored_but_reported() {
    for v in ALL {
        let mut o = Options::for_tests(v, USER, PASS);
        o.config = EmulatorConfig::from_yaml_str(
            "kestra:\n  server:\n    basicAuth:\n      username: admin\n      password: kestra\n",
        )
        .unwrap();
        let e = emu_with(o).await;
        let errs: Value = client()
            .get(format!("{}/api/v1/basicAuthValidationErrors", e.api_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(errs.as_array().unwrap().len(), 2, "{errs}");
        assert!(errs[0].as_str().unwrap().starts_with("Invalid username"));
        assert!(errs[1].as_str().unwrap().starts_with("Invalid password"));
        assert_eq!(status_with(&e, "admin", "kestra").await, 401);
        if v.guards_credential_changes() {
            let c: Value = client()
                .get(format!("{}/api/v1/configs/login", e.api_url()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(c["isBasicAuthInitialized"], false);
            // Still config-managed: the setup route is reachable but refuses.
            let (status, _, body) =
                change(&e, None, json!({"username": USER, "password": PASS})).await;
            assert_eq!(status, 422);
            assert!(problem_errors(&body)[0].contains("managed in the configuration file"));
            assert!(!e.basic_auth_initialized());
        } else {
            // Released versions: the server runs with no credential and its setup route is open
            // to whoever calls it first, who then owns the instance.
            assert!(!e.basic_auth_initialized());
            let (status, _, _) = change(
                &e,
                None,
                json!({"username": "intruder@evil.test", "password": "Intrud3r-pw"}),
            )
            .await;
            assert_eq!(status, 204, "{v}");
            assert_eq!(
                status_with(&e, "intruder@evil.test", "Intrud3r-pw").await,
                200
            );
        }
        e.shutdown().await;
    }
}

#[tokio::test]
async fn a_valid_config_credential_overrides_the_stored_one_at_start() {
    let mut o = Options::for_tests_api_managed(KestraVersion::V2_1Dev, USER, NEW);
    o.config.basic_auth = Some(kestra_emulator::BasicAuth {
        username: USER.into(),
        password: PASS.into(),
    });
    let e = emu_with(o).await;
    assert_eq!(status_with(&e, USER, PASS).await, 200);
    assert_eq!(status_with(&e, USER, NEW).await, 401);
    assert_eq!(configs(&e).await["isBasicAuthManagedByConfig"], true);
    e.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies() {
    for v in BOTH {
        let e = emu_with(Options::for_tests_api_managed(v, USER, PASS)).await;
        let url = format!("{}/api/v1/main/basicAuth", e.api_url());
        let send = |ct: Option<&'static str>, body: &'static str| {
            let mut rb = client().post(&url).basic_auth(USER, Some(PASS));
            if let Some(ct) = ct {
                rb = rb.header("content-type", ct);
            }
            rb.body(body).send()
        };
        assert_eq!(send(Some("text/plain"), "{}").await.unwrap().status(), 415);
        assert_eq!(
            send(Some("application/json"), "").await.unwrap().status(),
            422
        );
        assert_eq!(
            send(Some("application/json"), "{oops")
                .await
                .unwrap()
                .status(),
            422
        );
        assert_eq!(
            send(Some("application/json"), "[]").await.unwrap().status(),
            422
        );
        // No content type: bound as JSON, like Micronaut.
        let r = send(
            None,
            r#"{"username":"admin@kestra.io","password":"Rotated-Passw0rd","currentPassword":"Admin1234"}"#,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 204, "{v}");
        e.shutdown().await;
    }
}

#[test]
fn an_invalid_preset_fails_start() {
    let o = Options::for_tests_api_managed(KestraVersion::V2_0, "admin", "kestra");
    let err = match kestra_emulator::start_in_background(o) {
        Ok(_) => panic!("an invalid preset credential must refuse to start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("Invalid username"), "{err}");
}
