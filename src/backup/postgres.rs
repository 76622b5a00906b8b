//! The database side of backups, run inside a Postgres container through the Docker Engine:
//! `pg_dump` out, `pg_restore --list` to prove a dump readable, the current database set aside
//! under another name, `pg_restore` in, and the set-aside database put back or dropped.

use std::path::Path;
use std::time::Duration;

use super::archive_manifest;
use crate::error::{Error, Result};
use crate::settings::stack::StackSettings;
use crate::stack::engine::Engine;
use crate::stack::sql::{psql, quote_ident, quote_literal};

/// Renames and drops are quick; a load is bounded only by the caller.
const SQL_TIMEOUT: Duration = Duration::from_secs(120);
/// Where psql connects to act on the stack's database (never the database itself).
const MAINTENANCE_DB: &str = "postgres";

fn tool_failed(tool: &str, container: &str, code: i64, stderr: &str) -> Error {
    Error::engine(
        format!(
            "{tool} in {container} exited with code {code}: {}",
            stderr.trim()
        ),
        format!("check Postgres (`docker logs {container}`) and the free disk space"),
    )
}

/// `pg_dump` in custom format, uncompressed (the archive compresses once), streamed into `out`.
/// Returns the dump's size.
pub async fn dump(
    engine: &Engine,
    stack: &StackSettings,
    out: &Path,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    let file = super::archive::create_private(out)?;
    let mut file = tokio::fs::File::from_std(file);
    let (code, stderr) = engine
        .exec_streaming(
            &stack.postgres_container,
            "postgres",
            &[
                "pg_dump",
                "--format=custom",
                "--compress=0",
                "--no-password",
                "-U",
                &stack.db_user.value,
                "-d",
                &stack.db_name.value,
            ],
            None::<tokio::io::Empty>,
            &mut file,
            on_bytes,
        )
        .await?;
    if code != 0 {
        return Err(tool_failed(
            "pg_dump",
            &stack.postgres_container,
            code,
            &stderr,
        ));
    }
    file.sync_all()
        .await
        .map_err(|e| Error::io("cannot write", out, e))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| Error::io("cannot read", out, e))?
        .len();
    Ok(size)
}

/// Proves a dump readable: `pg_restore --list` in `container`, fed the dump on its standard
/// input. Returns how many objects its table of contents lists.
pub async fn list(engine: &Engine, container: &str, dump: &Path, archive: &str) -> Result<usize> {
    let file = tokio::fs::File::open(dump)
        .await
        .map_err(|e| Error::io("cannot read", dump, e))?;
    let mut listing = Vec::new();
    let (code, stderr) = engine
        .exec_streaming(
            container,
            "postgres",
            &["pg_restore", "--list"],
            Some(file),
            &mut listing,
            &|_| {},
        )
        .await?;
    if code != 0 {
        return Err(archive_manifest::damaged(
            archive,
            &format!(
                "pg_restore cannot read its database dump ({})",
                stderr.trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&listing)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .count())
}

/// Ends every session on `database` (Kestra is stopped, but a stray client would block a
/// rename or drop).
fn terminate(database: &str) -> String {
    format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = {} AND pid <> pg_backend_pid();\n",
        quote_literal(database)
    )
}

async fn maintenance(engine: &Engine, stack: &StackSettings, sql: &str) -> Result<String> {
    psql(
        engine,
        &stack.postgres_container,
        &stack.db_user.value,
        MAINTENANCE_DB,
        sql.as_bytes(),
        SQL_TIMEOUT,
    )
    .await
}

pub async fn database_exists(engine: &Engine, stack: &StackSettings, name: &str) -> Result<bool> {
    let out = maintenance(
        engine,
        stack,
        &format!(
            "SELECT 1 FROM pg_database WHERE datname = {};\n",
            quote_literal(name)
        ),
    )
    .await?;
    Ok(out.trim() == "1")
}

/// Renames the stack's database to `aside` and creates a new, empty one in its place: the
/// current data stays whole until the restore has proved itself.
pub async fn set_aside(engine: &Engine, stack: &StackSettings, aside: &str) -> Result<()> {
    let db = &stack.db_name.value;
    let sql = format!(
        "{}ALTER DATABASE {} RENAME TO {};\nCREATE DATABASE {} OWNER {};\n",
        terminate(db),
        quote_ident(db),
        quote_ident(aside),
        quote_ident(db),
        quote_ident(&stack.db_user.value),
    );
    maintenance(engine, stack, &sql).await.map(drop)
}

/// Drops whatever is under the stack's database name and renames `aside` back to it.
pub async fn put_back(engine: &Engine, stack: &StackSettings, aside: &str) -> Result<()> {
    let db = &stack.db_name.value;
    let sql = format!(
        "{}DROP DATABASE IF EXISTS {} WITH (FORCE);\n{}ALTER DATABASE {} RENAME TO {};\n",
        terminate(db),
        quote_ident(db),
        terminate(aside),
        quote_ident(aside),
        quote_ident(db),
    );
    maintenance(engine, stack, &sql).await.map(drop)
}

pub async fn drop_database(engine: &Engine, stack: &StackSettings, name: &str) -> Result<()> {
    let sql = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE);\n",
        quote_ident(name)
    );
    maintenance(engine, stack, &sql).await.map(drop)
}

/// Loads `dump` into the stack's (new, empty) database in one transaction, so a load that is
/// stopped halfway leaves nothing half-written.
pub async fn load(
    engine: &Engine,
    stack: &StackSettings,
    dump: &Path,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<()> {
    let file = tokio::fs::File::open(dump)
        .await
        .map_err(|e| Error::io("cannot read", dump, e))?;
    let (code, stderr) = engine
        .exec_streaming(
            &stack.postgres_container,
            "postgres",
            &[
                "pg_restore",
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-password",
                "-U",
                &stack.db_user.value,
                "-d",
                &stack.db_name.value,
            ],
            Some(file),
            &mut tokio::io::sink(),
            on_bytes,
        )
        .await?;
    if code != 0 {
        return Err(tool_failed(
            "pg_restore",
            &stack.postgres_container,
            code,
            &stderr,
        ));
    }
    Ok(())
}
