//! `kestractl upgrade --to TAG | --image IMAGE`: a consistent backup, Kestra recreated on the
//! target image, its reported version and what it serves checked; on any failure the previous
//! image on the pre-upgrade data, restored from that backup and checked serving.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::restore::check_served;
use super::{ImageArgs, running, start_options, work_dir};
use crate::backup::create::{self, Options, served_now};
use crate::backup::manifest::{Manifest, Served};
use crate::backup::restore as data;
use crate::backup::upgrade::{expected_version, retagged, version_matches};
use crate::backup::verify::{self, Tools};
use crate::cli::ReadinessWait;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Output, Render, confirm};
use crate::settings::duration::format_duration;
use crate::settings::stack::{StackFlags, StackSettings};
use crate::signals::{Interrupt, Interrupts};
use crate::stack::up;

use crate::backup::STOP_GRACE;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UpgradeReport {
    from_image: String,
    from_version: Option<String>,
    to_image: String,
    to_version: Option<String>,
    /// `false` when Kestra already ran the target image.
    changed: bool,
    backup: Option<PathBuf>,
    served: Option<Served>,
    elapsed_ms: u128,
}

impl Render for UpgradeReport {
    fn human(&self, out: &Output) -> Result<()> {
        if !self.changed {
            return out.print(&format!(
                "Kestra already runs {} (version {}); nothing to do.\n",
                self.to_image,
                self.to_version.as_deref().unwrap_or("unknown")
            ));
        }
        let mut text = format!(
            "Upgraded Kestra from {} ({}) to {} ({}) in {}",
            self.from_image,
            self.from_version.as_deref().unwrap_or("version unknown"),
            self.to_image,
            self.to_version.as_deref().unwrap_or("version unknown"),
            format_duration(Duration::from_millis(
                u64::try_from(self.elapsed_ms).unwrap_or(u64::MAX)
            ))
        );
        if let Some(s) = &self.served {
            text.push_str(&format!(
                "; it serves the same {} and {}",
                crate::output::count(s.flows as usize, "flow"),
                crate::output::count(s.executions as usize, "execution")
            ));
        }
        text.push_str(".\n");
        if let Some(file) = &self.backup {
            text.push_str(&format!(
                "The pre-upgrade backup is {}: `kestractl restore {} --image {}` goes back to it.\n",
                file.display(),
                file.display(),
                self.from_image
            ));
        }
        out.print(&text)
    }
}

/// What the rollback needs.
struct Before {
    image: String,
    version: Option<String>,
    served: Served,
    backup: Option<(PathBuf, Manifest)>,
}

const LONG: &str = "Move Kestra to another image, with a way back.\n\n\
It shows the current and target versions, pulls or checks the target image, then takes a \
consistent backup (Kestra stopped for the copy) because a newer Kestra migrates the database \
at its first start and that cannot be undone. It recreates Kestra on the target image, waits \
until it is ready, and checks the version the server reports and that it serves what it served \
before. If Kestra crashes, is not ready within --wait-timeout, reports another version or \
refuses the credentials, it rolls back: the previous image on the pre-upgrade database and \
storage, restored from the backup and checked serving. --no-backup skips the backup (and so \
any rollback of the data).\n\n\
Afterwards, pin the new image (KESTRA_IMAGE in .env) so a later `kestractl start` keeps it.";

/// Move Kestra to another image: backup, recreate, check the version it reports; roll back on failure
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG)]
pub struct Args {
    /// The tag to move to, on the same repository as the running image (e.g. 2.0.5)
    #[arg(
        long,
        value_name = "TAG",
        conflicts_with = "image",
        required_unless_present = "image"
    )]
    pub to: Option<String>,

    #[command(flatten)]
    pub images: ImageArgs,

    /// Skip the backup; Kestra's migrations cannot be undone, so nothing can roll the data back
    #[arg(long, conflicts_with = "backup_file")]
    pub no_backup: bool,

    /// Where to write the backup [default: ./kestra-backup-<UTC time>.tar.gz]
    #[arg(long, value_name = "FILE")]
    pub backup_file: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub readiness: ReadinessWait,
}

impl Run for Args {
    // A failure, Ctrl-C included, rolls back to the previous image and data before it stops.
    fn interrupt(&self) -> Interrupt {
        Interrupt::Handled
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        run(ctx, &self).await
    }
}

