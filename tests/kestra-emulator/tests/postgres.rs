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
        "DROP TABLE IF EXISTS emulator_flows, emulator_executions, emulator_logs, emulator_files, emulator_settings, emulator_schema_version",
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

// ---- schema versions and migrations ------------------------------------------------------------

/// The recorded schema version (`None`: no version table).
async fn schema_version(c: &tokio_postgres::Client) -> Option<i32> {
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('emulator_schema_version') IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if !exists {
        return None;
    }
    let rows = c
        .query("SELECT version FROM emulator_schema_version", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one version row");
    Some(rows[0].get(0))
}

/// The columns of one table, in order.
async fn columns(c: &tokio_postgres::Client, table: &str) -> Vec<String> {
    c.query(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        &[&table],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Everything the emulator keeps: tables, columns and rows, as text.
async fn dump(c: &tokio_postgres::Client) -> Vec<String> {
    let mut out = Vec::new();
    let tables: Vec<String> = c
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name LIKE 'emulator\\_%'
             ORDER BY table_name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in tables {
        out.push(format!("{t}: {:?}", columns(c, &t).await));
        for r in c
            .query(&format!("SELECT t::text FROM {t} t ORDER BY 1"), &[])
            .await
            .unwrap()
        {
            out.push(format!("{t} {}", r.get::<_, String>(0)));
        }
    }
    out
}

/// A flow with two revisions and one finished execution, written through the API of `v`;
/// returns the latest source and the execution id.
async fn write_some_state(e: &kestra_emulator::Emulator) -> (String, String) {
    let src = flow_yaml("company.team", "upgraded");
    assert_eq!(
        post_yaml(e, "/api/v1/main/flows", &src)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let src2 = src.replace("Hello", "Hi");
    put_yaml(e, "/api/v1/main/flows/company.team/upgraded", &src2)
        .send()
        .await
        .unwrap();
    let x: Value = client()
        .post(format!(
            "{}/api/v1/main/executions/company.team/upgraded?wait=true",
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
    (src2, x["id"].as_str().unwrap().to_string())
}

async fn start_err(v: KestraVersion, ds: &Datasource) -> String {
    match kestra_emulator::start(pg_opts(v, ds)).await {
        Ok(e) => {
            e.shutdown().await;
            panic!("{v} must refuse to start");
        }
        Err(e) => format!("{e:#}"),
    }
}

/// The emulator binary against `ds`: its exit status (`None`: still running once it said
/// "Server Running", then killed) and its output.
fn run_binary(v: &str, ds: &Datasource) -> (Option<std::process::ExitStatus>, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let config = format!(
        "datasources:\n  postgres:\n    url: {}\n    username: {}\n    password: {}\n",
        ds.url, ds.username, ds.password
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_kestra-emulator"))
        .args(["server", "standalone", "--bind", "127.0.0.1"])
        .arg(format!(
            "--api-port={}",
            kestra_emulator::testkit::free_port()
        ))
        .arg(format!(
            "--management-port={}",
            kestra_emulator::testkit::free_port()
        ))
        .env("KESTRA_EMULATOR_VERSION", v)
        .env("KESTRA_CONFIGURATION", config)
        .env_remove("KESTRA_EMULATOR_IN_MEMORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut out = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        out.push_str(&line);
        out.push('\n');
        if line.contains("Server Running") {
            child.kill().unwrap();
            child.wait().unwrap();
            return (None, out);
        }
    }
    (Some(child.wait().unwrap()), out)
}

/// An empty database gets the mode's own schema directly: 1 (`value`) in 1.3, 2 (`document`)
/// in 2.0.
#[tokio::test]
async fn fresh_database_gets_the_schema_of_the_mode() {
    let Some(ds) = datasource() else { return };
    let db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V1_3, &ds)).await;
    e.shutdown().await;
    assert_eq!(schema_version(&db).await, Some(1));
    for t in ["emulator_flows", "emulator_executions"] {
        let cols = columns(&db, t).await;
        assert!(cols.contains(&"value".to_string()), "{t}: {cols:?}");
        assert!(!cols.contains(&"document".to_string()), "{t}: {cols:?}");
    }

    drop(db);
    let db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V2_0, &ds)).await;
    e.shutdown().await;
    assert_eq!(schema_version(&db).await, Some(2));
    for t in ["emulator_flows", "emulator_executions"] {
        let cols = columns(&db, t).await;
        assert!(cols.contains(&"document".to_string()), "{t}: {cols:?}");
        assert!(!cols.contains(&"value".to_string()), "{t}: {cols:?}");
    }
}

/// 1.3's data, then 2.0 starts: the schema is migrated to 2 and the same flows and executions
/// are served; 2.0 keeps writing to the migrated tables.
#[tokio::test]
async fn upgrade_to_2_0_migrates_and_serves_the_same_state() {
    let Some(ds) = datasource() else { return };
    let db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V1_3, &ds)).await;
    let (src, id) = write_some_state(&e).await;
    e.shutdown().await;
    assert_eq!(schema_version(&db).await, Some(1));

    let e = emu_with(pg_opts(KestraVersion::V2_0, &ds)).await;
    assert_eq!(schema_version(&db).await, Some(2));
    assert!(
        columns(&db, "emulator_flows")
            .await
            .contains(&"document".to_string())
    );
    let f: Value = get(&e, "/api/v1/main/flows/company.team/upgraded?source=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["revision"], 2);
    assert_eq!(f["source"], src);
    let g: Value = get(&e, &format!("/api/v1/main/executions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(g["state"]["current"], "SUCCESS");
    // Writes after the migration land in the renamed column and survive a restart.
    let src3 = src.replace("Hi", "Hey");
    put_yaml(&e, "/api/v1/main/flows/company.team/upgraded", &src3)
        .send()
        .await
        .unwrap();
    e.shutdown().await;
    let e = emu_with(pg_opts(KestraVersion::V2_0, &ds)).await;
    let f: Value = get(&e, "/api/v1/main/flows/company.team/upgraded?source=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["revision"], 3);
    assert_eq!(f["source"], src3);
    e.shutdown().await;
}

/// After the upgrade, 1.3 refuses to start (a rollback needs a database restore) and leaves the
/// database as it found it; the binary exits 1 with the error line.
#[tokio::test]
async fn v1_3_refuses_a_migrated_database_and_changes_nothing() {
    let Some(ds) = datasource() else { return };
    let db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V1_3, &ds)).await;
    write_some_state(&e).await;
    e.shutdown().await;
    emu_with(pg_opts(KestraVersion::V2_0, &ds))
        .await
        .shutdown()
        .await;
    let before = dump(&db).await;
    assert_eq!(schema_version(&db).await, Some(2));

    let err = start_err(KestraVersion::V1_3, &ds).await;
    assert!(err.contains("Validate failed"), "{err}");
    assert!(
        err.contains("schema is at version 2, migrated by a newer Kestra"),
        "{err}"
    );
    assert!(err.contains("supports schema version 1 at most"), "{err}");
    assert_eq!(dump(&db).await, before);

    let (status, out) = run_binary("1.3", &ds);
    let status = status.unwrap_or_else(|| panic!("1.3 served a schema-2 database:\n{out}"));
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.lines().any(|l| l.contains(" ERROR ")
            && l.contains("Validate failed: the database schema is at version 2")),
        "{out}"
    );
    assert!(!out.contains("Server Running"), "{out}");
    assert_eq!(dump(&db).await, before);
}

/// 2.0 started twice on a 1.3 database migrates once: the second start finds schema 2.
#[tokio::test]
async fn v2_0_migrates_only_once() {
    let Some(ds) = datasource() else { return };
    let db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V1_3, &ds)).await;
    write_some_state(&e).await;
    e.shutdown().await;

    let (status, out) = run_binary("2.0", &ds);
    assert!(status.is_none(), "2.0 did not start:\n{out}");
    assert_eq!(
        out.matches("Migrating database schema from 1 to 2 (irreversible)")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(schema_version(&db).await, Some(2));
    let after_first = dump(&db).await;

    let (status, out) = run_binary("2.0", &ds);
    assert!(status.is_none(), "2.0 did not start again:\n{out}");
    assert!(!out.contains("Migrating"), "{out}");
    assert_eq!(schema_version(&db).await, Some(2));
    assert_eq!(dump(&db).await, after_first);
}

/// A migration that fails midway is rolled back whole: the database stays at schema 1 and 1.3
/// still reads it.
#[tokio::test]
async fn failed_migration_leaves_schema_1_intact() {
    let Some(ds) = datasource() else { return };
    let db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V1_3, &ds)).await;
    let (src, _) = write_some_state(&e).await;
    e.shutdown().await;
    // The second rename (executions) fails after the first (flows) succeeded.
    db.batch_execute("ALTER TABLE emulator_executions ADD COLUMN document TEXT")
        .await
        .unwrap();
    let before = dump(&db).await;
    let err = start_err(KestraVersion::V2_0, &ds).await;
    assert!(
        err.contains("migrating the database schema from 1 to 2 failed"),
        "{err}"
    );
    assert_eq!(dump(&db).await, before);
    assert_eq!(schema_version(&db).await, Some(1));
    db.batch_execute("ALTER TABLE emulator_executions DROP COLUMN document")
        .await
        .unwrap();
    let e = emu_with(pg_opts(KestraVersion::V1_3, &ds)).await;
    let f: Value = get(&e, "/api/v1/main/flows/company.team/upgraded?source=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["source"], src);
    e.shutdown().await;
}

/// A database the emulator wrote before it had a version table is schema 1: 1.3 records it,
/// 2.0 migrates it.
#[tokio::test]
async fn unversioned_tables_are_schema_1() {
    let Some(ds) = datasource() else { return };
    let db = reset(&ds).await;
    let e = emu_with(pg_opts(KestraVersion::V1_3, &ds)).await;
    let (src, _) = write_some_state(&e).await;
    e.shutdown().await;
    db.batch_execute("DROP TABLE emulator_schema_version")
        .await
        .unwrap();
    emu_with(pg_opts(KestraVersion::V1_3, &ds))
        .await
        .shutdown()
        .await;
    assert_eq!(schema_version(&db).await, Some(1));
    db.batch_execute("DROP TABLE emulator_schema_version")
        .await
        .unwrap();
    let e = emu_with(pg_opts(KestraVersion::V2_0, &ds)).await;
    assert_eq!(schema_version(&db).await, Some(2));
    let f: Value = get(&e, "/api/v1/main/flows/company.team/upgraded?source=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["source"], src);
    e.shutdown().await;
}
