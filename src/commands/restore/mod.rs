//! `kestractl restore FILE`: check the archive whole, set the current data aside, load the
//! backup, start Kestra on it and prove it serves what the backup recorded; only then delete the
//! set-aside data. Any failure, a signal included, puts the previous data back and starts it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

mod rollback;

use rollback::{restart_previous, roll_back};

use crate::backup::restore::work_dir;
use crate::commands::args::ImageArgs;
use crate::stack::health::is_running as running;

use crate::backup::archive_manifest::{Manifest, Served};
use crate::backup::restore::{self as data, Aside};
use crate::backup::verify::{self, Tools, Unpacked};
use crate::cli::ReadinessWait;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Kind, Result};
use crate::output::progress::Progress;
use crate::output::{Output, Render, confirm};
use crate::settings::duration::format_duration;
use crate::settings::stack::StackSettings;
use crate::signals::{Interrupt, Interrupts};
use crate::stack::engine::Engine;

use crate::backup::STOP_GRACE;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RestoreReport {
    file: PathBuf,
    kestra_image: String,
    served: Option<Served>,
    /// The replaced data, when kept (--keep-previous).
    #[serde(skip_serializing_if = "Option::is_none")]
    kept: Option<Aside>,
    url: String,
    elapsed_ms: u128,
}

impl Render for RestoreReport {
    fn human(&self, out: &Output) -> Result<()> {
        let mut text = format!(
            "Restored {} in {}: Kestra ({}) is ready at {}",
            self.file.display(),
            format_duration(Duration::from_millis(
                u64::try_from(self.elapsed_ms).unwrap_or(u64::MAX)
            )),
            self.kestra_image,
            self.url
        );
        match &self.served {
            Some(s) => text.push_str(&format!(
                " and serves the backup's {} and {}.\n",
                crate::output::count(s.flows as usize, "flow"),
                crate::output::count(s.executions as usize, "execution")
            )),
            None => text.push_str(".\n"),
        }
        match &self.kept {
            Some(aside) => text.push_str(&format!(
                "Kept: {} (delete them when you no longer need them).\n",
                data::describe(aside)
            )),
            None => text.push_str("The replaced data was deleted.\n"),
        }
        out.print(&text)
    }
}

/// What a restore needs from one step to the next.
struct Plan<'a> {
    ctx: &'a Ctx,
    args: &'a Args,
    stack: StackSettings,
    progress: &'a Progress,
    /// The Kestra image the restored stack runs.
    image: String,
    /// `start`'s image options for this restore (the manifest's Postgres image on a machine
    /// with no stack, unless one was named).
    images: ImageArgs,
    /// The image Kestra ran before, to start it again on the previous data.
    previous_image: Option<String>,
    previous_running: bool,
}

const LONG: &str = "Restore an archive written by `kestractl backup`.\n\n\
It checks the archive whole first (as `backup verify` does, unpacking it beside the storage \
directory) and refuses, before touching anything, an archive that is damaged or of an unknown \
format (exit 5). It then stops Kestra, renames the current database to `<db>_previous_<time>` \
and the storage directory to `<dir>.previous-<time>`, loads the dump in one transaction, \
starts Kestra on the image the archive's manifest names (unless --image), waits until it is \
ready and checks that it serves the flows and executions the backup recorded. Only then is the \
set-aside data deleted (--keep-previous keeps it). Any failure, Ctrl-C or SIGTERM included, \
puts the previous data back and starts it again.\n\n\
On a machine with no stack yet it creates one (Postgres first), then restores.";

/// Restore a backup over the local stack, or onto a machine with none; any failure puts the previous data back
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG, after_help = "Examples:\n  kestractl restore kestra-2026-12-01.tar.gz\n  kestractl restore kestra-2026-12-01.tar.gz --yes --keep-previous")]
pub struct Args {
    /// The archive written by `kestractl backup`
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: std::path::PathBuf,

    /// Keep the replaced database and storage (renamed, with the time) instead of deleting them
    #[arg(long)]
    pub keep_previous: bool,

    #[command(flatten)]
    pub images: ImageArgs,

    #[command(flatten)]
    pub readiness: ReadinessWait,
}

impl Run for Args {
    // Any failure, Ctrl-C included, puts the previous data back before it stops.
    fn interrupt(&self) -> Interrupt {
        Interrupt::Handled
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        run(ctx, &self).await
    }
}

