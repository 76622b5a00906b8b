//! `kestractl backup [--file F] [--consistent]` and `kestractl backup verify FILE`; `restore` and
//! `upgrade` build on both.

pub mod restore;
pub mod upgrade;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::backup::beside;
use crate::backup::create::{self, Options, Taken};
use crate::backup::manifest::Manifest;
use crate::backup::ticker::bytes;
use crate::backup::verify::{self, Tools};
use crate::cli::{BackupArgs, BackupCommand, ImageArgs, ReadinessWait};
use crate::commands::{Ctx, StartOptions};
use crate::error::{Exit, Result};
use crate::output::progress::Progress;
use crate::output::{Output, Render};
use crate::settings::duration::format_duration;
use crate::settings::stack::{StackFlags, StackSettings};
use crate::signals::Interrupts;
use crate::stack::health::{self, ContainerState};

pub async fn run(ctx: &Ctx, args: &BackupArgs) -> Result<Exit> {
    if let Some(BackupCommand::Verify { file }) = &args.command {
        return verify_command(ctx, file).await;
    }
    let interrupts = Interrupts::catch(
        "interrupt received: removing the partial archive (and starting Kestra again if it was \
         stopped for the copy) before stopping",
        crate::output::Output::warn_line,
    )?;
    let progress = Progress::new();
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    let engine = ctx.engine().await?;
    let file = args.file.clone().unwrap_or_else(|| {
        PathBuf::from(create::default_file_name(time::OffsetDateTime::now_utc()))
    });
    let settings = ctx.settings().await?;
    let client = match running(engine, &stack.kestra_container.value).await? {
        true => Some(ctx.local_stack_client(&stack).await?),
        false => {
            ctx.out.warn(&format!(
                "Kestra ({}) is not running: the backup cannot record what it serves, so a \
                 restore will not be able to check it",
                stack.kestra_container.value
            ));
            None
        }
    };
    let taken = create::create(
        engine,
        &stack,
        &Options {
            file,
            consistent: args.consistent,
            keep_stopped: false,
            client: client.as_ref(),
            username: &settings.username.value,
            wait_timeout: args.readiness.wait_timeout,
        },
        &interrupts,
        &progress,
    )
    .await;
    progress.finish();
    let taken = taken?;
    ctx.out.emit(&BackupReport(taken))?;
    Ok(Exit::Ok)
}

