//! Taking a backup of the local stack: what Kestra serves, the database dump, the non-secret
//! configuration and the storage directory, into one archive written beside its final name and
//! renamed into place only when whole.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::archive::Writer;
use super::archive_manifest::{FORMAT, Manifest, Part, Served};
use super::ticker::{Ticker, bytes};
use super::{CONFIG_ENTRY, DUMP_ENTRY, REDACTED, STOP_GRACE, STORAGE_PREFIX, beside, postgres};
use crate::error::{Error, Result};
use crate::kestra::KestraClient;
use crate::kestra::executions::ExecutionFilter;
use crate::output::progress::Progress;
use crate::secret::Secret;
use crate::settings::stack::StackSettings;
use crate::signals::Interrupts;
use crate::stack::engine::Engine;
use crate::stack::health::{self, ContainerState};
use crate::stack::kestra_config;

pub struct Options<'a> {
    pub file: PathBuf,
    /// Stop Kestra for the copy.
    pub consistent: bool,
    /// Leave Kestra stopped afterwards (an upgrade recreates it anyway).
    pub keep_stopped: bool,
    /// The client of the running Kestra, to record what it serves; `None` when it is not running.
    pub client: Option<&'a KestraClient>,
    pub username: &'a str,
    /// How long Kestra may take to be ready again after a consistent copy.
    pub wait_timeout: Duration,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Taken {
    pub file: PathBuf,
    pub size: u64,
    pub manifest: Manifest,
    /// How long Kestra was down for a consistent copy (stopped until ready again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downtime_ms: Option<u128>,
    /// Storage entries that are not regular files (links), left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    pub elapsed_ms: u128,
}

/// The default archive name: `kestra-backup-20261206T170000Z.tar.gz`.
pub fn default_file_name(now: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    format!(
        "kestra-backup-{}.tar.gz",
        now.to_offset(time::UtcOffset::UTC)
            .format(&f)
            .unwrap_or_default()
    )
}

/// The version and what a running Kestra serves: how many flows and executions.
pub async fn served_now(client: &KestraClient) -> Result<(Option<String>, Served)> {
    let version = client
        .discover()
        .await
        .ok()
        .and_then(|d| d.version.as_ref().map(|v| v.raw.clone()));
    let flows = client
        .flows()
        .search(None, 1, 1)
        .await
        .map_err(Error::from)?;
    let executions = client
        .executions()
        .search(&ExecutionFilter::default(), 1, 1)
        .await
        .map_err(Error::from)?;
    let count = |total: Option<i64>, len: usize| {
        total.map_or(len as u64, |t| u64::try_from(t).unwrap_or(0))
    };
    Ok((
        version,
        Served {
            flows: count(flows.total, flows.results.len()),
            executions: count(executions.total, executions.results.len()),
        },
    ))
}

/// The image reference and id a container runs.
async fn part_of(engine: &Engine, container: &str, fallback_image: &str) -> Result<Part> {
    let inspect = engine.inspect(container).await?;
    let image = inspect
        .as_ref()
        .and_then(|c| c.config.as_ref())
        .and_then(|c| c.image.clone())
        .unwrap_or_else(|| fallback_image.to_string());
    let image_id = match inspect.as_ref().and_then(|c| c.image.clone()) {
        Some(id) => id,
        None => engine.image_id(&image).await.unwrap_or_default(),
    };
    Ok(Part {
        image,
        image_id,
        version: None,
        database: None,
    })
}

