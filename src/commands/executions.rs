//! `kestractl executions [list|get|run|watch|logs|kill|restart]`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use time::OffsetDateTime;

use super::Ctx;
use crate::cli::values::merge_states;
use crate::cli::{ExecutionsArgs, ExecutionsCommand, ListExecutionsArgs, RunArgs, WaitArgs};
use crate::error::{Error, Exit, Result};
use crate::inert;
use crate::kestra::executions::{ExecutionFilter, InputValue};
use crate::kestra::model::{Execution, LogEntry, TaskRun, is_terminal};
use crate::kestra::routes::{ApiVersion, segment};
use crate::kestra::{ApiError, KestraClient, sse};
use crate::output::progress::Progress;
use crate::output::{Format, Style, time as otime};
use crate::settings::duration::format_duration;

pub async fn run(ctx: &Ctx, args: ExecutionsArgs) -> Result<Exit> {
    match args.command {
        None => list(ctx, &args.list).await,
        Some(ExecutionsCommand::List(a)) => list(ctx, &a).await,
        Some(ExecutionsCommand::Get { id, outputs }) => get(ctx, &id, outputs).await,
        Some(ExecutionsCommand::Run(a)) => run_flow(ctx, &a).await,
        Some(ExecutionsCommand::Watch { id, wait }) => watch(ctx, &id, &wait).await,
        Some(ExecutionsCommand::Logs {
            id,
            follow,
            level,
            task,
        }) => logs(ctx, &id, follow, level.as_deref(), task.as_deref()).await,
        Some(ExecutionsCommand::Kill { id }) => kill(ctx, &id).await,
        Some(ExecutionsCommand::Restart { id }) => restart(ctx, &id).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing of the command line's values (pure).

pub fn filter_of(args: &ListExecutionsArgs, now: OffsetDateTime) -> ExecutionFilter {
    ExecutionFilter {
        namespace: args.namespace.clone(),
        flow: args.flow.clone(),
        states: merge_states(&args.state),
        since: args.since.map(|w| w.resolve(now)),
        until: args.until.map(|w| w.resolve(now)),
        labels: args.label.clone(),
    }
}

/// How an execution's end state maps to the exit code of `run --wait` and `watch`.
pub fn exit_for(state: &str, fail_on_warning: bool) -> Exit {
    match state {
        "SUCCESS" | "SKIPPED" => Exit::Ok,
        "WARNING" if !fail_on_warning => Exit::Ok,
        _ => Exit::ExecutionUnsuccessful,
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

fn state_style(state: &str) -> Style {
    match state {
        "SUCCESS" => Style::Green,
        "FAILED" | "KILLED" | "CANCELLED" => Style::Red,
        "WARNING" | "KILLING" | "PAUSED" | "RETRYING" => Style::Yellow,
        _ => Style::Dim,
    }
}

fn started_cell(ctx: &Ctx, start: Option<&str>, now: OffsetDateTime) -> String {
    match start.and_then(otime::parse) {
        Some(t) if ctx.out.format == Format::Table => otime::relative(t, now),
        Some(t) => otime::local_time(t),
        None => "-".into(),
    }
}

fn duration_cell(state: &crate::kestra::model::State) -> String {
    state
        .duration_secs()
        .filter(|s| *s >= 0.0)
        .map(|s| format_duration(Duration::from_secs_f64(s)))
        .unwrap_or_else(|| "-".into())
}

fn list_row(ctx: &Ctx, e: &Execution, now: OffsetDateTime) -> Vec<String> {
    vec![
        e.id.clone(),
        e.namespace.clone(),
        e.flow_id.clone(),
        ctx.out
            .paint(state_style(&e.state.current), &e.state.current),
        started_cell(ctx, e.state.start_date.as_deref(), now),
        duration_cell(&e.state),
    ]
}

const LIST_HEADERS: [&str; 6] = ["ID", "NAMESPACE", "FLOW", "STATE", "STARTED", "DURATION"];

/// The execution's page in Kestra's UI.
fn ui_url(client: &KestraClient, e: &Execution) -> String {
    let server = crate::settings::display_url(client.server());
    match e.url.as_deref().filter(|u| !u.is_empty()) {
        // Without `kestra.url` configured, Kestra answers a path only.
        Some(u) if u.starts_with('/') => format!("{server}{u}"),
        Some(u) => u.to_string(),
        None => format!(
            "{server}/ui/{}/executions/{}/{}/{}",
            segment(client.tenant()),
            segment(&e.namespace),
            segment(&e.flow_id),
            segment(&e.id)
        ),
    }
}

fn not_found(id: &str, e: ApiError) -> Error {
    if e.status() == Some(404) {
        Error::not_found(
            format!("there is no execution {id}"),
            "`kestractl executions` lists recent ones",
        )
    } else {
        e.into()
    }
}

fn parse_execution(v: &Value) -> Result<Execution> {
    serde_json::from_value(v.clone()).map_err(|e| {
        Error::server(
            format!("the server sent an execution kestractl cannot read: {e}"),
            "`kestractl server info` shows the server's version",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// list

async fn list(ctx: &Ctx, args: &ListExecutionsArgs) -> Result<Exit> {
    let now = OffsetDateTime::now_utc();
    let filter = filter_of(args, now);
    let client = ctx.kestra().await?;
    let page_size: u32 = if args.all {
        200
    } else {
        args.limit.clamp(1, 200)
    };
    let wanted = if args.all {
        usize::MAX
    } else {
        args.limit as usize
    };
    // Streamed formats print each page as it arrives, so memory does not grow with the count.
    let streaming = matches!(ctx.out.format, Format::Jsonl | Format::Plain);
    let mut kept: Vec<Value> = Vec::new();
    let mut seen = 0usize;
    let mut page = 1;
    while seen < wanted {
        let result = client.search_executions(&filter, page, page_size).await?;
        let n = result.results.len();
        let take = n.min(wanted - seen);
        let items = result.results.into_iter().take(take);
        if streaming {
            let mut text = String::new();
            for v in items {
                if ctx.out.format == Format::Jsonl {
                    text.push_str(&serde_json::to_string(&v).map_err(anyhow::Error::from)?);
                    text.push('\n');
                } else {
                    let e = parse_execution(&v)?;
                    text.push_str(&list_row(ctx, &e, now).join("\t"));
                    text.push('\n');
                }
            }
            ctx.out.print(&text)?;
        } else {
            kept.extend(items);
        }
        seen += take;
        let total = result.total.and_then(|t| usize::try_from(t).ok());
        if n < page_size as usize || total.is_some_and(|t| seen >= t) {
            break;
        }
        page += 1;
    }
    if streaming {
        return Ok(Exit::Ok);
    }
    if ctx.out.is_structured() {
        ctx.out.structured(&kept)?;
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<String>> = kept
        .iter()
        .map(|v| parse_execution(v).map(|e| list_row(ctx, &e, now)))
        .collect::<Result<_>>()?;
    if rows.is_empty() {
        ctx.out.note("No executions match.");
    } else {
        ctx.out.table(&LIST_HEADERS, &rows)?;
    }
    Ok(Exit::Ok)
}

// ---------------------------------------------------------------------------------------------
// get

fn compact(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::Object(m)) if m.is_empty() => "-".into(),
        Some(v) => v.to_string(),
    }
}

fn task_rows(ctx: &Ctx, runs: &[TaskRun], now: OffsetDateTime) -> Vec<Vec<String>> {
    runs.iter()
        .map(|t| {
            vec![
                t.task_id.clone(),
                t.value.clone().unwrap_or_else(|| "-".into()),
                ctx.out
                    .paint(state_style(&t.state.current), &t.state.current),
                started_cell(ctx, t.state.start_date.as_deref(), now),
                duration_cell(&t.state),
            ]
        })
        .collect()
}

async fn get(ctx: &Ctx, id: &str, with_outputs: bool) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let mut raw = client
        .get_execution(id)
        .await
        .map_err(|e| not_found(id, e))?;
    let api = client.discover().await?.api;
    if with_outputs && api == ApiVersion::V2 {
        let outputs = client.execution_outputs(id).await?;
        if let Value::Object(m) = &mut raw {
            m.insert("taskOutputs".into(), outputs);
        }
    }
    if ctx.out.is_structured() {
        ctx.out.structured(&raw)?;
        return Ok(Exit::Ok);
    }
    let e = parse_execution(&raw)?;
    let now = OffsetDateTime::now_utc();
    let out = &ctx.out;
    let labels = if e.labels.0.is_empty() {
        "-".to_string()
    } else {
        e.labels
            .0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let history = e
        .state
        .histories
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h.state,
                h.date
                    .as_deref()
                    .and_then(otime::parse)
                    .map(otime::local_time)
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(" → ");
    out.record(&[
        ("ID", e.id.clone()),
        (
            "Flow",
            format!(
                "{}/{}{}",
                e.namespace,
                e.flow_id,
                e.flow_revision
                    .map(|r| format!(" (revision {r})"))
                    .unwrap_or_default()
            ),
        ),
        (
            "State",
            out.paint(state_style(&e.state.current), &e.state.current),
        ),
        ("History", history),
        ("Duration", duration_cell(&e.state)),
        ("Labels", labels),
        ("Inputs", compact(e.inputs.as_ref())),
        ("Outputs", compact(e.outputs.as_ref())),
        ("UI", ui_url(client, &e)),
    ])?;
    let runs = e.task_run_list.clone().unwrap_or_default();
    if !runs.is_empty() {
        out.print("\n")?;
        out.table(
            &["TASK", "VALUE", "STATE", "STARTED", "DURATION"],
            &task_rows(ctx, &runs, now),
        )?;
    }
    if let Some(Value::Array(outputs)) = raw.get("taskOutputs") {
        out.print("\n")?;
        let rows: Vec<Vec<String>> = outputs
            .iter()
            .map(|o| {
                vec![
                    o.get("taskId")
                        .and_then(Value::as_str)
                        .unwrap_or("-")
                        .to_string(),
                    compact(o.get("value")),
                ]
            })
            .collect();
        out.table(&["TASK", "OUTPUTS"], &rows)?;
    } else if with_outputs {
        // 1.x: outputs are part of each task run.
        let rows: Vec<Vec<String>> = runs
            .iter()
            .filter(|t| t.outputs.is_some())
            .map(|t| vec![t.task_id.clone(), compact(t.outputs.as_ref())])
            .collect();
        if !rows.is_empty() {
            out.print("\n")?;
            out.table(&["TASK", "OUTPUTS"], &rows)?;
        }
    }
    Ok(Exit::Ok)
}

// ---------------------------------------------------------------------------------------------
// run, watch

fn parse_inputs(args: &RunArgs) -> Result<Vec<(String, InputValue)>> {
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

async fn run_flow(ctx: &Ctx, args: &RunArgs) -> Result<Exit> {
    // Everything that can be checked locally is, before anything is started.
    let inputs = parse_inputs(args)?;
    let labels = &args.label;
    let wait_timeout = args.wait_args.wait_timeout;
    let client = ctx.kestra().await?;
    let raw = client
        .trigger(&args.namespace, &args.flow, &inputs, labels)
        .await
        .map_err(|e| flow_error(&args.namespace, &args.flow, e))?;
    let e = parse_execution(&raw)?;
    let url = ui_url(client, &e);
    if !args.wait {
        if ctx.out.is_structured() {
            ctx.out.structured(&raw)?;
        } else if ctx.out.format == Format::Table {
            ctx.out.print(&format!(
                "Started execution {} of {}/{}\n{url}\n",
                e.id, e.namespace, e.flow_id
            ))?;
        } else {
            ctx.out.print(&format!("{}\t{url}\n", e.id))?;
        }
        return Ok(Exit::Ok);
    }
    ctx.out.note(&format!(
        "Started execution {} of {}/{}: {url}",
        e.id, e.namespace, e.flow_id
    ));
    follow_to_end(
        ctx,
        client,
        &e.id,
        wait_timeout,
        args.wait_args.fail_on_warning,
    )
    .await
}

async fn watch(ctx: &Ctx, id: &str, w: &WaitArgs) -> Result<Exit> {
    let timeout = w.wait_timeout;
    let client = ctx.kestra().await?;
    // Fail fast (exit 3) on an unknown id rather than waiting on its stream.
    client
        .get_execution(id)
        .await
        .map_err(|e| not_found(id, e))?;
    follow_to_end(ctx, client, id, timeout, w.fail_on_warning).await
}

/// Reports what changed between two snapshots of an execution (plain mode prints these lines).
fn changes(before: Option<&Execution>, now: &Execution) -> Vec<String> {
    let mut lines = Vec::new();
    if before.is_none_or(|b| b.state.current != now.state.current) {
        lines.push(format!("execution {}: {}", now.id, now.state.current));
    }
    let old: Vec<TaskRun> = before
        .and_then(|b| b.task_run_list.clone())
        .unwrap_or_default();
    for t in now.task_run_list.iter().flatten() {
        let previous = old
            .iter()
            .find(|o| o.id == t.id)
            .map(|o| o.state.current.as_str());
        if previous != Some(t.state.current.as_str()) {
            let value = t
                .value
                .as_deref()
                .map(|v| format!(" [{v}]"))
                .unwrap_or_default();
            lines.push(format!("  task {}{value}: {}", t.task_id, t.state.current));
        }
    }
    lines
}

/// Follows the execution's event stream until it ends; falls back to polling if the stream is
/// cut. Prints progress on stderr, the final task table on stdout, and maps the end state to the
/// exit code.
async fn follow_to_end(
    ctx: &Ctx,
    client: &KestraClient,
    id: &str,
    timeout: Option<Duration>,
    fail_on_warning: bool,
) -> Result<Exit> {
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    let progress = Progress::new();
    let mut last: Option<Execution> = None;
    let mut report = |e: Execution, progress: &Progress| {
        for line in changes(last.as_ref(), &e) {
            progress.done(&line);
        }
        let runs = e.task_run_list.as_deref().unwrap_or_default();
        let done = runs
            .iter()
            .filter(|t| is_terminal(&t.state.current))
            .count();
        progress.step(&format!(
            "{}: {}/{} task run(s) done",
            e.state.current,
            done,
            runs.len()
        ));
        let terminal = is_terminal(&e.state.current);
        last = Some(e);
        terminal
    };
    let mut finished = false;
    // The event stream; Kestra ends it after an hour without events (its `timeout`), or a proxy
    // may cut it: reopened while the execution runs. If it cannot be opened, poll once a second.
    let mut opened_at = Instant::now();
    let mut short_lived = 0;
    'connection: while !finished && deadline.is_none_or(|d| Instant::now() < d) {
        if short_lived >= 3 {
            break; // a stream that keeps closing at once: polling is more use
        }
        let Ok(resp) = client.follow_execution(id).await else {
            break;
        };
        let mut body = resp.bytes_stream();
        let mut parser = sse::Parser::default();
        loop {
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d.into(), body.next()).await {
                    Ok(n) => n,
                    Err(_) => break 'connection,
                },
                None => body.next().await,
            };
            let Some(Ok(chunk)) = next else { break };
            let Ok(events) = parser.push(&chunk) else {
                // An event past the size limit: the stream is not to be trusted; poll instead.
                tracing::debug!("{}", sse::TooLarge);
                break 'connection;
            };
            for event in events {
                // Kestra opens the stream with `id: start`, an execution that has only its id.
                if event.id.as_deref() == Some(sse::START) {
                    continue;
                }
                if let Ok(v) = inert::decode::<Value>(event.data.as_bytes())
                    && let Ok(e) = serde_json::from_value::<Execution>(v)
                    && report(e, &progress)
                {
                    finished = true;
                    break 'connection;
                }
                if event.id.as_deref() == Some(sse::END) {
                    finished = true;
                    break 'connection;
                }
            }
        }
        // The stream ended without an `end` event: reopen it if the execution still runs.
        let v = client
            .get_execution(id)
            .await
            .map_err(|e| not_found(id, e))?;
        finished = report(parse_execution(&v)?, &progress);
        short_lived = if opened_at.elapsed() < Duration::from_secs(1) {
            short_lived + 1
        } else {
            0
        };
        if !finished {
            tracing::debug!("the execution stream of {id} ended early; reopening it");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        opened_at = Instant::now();
    }
    while !finished && deadline.is_none_or(|d| Instant::now() < d) {
        let v = client
            .get_execution(id)
            .await
            .map_err(|e| not_found(id, e))?;
        finished = report(parse_execution(&v)?, &progress);
        if !finished {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    progress.finish();
    if !finished {
        return Err(Error::not_ready(
            format!(
                "execution {id} has not ended after {} (--wait-timeout); it goes on",
                format_duration(started.elapsed())
            ),
            format!(
                "follow it with `kestractl executions watch {id}`, or kill it with `kestractl executions kill {id}`"
            ),
        ));
    }
    // The final state with every task run (2.0's stream events and list items may be slimmer).
    let raw = client
        .get_execution(id)
        .await
        .map_err(|e| not_found(id, e))?;
    let e = parse_execution(&raw)?;
    if ctx.out.is_structured() {
        ctx.out.structured(&raw)?;
    } else {
        let now = OffsetDateTime::now_utc();
        let runs = e.task_run_list.clone().unwrap_or_default();
        if !runs.is_empty() {
            ctx.out.table(
                &["TASK", "VALUE", "STATE", "STARTED", "DURATION"],
                &task_rows(ctx, &runs, now),
            )?;
        }
    }
    let state = e.state.current.as_str();
    let exit = exit_for(state, fail_on_warning);
    let summary = format!(
        "execution {} ended {state} after {}",
        e.id,
        duration_cell(&e.state)
    );
    match (exit, state) {
        (Exit::Ok, "WARNING") => ctx.out.note(&format!(
            "{summary} (some tasks warned; --fail-on-warning makes this exit 6)"
        )),
        (Exit::Ok, _) => ctx.out.note(&summary),
        _ => ctx
            .out
            .note(&format!("{} {summary}", ctx.out.paint(Style::Red, "✗"))),
    }
    Ok(exit)
}

// ---------------------------------------------------------------------------------------------
// logs

fn log_line(ctx: &Ctx, l: &LogEntry) -> String {
    let level = l.level.clone().unwrap_or_else(|| "INFO".into());
    let style = match level.as_str() {
        "ERROR" => Style::Red,
        "WARN" => Style::Yellow,
        "DEBUG" | "TRACE" => Style::Dim,
        _ => Style::Bold,
    };
    let ts = l.timestamp.clone().unwrap_or_default();
    let task = l.task_id.clone().unwrap_or_else(|| "-".into());
    let message = l.message.clone().unwrap_or_default();
    if ctx.out.format == Format::Table {
        format!(
            "{} {} {} {message}\n",
            ctx.out.paint(Style::Dim, &ts),
            ctx.out.paint(style, &format!("{level:<5}")),
            task
        )
    } else {
        format!(
            "{ts}\t{level}\t{task}\t{}\n",
            message.replace(['\t', '\n'], " ")
        )
    }
}

/// Log lines as they come. `-o json|yaml` on a finished list is one document (see `logs`);
/// while following, every structured format streams one JSON object per line.
fn print_logs(ctx: &Ctx, entries: &[LogEntry]) -> Result<()> {
    if ctx.out.is_structured() {
        let mut text = String::new();
        for e in entries {
            text.push_str(&serde_json::to_string(e).map_err(anyhow::Error::from)?);
            text.push('\n');
        }
        return ctx.out.print(&text);
    }
    let text: String = entries.iter().map(|l| log_line(ctx, l)).collect();
    ctx.out.print(&text)
}

fn check_level(level: Option<&str>) -> Result<Option<String>> {
    level
        .map(|l| {
            let up = l.to_ascii_uppercase();
            if ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(Error::usage(
                    format!("`{l}` is not a log level"),
                    "use TRACE, DEBUG, INFO, WARN or ERROR",
                ))
            }
        })
        .transpose()
}

async fn logs(
    ctx: &Ctx,
    id: &str,
    follow: bool,
    level: Option<&str>,
    task: Option<&str>,
) -> Result<Exit> {
    let level = check_level(level)?;
    let client = ctx.kestra().await?;
    // The execution must exist (a follow on an unknown id would wait for nothing).
    let raw = client
        .get_execution(id)
        .await
        .map_err(|e| not_found(id, e))?;
    if !follow {
        let mut entries = client
            .execution_logs(id, level.as_deref(), task)
            .await
            .map_err(|e| not_found(id, e))?;
        entries.retain(|l| keep_task(l, task));
        if matches!(ctx.out.format, Format::Json | Format::Yaml) {
            ctx.out.structured(&entries)?;
        } else {
            print_logs(ctx, &entries)?;
        }
        return Ok(Exit::Ok);
    }
    // Kestra's log stream never ends by itself: follow the execution alongside, and once it has
    // ended, stop when the log stream has been quiet for a moment. Kestra does end it after an
    // hour without a line (its `timeout`), and a proxy may cut it: reopened while the execution
    // runs, and once more after it ended so no late line is missed. Each opening replays the
    // execution's logs from the start: lines already printed are skipped.
    let mut terminal = is_terminal(&parse_execution(&raw)?.state.current);
    let mut printed = LogSeen::default();
    let mut final_replay = terminal;
    let quiet = Duration::from_millis(700);
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    'connection: loop {
        let resp = client
            .follow_logs(id, level.as_deref())
            .await
            .map_err(|e| not_found(id, e))?;
        let mut body = resp.bytes_stream();
        let mut parser = sse::Parser::default();
        loop {
            let wait = if terminal {
                quiet
            } else {
                Duration::from_secs(3600)
            };
            tokio::select! {
                chunk = tokio::time::timeout(wait, body.next()) => match chunk {
                    Ok(Some(Ok(bytes))) => {
                        let events = parser.push(&bytes).map_err(|e| Error::server(format!("following the logs of {id}: {e}"), "`kestractl executions logs ID` (without -f) reads them in one answer"
                                ))?;
                        let entries: Vec<LogEntry> = events
                            .iter()
                            // `id: start` carries an empty entry that only opens the stream.
                            .filter(|ev| ev.id.as_deref() != Some(sse::START))
                            .filter_map(|ev| inert::decode::<LogEntry>(ev.data.as_bytes()).ok())
                            .filter(|l| keep_task(l, task))
                            .filter(|l| printed.first_time(l))
                            .collect();
                        print_logs(ctx, &entries)?;
                    }
                    // Quiet for a moment after the execution ended: done.
                    Err(_) => break 'connection,
                    // The stream ended or broke.
                    Ok(_) => break,
                },
                _ = poll.tick(), if !terminal => {
                    if let Ok(v) = client.get_execution(id).await
                        && let Ok(e) = serde_json::from_value::<Execution>(v)
                    {
                        terminal = is_terminal(&e.state.current);
                    }
                }
            }
        }
        if !terminal && let Ok(v) = client.get_execution(id).await {
            terminal = is_terminal(&parse_execution(&v)?.state.current);
        }
        if terminal {
            if final_replay {
                break;
            }
            final_replay = true;
        }
        tracing::debug!("the log stream of {id} ended; reopening it");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(Exit::Ok)
}

/// `--task`: Kestra 1.3's log stream has no task filter (its follow route takes only
/// `minLevel`), so lines are filtered here on every version.
fn keep_task(l: &LogEntry, task: Option<&str>) -> bool {
    task.is_none_or(|t| l.task_id.as_deref() == Some(t))
}

/// Log lines already printed, so a reopened stream's replay is not printed twice.
#[derive(Default)]
struct LogSeen(std::collections::HashSet<u64>);

impl LogSeen {
    fn first_time(&mut self, l: &LogEntry) -> bool {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&l.timestamp, &l.task_run_id, &l.level, &l.message).hash(&mut h);
        self.0.insert(h.finish())
    }
}

// ---------------------------------------------------------------------------------------------
// kill, restart

fn action_error(id: &str, action: &str, e: ApiError) -> Error {
    match e.status() {
        Some(404) => Error::not_found(
            format!("there is no execution {id}"),
            "`kestractl executions` lists recent ones",
        ),
        Some(409 | 422) => {
            let message = format!(
                "execution {id} cannot be {action}: {}",
                e.problem()
                    .map(|p| p.summary())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "Kestra refused".into())
            );
            // Kestra's rules (`State.canBeRestarted`; the kill route with its default
            // `isOnKillCascade=true` accepts any execution).
            let hint = if action == "killed" {
                "`kestractl executions get ID` shows its state"
            } else {
                "Kestra restarts an execution that FAILED or is PAUSED (1.3 also one that ended \
                 otherwise with a failed task; never a KILLED one); `kestractl executions get ID` \
                 shows its state"
            };
            Error::rejected(message, hint, Exit::Error)
        }
        _ => e.into(),
    }
}

async fn kill(ctx: &Ctx, id: &str) -> Result<Exit> {
    let client = ctx.kestra().await?;
    // Kestra accepts a kill of an execution that has already ended (with its default
    // `isOnKillCascade=true` it still reaches the subflow executions it started): say so rather
    // than claim something was stopped.
    let before = client
        .get_execution(id)
        .await
        .map_err(|e| not_found(id, e))?;
    let state = parse_execution(&before)?.state.current;
    client
        .kill_execution(id)
        .await
        .map_err(|e| action_error(id, "killed", e))?;
    if is_terminal(&state) {
        ctx.out.note(&format!(
            "Execution {id} had already ended ({state}); Kestra accepted the kill, which only \
             reaches subflow executions it started that still run"
        ));
    } else {
        ctx.out.note(&format!(
            "Kill requested for execution {id}; `kestractl executions watch {id}` follows it to the end"
        ));
    }
    Ok(Exit::Ok)
}

async fn restart(ctx: &Ctx, id: &str) -> Result<Exit> {
    let client = ctx.kestra().await?;
    let raw = client
        .restart_execution(id)
        .await
        .map_err(|e| action_error(id, "restarted", e))?;
    if ctx.out.is_structured() {
        ctx.out.structured(&raw)?;
    } else {
        let e = parse_execution(&raw)?;
        ctx.out.note(&format!(
            "Restarted execution {} ({}); `kestractl executions watch {}` follows it",
            e.id, e.state.current, e.id
        ));
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_end_state() {
        assert_eq!(exit_for("SUCCESS", false), Exit::Ok);
        assert_eq!(exit_for("WARNING", false), Exit::Ok);
        assert_eq!(exit_for("WARNING", true), Exit::ExecutionUnsuccessful);
        for s in ["FAILED", "KILLED", "CANCELLED", "RETRIED"] {
            assert_eq!(exit_for(s, false), Exit::ExecutionUnsuccessful, "{s}");
        }
    }

    #[test]
    fn changes_report_state_and_task_transitions() {
        let mk = |state: &str, tasks: &[(&str, &str)]| Execution {
            id: "e1".into(),
            state: crate::kestra::model::State {
                current: state.into(),
                ..Default::default()
            },
            task_run_list: Some(
                tasks
                    .iter()
                    .map(|(id, s)| TaskRun {
                        id: format!("tr-{id}"),
                        task_id: (*id).into(),
                        state: crate::kestra::model::State {
                            current: (*s).into(),
                            ..Default::default()
                        },
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        let a = mk("RUNNING", &[("one", "RUNNING")]);
        let b = mk("RUNNING", &[("one", "SUCCESS"), ("two", "RUNNING")]);
        assert_eq!(
            changes(None, &a),
            ["execution e1: RUNNING", "  task one: RUNNING"]
        );
        assert_eq!(
            changes(Some(&a), &b),
            ["  task one: SUCCESS", "  task two: RUNNING"]
        );
        assert!(changes(Some(&b), &b).is_empty());
    }
}
