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
    /// A table with every column, nothing cut, whatever the terminal's width.
    Wide,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// `-o wide`: tables are not fitted to the terminal.
    wide: bool,
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
        let wide = requested == Some(Format::Wide);
        // `-o wide` is a table, only not fitted: everywhere else it is `Table`.
        let requested = if wide { Some(Format::Table) } else { requested };
        Output {
            format: requested.unwrap_or(if tty { Format::Table } else { Format::Plain }),
            color: tty && !no_color && !no_color_env,
            tty,
            wide,
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
            wide: false,
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
            crate::sanitize::clean_str(text)
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

    /// Renders rows as an aligned table (terminal) or tab-separated lines (pipe). Columns left
    /// out to fit the terminal are named on stderr, with how to see them.
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) -> Result<()> {
        if self.format != Format::Table {
            return self.print(&self.render_table(headers, rows));
        }
        let (text, dropped) = self.fit(headers, rows);
        self.print(&text)?;
        if !dropped.is_empty() {
            self.note(&format!(
                "({} left out to fit the terminal; -o wide shows every column)",
                dropped.join(", ")
            ));
        }
        Ok(())
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
        self.fit(headers, rows).0
    }

    /// The table fitted to the terminal (every column, nothing cut, with `-o wide`), and the
    /// columns left out.
    fn fit(&self, headers: &[&str], rows: &[Vec<String>]) -> (String, Vec<String>) {
        let paint = |h: &str| self.paint(Style::Bold, h);
        fit_table(headers, &paint, rows, self.width.filter(|_| !self.wide))
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
        let _ = writeln!(err, "warning: {}", crate::sanitize::clean_str(message));
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
    // No spinner may draw over the question (or the answer being typed).
    let _paused = progress::pause_all();
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
        () = crate::signals::ctrl_c() => {
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
        // Not an error: the operator chose; the command ends having done nothing (exit 0).
        let mut said = nothing_done.to_string();
        if let Some(first) = said.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        Err(Error::new(
            crate::error::Kind::Declined,
            format!("{said}."),
            "",
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
/// How a table treats a column when the terminal is narrow, by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// An identifier, a name typed back, a URL or a path: never cut, never dropped (a cut one is
    /// useless, and a wrong one is worse).
    Key,
    /// Free text (a description, a detail): shortened first, dropped last.
    Text,
    /// A short value (a state, a time, a size): never cut; dropped, lowest value first, when
    /// shortening the text is not enough. The number orders the drops (lower goes first).
    Short(u8),
}

/// Columns that are never cut or dropped.
const KEY_COLUMNS: [&str; 22] = [
    "ID",
    "NAMESPACE",
    "FLOW",
    "NAME",
    "KEY",
    "TRIGGER",
    "URL",
    "PATH",
    "TASK",
    "CONTEXT",
    "SERVER",
    "FILE",
    "URI",
    "CHECK",
    "IMAGE",
    "CONTAINER",
    "FIGURE",
    "EXECUTION",
    "SETTING",
    "PART",
    "OUTPUT",
    "REVISION",
];
/// Free-text columns.
const TEXT_COLUMNS: [&str; 7] = [
    "DESCRIPTION",
    "DETAIL",
    "FIX",
    "MESSAGE",
    "LABELS",
    "OUTPUTS",
    "VALUE",
];
/// Short columns, in the order they are dropped (the first goes first); any other short column
/// goes before these.
const DROP_ORDER: [&str; 22] = [
    "ROLE", "CPU", "UPTIME", "DURATION", "SIZE", "TENANT", "USERNAME", "SOURCE", "TYPE", "UPDATED",
    "STARTED", "EXPIRES", "LAST", "NEXT", "HEALTH", "PORTS", "MEMORY", "ACTION", "RESULT",
    "STATUS", "STATE", "CURRENT",
];

fn column_of(header: &str) -> Column {
    if KEY_COLUMNS.contains(&header) {
        Column::Key
    } else if TEXT_COLUMNS.contains(&header) {
        Column::Text
    } else {
        Column::Short(
            DROP_ORDER
                .iter()
                .position(|h| *h == header)
                .map_or(0, |i| u8::try_from(i + 1).unwrap_or(u8::MAX)),
        )
    }
}

/// Text shortened to `width` terminal columns with an ellipsis, cut only between characters
/// (a wide character is never split); colour codes are dropped from a cut cell.
fn truncate_cell(text: &str, width: usize) -> String {
    use tabled::grid::util::string::{get_char_width, get_text_width};
    if get_text_width(text) <= width {
        return text.to_string();
    }
    let plain = strip_ansi(text);
    let mut out = String::new();
    let mut used = 0;
    for c in plain.chars() {
        let w = get_char_width(c);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` without ANSI colour sequences (ours: `ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A table fitted into `max_width` terminal columns, and the headers of the columns left out.
/// Identifiers, names typed back, URLs and paths are never cut or left out: free text is
/// shortened first (down to a readable minimum), then the short columns of least value are left
/// out, then the text; a table of keys alone that is still too wide is shown whole (the terminal
/// wraps it) rather than cut.
fn fit_table(
    headers: &[&str],
    paint: &dyn Fn(&str) -> String,
    rows: &[Vec<String>],
    max_width: Option<usize>,
) -> (String, Vec<String>) {
    use tabled::grid::util::string::get_text_width;
    const GAP: usize = 2;
    const MIN_TEXT: usize = 12;
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| get_text_width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(get_text_width(cell));
        }
    }
    let kinds: Vec<Column> = headers.iter().map(|h| column_of(h)).collect();
    let mut shown = vec![true; n];
    let total = |widths: &[usize], shown: &[bool]| {
        let cols: Vec<usize> = (0..n).filter(|&i| shown[i]).map(|i| widths[i]).collect();
        cols.iter().sum::<usize>() + GAP * cols.len().saturating_sub(1)
    };
    if let Some(max) = max_width {
        // 1. Shorten free text, the widest first, down to a readable minimum.
        while total(&widths, &shown) > max {
            let widest = (0..n)
                .filter(|&i| shown[i] && kinds[i] == Column::Text && widths[i] > MIN_TEXT)
                .max_by_key(|&i| widths[i]);
            let Some(i) = widest else { break };
            let over = total(&widths, &shown) - max;
            widths[i] = widths[i].saturating_sub(over).max(MIN_TEXT);
        }
        // 2. Leave out short columns, least value first (rightmost first among equals); then
        //    free text, rightmost first.
        let mut candidates: Vec<(u8, usize)> = (0..n)
            .filter_map(|i| match kinds[i] {
                Column::Short(order) => Some((order, i)),
                Column::Text => Some((u8::MAX, i)),
                Column::Key => None,
            })
            .collect();
        candidates.sort_by_key(|&(order, i)| (order, std::cmp::Reverse(i)));
        for (_, i) in candidates {
            if total(&widths, &shown) <= max {
                break;
            }
            shown[i] = false;
        }
    }
    let keep: Vec<usize> = (0..n).filter(|&i| shown[i]).collect();
    let mut builder = tabled::builder::Builder::default();
    builder.push_record(keep.iter().map(|&i| paint(headers[i])));
    for row in rows {
        builder.push_record(keep.iter().map(|&i| {
            let cell = row.get(i).map(String::as_str).unwrap_or_default();
            if kinds[i] == Column::Text {
                truncate_cell(cell, widths[i])
            } else {
                cell.to_string()
            }
        }));
    }
    let mut table = builder.build();
    table
        .with(tabled::settings::Style::empty())
        .with(tabled::settings::Padding::new(0, GAP, 0, 0))
        .modify(
            tabled::settings::object::Columns::last(),
            tabled::settings::Padding::zero(),
        );
    let mut text = String::new();
    for line in table.to_string().lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    let dropped = (0..n)
        .filter(|&i| !shown[i])
        .map(|i| headers[i].to_string())
        .collect();
    (text, dropped)
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

    fn fit(headers: &[&str], rows: &[Vec<String>], width: Option<usize>) -> (String, Vec<String>) {
        fit_table(headers, &|h: &str| h.to_string(), rows, width)
    }

    #[test]
    fn wide_characters_line_up() {
        let rows = vec![
            vec!["数据管道".into(), "ok".into()],
            vec!["🚀 launch".into(), "ok".into()],
            vec!["plain".into(), "ok".into()],
        ];
        let text = fit(&["FLOW", "STATE"], &rows, None).0;
        let columns = last_cell_columns(&text, &["STATE", "ok", "ok", "ok"]);
        assert_eq!(columns, [11, 11, 11, 11], "{text}");
        // Colour codes in a cell take no room either.
        let o = Output {
            color: true,
            ..Output::for_tests(Format::Table)
        };
        let painted = vec![vec![o.paint(Style::Red, "数据"), "x".into()]];
        let text = fit(&["NAME", "V"], &painted, None).0;
        assert_eq!(last_cell_columns(&text, &["V", "x"]), [6, 6], "{text}");
    }

    #[test]
    fn a_table_fits_the_terminal_by_shortening_its_text() {
        let rows = vec![
            vec!["prod".into(), "x".repeat(150), "SUCCESS".into()],
            vec!["数据".into(), "y".repeat(30), "FAILED".into()],
        ];
        let headers = ["NAME", "DETAIL", "STATE"];
        let (text, dropped) = fit(&headers, &rows, Some(80));
        for line in text.lines() {
            assert!(visible_width(line) <= 80, "{line:?} is wider than 80");
        }
        // The narrow columns are whole; the text ends with an ellipsis.
        assert!(text.contains("SUCCESS") && text.contains("FAILED") && text.contains("数据"));
        assert!(text.lines().nth(1).unwrap().contains("x…"), "{text}");
        assert!(dropped.is_empty());
        // Without a width (piped to a file through `-o table`), nothing is cut.
        assert!(fit(&headers, &rows, None).0.contains(&"x".repeat(150)));
    }

    /// Terminal pass (issue 28): at 60 and 40 columns execution ids were cut, at 40 every column
    /// was, and a CJK name was cut inside a character.
    #[test]
    fn identifiers_are_never_cut_and_low_value_columns_go_first() {
        let id = "2D67gq3YEhWj1Lk0Xq9Zab";
        let rows = vec![vec![
            id.to_string(),
            "company.team.data".into(),
            "数据管道每日".into(),
            "SUCCESS".into(),
            "2026-12-01 10:00:00".into(),
            "1m12s".into(),
        ]];
        let headers = ["ID", "NAMESPACE", "FLOW", "STATE", "STARTED", "DURATION"];
        for width in [100, 60, 40, 20] {
            let (text, dropped) = fit(&headers, &rows, Some(width));
            assert!(text.contains(id), "{width}: {text}");
            assert!(text.contains("company.team.data"), "{width}: {text}");
            assert!(text.contains("数据管道每日"), "{width}: {text}");
            assert!(
                !text.contains('\u{fffd}') && !text.contains('…'),
                "{width}: {text}"
            );
            // Keys alone take 55 columns: narrower, they are shown whole (the terminal wraps).
            if width >= 60 {
                for line in text.lines() {
                    assert!(visible_width(line) <= width, "{width}: {line:?}");
                }
            }
            if width <= 60 {
                // Least value first: the duration and the start time go before the state.
                assert!(
                    dropped.contains(&"DURATION".to_string()),
                    "{width}: {dropped:?}"
                );
                assert!(
                    dropped.contains(&"STARTED".to_string()),
                    "{width}: {dropped:?}"
                );
            }
        }
        assert!(fit(&headers, &rows, Some(100)).1.is_empty());
        // A cut text never splits a wide character.
        assert_eq!(truncate_cell("数据管道每日的说明", 9), "数据管道…");
        assert_eq!(truncate_cell("abcdef", 4), "abc…");
        assert_eq!(truncate_cell("abc", 4), "abc");
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
