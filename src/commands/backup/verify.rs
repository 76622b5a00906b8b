//! `kestractl backup verify FILE`: read an archive whole (gzip CRC, every entry against the
//! manifest, the dump through `pg_restore --list`) without touching the stack.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::describe_manifest;
use crate::backup::archive_manifest::Manifest;
use crate::backup::check_archive_path;
use crate::backup::verify::{self, Tools};
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::progress::Progress;
use crate::output::{Output, Render};
use crate::settings::stack::StackFlags;
use crate::signals::{Interrupt, Interrupts};

/// Check an archive: checksums, manifest, and the dump readable by pg_restore (exit 5 if not)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl backup verify kestra-2026-12-01.tar.gz\n  kestractl backup verify kestra-2026-12-01.tar.gz -o json"
)]
pub struct Args {
    /// The archive to check
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
}

impl Run for Args {
    // The extracted dump is removed before it stops.
    fn interrupt(&self) -> Interrupt {
        Interrupt::Handled
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        verify_command(ctx, &self.file).await
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyReport {
    file: PathBuf,
    ok: bool,
    /// Objects in the dump's table of contents.
    dump_objects: usize,
    manifest: Manifest,
}

impl Render for VerifyReport {
    fn human(&self, out: &Output) -> Result<()> {
        out.print(&format!(
            "{} is usable: {} entries match their checksums, the database dump lists {} objects.\n{}",
            self.file.display(),
            self.manifest.entries.len(),
            self.dump_objects,
            describe_manifest(&self.manifest)
        ))
    }
}

async fn verify_command(ctx: &Ctx, file: &Path) -> Result<Exit> {
    check_archive_path(file)?;
    let interrupts = Interrupts::catch(
        "interrupt received: removing the extracted dump before stopping",
        crate::output::Output::warn_line,
    )?;
    let progress = Progress::new();
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    // The first reading writes nothing (and needs no Docker); only an archive that passed it
    // is unpacked.
    let manifest = match verify::check(file, &progress, Some(&interrupts)).await {
        Ok(m) => m,
        Err(e) => {
            progress.finish();
            return Err(e);
        }
    };
    let engine = ctx.engine().await?;
    // Without the stack's Postgres running, the dump is read in a throw-away container of the
    // image the settings name, or, when they name none, of the backup's own.
    let image = match stack.postgres_image.source {
        crate::settings::Source::Default => manifest.postgres.image.clone(),
        _ => stack.postgres_image.value.clone(),
    };
    let tools = Tools {
        engine,
        container: &stack.postgres_container,
        image: &image,
    };
    let work = tempfile_dir(file)?;
    let unpacked = verify::unpack_checked(
        &tools,
        file,
        &manifest,
        &work.join("postgres.dump"),
        None,
        &progress,
        Some(&interrupts),
    )
    .await;
    let _ = std::fs::remove_dir_all(&work);
    progress.finish();
    let unpacked = unpacked?;
    ctx.out.emit(&VerifyReport {
        file: file.to_path_buf(),
        ok: true,
        dump_objects: unpacked.objects,
        manifest: unpacked.manifest,
    })?;
    Ok(Exit::Ok)
}

/// A private folder for an extracted dump, in the system's temporary folder.
fn tempfile_dir(file: &Path) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "kestractl-verify-{}-{}",
        std::process::id(),
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    crate::fsutil::create_private_dir(&dir)?;
    Ok(dir)
}
