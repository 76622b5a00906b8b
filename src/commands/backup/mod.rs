//! `kestractl backup [--file F] [--consistent]` and `backup verify FILE` (one file each, with their
//! arguments); the work is in the `backup` library, which `restore` and `upgrade` use too.

mod verify;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::backup::archive_manifest::Manifest;
use crate::backup::create::{self, Options, Taken};
use crate::backup::ticker::bytes;
use crate::cli::ReadinessWait;
use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::output::progress::Progress;
use crate::output::{Output, Render};
use crate::settings::duration::format_duration;
use crate::settings::stack::StackFlags;
use crate::signals::{Interrupt, Interrupts};
use crate::stack::health;

const LONG: &str = "Back up the local stack into one archive: a dump of Kestra's Postgres \
database (pg_dump's custom format, taken inside the Postgres container and streamed to disk), \
Kestra's storage directory, Kestra's configuration with every password replaced, and \
manifest.json (kestractl and Kestra versions, image ids, what Kestra served, and the size and \
SHA-256 of every entry). The archive is written beside its final name and renamed into place \
when whole; it is 0600 and never overwrites a file. It holds no password: a restore uses the \
passwords this machine has (the keyring).\n\n\
Consistency: by default Kestra keeps running. The database dump is consistent (one \
transaction), but files Kestra writes to its storage during the copy may be missing or newer \
than the dump. --consistent stops Kestra for the copy, starts it again and reports the \
downtime.\n\n\
`kestractl backup verify FILE` reads an archive whole: gzip CRC, every entry against the \
manifest's checksums, and the dump through `pg_restore --list`. Exit 5 says what is wrong.";

/// Back up the local stack into one archive (database, storage, config); `backup verify FILE` checks one
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG, args_conflicts_with_subcommands = true, after_help = "Examples:\n  kestractl backup\n  kestractl backup --file /srv/backups/kestra-nightly.tar.gz --consistent\n  kestractl backup verify /srv/backups/kestra-2026-12-01.tar.gz")]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,

    /// The archive to write [default: ./kestra-backup-<UTC time>.tar.gz]
    #[arg(short = 'f', long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<std::path::PathBuf>,

    /// Stop Kestra for the copy (files and database agree), then start it again
    #[arg(long)]
    pub consistent: bool,

    #[command(flatten)]
    pub readiness: ReadinessWait,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Sub {
    Verify(verify::Args),
}

impl Run for Args {
    // A backup removes its partial archive (and starts Kestra again) before it stops.
    fn interrupt(&self) -> Interrupt {
        Interrupt::Handled
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        match self.command {
            Some(Sub::Verify(verify)) => verify.run(ctx).await,
            None => backup(ctx, &self).await,
        }
    }
}

async fn backup(ctx: &Ctx, args: &Args) -> Result<Exit> {
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
    let client = match health::is_running(engine, &stack.kestra_container.value).await? {
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
