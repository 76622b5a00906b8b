//! `kestractl logs [kestra|postgres] [-f] [--tail N] [--since D]`: both containers interleaved in
//! time order with a prefix (like Compose), or one of them plain.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::select_all;

use crate::cli::Service;
use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::output::Style;
use crate::settings::stack::StackFlags;
use crate::stack::logs;

/// Show the containers' logs, both interleaved with a prefix by default
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl logs\n  kestractl logs kestra -f --since 10m\n  kestractl logs postgres --tail 50"
)]
pub struct Args {
    /// Only this container, kestra or postgres (both by default)
    #[arg(value_name = "kestra|postgres", value_parser = crate::cli::values::service)]
    pub service: Option<Service>,

    /// Keep following new lines until Ctrl-C or the containers stop
    #[arg(short, long)]
    pub follow: bool,

    /// Number of lines from the end of each log
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,

    /// Only lines newer than this: 10m, 2h…
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        value_parser = crate::cli::values::logs_since
    )]
    pub since: Option<Duration>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        show(ctx, &self).await
    }
}

/// `start --attach`: both containers' new lines, until they stop.
pub async fn follow_new_lines(ctx: &Ctx) -> Result<Exit> {
    let args = Args {
        service: None,
        follow: true,
        tail: Some(0),
        since: None,
    };
    show(ctx, &args).await
}

async fn show(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    let since = args.since.map(|d| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        now - i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
    });
    let services: Vec<(&str, String)> = match args.service {
        Some(Service::Kestra) => vec![("kestra", stack.kestra_container.value.clone())],
        Some(Service::Postgres) => vec![("postgres", stack.postgres_container.clone())],
        None => vec![
            ("postgres", stack.postgres_container.clone()),
            ("kestra", stack.kestra_container.value.clone()),
        ],
    };
    let engine = ctx.engine().await?;
    let mut present = Vec::new();
    for (label, name) in &services {
        if engine.inspect(name).await?.is_some() {
            present.push((*label, name.clone()));
        } else if args.service.is_some() {
            return Err(Error::not_found(
                format!("container {name} does not exist"),
                "start the stack with `kestractl start`",
            ));
        }
    }
    if present.is_empty() {
        return Err(Error::not_found(
            "neither container of the stack exists",
            "start the stack with `kestractl start`",
        ));
    }
    let prefixed = present.len() > 1;
    let width = present.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let prefix = |label: &str| {
        if prefixed {
            let style = if label == "kestra" {
                Style::Green
            } else {
                Style::Yellow
            };
            format!("{} | ", ctx.out.paint(style, &format!("{label:width$}")))
        } else {
            String::new()
        }
    };

    if !args.follow {
        // Whole logs: gather, then merge in time order.
        let mut lines: Vec<(Option<time::OffsetDateTime>, usize, String)> = Vec::new();
        for (label, name) in &present {
            for (ts, msg) in logs::whole(engine, name, args.tail, since).await? {
                let msg = ctx.out.outside_text(&msg);
                lines.push((ts, lines.len(), format!("{}{msg}\n", prefix(label))));
            }
        }
        lines.sort_by_key(|l| (l.0, l.1));
        let text: String = lines.into_iter().map(|(_, _, l)| l).collect();
        ctx.out.print(&text)?;
        return Ok(Exit::Ok);
    }

    // Following: print each line as it arrives, until every container's stream ends.
    let streams = present.iter().map(|(label, name)| {
        let p = prefix(label);
        engine
            .logs(name, true, args.tail, since)
            .map(move |item| (p.clone(), item))
            .boxed()
    });
    let mut merged = select_all(streams);
    let mut partial: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    while let Some((p, item)) = merged.next().await {
        let chunk = item.map_err(|e| {
            Error::engine(
                format!("lost the Docker Engine while following the logs: {e}"),
                "check that Docker is still running (`kestractl doctor`), then follow again",
            )
        })?;
        let buffer = partial.entry(p.clone()).or_default();
        buffer.push_str(&chunk.to_string());
        let mut out = String::new();
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let (_, msg) = logs::split_timestamp(line.trim_end_matches('\n'));
            out.push_str(&format!("{p}{}\n", ctx.out.outside_text(msg)));
        }
        if !out.is_empty() {
            ctx.out.print(&out)?;
        }
    }
    Ok(Exit::Ok)
}
