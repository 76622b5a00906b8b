//! Taking the local stack down: Kestra first, then Postgres (so Kestra never runs without its
//! database), each given a grace period; optionally removing the containers and network, and —
//! asked for separately — deleting the data.

use std::time::Duration;

use serde::Serialize;

use super::engine::Engine;
use super::files;
use super::inspect::is_managed;
use crate::error::{Error, Result};
use crate::settings::stack::StackSettings;

/// How long a container gets to stop before it is killed, unless `stop --grace` says otherwise
/// (`stop --grace` shows the same value as its default).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// What taking the stack down did to one part.
#[derive(Debug, Serialize)]
pub struct PartAction {
    pub part: String,
    /// `stopped`, `not running`, `absent`, `removed`, `deleted`, `emptied`.
    pub action: &'static str,
}

impl PartAction {
    pub fn new(part: impl Into<String>, action: &'static str) -> Self {
        PartAction {
            part: part.into(),
            action,
        }
    }
}

/// Stops Kestra, then Postgres, and with `remove` removes them and the network. Refuses before
/// touching anything when a container of our names was not made by kestractl.
pub async fn down(
    engine: &Engine,
    stack: &StackSettings,
    remove: bool,
    grace: Duration,
) -> Result<Vec<PartAction>> {
    let names = [&stack.kestra_container.value, &stack.postgres_container];
    for name in names {
        if let Some(c) = engine.inspect(name).await?
            && !is_managed(&c)
        {
            return Err(Error::engine(
                format!("container {name} was not created by kestractl; leaving it alone"),
                "check KESTRA_CONTAINER_NAME, or stop it with docker yourself",
            ));
        }
    }
    let mut actions = Vec::new();
    for name in names {
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
        actions.push(PartAction::new(name.as_str(), what));
        if remove && exists {
            engine.remove(name).await?;
            actions.push(PartAction::new(name.as_str(), "removed"));
        }
    }
    if remove && engine.remove_network(&stack.network).await? {
        actions.push(PartAction::new(stack.network.as_str(), "removed"));
    }
    Ok(actions)
}

/// Deletes the Postgres volume and empties the storage and work folders kestractl created (a
/// folder the operator made is kept). The stack must be down; the caller has asked first.
pub async fn delete_data(engine: &Engine, stack: &StackSettings) -> Result<Vec<PartAction>> {
    let mut actions = Vec::new();
    if engine.remove_volume(&stack.volume).await? {
        actions.push(PartAction::new(stack.volume.as_str(), "deleted"));
    }
    for dir in [&stack.storage_dir.value, &stack.workdir_dir.value] {
        let emptied = files::empty_created_dir(dir)?;
        actions.push(PartAction::new(
            dir.display().to_string(),
            if emptied {
                "emptied"
            } else {
                "kept (kestractl did not create it)"
            },
        ));
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grace_is_the_one_stop_shows() {
        assert_eq!(
            crate::settings::duration::parse_duration("30s"),
            Ok(DEFAULT_GRACE)
        );
    }
}
