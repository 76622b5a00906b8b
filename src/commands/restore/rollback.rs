//! A restore that cannot finish puts the previous data back and starts the previous Kestra on
//! it; when even that fails, the error says exactly where the data is.

use super::Plan;
use crate::backup::STOP_GRACE;
use crate::backup::restore::{self as data, Aside};
use crate::error::{Error, Kind};

/// Starts Kestra again on what it had, when a restore stopped it and then could not go on
/// (nothing was set aside yet).
pub(super) async fn restart_previous(plan: &Plan<'_>) {
    if !plan.previous_running {
        return;
    }
    if let Ok(engine) = plan.ctx.engine().await
        && let Err(e) = engine.start(&plan.stack.kestra_container.value).await
    {
        plan.ctx.out.warn(&format!(
            "could not start Kestra again ({e}); `kestractl start` does"
        ));
    }
}

/// Puts the previous data back and starts the previous Kestra on it; the error says what
/// failed and where things stand.
pub(super) async fn roll_back(plan: &Plan<'_>, aside: &Aside, cause: Error) -> Error {
    let ctx = plan.ctx;
    let why = if cause.kind() == Kind::Interrupted {
        "The restore was interrupted".to_string()
    } else {
        format!("The restore failed: {cause}")
    };
    plan.progress.step("putting the previous data back");
    let engine = match ctx.engine().await {
        Ok(e) => e,
        Err(e) => return stuck(plan, aside, &why, &e),
    };
    let _ = engine
        .stop(&plan.stack.kestra_container.value, STOP_GRACE)
        .await;
    if let Err(e) = data::put_back(engine, &plan.stack, aside).await {
        return stuck(plan, aside, &why, &e);
    }
    let back = if let (Some(image), true) = (&plan.previous_image, plan.previous_running) {
        match ctx
            .start_stack(
                &plan
                    .images
                    .start_options(Some(image.clone()), &plan.args.readiness, false),
                plan.progress,
            )
            .await
        {
            Ok(_) => format!("The previous data is back and Kestra ({image}) serves it."),
            Err(e) => {
                format!("The previous data is back, but Kestra ({image}) did not start on it: {e}")
            }
        }
    } else {
        "The previous data is back (Kestra was not running before, and is not now).".to_string()
    };
    let hint = "fix the cause and run `kestractl restore` again; `kestractl status` shows the \
                stack";
    let message = format!("{why}. {back}");
    match cause.kind() {
        Kind::Interrupted => Error::interrupted(message),
        kind => Error::new(kind, message, hint),
    }
}

/// The previous data could not be put back: say exactly where it is.
fn stuck(plan: &Plan<'_>, aside: &Aside, why: &str, e: &Error) -> Error {
    Error::new(
        Kind::Other,
        format!(
            "{why}, and putting the previous data back failed too ({e}). Nothing was deleted: {}",
            data::describe(aside)
        ),
        format!(
            "rename them back by hand (database `{}`, storage {}), then `kestractl start`",
            plan.stack.db_name.value,
            plan.stack.storage_dir.value.display()
        ),
    )
}
