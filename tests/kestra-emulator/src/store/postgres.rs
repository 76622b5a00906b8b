//! Postgres persistence (tokio-postgres, no TLS: the database sits in the same Docker network
//! as the emulator). Tables are the emulator's own (`emulator_*`), created if absent; each row
//! holds one record as JSON next to the columns used to key and order it. The tables carry a
//! schema version, migrated forward (irreversibly) by a newer mode and refused by an older one:
//! see [`super::schema`].
//!
//! Start-up mirrors a Kestra server on a database that is still booting: connection refused or
//! "the database system is starting up" are retried for up to 60 s, while a password
//! authentication failure (SQLSTATE 28P01) is fatal at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use futures_util::future::{BoxFuture, FutureExt};
use serde_json::Value;
use tokio::sync::RwLock;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Transaction};

use super::{Backend, JdbcHealth, Snapshot, schema};
use crate::config::{Datasource, JdbcUrl};
use crate::execution::{Execution, LogEntry};
use crate::flow::FlowRevision;
use crate::version::KestraVersion;

/// The tables of schema `version` (see [`schema`]), created if absent.
fn create_tables_sql(version: i32) -> String {
    let doc = schema::document_column(version);
    format!(
        "
CREATE TABLE IF NOT EXISTS emulator_flows (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    deleted BOOLEAN NOT NULL,
    {doc} TEXT NOT NULL,
    PRIMARY KEY (namespace, id, revision)
);
CREATE TABLE IF NOT EXISTS emulator_executions (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    state TEXT NOT NULL,
    start_date BIGINT NOT NULL,
    {doc} TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS emulator_executions_start ON emulator_executions (start_date);
CREATE TABLE IF NOT EXISTS emulator_logs (
    seq BIGSERIAL PRIMARY KEY,
    execution_id TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS emulator_logs_execution ON emulator_logs (execution_id);
CREATE TABLE IF NOT EXISTS emulator_files (
    uri TEXT PRIMARY KEY,
    bytes BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS emulator_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"
    )
}

/// One migration step, from `from` to `from + 1`; `None` when there is no such step.
fn migration_step_sql(from: i32) -> Option<&'static str> {
    match from {
        1 => Some(
            "ALTER TABLE emulator_flows RENAME COLUMN value TO document;
             ALTER TABLE emulator_executions RENAME COLUMN value TO document;",
        ),
        _ => None,
    }
}

/// Held (per transaction) while the schema is checked, created or migrated, so two emulators
/// starting on one database do not both migrate it. Not the key the tests lock.
const SCHEMA_LOCK: i64 = 7_346_017;

const RETRY_FOR: Duration = Duration::from_secs(60);

pub struct PostgresBackend {
    ds: Datasource,
    url: JdbcUrl,
    client: RwLock<Arc<Client>>,
    /// The schema version the tables are at (the mode's own, after start-up).
    schema: i32,
}

fn log(level: &str, msg: &str) {
    let ts = crate::timefmt::fmt_instant(crate::timefmt::now_ms());
    println!("{ts} {level:<5} main io.kestra.jdbc.JdbcRepository {msg}");
}

/// Errors that retrying cannot fix: bad credentials, unknown role.
fn fatal(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    if db.code() == &SqlState::INVALID_PASSWORD
        || db.code() == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    {
        Some(format!("FATAL: {}", db.message()))
    } else {
        None
    }
}

async fn open(ds: &Datasource, url: &JdbcUrl) -> Result<Client, tokio_postgres::Error> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&url.host)
        .port(url.port)
        .dbname(&url.database)
        .user(&ds.username)
        .password(ds.password.as_bytes())
        .application_name("kestra-emulator")
        .connect_timeout(Duration::from_secs(5));
    let (client, connection) = cfg.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            log("WARN", &format!("database connection closed: {e}"));
        }
    });
    Ok(client)
}