async fn run(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let interrupts = Interrupts::catch(
        "interrupt received: putting the previous data back and starting it before stopping",
        crate::output::Output::warn_line,
    )?;
    let started = Instant::now();
    let progress = Progress::new();
    let result = restore(ctx, args, &interrupts, &progress, started).await;
    progress.finish();
    let report = result?;
    ctx.out.emit(&report)?;
    Ok(Exit::Ok)
}

async fn restore(
    ctx: &Ctx,
    args: &Args,
    interrupts: &Interrupts,
    progress: &Progress,
    started: Instant,
) -> Result<RestoreReport> {
    crate::backup::check_archive_path(&args.file)?;
    let base = args
        .images
        .start_options(args.images.image.clone(), &args.readiness, false);
    let stack = ctx.stack_settings(&base.flags).await?;
    // The first reading: the whole archive checked, nothing written, its manifest known.
    let manifest = verify::check(&args.file, progress, Some(interrupts))
        .await
        .map_err(nothing_changed)?;
    let engine = ctx.engine().await?;
    let kestra = engine.inspect(&stack.kestra_container.value).await?;
    let previous_image = kestra
        .as_ref()
        .and_then(|c| c.config.as_ref())
        .and_then(|c| c.image.clone());
    let image = args
        .images
        .image
        .clone()
        .unwrap_or_else(|| manifest.kestra.image.clone());
    check_image(ctx, &stack, &image, previous_image.as_deref(), args)?;
    let pg_image = postgres_image(engine, &stack, args, &manifest).await?;
    let suffix = data::suffix(time::OffsetDateTime::now_utc());
    let work = work_dir(&stack, &suffix);
    crate::fsutil::create_private_dir(&work)?;
    let staged = work.join("storage");
    // Checking the dump needs pg_restore: the stack's Postgres, or its image for a throw-away
    // container (fetched as `start` would, by --pull).
    if !running(engine, &stack.postgres_container).await? {
        let fetched =
            crate::stack::up::ensure_image(engine, &pg_image, args.images.pull, progress).await;
        if let Err(e) = fetched {
            let _ = std::fs::remove_dir_all(&work);
            return Err(e);
        }
    }
    let tools = Tools {
        engine,
        container: &stack.postgres_container,
        image: &pg_image,
    };
    let checked = verify::unpack_checked(
        &tools,
        &args.file,
        &manifest,
        &work.join("postgres.dump"),
        Some(&staged),
        progress,
        Some(interrupts),
    )
    .await;
    let unpacked = match checked {
        Ok(u) => u,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work);
            return Err(nothing_changed(e));
        }
    };
    // From here on the staging folder goes whatever happens.
    let outcome = async {
        let mut images = args.images.clone();
        images.postgres_image = Some(pg_image.clone());
        let plan = Plan {
            ctx,
            args,
            images,
            image: image.clone(),
            previous_running: running(engine, &stack.kestra_container.value).await?,
            previous_image,
            stack: stack.clone(),
            progress,
        };
        let (served, kept) = restore_checked(&plan, &unpacked, &work, &suffix, interrupts).await?;
        ctx.pin_image(&plan.stack, &plan.image).await;
        Ok::<_, Error>((served, kept, plan.image))
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    let (served, kept, image) = outcome?;
    Ok(RestoreReport {
        file: args.file.clone(),
        kestra_image: image,
        served,
        kept,
        url: stack.local_url(),
        elapsed_ms: started.elapsed().as_millis(),
    })
}

/// The Postgres image: the one named, else the running stack's own, else the backup's (a
/// machine with no stack); never the default in place of what the stack runs.
async fn postgres_image(
    engine: &Engine,
    stack: &StackSettings,
    args: &Args,
    manifest: &Manifest,
) -> Result<String> {
    if let Some(named) = &args.images.postgres_image {
        return Ok(named.clone());
    }
    let running = engine
        .inspect(&stack.postgres_container)
        .await?
        .and_then(|c| c.config)
        .and_then(|c| c.image);
    Ok(
        running.unwrap_or_else(|| match stack.postgres_image.source {
            crate::settings::Source::Default => manifest.postgres.image.clone(),
            _ => stack.postgres_image.value.clone(),
        }),
    )
}

