//! `kestractl executions run`: start an execution of a flow, its inputs checked against the
//! flow first; with --wait, follow it to its end state and map that to the exit code.

use serde::Serialize;
use serde_json::Value;

use super::{UiBase, parse_execution, ui_url, wait};
use crate::cli::values;
use crate::commands::args::{FlowRef, WaitArgs};
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::kestra::executions::InputValue;
use crate::kestra::inputs::{self as kinputs, Given};
use crate::kestra::model::Execution;
use crate::kestra::{ApiError, KestraClient};
use crate::output::{Format, Output, Render};
use crate::signals::Interrupt;

/// Start an execution of a flow; with --wait, follow it and exit 6 if it does not succeed
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl executions run kestractl.examples greet_with_inputs --input name=Ada --wait\n  kestractl executions run team.etl load --input data=@./rows.csv --label run=manual"
)]
pub struct Args {
    #[command(flatten)]
    pub flow: FlowRef,

    /// An input: name=value, or name=@path to upload a file (repeatable)
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE", value_parser = values::input)]
    pub inputs: Vec<(String, String)>,

    /// A label of the execution (repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_parser = values::label)]
    pub label: Vec<(String, String)>,

    /// Follow the execution until it ends; exit 0 on success, 6 if it fails, is killed or cancelled
    #[arg(long)]
    pub wait: bool,

    #[command(flatten)]
    pub wait_args: WaitArgs,
}

impl Run for Args {
    fn interrupt(&self) -> Interrupt {
        if self.wait {
            // It stops following and says the execution goes on.
            Interrupt::Handled
        } else {
            Interrupt::STOP
        }
    }

    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        run_flow(ctx, &self).await
    }
}

fn parse_inputs(args: &Args) -> Result<Vec<(String, InputValue)>> {
    let mut inputs = Vec::new();
    for (name, value) in &args.inputs {
        let name = name.clone();
        let value = match value.strip_prefix('@') {
            Some(path) => {
                let p = std::path::PathBuf::from(path);
                if !p.is_file() {
                    return Err(Error::usage(
                        format!("input `{name}`: {path} is not a readable file"),
                        "give the path of the file to upload after @ (name=@./data.csv), or escape a literal @ by not starting the value with it",
                    ));
                }
                InputValue::File(p)
            }
            None => InputValue::Text(value.clone()),
        };
        inputs.push((name, value));
    }
    Ok(inputs)
}

fn flow_error(namespace: &str, flow: &str, e: ApiError) -> Error {
    let detail = e.problem().map(|p| p.summary()).unwrap_or_default();
    match e.status() {
        Some(404) => Error::not_found(
            format!("there is no flow {namespace}/{flow}"),
            format!("`kestractl flows list {namespace}` lists the flows of that namespace"),
        ),
        Some(409) => Error::rejected(
            format!("Kestra will not start {namespace}/{flow}: {detail}"),
            "a disabled flow must be enabled first (in the UI, or `disabled: false` in its source and a deploy)",
            Exit::Error,
        ),
        Some(400 | 422) => Error::rejected(
            format!("Kestra refused the inputs of {namespace}/{flow}: {detail}"),
            "give each required input with --input name=value (files: --input name=@path)",
            Exit::InvalidInput,
        ),
        _ => e.into(),
    }
}

/// Refuses inputs the flow does not declare, required ones left out and values of the wrong
/// type, before anything starts: Kestra itself would start the run with an unknown input ignored.
async fn check_inputs(
    client: &KestraClient,
    namespace: &str,
    flow: &str,
    inputs: &[(String, InputValue)],
) -> Result<()> {
    let definition = client
        .flows()
        .get(namespace, flow, false)
        .await
        .map_err(|e| flow_error(namespace, flow, e))?;
    let declared = kinputs::declared(&definition);
    let given: Vec<(&str, Given<'_>)> = inputs
        .iter()
        .map(|(name, value)| {
            let v = match value {
                InputValue::Text(t) => Given::Text(t.as_str()),
                InputValue::File(_) => Given::File,
            };
            (name.as_str(), v)
        })
        .collect();
    let problems = kinputs::problems(&declared, &given);
    if problems.is_empty() {
        return Ok(());
    }
    let list: String = problems.iter().map(|p| format!("\n  - {p}")).collect();
    Err(Error::rejected(
        format!("nothing was started: the inputs do not fit {namespace}/{flow}:{list}"),
        format!("`kestractl flows get {namespace} {flow}` shows the inputs it declares"),
        Exit::InvalidInput,
    ))
}

async fn run_flow(ctx: &Ctx, args: &Args) -> Result<Exit> {
    // Everything that can be checked locally is, before anything is started.
    let (namespace, flow) = args.flow.resolve()?;
    let inputs = parse_inputs(args)?;
    let labels = &args.label;
    if args.wait_args.logs && !args.wait {
        return Err(Error::usage(
            "--logs streams the logs while waiting, so it needs --wait",
            "add --wait, or follow the logs with `kestractl executions logs -f ID`",
        ));
    }
    let client = ctx.kestra().await?;
    check_inputs(client, &namespace, &flow, &inputs).await?;
    let raw = client
        .executions()
        .start(&namespace, &flow, &inputs, labels)
        .await
        .map_err(|e| flow_error(&namespace, &flow, e))?;
    let e = parse_execution(&raw)?;
    let url = ui_url(&UiBase::of(client), &e);
    if !args.wait {
        ctx.out.emit(&Started { raw, e, url })?;
        return Ok(Exit::Ok);
    }
    ctx.out.note(&format!(
        "Started execution {} of {}/{}: {url}",
        e.id, e.namespace, e.flow_id
    ));
    wait::follow_to_end(ctx, client, &e.id, &args.wait_args).await
}

/// A started execution as the server sent it; for people, its id and UI link.
#[derive(Serialize)]
#[serde(transparent)]
struct Started {
    raw: Value,
    #[serde(skip)]
    e: Execution,
    #[serde(skip)]
    url: String,
}

impl Render for Started {
    fn human(&self, out: &Output) -> Result<()> {
        let (e, url) = (&self.e, &self.url);
        if out.format == Format::Table {
            out.print(&format!(
                "Started execution {} of {}/{}\n{url}\n",
                e.id, e.namespace, e.flow_id
            ))
        } else {
            // Piped: the id alone, for `id=$(kestractl executions run …)`; the link for people.
            out.note(url);
            out.print(&format!("{}\n", e.id))
        }
    }
}