/// The schema version found: the version table's one row; schema 1 for the emulator's tables
/// without a version table (written before it had one); `None` for an empty database. Also
/// whether the version table exists.
async fn found_schema(tx: &Transaction<'_>) -> Result<(bool, Option<i32>)> {
    let row = tx
        .query_one(
            "SELECT to_regclass('emulator_schema_version') IS NOT NULL,
                    to_regclass('emulator_flows') IS NOT NULL",
            &[],
        )
        .await?;
    let (has_version, has_tables): (bool, bool) = (row.get(0), row.get(1));
    if !has_version {
        return Ok((false, has_tables.then_some(schema::V1)));
    }
    let rows = tx
        .query("SELECT version FROM emulator_schema_version", &[])
        .await?;
    match rows.as_slice() {
        [one] => Ok((true, Some(one.get(0)))),
        _ => Err(anyhow!(
            "emulator_schema_version holds {} rows; expected one",
            rows.len()
        )),
    }
}

/// Check, create or migrate the schema in one transaction (a failure midway leaves the database
/// as it was); returns the version the tables are at.
async fn prepare_schema(client: &mut Client, version: KestraVersion) -> Result<i32> {
    let supported = schema::supported(version);
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await?;
    let (has_version_table, found) = found_schema(&tx)
        .await
        .context("cannot read the database schema version")?;
    let set_version = |v: i32| {
        format!(
            "CREATE TABLE IF NOT EXISTS emulator_schema_version (version INTEGER NOT NULL);
             DELETE FROM emulator_schema_version;
             INSERT INTO emulator_schema_version (version) VALUES ({v});"
        )
    };
    match schema::plan(supported, found) {
        schema::Plan::Create { version: v } => {
            tx.batch_execute(&create_tables_sql(v))
                .await
                .context("cannot create the emulator tables")?;
            tx.batch_execute(&set_version(v)).await?;
            log("INFO", &format!("Created database schema at version {v}"));
        }
        schema::Plan::UpToDate { version: v } => {
            // Recreates a table dropped by hand, as the emulator always did; records the version
            // of a database written before the version table existed (and only then).
            tx.batch_execute(&create_tables_sql(v))
                .await
                .context("cannot create the emulator tables")?;
            if !has_version_table {
                tx.batch_execute(&set_version(v)).await?;
            }
        }
        schema::Plan::Migrate { from, to } => {
            log("INFO", &schema::migrating_line(from, to));
            // Any table of the old schema missing (dropped by hand) is created first, so each
            // step finds what it alters.
            tx.batch_execute(&create_tables_sql(from))
                .await
                .context("cannot create the emulator tables")?;
            for step in from..to {
                let sql = migration_step_sql(step)
                    .ok_or_else(|| anyhow!("no migration from schema {step} to {}", step + 1))?;
                tx.batch_execute(sql).await.with_context(|| {
                    format!(
                        "migrating the database schema from {step} to {} failed",
                        step + 1
                    )
                })?;
            }
            tx.batch_execute(&create_tables_sql(to))
                .await
                .context("cannot create the emulator tables")?;
            tx.batch_execute(&set_version(to)).await?;
        }
        schema::Plan::RefuseNewer { found, supported } => {
            let msg = schema::newer_schema_error(found, supported, version.full());
            log("ERROR", &msg);
            // Dropping the transaction rolls it back: nothing was changed.
            return Err(anyhow!("{msg}"));
        }
        schema::Plan::RefuseInvalid { found } => {
            let msg = format!("Validate failed: invalid database schema version {found}");
            log("ERROR", &msg);
            return Err(anyhow!("{msg}"));
        }
    }
    tx.commit()
        .await
        .context("cannot commit the database schema")?;
    Ok(supported)
}