pub async fn running(engine: &crate::stack::engine::Engine, name: &str) -> Result<bool> {
    Ok(matches!(
        health::state_of(engine.inspect(name).await?.as_ref()),
        ContainerState::Running { .. }
    ))
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct BackupReport(Taken);

impl Render for BackupReport {
    fn human(&self, out: &Output) -> Result<()> {
        let t = &self.0;
        let m = &t.manifest;
        let mut text = format!(
            "Backup written to {} ({}, {} entries, in {})\n",
            t.file.display(),
            bytes(t.size),
            m.entries.len(),
            format_duration(Duration::from_millis(
                u64::try_from(t.elapsed_ms).unwrap_or(u64::MAX)
            ))
        );
        text.push_str(&describe_manifest(m));
        match t.downtime_ms {
            Some(ms) => text.push_str(&format!(
                "Consistent: Kestra was stopped for the copy and ready again after {}.\n",
                format_duration(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
            )),
            None if m.consistency == "consistent" => {
                text.push_str("Consistent: Kestra was not running during the copy.\n");
            }
            None => text.push_str(
                "Online: the database dump is consistent; files Kestra wrote to its storage \
                 during the copy may not match it (--consistent stops Kestra for the copy).\n",
            ),
        }
        for skipped in &t.skipped {
            text.push_str(&format!(
                "Left out (not a regular file): storage/{skipped}\n"
            ));
        }
        text.push_str(&format!(
            "Check it with `kestractl backup verify {}`; restore it with `kestractl restore {}`.\n",
            t.file.display(),
            t.file.display()
        ));
        out.print(&text)
    }
}

/// Two lines on what an archive holds.
fn describe_manifest(m: &Manifest) -> String {
    let served = m.served.as_ref().map_or_else(
        || "what it served was not recorded".to_string(),
        |s| {
            format!(
                "{}, {}",
                crate::output::count(s.flows as usize, "flow"),
                crate::output::count(s.executions as usize, "execution")
            )
        },
    );
    format!(
        "Taken {} by kestractl {}: Kestra {} ({}), {served}; Postgres {} (database {}).\n",
        m.created_at,
        m.kestractl_version,
        m.kestra.version.as_deref().unwrap_or("version unknown"),
        m.kestra.image,
        m.postgres.image,
        m.postgres.database.as_deref().unwrap_or("?"),
    )
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

/// A path that is not a file is refused before Docker is contacted.
pub fn check_archive_path(file: &Path) -> Result<()> {
    if file.is_file() {
        return Ok(());
    }
    Err(crate::error::Error::usage(
        format!(
            "{} {}",
            file.display(),
            if file.exists() {
                "is not a file"
            } else {
                "does not exist"
            }
        ),
        "give the path of an archive written by `kestractl backup`",
    ))
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

/// A later plain `start` recreates Kestra on the image the settings name: after an upgrade or a
/// restore onto another image, those must name the image now running, or that `start` would put
/// the old Kestra on the new database. Where the image comes from the context (or nowhere), it is
/// pinned in the context; where the operator set it (flag, environment, `.env`), they are told.
pub async fn pin_image(ctx: &Ctx, stack: &StackSettings, image: &str) {
    use crate::settings::Source;
    if stack.kestra_image.value == image {
        return;
    }
    let tell = |how: &str| {
        ctx.out.warn(&format!(
            "the settings still name {} ({}): a later `kestractl start` would recreate Kestra on \
             it. {how}",
            stack.kestra_image.value, stack.kestra_image.source
        ));
    };
    match &stack.kestra_image.source {
        Source::Default | Source::Config { .. } => {
            let pinned = async {
                let context = ctx.settings().await?.context.value.clone();
                let path = ctx.config_path()?;
                let mut config = crate::settings::ConfigFile::load(&path)?;
                let Some(entry) = config.contexts.get_mut(&context) else {
                    return Ok(None);
                };
                entry.image = Some(image.to_string());
                config.save(&path)?;
                Ok::<_, crate::error::Error>(Some((context, path)))
            }
            .await;
            match pinned {
                Ok(Some((context, path))) => ctx.out.note(&format!(
                    "Pinned {image} in context `{context}` ({}): a later `kestractl start` keeps it.",
                    path.display()
                )),
                Ok(None) => tell(&format!(
                    "Pin {image}: KESTRA_IMAGE={image} in .env, or --image {image}"
                )),
                Err(e) => tell(&format!(
                    "Pinning it in the config file failed ({e}): set KESTRA_IMAGE={image} in .env"
                )),
            }
        }
        _ => tell(&format!(
            "Pin {image}: KESTRA_IMAGE={image} in .env, or --image {image}"
        )),
    }
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

/// How a restore or an upgrade starts the stack: their image options, the ports and limits from
/// the settings, waited for.
pub fn start_options(
    images: &ImageArgs,
    image: Option<String>,
    readiness: &ReadinessWait,
    postgres_only: bool,
) -> StartOptions {
    StartOptions {
        flags: StackFlags {
            image,
            postgres_image: images.postgres_image.clone(),
            ..StackFlags::default()
        },
        pull: images.pull,
        wait_timeout: readiness.wait_timeout,
        no_wait: false,
        postgres_only,
    }
}

/// The folder a restore unpacks into, beside the storage directory (same file system, so the
/// storage moves into place by a rename).
pub fn work_dir(stack: &StackSettings, suffix: &str) -> PathBuf {
    beside(&stack.storage_dir.value, &format!(".restore-{suffix}"))
}