async fn run(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let interrupts = Interrupts::catch(
        "interrupt received: rolling back to the previous image and data before stopping",
        crate::output::Output::warn_line,
    )?;
    let started = Instant::now();
    let progress = Progress::new();
    let result = upgrade(ctx, args, &interrupts, &progress, started).await;
    progress.finish();
    let report = result?;
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

async fn upgrade(
    ctx: &Ctx,
    args: &Args,
    interrupts: &Interrupts,
    progress: &Progress,
    started: Instant,
) -> Result<UpgradeReport> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    let engine = ctx.engine().await?;
    // An upgrade moves Kestra only: Postgres stays on the image it runs (a mirror, a pinned
    // tag), whatever the settings' default, unless --postgres-image names another.
    let pinned;
    let args = if args.images.postgres_image.is_none()
        && let Some(running_pg) = engine
            .inspect(&stack.postgres_container)
            .await?
            .and_then(|c| c.config)
            .and_then(|c| c.image)
    {
        let mut a = args.clone();
        a.images.postgres_image = Some(running_pg);
        pinned = a;
        &pinned
    } else {
        args
    };
    let kestra = engine.inspect(&stack.kestra_container.value).await?;
    let Some(current) = kestra
        .as_ref()
        .and_then(|c| c.config.as_ref())
        .and_then(|c| c.image.clone())
    else {
        return Err(Error::not_found(
            format!(
                "there is no Kestra container ({}) to upgrade",
                stack.kestra_container.value
            ),
            "start the stack with `kestractl start --image <image>`, or restore a backup with \
             `kestractl restore`",
        ));
    };
    if !running(engine, &stack.kestra_container.value).await? {
        return Err(Error::not_ready(
            format!(
                "Kestra ({}) is not running: an upgrade needs it running, to record its version \
                 and what it serves, and to check them afterwards",
                stack.kestra_container.value
            ),
            "start it with `kestractl start`, then upgrade",
        ));
    }
    let target = match (&args.images.image, &args.to) {
        (Some(image), _) => image.clone(),
        (None, Some(tag)) => retagged(&current, tag),
        (None, None) => {
            return Err(Error::usage(
                "say which image to upgrade to",
                "pass --to TAG (same repository) or --image IMAGE",
            ));
        }
    };
    let client = ctx.local_stack_client(&stack).await?;
    let (from_version, served) = served_now(&client).await?;
    let expected = expected_version(&target);
    let current_id = kestra.as_ref().and_then(|c| c.image.clone());
    if target == current
        && engine.image_present(&target).await?
        && engine.image_id(&target).await.ok() == current_id
    {
        return Ok(UpgradeReport {
            from_image: current.clone(),
            from_version: from_version.clone(),
            to_image: target,
            to_version: from_version,
            changed: false,
            backup: None,
            served: Some(served),
            elapsed_ms: started.elapsed().as_millis(),
        });
    }
    progress.done(&format!(
        "Kestra runs {current} (version {}); target {target} (version {})",
        from_version.as_deref().unwrap_or("unknown"),
        expected.as_deref().unwrap_or("not named by its tag")
    ));
    if !ctx.global.yes {
        let question = format!(
            "Kestra's first start on {target} migrates the database, which cannot be undone{}. \
             Upgrade from {current} to {target}?",
            if args.no_backup {
                " and no backup will be taken (--no-backup)"
            } else {
                "; a backup is taken first"
            }
        );
        confirm(
            &question,
            "an upgrade migrates Kestra's database for good",
            "upgrade cancelled; nothing was changed",
        )
        .await?;
    }
    // The image first: a target that cannot be had changes nothing.
    progress.step(&format!("checking the image {target}"));
    up::ensure_image(engine, &target, args.images.pull, progress).await?;

    let backup = if args.no_backup {
        ctx.out.warn(
            "no backup (--no-backup): Kestra's migrations cannot be undone, so if the upgrade \
             fails nothing can bring the previous data back",
        );
        engine
            .stop(&stack.kestra_container.value, STOP_GRACE)
            .await?;
        None
    } else {
        let file = args.backup_file.clone().unwrap_or_else(|| {
            PathBuf::from(create::default_file_name(time::OffsetDateTime::now_utc()))
        });
        let settings = ctx.settings().await?;
        let taken = create::create(
            engine,
            &stack,
            &Options {
                file,
                consistent: true,
                keep_stopped: true,
                client: Some(&client),
                username: &settings.username.value,
                wait_timeout: args.readiness.wait_timeout,
            },
            interrupts,
            progress,
        )
        .await;
        match taken {
            Ok(t) => {
                progress.done(&format!("Backup written to {}", t.file.display()));
                Some((t.file, t.manifest))
            }
            Err(e) => {
                // Nothing was changed but Kestra's stop: undo that.
                let again = engine.start(&stack.kestra_container.value).await;
                let state = match again {
                    Ok(()) => format!("Kestra runs {current} again"),
                    Err(e) => format!("starting Kestra again failed ({e}): run `kestractl start`"),
                };
                return Err(Error::new(
                    e.kind(),
                    format!(
                        "the backup before the upgrade failed: {e}. Nothing was upgraded; {state}"
                    ),
                    e.hint().unwrap_or_default(),
                ));
            }
        }
    };
    let before = Before {
        image: current,
        version: from_version,
        served,
        backup,
    };
    let switched = if interrupts.fired() {
        Err(Error::interrupted(""))
    } else {
        interrupts
            .guard(switch(
                ctx,
                args,
                &stack,
                &target,
                expected.as_deref(),
                &before,
                progress,
            ))
            .await
    };
    match switched {
        Ok((version, served)) => {
            super::pin_image(ctx, &stack, &target).await;
            Ok(UpgradeReport {
                from_image: before.image.clone(),
                from_version: before.version.clone(),
                to_image: target,
                to_version: version,
                changed: true,
                backup: before.backup.as_ref().map(|(f, _)| f.clone()),
                served: Some(served),
                elapsed_ms: started.elapsed().as_millis(),
            })
        }
        Err(e) => Err(roll_back(ctx, args, &stack, &before, e, progress).await),
    }
}

