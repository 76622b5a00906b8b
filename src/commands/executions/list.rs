//! `kestractl executions list` (and `kestractl executions` alone): filtered, newest first, page
//! after page (streamed for jsonl and plain).

use clap_complete::engine::ArgValueCompleter;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::{duration_cell, parse_execution, started_cell, state_style};
use crate::cli::values::{self, merge_states};
use crate::commands::{Ctx, Run, complete};
use crate::error::{Exit, Result};
use crate::kestra::executions::ExecutionFilter;
use crate::kestra::model::Execution;
use crate::output::{Format, Output, Render};

/// List executions, newest first (the default) (alias: ls)
#[derive(Debug, Clone, clap::Args)]
#[command(
    alias = "ls",
    after_help = "Examples:\n  kestractl executions list --state RUNNING\n  kestractl executions list --all -o jsonl | jq -c '{id, state: .state.current}'"
)]
pub struct Args {
    #[command(flatten)]
    pub query: Query,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        list(ctx, &self.query).await
    }
}

// Which executions to list, and how: `list`'s flags, also `kestractl executions`'s own. Neither
// a doc comment nor command attributes here: `kestractl executions` flattens it, and would take
// them as its own (its about, an `ls` alias).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Query {
    /// Namespace, with its children (a prefix, as in Kestra's UI)
    #[arg(long, value_name = "NS", add = ArgValueCompleter::new(complete::namespaces))]
    pub namespace: Option<String>,

    /// Flow id
    #[arg(long, value_name = "ID")]
    pub flow: Option<String>,

    /// Only these states, e.g. FAILED,WARNING (repeatable)
    #[arg(long, value_name = "STATE[,STATE]", value_parser = values::states, add = ArgValueCompleter::new(complete::states))]
    pub state: Vec<values::States>,

    /// Started at or after: a duration back from now (24h, 7d) or a date (2026-11-01, RFC 3339)
    #[arg(long, allow_hyphen_values = true, value_name = "WHEN", value_parser = values::since)]
    pub since: Option<values::When>,

    /// Started at or before: same forms as --since
    #[arg(long, allow_hyphen_values = true, value_name = "WHEN", value_parser = values::until)]
    pub until: Option<values::When>,

    /// Only executions with this label (repeatable: all must match)
    #[arg(long, value_name = "KEY=VALUE", value_parser = values::label)]
    pub label: Vec<(String, String)>,

    /// How many, newest first
    #[arg(long, value_name = "N", default_value_t = 25, conflicts_with = "all")]
    pub limit: u32,

    /// All matching executions, page after page (with -o jsonl they stream as they arrive)
    #[arg(long)]
    pub all: bool,

    /// Only the ids, one per line (for scripts: `kestractl executions -q --state FAILED | xargs …`)
    #[arg(short, long)]
    pub quiet: bool,
}

/// The server's filter for `args` (pure).
pub fn filter_of(args: &Query, now: OffsetDateTime) -> ExecutionFilter {
    // `--flow NAMESPACE/ID`, the way kestractl prints flows, stands for both filters.
    let (namespace, flow) = match (
        &args.namespace,
        args.flow.as_deref().and_then(|f| f.rsplit_once('/')),
    ) {
        (None, Some((ns, id))) if !ns.is_empty() && !id.is_empty() => {
            (Some(ns.to_string()), Some(id.to_string()))
        }
        _ => (args.namespace.clone(), args.flow.clone()),
    };
    ExecutionFilter {
        namespace,
        flow,
        states: merge_states(&args.state),
        since: args.since.map(|w| w.resolve(now)),
        until: args.until.map(|w| w.resolve(now)),
        labels: args.label.clone(),
    }
}

fn list_row(out: &Output, e: &Execution, now: OffsetDateTime) -> Vec<String> {
    vec![
        e.id.clone(),
        e.namespace.clone(),
        e.flow_id.clone(),
        out.paint(state_style(&e.state.current), e.state.current.as_str()),
        started_cell(out, e.state.start_date.as_deref(), now),
        duration_cell(&e.state),
    ]
}

const LIST_HEADERS: [&str; 6] = ["ID", "NAMESPACE", "FLOW", "STATE", "STARTED", "DURATION"];

/// Lists the executions `args` select (`executions list`, and `kestractl executions` alone).
pub(super) async fn list(ctx: &Ctx, args: &Query) -> Result<Exit> {
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
    let streaming = args.quiet || matches!(ctx.out.format, Format::Jsonl | Format::Plain);
    let mut kept: Vec<Value> = Vec::new();
    let mut seen = 0usize;
    let mut matching = None;
    let mut page = 1;
    while seen < wanted {
        let result = client.executions().search(&filter, page, page_size).await?;
        let n = result.results.len();
        let take = n.min(wanted - seen);
        matching = matching.or(result.total.and_then(|t| usize::try_from(t).ok()));
        let items = result.results.into_iter().take(take);
        if streaming {
            let mut text = String::new();
            for v in items {
                if args.quiet {
                    text.push_str(&parse_execution(&v)?.id);
                    text.push('\n');
                } else if ctx.out.format == Format::Jsonl {
                    text.push_str(&serde_json::to_string(&v).map_err(anyhow::Error::from)?);
                    text.push('\n');
                } else {
                    let e = parse_execution(&v)?;
                    text.push_str(&list_row(&ctx.out, &e, now).join("\t"));
                    text.push('\n');
                }
            }
            ctx.out.print(&text)?;
        } else {
            kept.extend(items);
            // A table is built from every row at once; a stream (-o jsonl, piped) is not.
            crate::kestra::limits::check_listed(
                kept.len(),
                || {
                    client.url(&format!(
                        "{}/executions/search",
                        crate::kestra::routes::tenant_base(client.tenant())
                    ))
                },
                "executions for one table",
                "stream them instead (-o jsonl, or piped), or narrow the selection",
            )?;
        }
        seen += take;
        let total = result.total.and_then(|t| usize::try_from(t).ok());
        if n < page_size as usize || total.is_some_and(|t| seen >= t) {
            break;
        }
        page += 1;
    }
    if !streaming {
        ctx.out.emit(&ExecutionList { raw: kept, now })?;
    } else if seen == 0 && !args.quiet {
        ctx.out.note("No executions match.");
    }
    // A capped list says so (on stderr: stdout stays the rows).
    if let Some(total) = matching.filter(|t| !args.all && *t > seen && seen > 0) {
        ctx.out.note(&format!(
            "showing {seen} of {total} (--all for every one, or --limit N)"
        ));
    }
    Ok(Exit::Ok)
}

/// The executions as the server sent them; for people, a table.
#[derive(Serialize)]
#[serde(transparent)]
struct ExecutionList {
    raw: Vec<Value>,
    #[serde(skip)]
    now: OffsetDateTime,
}

impl Render for ExecutionList {
    fn human(&self, out: &Output) -> Result<()> {
        let rows: Vec<Vec<String>> = self
            .raw
            .iter()
            .map(|v| parse_execution(v).map(|e| list_row(out, &e, self.now)))
            .collect::<Result<_>>()?;
        if rows.is_empty() {
            out.note("No executions match.");
            Ok(())
        } else {
            out.table(&LIST_HEADERS, &rows)
        }
    }
}
