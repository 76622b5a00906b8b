//! An upgrade that fails goes back: the previous image on the pre-upgrade database and storage,
//! restored from the backup taken first, and checked serving what it served.

use super::{Args, Before};
use crate::backup::STOP_GRACE;
use crate::backup::archive_manifest::Manifest;
use crate::backup::restore as data;
use crate::backup::restore::work_dir;
use crate::backup::verify::{self, Tools};
use crate::commands::Ctx;
use crate::commands::args::ImageArgs;
use crate::error::{Error, Kind, Result};
use crate::output::progress::Progress;
use crate::settings::stack::StackSettings;

/// A rollback puts back what ran: its images are on this machine, and nothing is pulled
/// (`--pull always` with no registry answering would otherwise stand in its way).
fn rollback_images(images: &ImageArgs) -> ImageArgs {
    ImageArgs {
        pull: crate::cli::PullPolicy::Missing,
        ..images.clone()
    }
}

/// The previous image on the pre-upgrade data (from the backup), checked serving.
pub(super) async fn roll_back(
    ctx: &Ctx,
    args: &Args,
    stack: &StackSettings,
    before: &Before,
    cause: Error,
    progress: &Progress,
) -> Error {
    let why = if cause.kind() == Kind::Interrupted {
        "The upgrade was interrupted".to_string()
    } else {
        format!("The upgrade failed: {cause}")
    };
    progress.step("rolling back");
    let result = match &before.backup {
        Some((file, manifest)) => restore_backup(
            ctx, args, stack, before, file, manifest, progress,
        )
        .await
        .map(|()| {
            format!(
                "Rolled back: Kestra runs {} on the pre-upgrade data, restored from {}, and \
                     serves it",
                before.image,
                file.display()
            )
        }),
        None => ctx
            .start_stack(
                &rollback_images(&args.images).start_options(
                    Some(before.image.clone()),
                    &args.readiness,
                    false,
                ),
                progress,
            )
            .await
            .map(|_| {
                format!(
                    "Kestra {} was started again on the data as the new version left it (no backup \
                 was taken)",
                    before.image
                )
            }),
    };
    let hint = format!(
        "`kestractl logs kestra` shows why; the previous image {} still runs the stack",
        before.image
    );
    let message = match result {
        Ok(done) => format!("{why}. {done}."),
        Err(e) => {
            let recover = match &before.backup {
                Some((file, _)) => format!(
                    "The backup is intact at {}: `kestractl restore {} --image {}` puts it back",
                    file.display(),
                    file.display(),
                    before.image
                ),
                None => "No backup was taken (--no-backup)".to_string(),
            };
            return Error::new(
                Kind::Other,
                format!("{why}. The rollback failed too: {e}. {recover}."),
                "run the restore above once the cause is fixed; `kestractl status` shows the stack",
            );
        }
    };
    match cause.kind() {
        Kind::Interrupted => Error::interrupted(message),
        kind => Error::new(kind, message, hint),
    }
}

async fn restore_backup(
    ctx: &Ctx,
    args: &Args,
    stack: &StackSettings,
    before: &Before,
    file: &std::path::Path,
    manifest: &Manifest,
    progress: &Progress,
) -> Result<()> {
    let engine = ctx.engine().await?;
    engine
        .stop(&stack.kestra_container.value, STOP_GRACE)
        .await?;
    let suffix = data::suffix(time::OffsetDateTime::now_utc());
    let work = work_dir(stack, &suffix);
    crate::fsutil::create_private_dir(&work)?;
    let result = async {
        let unpacked = verify::unpack(
            &Tools::of(engine, stack),
            file,
            &work.join("postgres.dump"),
            Some(&work.join("storage")),
            progress,
            // A rollback finishes whatever arrives.
            None,
        )
        .await?;
        // The upgraded (migrated) data goes aside while the backup loads, then away.
        let aside = data::set_aside(engine, stack, &suffix).await?;
        let loaded = async {
            data::load(
                engine,
                stack,
                &unpacked.dump,
                &work.join("storage"),
                progress,
            )
            .await?;
            ctx.start_stack(
                &rollback_images(&args.images).start_options(
                    Some(before.image.clone()),
                    &args.readiness,
                    false,
                ),
                progress,
            )
            .await?;
            let client = ctx.local_stack_client(stack).await?;
            data::check_served(&client, manifest.served.as_ref(), progress, &ctx.out).await
        }
        .await;
        match loaded {
            Ok(_) => {
                let _ = data::discard(engine, stack, &aside).await;
                Ok(())
            }
            Err(e) => Err(Error::new(
                e.kind(),
                format!(
                    "{e} (the upgraded data is kept: {})",
                    data::describe(&aside)
                ),
                e.hint().unwrap_or_default(),
            )),
        }
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    result
}
