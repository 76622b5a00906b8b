//! Checking an archive before anything trusts it: every byte read, every checksum compared with
//! the manifest, the gzip CRC, and the database dump read by `pg_restore --list` in a Postgres
//! container (the stack's own when it runs, else a throw-away one of the same image, with no
//! network). A restore unpacks while it checks, into a staging folder, so what it restores is
//! exactly what was checked.

use std::path::{Path, PathBuf};

use super::archive::{self, Extract};
use super::archive_manifest::Manifest;
use super::ticker::Ticker;
use crate::error::{Error, Result};
use crate::output::progress::Progress;
use crate::signals::Interrupts;
use crate::stack::engine::Engine;
use crate::stack::health::{self, ContainerState};

/// Where the checked contents went.
pub struct Unpacked {
    pub manifest: Manifest,
    /// The database dump, extracted (removed by the caller).
    pub dump: PathBuf,
    /// How many objects the dump's table of contents lists.
    pub objects: usize,
}

/// Where `pg_restore --list` can run.
pub struct Tools<'a> {
    pub engine: &'a Engine,
    /// The stack's Postgres container.
    pub container: &'a str,
    /// The image for a throw-away container when the stack's Postgres is not running.
    pub image: &'a str,
}

impl<'a> Tools<'a> {
    /// The stack's Postgres container, and its image for a throw-away one.
    pub fn of(engine: &'a Engine, stack: &'a crate::settings::stack::StackSettings) -> Self {
        Tools {
            engine,
            container: &stack.postgres_container,
            image: &stack.postgres_image.value,
        }
    }
}

/// Reads and checks the archive at `file`, the dump into `dump`, storage files under `storage`
/// when given (else checked only), then proves the dump readable.
pub async fn unpack(
    tools: &Tools<'_>,
    file: &Path,
    dump: &Path,
    storage: Option<&Path>,
    progress: &Progress,
    interrupts: Option<&Interrupts>,
) -> Result<Unpacked> {
    let manifest = check(file, progress, interrupts).await?;
    unpack_checked(tools, file, &manifest, dump, storage, progress, interrupts).await
}

/// The first reading of an archive: every entry's checksum against its manifest, the gzip CRC,
/// nothing written anywhere. The manifest is the archive's last entry, so only this reading
/// knows what each entry's size must be.
pub async fn check(
    file: &Path,
    progress: &Progress,
    interrupts: Option<&Interrupts>,
) -> Result<Manifest> {
    let name = file.display().to_string();
    let total = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let ticker = Ticker::new(progress, &format!("checking {name}"));
    let owned = file.to_path_buf();
    let manifest = super::ticker::blocking(&ticker, interrupts, move |tick| {
        archive::read(&owned, &mut archive::Discard, tick)
    })
    .await?;
    progress.done(&format!(
        "{}; {} entries match their checksums",
        ticker.done(total),
        manifest.entries.len()
    ));
    Ok(manifest)
}

/// The second reading of an archive [`check`] returned `manifest` for: each entry written
/// (the dump to `dump`, storage files under `storage`) at most at the size the manifest gives,
/// then the dump proved readable by `pg_restore --list`.
pub async fn unpack_checked(
    tools: &Tools<'_>,
    file: &Path,
    manifest: &Manifest,
    dump: &Path,
    storage: Option<&Path>,
    progress: &Progress,
    interrupts: Option<&Interrupts>,
) -> Result<Unpacked> {
    let name = file.display().to_string();
    let total = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let (file_owned, dump_owned) = (file.to_path_buf(), dump.to_path_buf());
    let storage_owned = storage.map(Path::to_path_buf);
    let ticker = Ticker::new(progress, &format!("unpacking {name}"));
    let known = manifest.clone();
    let manifest = super::ticker::blocking(&ticker, interrupts, move |tick| {
        let mut sink = Extract {
            dump: &dump_owned,
            storage: storage_owned.as_deref(),
        };
        archive::read_known(&file_owned, &mut sink, &known, tick)
    })
    .await?;
    progress.done(&ticker.done(total));
    progress.step("reading the database dump with pg_restore --list");
    let objects = match interrupts {
        Some(i) => i.guard(list_dump(tools, dump, &name)).await?,
        None => list_dump(tools, dump, &name).await?,
    };
    progress.done(&format!(
        "the database dump is readable ({objects} objects)"
    ));
    Ok(Unpacked {
        manifest,
        dump: dump.to_path_buf(),
        objects,
    })
}

async fn list_dump(tools: &Tools<'_>, dump: &Path, name: &str) -> Result<usize> {
    let running = matches!(
        health::state_of(tools.engine.inspect(tools.container).await?.as_ref()),
        ContainerState::Running { .. }
    );
    if running {
        return super::postgres::list(tools.engine, tools.container, dump, name).await;
    }
    if !tools.engine.image_present(tools.image).await? {
        return Err(Error::engine(
            format!(
                "the Postgres image {} is not on this machine, and checking the dump needs its \
                 pg_restore",
                tools.image
            ),
            format!(
                "pull it (`docker pull {}`) or start the stack first",
                tools.image
            ),
        ));
    }
    let helper = format!("kestractl-check-{}", std::process::id());
    tools.engine.start_helper(&helper, tools.image).await?;
    let listed = super::postgres::list(tools.engine, &helper, dump, name).await;
    // With its volumes: the image's own (PGDATA) would otherwise stay behind, one per check.
    let _ = tools.engine.remove_with_volumes(&helper).await;
    listed
}
