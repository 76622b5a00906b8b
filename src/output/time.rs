//! Timestamps for people: local time when piped (stable, sortable), relative on a terminal.
//!
//! The local UTC offset can only be read safely while the process has a single thread, so
//! `main` captures it before the runtime starts ([`init_local_offset`]).

use std::sync::OnceLock;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

static LOCAL: OnceLock<UtcOffset> = OnceLock::new();

/// Call once, first thing in `main` (single-threaded). Falls back to UTC when unknown.
pub fn init_local_offset() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL.set(offset);
}

fn local() -> UtcOffset {
    LOCAL.get().copied().unwrap_or(UtcOffset::UTC)
}

pub fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// `2026-11-27 15:40:02` in local time.
pub fn local_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(local());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago` (relative to `now`).
pub fn relative(t: OffsetDateTime, now: OffsetDateTime) -> String {
    // Times read both ways: a key's expiry or a trigger's next run is ahead ("in 1h").
    let secs = (now - t).whole_seconds();
    let span = |s: i64| match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    };
    match secs {
        s if s.abs() < 5 => "just now".into(),
        s if s > 0 => format!("{} ago", span(s)),
        s => format!("in {}", span(-s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = parse("2026-11-27T12:00:00Z").unwrap();
        assert_eq!(
            relative(parse("2026-11-27T11:59:58Z").unwrap(), now),
            "just now"
        );
        assert_eq!(
            relative(parse("2026-11-27T11:59:00Z").unwrap(), now),
            "1m ago"
        );
        assert_eq!(
            relative(parse("2026-11-27T09:00:00Z").unwrap(), now),
            "3h ago"
        );
        assert_eq!(
            relative(parse("2026-11-20T12:00:00Z").unwrap(), now),
            "7d ago"
        );
        // Ahead of now.
        assert_eq!(
            relative(parse("2026-11-27T13:00:00Z").unwrap(), now),
            "in 1h"
        );
        assert_eq!(
            relative(parse("2026-11-27T12:00:30Z").unwrap(), now),
            "in 30s"
        );
        assert_eq!(
            relative(parse("2026-11-29T12:00:00Z").unwrap(), now),
            "in 2d"
        );
        assert_eq!(
            relative(parse("2026-11-27T12:00:03Z").unwrap(), now),
            "just now"
        );
    }

    #[test]
    fn local_time_without_init_is_utc() {
        assert_eq!(
            local_time(parse("2026-11-27T12:00:00.5Z").unwrap()),
            "2026-11-27 12:00:00"
        );
    }
}
