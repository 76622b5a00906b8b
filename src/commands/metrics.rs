//! `kestractl metrics [--raw] [--watch]`: Kestra's Prometheus endpoint on the local stack's
//! management port, summed up into what an operator watches.

use std::time::Duration;

use serde::Serialize;

use crate::commands::{Ctx, Run};
use crate::error::{Exit, Result};
use crate::kestra::prometheus::{self, Summary};
use crate::output::{Output, Render, Style};
use crate::settings::duration::format_duration;
use crate::settings::stack::StackFlags;
use crate::stack::local_api;

const LONG: &str = "Read Kestra's Prometheus endpoint (`/prometheus` on the management \
port, KESTRA_MANAGEMENT_PORT) and show what an operator watches: executions started and ended by \
state since Kestra started, task runs running, worker threads in use and of how many, jobs \
waiting for a thread (the backlog), JVM heap, GC pauses and uptime. Figures Kestra does not \
expose (yet: some meters appear on first use) show as `-`, never as a made-up zero.\n\n\
A stack kestractl starts asks Basic Auth on the management port (the credential of its \
rendered config, which this command reads); the port is published on 127.0.0.1 only.\n\n\
Examples:\n  \
kestractl metrics\n  \
kestractl metrics --watch --interval 2s\n  \
kestractl metrics -o json | jq .workerJobsPending\n  \
kestractl metrics --raw | grep kestra_executor";

/// What Kestra's Prometheus endpoint says: executions by state, task runs, worker threads, backlog, heap, GC, uptime
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG)]
pub struct Args {
    /// Print the endpoint's Prometheus text as served
    #[arg(long)]
    pub raw: bool,
    /// Refresh until Ctrl-C
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Time between refreshes with --watch
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::cli::values::interval, requires = "watch")]
    pub interval: std::time::Duration,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        metrics(ctx, &self).await
    }
}

/// One scrape: a management port on this machine answers fast or is busy.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricsReport {
    url: String,
    #[serde(flatten)]
    summary: Summary,
    /// Lines of the endpoint's text that were not samples: non-zero means a format this
    /// version of kestractl does not read.
    unparsed_lines: usize,
}

/// A count as Prometheus gives it (a float): whole numbers without decimals.
fn count(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn bytes(v: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if v >= 1024.0 * MIB {
        format!("{:.2} GiB", v / (1024.0 * MIB))
    } else {
        format!("{:.1} MiB", v / MIB)
    }
}

const ABSENT: &str = "-";

fn or_absent(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| ABSENT.to_string(), f)
}

impl MetricsReport {
    fn rows(&self) -> Vec<Vec<String>> {
        let s = &self.summary;
        let mut rows = vec![vec![
            "executions started".into(),
            or_absent(s.executions_started, count),
        ]];
        if s.executions_ended.is_empty() {
            rows.push(vec!["executions ended".into(), ABSENT.into()]);
        }
        for (state, n) in &s.executions_ended {
            rows.push(vec![format!("executions ended {state}"), count(*n)]);
        }
        let threads = match (s.worker_jobs_running, s.worker_threads) {
            (Some(used), Some(all)) => format!("{} of {}", count(used), count(all)),
            (used, all) => format!("{} of {}", or_absent(used, count), or_absent(all, count)),
        };
        let heap = match (s.heap_used_bytes, s.heap_max_bytes) {
            (Some(used), Some(max)) => format!("{} of {}", bytes(used), bytes(max)),
            (Some(used), None) => format!("{} (no limit reported)", bytes(used)),
            (None, _) => ABSENT.into(),
        };
        let gc = match (s.gc_pauses, s.gc_pause_seconds) {
            (Some(n), Some(total)) => format!(
                "{} ({} in total)",
                count(n),
                format_duration(Duration::from_secs_f64(total.max(0.0)))
            ),
            (n, _) => or_absent(n, count),
        };
        rows.extend([
            vec![
                "task runs running".into(),
                or_absent(s.task_runs_running, count),
            ],
            vec!["worker threads in use".into(), threads],
            vec![
                "jobs waiting for a thread".into(),
                or_absent(s.worker_jobs_pending, count),
            ],
            vec!["JVM heap".into(), heap],
            vec!["GC pauses".into(), gc],
            vec![
                "uptime".into(),
                or_absent(s.uptime_seconds, |u| {
                    format_duration(Duration::from_secs(u.max(0.0) as u64))
                }),
            ],
        ]);
        rows
    }
}