/// Takes a backup of the stack into `opts.file`. Kestra stopped for a consistent copy is started
/// again (unless `keep_stopped`) whatever happens, Ctrl-C included; a partial archive is removed.
pub async fn create(
    engine: &Engine,
    stack: &StackSettings,
    opts: &Options<'_>,
    interrupts: &Interrupts,
    progress: &Progress,
) -> Result<Taken> {
    let started = Instant::now();
    let file = &opts.file;
    // Refused before Kestra is stopped, not only when the archive is created.
    if file.exists() {
        return Err(super::archive::already_exists(file));
    }
    let postgres_state =
        health::state_of(engine.inspect(&stack.postgres_container).await?.as_ref());
    if !matches!(postgres_state, ContainerState::Running { .. }) {
        return Err(Error::not_ready(
            format!(
                "Postgres ({}) is not running, and the backup is taken from it",
                stack.postgres_container
            ),
            "start the stack with `kestractl start` (or Postgres alone with \
             SKIP_KESTRA_AUTO_START=true), then back up",
        ));
    }
    let kestra_running = matches!(
        health::state_of(
            engine
                .inspect(&stack.kestra_container.value)
                .await?
                .as_ref()
        ),
        ContainerState::Running { .. }
    );
    let mut kestra = part_of(
        engine,
        &stack.kestra_container.value,
        &stack.kestra_image.value,
    )
    .await?;
    let mut postgres = part_of(
        engine,
        &stack.postgres_container,
        &stack.postgres_image.value,
    )
    .await?;
    postgres.database = Some(stack.db_name.value.clone());
    let mut served = None;
    if let (true, Some(client)) = (kestra_running, opts.client) {
        progress.step("reading what Kestra serves");
        let (version, now) = served_now(client).await?;
        kestra.version = version;
        served = Some(now);
    }

    let stop_kestra = opts.consistent && kestra_running;
    let mut stopped_at = None;
    if stop_kestra {
        progress.step(&format!(
            "stopping Kestra ({}) for a consistent copy",
            stack.kestra_container.value
        ));
        engine
            .stop(&stack.kestra_container.value, STOP_GRACE)
            .await?;
        stopped_at = Some(Instant::now());
    }
    let partial = beside(file, ".partial");
    let dump = beside(file, ".dump.partial");
    let copied = copy(
        engine,
        stack,
        opts,
        &partial,
        &dump,
        kestra.clone(),
        postgres.clone(),
        served.clone(),
        progress,
        interrupts,
    )
    .await;
    let _ = std::fs::remove_file(&dump);
    let mut downtime = None;
    if let Some(at) = stopped_at.filter(|_| !opts.keep_stopped) {
        progress.step(&format!(
            "starting Kestra ({}) again",
            stack.kestra_container.value
        ));
        let restarted = restart_kestra(engine, stack, opts, progress).await;
        downtime = Some(at.elapsed().as_millis());
        if let Err(e) = restarted {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    }
    let (manifest, skipped) = match copied {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // A hard link cannot replace an existing file: the final name is never overwritten.
    std::fs::hard_link(&partial, file)
        .or_else(|_| {
            if file.exists() {
                Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
            } else {
                std::fs::rename(&partial, file)
            }
        })
        .map_err(|e| Error::io("cannot move the backup into place at", file, e))?;
    let _ = std::fs::remove_file(&partial);
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(Taken {
        file: file.clone(),
        size,
        manifest,
        downtime_ms: downtime,
        skipped,
        elapsed_ms: started.elapsed().as_millis(),
    })
}

async fn restart_kestra(
    engine: &Engine,
    stack: &StackSettings,
    opts: &Options<'_>,
    progress: &Progress,
) -> Result<()> {
    engine.start(&stack.kestra_container.value).await?;
    if let Some(client) = opts.client {
        health::wait_kestra(
            engine,
            &stack.kestra_container.value,
            &crate::stack::local_api::management(stack, health::MANAGEMENT_TIMEOUT)?,
            client,
            Instant::now() + opts.wait_timeout,
            progress,
        )
        .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn copy(
    engine: &Engine,
    stack: &StackSettings,
    opts: &Options<'_>,
    partial: &Path,
    dump: &Path,
    kestra: Part,
    postgres: Part,
    served: Option<Served>,
    progress: &Progress,
    interrupts: &Interrupts,
) -> Result<(Manifest, Vec<String>)> {
    let ticker = Ticker::new(progress, "dumping Postgres");
    let dump_size = interrupts
        .guard(postgres::dump(engine, stack, dump, &|n| ticker.tick(n)))
        .await?;
    progress.done(&ticker.done(dump_size));

    // The configuration as Kestra reads it, with placeholders where the passwords are.
    let redacted = Secret::new(REDACTED.to_string());
    let config = kestra_config::render_for_stack(stack, opts.username, &redacted, &redacted)?;
    let storage = stack.storage_dir.value.clone();
    let (partial, dump) = (partial.to_path_buf(), dump.to_path_buf());
    let consistency = if opts.consistent {
        "consistent"
    } else {
        "online"
    };
    let ticker = Ticker::new(progress, "writing the archive");
    let (manifest, skipped) = super::ticker::blocking(&ticker, Some(interrupts), move |tick| {
        let written = (|| {
            let mut w = Writer::create(&partial)?;
            w.append_file(DUMP_ENTRY, &dump, tick)?;
            w.append_bytes(CONFIG_ENTRY, config.as_bytes())?;
            let skipped = if storage.is_dir() {
                w.append_tree(STORAGE_PREFIX, &storage, &|n| tick(dump_size + n))?
            } else {
                Vec::new()
            };
            let manifest = Manifest {
                format: FORMAT.into(),
                created_at: time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                kestractl_version: env!("CARGO_PKG_VERSION").into(),
                consistency: consistency.into(),
                kestra,
                postgres,
                served,
                entries: w.entries().to_vec(),
            };
            w.finish(&manifest)?;
            Ok::<_, Error>((manifest, skipped))
        })();
        if written.is_err() {
            // Whatever stopped it (a signal included), nothing half-written stays.
            let _ = std::fs::remove_file(&partial);
        }
        written
    })
    .await?;
    let total: u64 = manifest.entries.iter().map(|e| e.size).sum();
    progress.done(&format!(
        "{}; {} in {} entries",
        ticker.done(total),
        bytes(total),
        manifest.entries.len()
    ));
    Ok((manifest, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_sort_by_time() {
        let t = time::macros::datetime!(2026-12-06 17:01:02 UTC);
        assert_eq!(
            default_file_name(t),
            "kestra-backup-20261206T170102Z.tar.gz"
        );
    }
}