impl PostgresBackend {
    /// Connect (retrying while the database comes up), then bring the tables to the schema of
    /// `version`: create them, migrate them forward, or refuse a newer schema.
    pub async fn connect(ds: &Datasource, version: KestraVersion) -> Result<Self> {
        let url = JdbcUrl::parse(&ds.url)?;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut client = loop {
            attempt += 1;
            match open(ds, &url).await {
                Ok(c) => break c,
                Err(e) => {
                    if let Some(msg) = fatal(&e) {
                        log("ERROR", &msg);
                        return Err(anyhow!("{msg}"));
                    }
                    if started.elapsed() >= RETRY_FOR {
                        return Err(anyhow!(
                            "cannot connect to {} after {attempt} attempts: {e}",
                            ds.url
                        ));
                    }
                    let cause = e
                        .as_db_error()
                        .map(|d| d.message().to_string())
                        .unwrap_or_else(|| format!("{e}"));
                    log(
                        "WARN",
                        &format!(
                            "Unable to connect to {} (attempt {attempt}): {cause}; retrying",
                            ds.url
                        ),
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        log(
            "INFO",
            &format!("Connected to {} as {}", ds.url, ds.username),
        );
        let schema = prepare_schema(&mut client, version).await?;
        Ok(PostgresBackend {
            ds: ds.clone(),
            url,
            client: RwLock::new(Arc::new(client)),
            schema,
        })
    }

    /// The live client, reconnecting once if the connection dropped.
    async fn client(&self) -> Result<Arc<Client>> {
        {
            let c = self.client.read().await;
            if !c.is_closed() {
                return Ok(c.clone());
            }
        }
        let mut w = self.client.write().await;
        if w.is_closed() {
            let fresh = open(&self.ds, &self.url)
                .await
                .map_err(|e| anyhow!("database unavailable: {e}"))?;
            *w = Arc::new(fresh);
        }
        Ok(w.clone())
    }
}

impl Backend for PostgresBackend {
    fn save_flow<'a>(&'a self, f: &'a FlowRevision) -> BoxFuture<'a, Result<()>> {
        async move {
            let c = self.client().await?;
            let value = serde_json::to_string(f)?;
            let doc = schema::document_column(self.schema);
            c.execute(
                &format!(
                    "INSERT INTO emulator_flows (namespace, id, revision, deleted, {doc}) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (namespace, id, revision) DO UPDATE SET deleted = EXCLUDED.deleted, {doc} = EXCLUDED.{doc}"
                ),
                &[&f.namespace, &f.id, &f.revision, &f.deleted, &value],
            )
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn save_executions<'a>(&'a self, execs: &'a [Arc<Execution>]) -> BoxFuture<'a, Result<()>> {
        async move {
            let c = self.client().await?;
            let doc = schema::document_column(self.schema);
            let sql = format!(
                "INSERT INTO emulator_executions (id, namespace, flow_id, state, start_date, {doc})
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
                 ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, {doc} = EXCLUDED.{doc}"
            );
            for chunk in execs.chunks(2_000) {
                let mut ids = Vec::with_capacity(chunk.len());
                let mut nss = Vec::with_capacity(chunk.len());
                let mut flows = Vec::with_capacity(chunk.len());
                let mut states = Vec::with_capacity(chunk.len());
                let mut starts = Vec::with_capacity(chunk.len());
                let mut values = Vec::with_capacity(chunk.len());
                for e in chunk {
                    ids.push(e.id.clone());
                    nss.push(e.namespace.clone());
                    flows.push(e.flow_id.clone());
                    states.push(e.state.current.clone());
                    starts.push(e.start_ms());
                    values.push(serde_json::to_string(e.as_ref())?);
                }
                c.execute(
                    &sql,
                    &[&ids, &nss, &flows, &states, &starts, &values],
                )
                .await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn append_logs<'a>(&'a self, logs: &'a [LogEntry]) -> BoxFuture<'a, Result<()>> {
        async move {
            if logs.is_empty() {
                return Ok(());
            }
            let c = self.client().await?;
            let ids: Vec<String> = logs.iter().map(|l| l.execution_id.clone()).collect();
            let values = logs
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<Vec<String>, _>>()?;
            c.execute(
                "INSERT INTO emulator_logs (execution_id, value) SELECT * FROM UNNEST($1::text[], $2::text[])",
                &[&ids, &values],
            )
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn save_file<'a>(&'a self, uri: &'a str, bytes: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        async move {
            let c = self.client().await?;
            c.execute(
                "INSERT INTO emulator_files (uri, bytes) VALUES ($1, $2) ON CONFLICT (uri) DO UPDATE SET bytes = EXCLUDED.bytes",
                &[&uri, &bytes],
            )
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn delete_file<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<()>> {
        async move {
            let c = self.client().await?;
            c.execute("DELETE FROM emulator_files WHERE uri = $1", &[&uri])
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn delete_execution<'a>(&'a self, id: &'a str, logs: bool) -> BoxFuture<'a, Result<()>> {
        async move {
            let c = self.client().await?;
            c.execute("DELETE FROM emulator_executions WHERE id = $1", &[&id])
                .await?;
            if logs {
                c.execute("DELETE FROM emulator_logs WHERE execution_id = $1", &[&id])
                    .await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn save_setting<'a>(&'a self, key: &'a str, value: &'a Value) -> BoxFuture<'a, Result<()>> {
        async move {
            let c = self.client().await?;
            let text = value.to_string();
            c.execute(
                "INSERT INTO emulator_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&key, &text],
            )
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn delete_setting<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        async move {
            let c = self.client().await?;
            c.execute("DELETE FROM emulator_settings WHERE key = $1", &[&key])
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn load(&self) -> BoxFuture<'_, Result<Snapshot>> {
        async move {
            let c = self.client().await?;
            let doc = schema::document_column(self.schema);
            let mut snap = Snapshot::default();
            for row in c
                .query(
                    &format!("SELECT {doc} FROM emulator_flows ORDER BY namespace, id, revision"),
                    &[],
                )
                .await?
            {
                let v: String = row.get(0);
                snap.flows
                    .push(serde_json::from_str(&v).context("corrupt emulator_flows row")?);
            }
            for row in c
                .query(&format!("SELECT {doc} FROM emulator_executions"), &[])
                .await?
            {
                let v: String = row.get(0);
                snap.executions
                    .push(serde_json::from_str(&v).context("corrupt emulator_executions row")?);
            }
            for row in c
                .query("SELECT value FROM emulator_logs ORDER BY seq", &[])
                .await?
            {
                let v: String = row.get(0);
                snap.logs
                    .push(serde_json::from_str(&v).context("corrupt emulator_logs row")?);
            }
            for row in c
                .query("SELECT uri, bytes FROM emulator_files", &[])
                .await?
            {
                snap.files.push((row.get(0), row.get(1)));
            }
            for row in c
                .query("SELECT key, value FROM emulator_settings", &[])
                .await?
            {
                let v: String = row.get(1);
                snap.settings.push((
                    row.get(0),
                    serde_json::from_str(&v).context("corrupt emulator_settings row")?,
                ));
            }
            Ok(snap)
        }
        .boxed()
    }

    fn health(&self) -> BoxFuture<'_, Option<JdbcHealth>> {
        async move {
            let probe = async {
                let c = self.client().await?;
                let row = c
                    .query_one("SELECT current_setting('server_version')", &[])
                    .await?;
                Ok::<String, anyhow::Error>(row.get(0))
            };
            let result = tokio::time::timeout(Duration::from_secs(3), probe).await;
            let (up, version, error) = match result {
                Ok(Ok(v)) => (true, v, None),
                Ok(Err(e)) => (false, String::new(), Some(format!("{e:#}"))),
                Err(_) => (false, String::new(), Some("timed out".to_string())),
            };
            Some(JdbcHealth {
                url: self.ds.url.clone(),
                up,
                database: "PostgreSQL".into(),
                version,
                error,
            })
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_carry_the_schema_document_column() {
        let v1 = create_tables_sql(1);
        assert!(
            v1.contains("    value TEXT NOT NULL,\n    PRIMARY KEY"),
            "{v1}"
        );
        assert!(!v1.contains("document"), "{v1}");
        let v2 = create_tables_sql(2);
        assert_eq!(v2.matches("document TEXT NOT NULL").count(), 2, "{v2}");
        // Logs and settings keep `value` in schema 2.
        assert_eq!(v2.matches("value TEXT NOT NULL").count(), 2, "{v2}");
    }

    #[test]
    fn only_the_step_from_1_exists() {
        assert!(
            migration_step_sql(1).is_some_and(|s| s.contains("RENAME COLUMN value TO document"))
        );
        assert!(migration_step_sql(0).is_none());
        assert!(migration_step_sql(2).is_none());
    }
}