impl Render for MetricsReport {
    fn human(&self, out: &Output) -> Result<()> {
        out.print(&format!(
            "{}\n",
            out.paint(Style::Bold, &format!("Kestra metrics from {}", self.url))
        ))?;
        out.table(&["FIGURE", "VALUE"], &self.rows())?;
        if self.unparsed_lines > 0 {
            out.warn(&format!(
                "{} lines of the endpoint's text were not Prometheus samples; `kestractl metrics --raw` shows them",
                self.unparsed_lines
            ));
        }
        Ok(())
    }
}

async fn metrics(ctx: &Ctx, args: &Args) -> Result<Exit> {
    let stack = ctx.stack_settings(&StackFlags::default()).await?;
    // The metrics are this machine's stack's (its management port is published on 127.0.0.1
    // only): said when the current server is another Kestra, whose metrics are not reachable.
    if let Ok(settings) = ctx.settings().await
        && !stack.serves(&settings.server.value)
    {
        ctx.out.note(&format!(
            "Reading the metrics of this machine's stack ({}), not of {} ({}): a Kestra on another \
             machine does not publish its management port",
            stack.kestra_container.value,
            crate::settings::display_url(&settings.server.value),
            settings.server.source
        ));
    }
    let management = local_api::management(&stack, SCRAPE_TIMEOUT)?;
    let url = management.url("/prometheus");
    loop {
        let text = management.prometheus().await?;
        if args.watch && ctx.out.is_terminal() && !ctx.out.is_structured() {
            // Redraw in place, like `watch`: home the cursor and clear the screen.
            ctx.out.print("\x1b[H\x1b[2J")?;
        }
        if args.raw {
            // The text as served when piped; on a terminal, made inert.
            ctx.out.print(&ctx.out.outside_text(&text))?;
        } else {
            // The figures' labels (task types) are the server's text: cleaned before use.
            let (samples, unparsed_lines) = prometheus::parse(&crate::sanitize::clean_str(&text));
            ctx.out.emit(&MetricsReport {
                url: url.clone(),
                summary: Summary::of(&samples),
                unparsed_lines,
            })?;
        }
        if !args.watch {
            return Ok(Exit::Ok);
        }
        tokio::time::sleep(args.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_say_absent_instead_of_zero() {
        let report = MetricsReport {
            url: "http://127.0.0.1:8081/prometheus".into(),
            summary: Summary::of(&prometheus::parse("process_uptime_seconds 3725\n").0),
            unparsed_lines: 0,
        };
        let rows = report.rows();
        let value = |name: &str| {
            rows.iter()
                .find(|r| r[0] == name)
                .map(|r| r[1].clone())
                .unwrap()
        };
        assert_eq!(value("executions started"), "-");
        assert_eq!(value("executions ended"), "-");
        assert_eq!(value("worker threads in use"), "- of -");
        assert_eq!(value("JVM heap"), "-");
        assert_eq!(value("uptime"), format_duration(Duration::from_secs(3725)));
    }

    #[test]
    fn counts_and_sizes_read_naturally() {
        assert_eq!(count(7.0), "7");
        assert_eq!(count(0.5), "0.50");
        assert_eq!(bytes(35.0 * 1024.0 * 1024.0), "35.0 MiB");
        assert_eq!(bytes(2.0 * 1024.0 * 1024.0 * 1024.0), "2.00 GiB");
    }
}
