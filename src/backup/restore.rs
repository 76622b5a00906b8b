//! The data side of `restore` and of an upgrade's rollback: the current database and storage are
//! set aside under new names (never deleted until the restored stack serves), the checked backup
//! is loaded in their place, and either the set-aside data is discarded or put back.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::archive_manifest::Served;
use super::create::served_now;
use super::ticker::Ticker;
use super::{beside, postgres};
use crate::error::{Error, Result};
use crate::kestra::KestraClient;
use crate::output::progress::Progress;
use crate::output::{Output, count};
use crate::settings::stack::StackSettings;
use crate::stack::engine::Engine;

/// The current data, moved out of the way.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Aside {
    /// The previous database's new name; `None` when there was none.
    pub database: Option<String>,
    /// Where the previous storage directory went; `None` when there was none.
    pub storage: Option<PathBuf>,
}

/// The folder a restore unpacks into, beside the storage directory (same file system, so the
/// storage moves into place by a rename).
pub fn work_dir(stack: &StackSettings, suffix: &str) -> PathBuf {
    beside(&stack.storage_dir.value, &format!(".restore-{suffix}"))
}

/// A suffix for set-aside names, unique per second: `20261206171502`.
pub fn suffix(now: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day][hour][minute][second]");
    now.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// `kestra` → `kestra_previous_20261206171502`; within Postgres's 63-byte identifiers.
pub fn aside_database(db: &str, suffix: &str) -> String {
    let tail = format!("_previous_{suffix}");
    let keep = 63usize.saturating_sub(tail.len());
    let mut head = db.to_string();
    while head.len() > keep {
        head.pop();
    }
    format!("{head}{tail}")
}

/// Moves the stack's database and storage directory aside and leaves an empty database and no
/// storage directory in their place. Kestra must be stopped.
pub async fn set_aside(engine: &Engine, stack: &StackSettings, suffix: &str) -> Result<Aside> {
    let db = &stack.db_name.value;
    let mut aside = Aside {
        database: None,
        storage: None,
    };
    if postgres::database_exists(engine, stack, db).await? {
        let name = aside_database(db, suffix);
        postgres::set_aside(engine, stack, &name).await?;
        aside.database = Some(name);
    } else {
        postgres::drop_database(engine, stack, db).await?;
        crate::stack::sql::psql(
            engine,
            &stack.postgres_container,
            &stack.db_user.value,
            "postgres",
            format!(
                "CREATE DATABASE {} OWNER {};\n",
                crate::stack::sql::quote_ident(db),
                crate::stack::sql::quote_ident(&stack.db_user.value)
            )
            .as_bytes(),
            std::time::Duration::from_secs(60),
        )
        .await?;
    }
    let storage = &stack.storage_dir.value;
    if storage.exists() {
        let to = beside(storage, &format!(".previous-{suffix}"));
        if let Err(e) = std::fs::rename(storage, &to) {
            // Nothing half-done: the database goes back first.
            if let Some(name) = &aside.database {
                postgres::put_back(engine, stack, name).await?;
            }
            return Err(Error::io("cannot move aside", storage, e));
        }
        aside.storage = Some(to);
    }
    Ok(aside)
}

/// Loads the checked dump into the (empty) database and moves the checked storage files into
/// place.
pub async fn load(
    engine: &Engine,
    stack: &StackSettings,
    dump: &Path,
    staged_storage: &Path,
    progress: &Progress,
) -> Result<()> {
    let ticker = Ticker::new(progress, "loading the database");
    let size = std::fs::metadata(dump).map(|m| m.len()).unwrap_or(0);
    postgres::load(engine, stack, dump, &|n| ticker.tick(n)).await?;
    progress.done(&ticker.done(size));
    let storage = &stack.storage_dir.value;
    if staged_storage.is_dir() {
        std::fs::rename(staged_storage, storage)
            .map_err(|e| Error::io("cannot move the restored storage into", storage, e))?;
    } else {
        std::fs::create_dir_all(storage).map_err(|e| Error::io("cannot create", storage, e))?;
    }
    Ok(())
}

/// Puts the set-aside data back where it was: whatever is in its place now (a partial or a
/// refused restore) is dropped. Kestra must be stopped.
pub async fn put_back(engine: &Engine, stack: &StackSettings, aside: &Aside) -> Result<()> {
    match &aside.database {
        Some(name) => postgres::put_back(engine, stack, name).await?,
        None => postgres::drop_database(engine, stack, &stack.db_name.value).await?,
    }
    let storage = &stack.storage_dir.value;
    if let Some(previous) = &aside.storage {
        if storage.exists() {
            std::fs::remove_dir_all(storage).map_err(|e| Error::io("cannot remove", storage, e))?;
        }
        std::fs::rename(previous, storage)
            .map_err(|e| Error::io("cannot move back", previous, e))?;
    }
    Ok(())
}

/// Deletes the set-aside data once the restored stack has proved itself.
pub async fn discard(engine: &Engine, stack: &StackSettings, aside: &Aside) -> Result<()> {
    if let Some(name) = &aside.database {
        postgres::drop_database(engine, stack, name).await?;
    }
    if let Some(previous) = &aside.storage {
        std::fs::remove_dir_all(previous).map_err(|e| Error::io("cannot remove", previous, e))?;
    }
    Ok(())
}

/// Where the set-aside data is, for a message that must let the operator recover by hand.
pub fn describe(aside: &Aside) -> String {
    let mut parts = Vec::new();
    if let Some(db) = &aside.database {
        parts.push(format!("the previous database is `{db}`"));
    }
    if let Some(dir) = &aside.storage {
        parts.push(format!("the previous storage is at {}", dir.display()));
    }
    if parts.is_empty() {
        "there was no previous data".into()
    } else {
        parts.join(" and ")
    }
}

/// Kestra serves what the backup recorded: the same flows, at least the same executions (a
/// schedule may add some as soon as it runs). Returns what it serves now.
pub async fn check_served(
    client: &KestraClient,
    recorded: Option<&Served>,
    progress: &Progress,
    out: &Output,
) -> Result<Option<Served>> {
    let Some(recorded) = recorded else {
        out.warn(
            "the backup did not record what Kestra served (it was not running): the restored \
             data was not checked against it",
        );
        return Ok(None);
    };
    progress.step("checking what Kestra serves");
    let (_, now) = served_now(client).await?;
    let (flows, executions) = (
        count(now.flows as usize, "flow"),
        count(now.executions as usize, "execution"),
    );
    if now.flows != recorded.flows || now.executions < recorded.executions {
        return Err(Error::not_ready(
            format!(
                "Kestra serves {flows} and {executions} where the backup recorded {} and {}",
                recorded.flows, recorded.executions
            ),
            "check Kestra's logs (`kestractl logs kestra`)",
        ));
    }
    progress.done(&format!(
        "Kestra serves the backup's {flows} and {executions}"
    ));
    Ok(Some(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aside_names_fit_postgres() {
        let t = time::macros::datetime!(2026-12-06 17:15:02 UTC);
        let s = suffix(t);
        assert_eq!(s, "20261206171502");
        assert_eq!(
            aside_database("kestra", &s),
            "kestra_previous_20261206171502"
        );
        let long = "d".repeat(80);
        let name = aside_database(&long, &s);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_previous_20261206171502"));
        assert_eq!(
            beside(Path::new("/srv/storage"), ".previous-1"),
            PathBuf::from("/srv/storage.previous-1")
        );
    }
}
