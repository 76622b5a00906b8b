//! Postgres mode against a real server named by `KESTRA_EMULATOR_TEST_PG`
//! (`postgresql://user:password@host:port/db`), as `scripts/test` sets it; without it the tests
//! fail in CI and are skipped (and listed) elsewhere.

use std::time::{Duration, Instant};

use crate::common::*;
use kestra_emulator::{Datasource, KestraVersion, Options};
use serde_json::Value;

fn datasource() -> Option<Datasource> {
    let raw = match std::env::var("KESTRA_EMULATOR_TEST_PG") {
        Ok(v) if !v.is_empty() => v,
        _ => {
            kestra_emulator::prerequisite::missing(
                "KESTRA_EMULATOR_TEST_PG=postgresql://user:pass@host:port/db is not set \
                 (scripts/test starts the test Postgres image and sets it)",
            );
            return None;
        }
    };
    let rest = raw
        .strip_prefix("postgresql://")
        .or_else(|| raw.strip_prefix("postgres://"))
        .expect("KESTRA_EMULATOR_TEST_PG must be a postgresql:// URL");
    let (creds, hostdb) = rest.split_once('@').expect("user:password@ required");
    let (user, pass) = creds.split_once(':').expect("user:password required");
    Some(Datasource {
        url: format!("jdbc:postgresql://{hostdb}"),
        username: user.to_string(),
        password: pass.to_string(),
    })
}

fn pg_opts(v: KestraVersion, ds: &Datasource) -> Options {
    let mut o = Options::for_tests(v, USER, PASS);
    o.in_memory = false;
    o.config.datasource = Some(ds.clone());
    o
}

/// Drop the emulator's tables. The tests share one database and may run in parallel processes
/// (nextest), so each holds a session advisory lock for its whole run: keep the returned client
/// alive until the test ends.
async fn reset(ds: &Datasource) -> tokio_postgres::Client {
    let url = kestra_emulator::config::JdbcUrl::parse(&ds.url).unwrap();
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&url.host)
        .port(url.port)
        .dbname(&url.database)
        .user(&ds.username)
        .password(ds.password.as_bytes());
    let (c, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    c.batch_execute("SELECT pg_advisory_lock(7346016)")
        .await
        .unwrap();
    c.batch_execute(
        "DROP TABLE IF EXISTS emulator_flows, emulator_executions, emulator_logs, emulator_files, emulator_settings",
    )
    .await
    .unwrap();
    c
}

#[tokio::test]
async fn state_survives_a_restart_and_health_reports_jdbc() {
    let Some(ds) = datasource() else { return };
    let _db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V2_0, &ds)).await;
    let h: Value = client()
        .get(format!("{}/health", e.management_url()))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "UP");
    assert_eq!(h["details"]["jdbc"]["status"], "UP");
    assert!(
        h["details"]["jdbc"]["details"][&ds.url]["details"]["version"].is_string(),
        "{h}"
    );

    let src = flow_yaml("company.team", "persisted");
    assert_eq!(
        post_yaml(&e, "/api/v1/main/flows", &src)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let src2 = src.replace("Hello", "Hi");
    put_yaml(&e, "/api/v1/main/flows/company.team/persisted", &src2)
        .send()
        .await
        .unwrap();
    let x: Value = client()
        .post(format!(
            "{}/api/v1/main/executions/company.team/persisted?wait=true",
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
    let id = x["id"].as_str().unwrap().to_string();
    e.shutdown().await;

    let e = emu_with(pg_opts(KestraVersion::V2_0, &ds)).await;
    let f: Value = get(&e, "/api/v1/main/flows/company.team/persisted?source=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["revision"], 2);
    assert_eq!(f["source"], src2);
    let revs: Value = get(&e, "/api/v1/main/flows/company.team/persisted/revisions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(revs.as_array().unwrap().len(), 2);
    let g: Value = get(&e, &format!("/api/v1/main/executions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(g["state"]["current"], "SUCCESS");
    let logs: Value = get(&e, &format!("/api/v1/main/logs/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(logs.as_array().unwrap().len(), 1);
    e.shutdown().await;
}

fn status(e: &kestra_emulator::Emulator, pass: &str) -> impl std::future::Future<Output = u16> {
    let rb = client()
        .get(format!(
            "{}/api/v1/main/flows/distinct-namespaces",
            e.api_url()
        ))
        .basic_auth(USER, Some(pass));
    async move { rb.send().await.unwrap().status().as_u16() }
}

/// A credential changed through the API is in the database: a restart without a config
/// credential keeps it; a restart with one writes the config's over it.
#[tokio::test]
async fn api_set_credential_survives_a_restart() {
    let Some(ds) = datasource() else { return };
    let _db = reset(&ds).await;
    const NEW: &str = "Rotated-Passw0rd";
    let mut o = Options::for_tests_api_managed(KestraVersion::V2_0, USER, PASS);
    o.in_memory = false;
    o.config.datasource = Some(ds.clone());
    let e = emu_with(o).await;
    let r = client()
        .post(format!("{}/api/v1/main/basicAuth", e.api_url()))
        .basic_auth(USER, Some(PASS))
        .json(&serde_json::json!({"username": USER, "password": NEW, "currentPassword": PASS}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    e.shutdown().await;

    // No config credential, no preset: only the database knows it.
    let mut o = pg_opts(KestraVersion::V2_0, &ds);
    o.config.basic_auth = None;
    let e = emu_with(o).await;
    assert!(e.basic_auth_initialized());
    assert_eq!(status(&e, NEW).await, 200);
    assert_eq!(status(&e, PASS).await, 401);
    e.shutdown().await;

    let e = emu_with(pg_opts(KestraVersion::V2_0, &ds)).await;
    assert_eq!(status(&e, PASS).await, 200);
    assert_eq!(status(&e, NEW).await, 401);
    e.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_fatal_at_once() {
    let Some(mut ds) = datasource() else { return };
    ds.password.push_str("-wrong");
    let t = Instant::now();
    let err = match kestra_emulator::start(pg_opts(KestraVersion::V1_3, &ds)).await {
        Ok(_) => panic!("start must fail with a wrong password"),
        Err(e) => format!("{e:#}"),
    };
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(err.contains("FATAL"), "{err}");
    assert!(
        err.contains(&format!(
            "password authentication failed for user \"{}\"",
            ds.username
        )),
        "{err}"
    );
}