/// A rollback puts back what ran: its images are on this machine, and nothing is pulled
/// (`--pull always` with no registry answering would otherwise stand in its way).
fn rollback_images(images: &ImageArgs) -> ImageArgs {
    ImageArgs {
        pull: crate::cli::PullPolicy::Missing,
        ..images.clone()
    }
}

/// Kestra on the target image: ready, reporting the version its tag names, serving what it did.
async fn switch(
    ctx: &Ctx,
    args: &Args,
    stack: &StackSettings,
    target: &str,
    expected: Option<&str>,
    before: &Before,
    progress: &Progress,
) -> Result<(Option<String>, Served)> {
    ctx.start_stack(
        &start_options(
            &args.images,
            Some(target.to_string()),
            &args.readiness,
            false,
        ),
        progress,
    )
    .await?;
    // A new client: the old one remembers the old server's version.
    let client = ctx.local_stack_client(stack).await?;
    let (version, served) = served_now(&client).await?;
    if let Some(expected) = expected {
        let reported = version.as_deref().unwrap_or("no version");
        if !version_matches(expected, reported) {
            return Err(Error::not_ready(
                format!("Kestra on {target} reports version {reported}, not {expected}"),
                format!(
                    "check that {target} is the image you meant (`docker image inspect {target}`)"
                ),
            ));
        }
    }
    if served.flows != before.served.flows || served.executions < before.served.executions {
        return Err(Error::not_ready(
            format!(
                "Kestra on {target} serves {} and {} where it served {} and {} before",
                crate::output::count(served.flows as usize, "flow"),
                crate::output::count(served.executions as usize, "execution"),
                before.served.flows,
                before.served.executions
            ),
            "check Kestra's logs (`kestractl logs kestra`)",
        ));
    }
    progress.done(&format!(
        "Kestra on {target} reports version {} and serves the same {}",
        version.as_deref().unwrap_or("unknown"),
        crate::output::count(served.flows as usize, "flow")
    ));
    Ok((version, served))
}

/// The previous image on the pre-upgrade data (from the backup), checked serving.
async fn roll_back(
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
                &start_options(
                    &rollback_images(&args.images),
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
                &start_options(
                    &rollback_images(&args.images),
                    Some(before.image.clone()),
                    &args.readiness,
                    false,
                ),
                progress,
            )
            .await?;
            check_served(ctx, stack, manifest.served.as_ref(), progress).await
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
