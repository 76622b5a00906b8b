//! `kestractl stop`: stop Kestra, then Postgres, keeping data; optionally remove the containers
//! and, after a confirmation, the data itself.

use serde::Serialize;

use crate::cli::StopArgs;
use crate::commands::Ctx;
use crate::error::{Error, Exit, Result};
use crate::output::confirm;
use crate::secrets::store;
use crate::settings::duration::parse_duration;
use crate::settings::stack::{StackFlags, StackSettings};
use crate::stack::files;

#[derive(Debug, Serialize)]
struct PartAction {
    part: String,
    /// `stopped`, `not running`, `absent`, `removed`, `deleted`, `emptied`.
    action: &'static str,
}

#[derive(Debug, Serialize)]
struct StopReport {
    actions: Vec<PartAction>,
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
    actions.push(PartAction {
        part: stack.secrets_dir.display().to_string(),
        action: "emptied",
    });
    let Some(keyring) = ctx.keyring().await?.keyring() else {
        return Ok(());
    };
    let entry = store::db_entry(&stack.kestra_container.value, &stack.db_user.value);
    for name in [store::pending_entry(&entry), entry] {
        match keyring.delete(&name).await {
            Ok(true) => actions.push(PartAction {
                part: format!("keyring entry {name}"),
                action: "deleted",
            }),
            Ok(false) => {}
            Err(e) => ctx.out.warn(&format!(
                "the data is deleted but the keyring entry `{name}` was left: {e}"
            )),
        }
    }
    Ok(())
}

pub async fn run(ctx: &Ctx, args: &StopArgs) -> Result<Exit> {
    let grace = parse_duration(&args.grace).map_err(|m| Error::usage(m, "fix --grace"))?;
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    // Ask before touching anything, so a refusal leaves the stack as it was.
    if args.volumes && !ctx.global.yes {
        let question = format!(
            "This deletes {}. Type `yes` to go on: ",
            describe_data(&stack)
        );
        if !confirm(&question, "--volumes deletes data")? {
            return Err(Error::usage(
                "nothing was stopped or deleted",
                "answer `yes`, or pass --yes",
            ));
        }
    }
    // A folder that --volumes would empty must not be a link (its target would be emptied):
    // refused before anything is stopped or deleted.
    if args.volumes {
        files::refuse_linked_dirs(&stack)?;
    }
    let engine = ctx.engine().await?;
    let mut actions = Vec::new();
    for name in [&stack.kestra_container.value, &stack.postgres_container] {
        if let Some(c) = engine.inspect(name).await?
            && !crate::stack::inspect::is_managed(&c)
        {
            return Err(Error::Engine {
                message: format!("container {name} was not created by kestractl; leaving it alone"),
                hint: "check KESTRA_CONTAINER_NAME, or stop it with docker yourself".into(),
            });
        }
    }
    for name in [&stack.kestra_container.value, &stack.postgres_container] {
        let inspect = engine.inspect(name).await?;
        let exists = inspect.is_some();
        // Running or crash-looping (restarting) both need a stop.
        let active = inspect
            .as_ref()
            .and_then(|c| c.state.as_ref())
            .is_some_and(|s| s.running == Some(true) || s.restarting == Some(true));
        let what = if !exists {
            "absent"
        } else if active {
            engine.stop(name, grace).await?;
            "stopped"
        } else {
            "not running"
        };
        actions.push(PartAction {
            part: name.clone(),
            action: what,
        });
        if args.remove && exists {
            engine.remove(name).await?;
            actions.push(PartAction {
                part: name.clone(),
                action: "removed",
            });
        }
    }
    if args.remove && engine.remove_network(&stack.network).await? {
        actions.push(PartAction {
            part: stack.network.clone(),
            action: "removed",
        });
    }
    if args.volumes {
        if engine.remove_volume(&stack.volume).await? {
            actions.push(PartAction {
                part: stack.volume.clone(),
                action: "deleted",
            });
        }
        for dir in [&stack.storage_dir.value, &stack.workdir_dir.value] {
            let emptied = files::empty_created_dir(dir)?;
            actions.push(PartAction {
                part: dir.display().to_string(),
                action: if emptied {
                    "emptied"
                } else {
                    "kept (kestractl did not create it)"
                },
            });
        }
        forget_db_password(ctx, &stack, &mut actions).await?;
    }
    let report = StopReport { actions };
    if ctx.out.is_structured() {
        ctx.out.structured(&report)?;
    } else {
        let rows: Vec<Vec<String>> = report
            .actions
            .iter()
            .map(|a| vec![a.part.clone(), a.action.to_string()])
            .collect();
        ctx.out.table(&["PART", "ACTION"], &rows)?;
        if !args.volumes && ctx.out.format == crate::output::Format::Table {
            ctx.out
                .note("Data is kept; `kestractl start` brings the stack back.");
        }
    }
    Ok(Exit::Ok)
}