/// An archive is data, not orders: the Kestra image it names is run without a question only
/// when it is the stack's own (the running one, or the one the settings pin) or `--image`
/// names it. With a question, the operator reads the image (cleaned) before answering.
fn check_image(
    ctx: &Ctx,
    stack: &StackSettings,
    image: &str,
    previous: Option<&str>,
    args: &Args,
) -> Result<()> {
    if !ctx.global.yes || args.images.image.is_some() {
        return Ok(());
    }
    if previous == Some(image) || stack.kestra_image.value == image {
        return Ok(());
    }
    let current = previous.map_or_else(
        || format!("this stack's setting is {}", stack.kestra_image.value),
        |p| format!("this stack runs {p}"),
    );
    Err(Error::rejected(
        format!(
            "{} names the Kestra image {image} to run, and {current}: with --yes, a restore runs \
             only the stack's own image or one --image names; nothing was changed",
            args.file.display()
        ),
        format!(
            "check that image, then give it: `kestractl restore {} --image {image} --yes`",
            args.file.display()
        ),
        Exit::InvalidInput,
    ))
}

/// An error before anything was touched says so.
fn nothing_changed(e: Error) -> Error {
    if e.kind() == Kind::Interrupted {
        return Error::interrupted("nothing was changed; run `kestractl restore` again");
    }
    e
}

fn describe_backup(m: &Manifest) -> String {
    let served = m.served.as_ref().map_or_else(String::new, |s| {
        format!(
            ", {} and {}",
            crate::output::count(s.flows as usize, "flow"),
            crate::output::count(s.executions as usize, "execution")
        )
    });
    format!(
        "taken {} from Kestra {} ({}){served}",
        m.created_at,
        m.kestra.version.as_deref().unwrap_or("of unknown version"),
        m.kestra.image
    )
}

async fn restore_checked(
    plan: &Plan<'_>,
    unpacked: &Unpacked,
    work: &Path,
    suffix: &str,
    interrupts: &Interrupts,
) -> Result<(Option<Served>, Option<Aside>)> {
    let ctx = plan.ctx;
    let stack = &plan.stack;
    let engine = ctx.engine().await?;
    let what = describe_backup(&unpacked.manifest);
    if !ctx.global.yes {
        let question = format!(
            "The current database and storage are set aside until the restored Kestra serves, \
             which runs the image {}{}. Restore {} ({what}) over this machine's stack?",
            plan.image,
            if plan.args.images.image.is_some() {
                " (--image)"
            } else {
                " (the backup's)"
            },
            plan.args.file.display()
        );
        confirm(
            &question,
            "a restore replaces the stack's data",
            "restore cancelled; nothing was changed",
        )
        .await?;
    }
    // Postgres up (the stack created if there is none), Kestra stopped.
    if plan.previous_running {
        plan.progress.step(&format!(
            "stopping Kestra ({})",
            stack.kestra_container.value
        ));
        engine
            .stop(&stack.kestra_container.value, STOP_GRACE)
            .await?;
    }
    let postgres_up = interrupts
        .guard(
            ctx.start_stack(
                &plan
                    .images
                    .start_options(Some(plan.image.clone()), &plan.args.readiness, true),
                plan.progress,
            ),
        )
        .await;
    if let Err(e) = postgres_up {
        restart_previous(plan).await;
        return Err(nothing_changed(e));
    }
    plan.progress.step("setting the current data aside");
    let aside = data::set_aside(engine, stack, suffix).await?;
    plan.progress
        .done(&format!("Set aside: {}", data::describe(&aside)));
    let restored = if interrupts.fired() {
        Err(Error::interrupted(""))
    } else {
        interrupts.guard(load_and_start(plan, unpacked, work)).await
    };
    match restored {
        Ok(served) => {
            if plan.args.keep_previous {
                Ok((served, Some(aside)))
            } else {
                if let Err(e) = data::discard(engine, stack, &aside).await {
                    ctx.out.warn(&format!(
                        "the restore succeeded, but deleting the replaced data failed ({e}): {}",
                        data::describe(&aside)
                    ));
                }
                Ok((served, None))
            }
        }
        Err(e) => Err(roll_back(plan, &aside, e).await),
    }
}

async fn load_and_start(
    plan: &Plan<'_>,
    unpacked: &Unpacked,
    work: &Path,
) -> Result<Option<Served>> {
    let ctx = plan.ctx;
    let engine = ctx.engine().await?;
    data::load(
        engine,
        &plan.stack,
        &unpacked.dump,
        &work.join("storage"),
        plan.progress,
    )
    .await?;
    ctx.start_stack(
        &plan
            .images
            .start_options(Some(plan.image.clone()), &plan.args.readiness, false),
        plan.progress,
    )
    .await?;
    let client = ctx.local_stack_client(&plan.stack).await?;
    data::check_served(
        &client,
        unpacked.manifest.served.as_ref(),
        plan.progress,
        &ctx.out,
    )
    .await
}
