//! Rendering for stdout and stderr.
//!
//! Tables only on a terminal; plain tab-separated lines when piped (no header, no padding, no
//! colour, so `cut`/`awk` work); `-o json|jsonl|yaml` on request. Colour only on a terminal and never
//! with `--no-color` or `NO_COLOR`. Warnings, progress and errors go to stderr.

pub mod man;
pub mod progress;
pub mod time;

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::error::{Error, Result, stdout_error};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with a header (the default on a terminal).
    Table,
    /// Tab-separated lines without a header (the default when piped).
    Plain,
    Json,
    /// One JSON document per line, for streaming into `jq -c` and friends.
    Jsonl,
    Yaml,
}

/// A command's report. It serialises for `-o json|jsonl|yaml` and knows its own human form (a
/// table, a record, a few lines) for a terminal or a pipe; [`Output::emit`] picks.
pub trait Render: Serialize {
    fn human(&self, out: &Output) -> Result<()>;
}

#[derive(Debug, Clone, Copy)]
pub enum Style {
    Bold,
    Green,
    Red,
    Yellow,
    Dim,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    color: bool,
    tty: bool,
    /// The terminal's width in columns, which tables fit into (none when piped).
    width: Option<usize>,
    /// Unit tests read what a report renders here (stdout, stderr) instead of the process's
    /// streams.
    #[cfg(test)]
    captured: Option<std::sync::Arc<std::sync::Mutex<Captured>>>,
}

/// What an [`Output`] made for a unit test printed.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Captured {
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// `requested` is `-o`; `no_color` is `--no-color`; `no_color_env` is whether `NO_COLOR` is set
    /// to a non-empty value.
    pub fn new(requested: Option<Format>, no_color: bool, no_color_env: bool) -> Self {
        let tty = std::io::stdout().is_terminal();
        Output {
            format: requested.unwrap_or(if tty { Format::Table } else { Format::Plain }),
            color: tty && !no_color && !no_color_env,
            tty,
            width: terminal_size::terminal_size_of(std::io::stdout())
                .map(|(width, _)| usize::from(width.0)),
            #[cfg(test)]
            captured: None,
        }
    }

    #[cfg(test)]
    pub fn for_tests(format: Format) -> Self {
        Output {
            format,
            color: false,
            tty: false,
            width: None,
            captured: None,
        }
    }

    /// An output whose prints a test reads back (no terminal, no colour).
    #[cfg(test)]
    pub fn capturing(format: Format) -> (Self, std::sync::Arc<std::sync::Mutex<Captured>>) {
        let captured = std::sync::Arc::new(std::sync::Mutex::new(Captured::default()));
        let out = Output {
            captured: Some(captured.clone()),
            ..Output::for_tests(format)
        };
        (out, captured)
    }

    /// Text from outside (a container's log) for stdout: made inert on a terminal, where an
    /// escape sequence would act; as it is when piped.
    pub fn outside_text<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.tty {
            crate::inert::clean_str(text)
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }

    /// A command's result: serialised as is for `-o json|jsonl|yaml`, its human form otherwise.
    pub fn emit(&self, report: &impl Render) -> Result<()> {
        if self.is_structured() {
            self.structured(report)
        } else {
            report.human(self)
        }
    }

    /// Whether stdout is a terminal (a redraw in place only makes sense there).
    pub fn is_terminal(&self) -> bool {
        self.tty
    }

    /// A point in time in a table cell, by one rule everywhere: relative ("3 min ago") on a
    /// terminal, the local ISO time when piped; `-` when absent or unreadable.
    pub fn time_cell(&self, text: Option<&str>, now: ::time::OffsetDateTime) -> String {
        match text.and_then(time::parse) {
            Some(t) if self.format == Format::Table => time::relative(t, now),
            Some(t) => time::local_time(t),
            None => "-".into(),
        }
    }

    pub fn is_structured(&self) -> bool {
        matches!(self.format, Format::Json | Format::Jsonl | Format::Yaml)
    }

    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Bold => "1",
            Style::Green => "32",
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Writes text to stdout as is.
    pub fn print(&self, text: &str) -> Result<()> {
        #[cfg(test)]
        if let Some(c) = &self.captured {
            c.lock()
                .map_err(|_| anyhow::anyhow!("capture poisoned"))?
                .stdout
                .push_str(text);
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).map_err(stdout_error)?;
        out.flush().map_err(stdout_error)
    }

    /// Writes a structured value in the chosen structured format.
    pub fn structured<T: Serialize>(&self, value: &T) -> Result<()> {
        self.print(&render_structured(self.format, value)?)
    }

    /// Renders rows as an aligned table (terminal) or tab-separated lines (pipe).
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) -> Result<()> {
        self.print(&self.render_table(headers, rows))
    }

    pub fn render_table(&self, headers: &[&str], rows: &[Vec<String>]) -> String {
        if self.format != Format::Table {
            let mut text = String::new();
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| plain_cell(c)).collect();
                text.push_str(&cells.join("\t"));
                text.push('\n');
            }
            return text;
        }
        let headers = headers.iter().map(|h| self.paint(Style::Bold, h));
        fit_table(headers, rows, self.width)
    }

    /// A record of labelled values: `Label:  value` on a terminal, `key<TAB>value` when piped.
    pub fn record(&self, fields: &[(&str, String)]) -> Result<()> {
        self.print(&self.render_record(fields))
    }

    pub fn render_record(&self, fields: &[(&str, String)]) -> String {
        let mut text = String::new();
        if self.format != Format::Table {
            for (k, v) in fields {
                text.push_str(&format!("{}\t{}\n", record_key(k), plain_cell(v)));
            }
            return text;
        }
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        for (k, v) in fields {
            let label = format!("{k}:");
            text.push_str(&format!(
                "{}{} {v}\n",
                self.paint(Style::Bold, &label),
                " ".repeat(width - label.len())
            ));
        }
        text
    }

    pub fn warn(&self, message: &str) {
        Output::warn_line(message);
    }

    /// A warning from code that holds no `Output` (a callback of the API client). It may quote
    /// a server or a file: made inert.
    pub fn warn_line(message: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "warning: {}", crate::inert::clean_str(message));
    }

    pub fn note(&self, message: &str) {
        #[cfg(test)]
        if let Some(Ok(mut c)) = self.captured.as_ref().map(|c| c.lock()) {
            c.stderr.push_str(message);
            c.stderr.push('\n');
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{message}");
    }
}

