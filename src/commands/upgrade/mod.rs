//! `kestractl upgrade --to TAG | --image IMAGE`: a consistent backup, Kestra recreated on the
//! target image, its reported version and what it serves checked; on any failure the previous
//! image on the pre-upgrade data, restored from that backup and checked serving.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

mod rollback;

use rollback::roll_back;

use crate::backup::STOP_GRACE;
use crate::backup::archive_manifest::{Manifest, Served};
use crate::backup::create::{self, Options, served_now};
use crate::backup::upgrade::{expected_version, retagged, version_matches};
use crate::cli::ReadinessWait;
use crate::commands::args::ImageArgs;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::kestra::KestraClient;
use crate::output::progress::Progress;
use crate::output::{Output, Render, confirm};
use crate::settings::duration::format_duration;
use crate::settings::stack::{StackFlags, StackSettings};
use crate::signals::{Interrupt, Interrupts};
use crate::stack::engine::Engine;
use crate::stack::health::is_running as running;
use crate::stack::up;

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
#[command(long_about = LONG, after_help = "Examples:\n  kestractl upgrade --to v2.0.5\n  kestractl upgrade --image registry.example.com/kestra:v2.0.5 --backup-file pre-upgrade.tar.gz")]
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
    let args = &postgres_pinned(engine, &stack, args).await?;
    let (current, current_id) = running_kestra(engine, &stack).await?;
    let target = target_image(args, &current)?;
    let client = ctx.local_stack_client(&stack).await?;
    let (from_version, served) = served_now(&client).await?;
    let expected = expected_version(&target);
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
        confirm_migration(&current, &target, args.no_backup).await?;
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
        Some(backup_first(ctx, args, &stack, &client, &current, interrupts, progress).await?)
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
            ctx.pin_image(&stack, &target).await;
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

/// An upgrade moves Kestra only: Postgres stays on the image it runs (a mirror, a pinned tag),
/// whatever the settings' default, unless --postgres-image names another.
async fn postgres_pinned(engine: &Engine, stack: &StackSettings, args: &Args) -> Result<Args> {
    let mut args = args.clone();
    if args.images.postgres_image.is_none() {
        args.images.postgres_image = engine
            .inspect(&stack.postgres_container)
            .await?
            .and_then(|c| c.config)
            .and_then(|c| c.image);
    }
    Ok(args)
}

/// The image the Kestra container runs (as named, and its id); an upgrade needs Kestra running,
/// to record its version and what it serves, and to check them afterwards.
async fn running_kestra(
    engine: &Engine,
    stack: &StackSettings,
) -> Result<(String, Option<String>)> {
    let name = &stack.kestra_container.value;
    let kestra = engine.inspect(name).await?;
    let Some(current) = kestra
        .as_ref()
        .and_then(|c| c.config.as_ref())
        .and_then(|c| c.image.clone())
    else {
        return Err(Error::not_found(
            format!("there is no Kestra container ({name}) to upgrade"),
            "start the stack with `kestractl start --image <image>`, or restore a backup with \
             `kestractl restore`",
        ));
    };
    if !running(engine, name).await? {
        return Err(Error::not_ready(
            format!(
                "Kestra ({name}) is not running: an upgrade needs it running, to record its \
                 version and what it serves, and to check them afterwards",
            ),
            "start it with `kestractl start`, then upgrade",
        ));
    }
    Ok((current, kestra.and_then(|c| c.image)))
}

/// The image to move to: --image as given, or --to's tag on the running image's repository.
fn target_image(args: &Args, current: &str) -> Result<String> {
    match (&args.images.image, &args.to) {
        (Some(image), _) => Ok(image.clone()),
        (None, Some(tag)) => Ok(retagged(current, tag)),
        (None, None) => Err(Error::usage(
            "say which image to upgrade to",
            "pass --to TAG (same repository) or --image IMAGE",
        )),
    }
}

/// A newer Kestra's first start migrates the database for good: asked first.
async fn confirm_migration(current: &str, target: &str, no_backup: bool) -> Result<()> {
    let question = format!(
        "Kestra's first start on {target} migrates the database, which cannot be undone{}. \
         Upgrade from {current} to {target}?",
        if no_backup {
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
    .await
}

/// The consistent backup a rollback restores; Kestra stays stopped after it, for the switch. A
/// backup that fails starts Kestra (`current`) again: nothing else was changed.
async fn backup_first(
    ctx: &Ctx,
    args: &Args,
    stack: &StackSettings,
    client: &KestraClient,
    current: &str,
    interrupts: &Interrupts,
    progress: &Progress,
) -> Result<(PathBuf, Manifest)> {
    let engine = ctx.engine().await?;
    let file = args.backup_file.clone().unwrap_or_else(|| {
        PathBuf::from(create::default_file_name(time::OffsetDateTime::now_utc()))
    });
    let settings = ctx.settings().await?;
    let taken = create::create(
        engine,
        stack,
        &Options {
            file,
            consistent: true,
            keep_stopped: true,
            client: Some(client),
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
            Ok((t.file, t.manifest))
        }
        Err(e) => {
            let again = engine.start(&stack.kestra_container.value).await;
            let state = match again {
                Ok(()) => format!("Kestra runs {current} again"),
                Err(e) => format!("starting Kestra again failed ({e}): run `kestractl start`"),
            };
            Err(Error::new(
                e.kind(),
                format!("the backup before the upgrade failed: {e}. Nothing was upgraded; {state}"),
                e.hint().unwrap_or_default(),
            ))
        }
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
        &args
            .images
            .start_options(Some(target.to_string()), &args.readiness, false),
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
