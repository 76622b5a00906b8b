//! `kestractl stop`: stop Kestra, then Postgres, keeping data; optionally remove the containers
//! and, after a confirmation, the data itself.

use std::time::Duration;

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::credentials::store;
use crate::error::{Exit, Result};
use crate::output::{Format, Output, Render, confirm};
use crate::settings::stack::{StackFlags, StackSettings};
use crate::signals::Interrupt;
use crate::stack::down::{self, PartAction};
use crate::stack::files;

/// Stop both containers, keeping their data (alias: down)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "down",
    after_help = "Examples:\n  kestractl stop\n  kestractl stop --remove\n  kestractl stop --remove --volumes --yes   # deletes the data"
)]
pub struct Args {
    /// Also remove the containers and the network (data is kept)
    #[arg(long)]
    pub remove: bool,

    /// Also delete the data: the Postgres volume, the storage and work directories, and the
    /// Postgres password that protected them (asks first)
    #[arg(long, requires = "remove")]
    pub volumes: bool,

    /// How long each container gets to stop before it is killed
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = crate::cli::values::grace
    )]
    pub grace: Duration,
}

impl Run for Args {
    fn interrupt(&self) -> Interrupt {
        Interrupt::Stop {
            after: "`kestractl stop` again finishes stopping",
        }
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        stop(ctx, self.remove, self.volumes, self.grace).await
    }
}

#[derive(Debug, Serialize)]
struct StopReport {
    actions: Vec<PartAction>,
    /// Whether the data was kept (no `--volumes`); for the human form only.
    #[serde(skip)]
    data_kept: bool,
}

fn describe_data(stack: &StackSettings) -> String {
    format!(
        "the Postgres volume `{}` (every flow, execution and log), the contents of {} and {}, \
         and the Postgres password that protected the volume (in {} and the keyring)",
        stack.volume,
        stack.storage_dir.value.display(),
        stack.workdir_dir.value.display(),
        stack.secrets_dir.display(),
    )
}

/// With the volume gone, the Postgres password protects nothing: its keyring entries (the
/// committed one and a rotation's pending one) and the stack's rendered files go too, so the next
/// `start` sets up the new, empty database with a fresh password and no stale secret stays
/// behind. The Basic Auth password is the operator's login and stays (`auth logout` removes it).
/// A keyring that cannot be reached is not a reason to fail a stop that already deleted data.
async fn forget_db_password(
    ctx: &Ctx,
    stack: &StackSettings,
    actions: &mut Vec<PartAction>,
) -> Result<()> {
    // Not through a planted link (its target would be emptied).
    if crate::fsutil::exists_not_link(&stack.secrets_dir)? {
        files::empty_dir_except(&stack.secrets_dir, None)?;
    }
    actions.push(PartAction::new(
        stack.secrets_dir.display().to_string(),
        "emptied",
    ));
    let Some(keyring) = ctx.keyring().await?.keyring() else {
        return Ok(());
    };
    let entry = store::db_entry(&stack.kestra_container.value, &stack.db_user.value);
    for name in [store::pending_entry(&entry), entry] {
        match keyring.delete(&name).await {
            Ok(true) => actions.push(PartAction::new(format!("keyring entry {name}"), "deleted")),
            Ok(false) => {}
            Err(e) => ctx.out.warn(&format!(
                "the data is deleted but the keyring entry `{name}` was left: {e}"
            )),
        }
    }
    Ok(())
}

/// `stop` as `restart` and `start --attach` use it: data and containers kept, the default grace.
pub async fn keeping_everything(ctx: &Ctx) -> Result<Exit> {
    stop(ctx, false, false, down::DEFAULT_GRACE).await
}

async fn stop(ctx: &Ctx, remove: bool, volumes: bool, grace: Duration) -> Result<Exit> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    // Ask before touching anything, so a refusal leaves the stack as it was.
    if volumes && !ctx.global.yes {
        let question = format!("This deletes {}. Go on?", describe_data(&stack));
        confirm(
            &question,
            "--volumes deletes data",
            "nothing was stopped or deleted",
        )
        .await?;
    }
    // A folder that --volumes would empty must not be a link (its target would be emptied):
    // refused before anything is stopped or deleted.
    if volumes {
        files::refuse_linked_dirs(&stack)?;
    }
    let engine = ctx.engine().await?;
    let mut actions = down::down(engine, &stack, remove, grace).await?;
    if volumes {
        actions.extend(down::delete_data(engine, &stack).await?);
        forget_db_password(ctx, &stack, &mut actions).await?;
    }
    ctx.out.emit(&StopReport {
        actions,
        data_kept: !volumes,
    })?;
    Ok(Exit::Ok)
}

impl Render for StopReport {
    fn human(&self, out: &Output) -> Result<()> {
        let rows: Vec<Vec<String>> = self
            .actions
            .iter()
            .map(|a| vec![a.part.clone(), a.action.to_string()])
            .collect();
        out.table(&["PART", "ACTION"], &rows)?;
        if self.data_kept && out.format == Format::Table {
            out.note("Data is kept; `kestractl start` brings the stack back.");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(data_kept: bool) -> StopReport {
        StopReport {
            actions: vec![
                PartAction::new("kestra", "stopped"),
                PartAction::new("kestra-postgres", "not running"),
            ],
            data_kept,
        }
    }

    #[test]
    fn the_stop_report_says_data_is_kept_only_when_it_is() {
        let (out, seen) = Output::capturing(Format::Table);
        out.emit(&report(true)).unwrap();
        let c = seen.lock().unwrap();
        assert_eq!(
            c.stdout,
            "PART             ACTION\nkestra           stopped\nkestra-postgres  not running\n"
        );
        assert!(c.stderr.contains("Data is kept"), "{}", c.stderr);
        drop(c);

        let (out, seen) = Output::capturing(Format::Table);
        out.emit(&report(false)).unwrap();
        assert!(!seen.lock().unwrap().stderr.contains("Data is kept"));

        // -o json: the actions only.
        let (out, seen) = Output::capturing(Format::Json);
        out.emit(&report(true)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&seen.lock().unwrap().stdout).unwrap();
        assert_eq!(v["actions"][0]["action"], "stopped");
        assert!(v.get("dataKept").is_none() && v.get("data_kept").is_none());
    }
}