/// `1 flow`, `2 flows`, `0 flows`: a count with its noun (every noun kestractl counts takes an
/// `s`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Asks a yes/no question on the terminal: `question [y/N] `, `y` or `yes` goes on, anything
/// else (Enter included) is a no. Without a terminal it refuses (exit 2) rather than guess.
/// `why` says what needs the question ("deleting a flow"), `nothing_done` what an answer other
/// than yes leaves ("nothing was deleted"); both end up in the error. Ctrl-C at the prompt ends
/// at once (exit 130) with the same words: the line is read on a thread of its own, so the
/// signal is never stuck behind a blocking read.
pub async fn confirm(question: &str, why: &str, nothing_done: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(
            format!(
                "{why}: kestractl asks before doing that, but there is no terminal to ask on; {nothing_done}"
            ),
            "pass --yes to confirm non-interactively",
        ));
    }
    {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Detached: if Ctrl-C wins, the process ends with this read still blocked, which is fine.
    std::thread::spawn(move || {
        let mut answer = String::new();
        let read = std::io::stdin().read_line(&mut answer).map(|_| answer);
        let _ = tx.send(read);
    });
    let answer = tokio::select! {
        read = rx => read
            .map_err(|_| Error::other("the answer could not be read"))?
            .map_err(|e| Error::io("cannot read the answer from", "stdin", e))?,
        _ = tokio::signal::ctrl_c() => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err);
            return Err(Error::new(
                crate::error::Kind::Interrupted,
                format!("interrupted at the prompt: {nothing_done}"),
                "",
            ));
        }
    };
    if is_yes(&answer) {
        Ok(())
    } else {
        Err(Error::usage(
            nothing_done.to_string(),
            "answer y to go on, or pass --yes to skip the question",
        ))
    }
}

/// `y` or `yes`, any case, surrounding blanks ignored.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub fn render_structured<T: Serialize>(format: Format, value: &T) -> Result<String> {
    let text = match format {
        Format::Yaml => serde_saphyr::to_string(value)
            .map_err(|e| Error::from(anyhow::anyhow!("cannot render YAML: {e}")))?,
        Format::Jsonl => {
            let mut s = serde_json::to_string(value).map_err(anyhow::Error::from)?;
            s.push('\n');
            s
        }
        _ => {
            let mut s = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
            s.push('\n');
            s
        }
    };
    Ok(text)
}

/// `Kestra version` → `kestra_version`, for piped key/value lines.
fn record_key(label: &str) -> String {
    label.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

/// Tabs and newlines inside a value would break tab-separated lines.
fn plain_cell(cell: &str) -> String {
    cell.replace(['\t', '\n', '\r'], " ")
}

/// Aligned columns two spaces apart under a header, no borders, no trailing spaces. Widths are
/// display widths; with `max_width` the widest column is truncated (with "…") until every line
/// fits.
fn fit_table(
    headers: impl IntoIterator<Item = String>,
    rows: &[Vec<String>],
    max_width: Option<usize>,
) -> String {
    use tabled::settings::object::Columns;
    use tabled::settings::peaker::Priority;
    use tabled::settings::{Padding, Width};

    let mut builder = tabled::builder::Builder::default();
    builder.push_record(headers);
    for row in rows {
        builder.push_record(row.iter().map(String::as_str));
    }
    let mut table = builder.build();
    table
        .with(tabled::settings::Style::empty())
        .with(Padding::new(0, 2, 0, 0))
        .modify(Columns::last(), Padding::zero());
    if let Some(width) = max_width {
        table.with(
            Width::truncate(width)
                .suffix("…")
                .priority(Priority::max(true)),
        );
    }
    let mut text = String::new();
    for line in table.to_string().lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_take_the_plural_they_need() {
        assert_eq!(super::count(1, "flow"), "1 flow");
        assert_eq!(super::count(0, "flow"), "0 flows");
        assert_eq!(super::count(2, "task run"), "2 task runs");
    }

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y", "Y", "yes", "YES", " yes\n", "y\r\n"] {
            assert!(super::is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "oui", "ye"] {
            assert!(!super::is_yes(no), "{no:?}");
        }
    }

    use super::*;

    /// Width as shown on screen, in terminal columns: ANSI sequences take no room, East Asian wide
    /// characters and most emoji take two.
    fn visible_width(s: &str) -> usize {
        tabled::grid::util::string::get_text_width(s)
    }

    fn rows() -> Vec<Vec<String>> {
        vec![
            vec!["prod".into(), "https://k.example.com".into()],
            vec!["local".into(), "http://localhost:8080".into()],
        ]
    }

    #[test]
    fn table_aligns_columns() {
        let o = Output::for_tests(Format::Table);
        assert_eq!(
            o.render_table(&["NAME", "SERVER"], &rows()),
            "NAME   SERVER\nprod   https://k.example.com\nlocal  http://localhost:8080\n"
        );
    }

    #[test]
    fn plain_is_tab_separated_without_header() {
        let o = Output::for_tests(Format::Plain);
        assert_eq!(
            o.render_table(&["NAME", "SERVER"], &rows()),
            "prod\thttps://k.example.com\nlocal\thttp://localhost:8080\n"
        );
        assert_eq!(
            o.render_record(&[
                ("Kestra version", "2.0.5".into()),
                ("Note", "a\tb\nc".into())
            ]),
            "kestra_version\t2.0.5\nnote\ta b c\n"
        );
    }

    #[test]
    fn record_on_terminal_aligns_labels() {
        let o = Output::for_tests(Format::Table);
        assert_eq!(
            o.render_record(&[("Server", "x".into()), ("Version", "2.0.5".into())]),
            "Server:  x\nVersion: 2.0.5\n"
        );
    }

    /// The display column each line's last cell starts at.
    fn last_cell_columns(text: &str, last: &[&str]) -> Vec<usize> {
        text.lines()
            .zip(last)
            .map(|(line, cell)| visible_width(&line[..line.rfind(cell).unwrap()]))
            .collect()
    }

    #[test]
    fn wide_characters_line_up() {
        let rows = vec![
            vec!["数据管道".into(), "ok".into()],
            vec!["🚀 launch".into(), "ok".into()],
            vec!["plain".into(), "ok".into()],
        ];
        let text = fit_table(["FLOW".to_string(), "STATE".to_string()], &rows, None);
        let columns = last_cell_columns(&text, &["STATE", "ok", "ok", "ok"]);
        assert_eq!(columns, [11, 11, 11, 11], "{text}");
        // Colour codes in a cell take no room either.
        let o = Output {
            color: true,
            ..Output::for_tests(Format::Table)
        };
        let painted = vec![vec![o.paint(Style::Red, "数据"), "x".into()]];
        let text = fit_table(["NAME".to_string(), "V".to_string()], &painted, None);
        assert_eq!(last_cell_columns(&text, &["V", "x"]), [6, 6], "{text}");
    }

    #[test]
    fn a_table_fits_the_terminal_by_truncating_its_widest_column() {
        let rows = vec![
            vec!["prod".into(), "x".repeat(150), "SUCCESS".into()],
            vec!["数据".into(), "y".repeat(30), "FAILED".into()],
        ];
        let headers = ["NAME", "DETAIL", "STATE"].map(String::from);
        let text = fit_table(headers.clone(), &rows, Some(80));
        for line in text.lines() {
            assert!(visible_width(line) <= 80, "{line:?} is wider than 80");
        }
        // The narrow columns are whole; the wide one ends with an ellipsis.
        assert!(text.contains("SUCCESS") && text.contains("FAILED") && text.contains("数据"));
        assert!(text.lines().nth(1).unwrap().contains("x…"), "{text}");
        // Without a width (piped to a file through `-o table`), nothing is cut.
        assert!(fit_table(headers, &rows, None).contains(&"x".repeat(150)));
    }

    #[test]
    fn no_colour_without_a_terminal() {
        let o = Output::for_tests(Format::Table);
        assert_eq!(o.paint(Style::Red, "x"), "x");
        assert_eq!(visible_width("\x1b[31mabc\x1b[0m"), 3);
    }

    #[test]
    fn structured_formats() {
        #[derive(Serialize)]
        struct R {
            a: u32,
        }
        assert_eq!(
            render_structured(Format::Json, &R { a: 1 }).unwrap(),
            "{\n  \"a\": 1\n}\n"
        );
        assert_eq!(
            render_structured(Format::Jsonl, &R { a: 1 }).unwrap(),
            "{\"a\":1}\n"
        );
        assert_eq!(
            render_structured(Format::Yaml, &R { a: 1 }).unwrap().trim(),
            "a: 1"
        );
    }
}
