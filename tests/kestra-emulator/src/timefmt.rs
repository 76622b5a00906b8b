//! Dates and durations as Kestra's Jackson mapper writes them: instants in ISO-8601 UTC like Java's
//! `Instant.toString()`, durations like `Duration.toString()` (`PT2.531S`). Internally the emulator
//! keeps instants as milliseconds since the epoch: cheap to sort, index and store.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `2024-11-21T16:31:27.943Z`; the fraction is omitted when zero, as `Instant.toString()` does.
pub fn fmt_instant(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let Ok(dt) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return "1970-01-01T00:00:00Z".into();
    };
    let (y, mo, d) = (dt.year(), u8::from(dt.month()), dt.day());
    let (h, mi, s) = (dt.hour(), dt.minute(), dt.second());
    let frac = ms.rem_euclid(1000);
    if frac == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}Z")
    }
}

/// RFC 3339 / ISO-8601 with offset, as accepted by Kestra's `ZonedDateTime` query parameters.
pub fn parse_instant(s: &str) -> Option<i64> {
    let dt = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Java `Duration.toString()` for a non-negative millisecond count.
pub fn fmt_duration(ms: i64) -> String {
    if ms <= 0 {
        return "PT0S".into();
    }
    let hours = ms / 3_600_000;
    let minutes = (ms % 3_600_000) / 60_000;
    let secs = (ms % 60_000) / 1000;
    let frac = ms % 1000;
    let mut out = String::from("PT");
    if hours > 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if secs > 0 || frac > 0 {
        if frac > 0 {
            let f = format!("{frac:03}");
            out.push_str(&format!("{secs}.{}S", f.trim_end_matches('0')));
        } else {
            out.push_str(&format!("{secs}S"));
        }
    }
    out
}

/// ISO-8601 durations as Java's `Duration.parse` takes them (`PT168H`, `P1D`, `PT0.5S`), in ms.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_uppercase();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, s.strip_prefix('+').unwrap_or(&s).to_string()),
    };
    let body = s.strip_prefix('P')?;
    let (date_part, time_part) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let mut total: f64 = 0.0;
    let mut any = false;
    let mut num = String::new();
    for c in date_part.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
        } else if c == 'D' {
            total += num.parse::<f64>().ok()? * 86_400_000.0;
            num.clear();
            any = true;
        } else {
            return None;
        }
    }
    if !num.is_empty() {
        return None;
    }
    if let Some(t) = time_part {
        if t.is_empty() {
            return None;
        }
        for c in t.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let unit = match c {
                'H' => 3_600_000.0,
                'M' => 60_000.0,
                'S' => 1000.0,
                _ => return None,
            };
            total += num.parse::<f64>().ok()? * unit;
            num.clear();
            any = true;
        }
        if !num.is_empty() {
            return None;
        }
    }
    if !any {
        return None;
    }
    // Rounding to whole milliseconds is the precision the emulator keeps anyway.
    #[allow(clippy::cast_possible_truncation)]
    let ms = total.round() as i64;
    Some(if neg { -ms } else { ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(fmt_instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_instant(1_732_206_687_943), "2024-11-21T16:31:27.943Z");
        assert_eq!(
            parse_instant("2024-11-21T16:31:27.943Z"),
            Some(1_732_206_687_943)
        );
        assert_eq!(
            parse_instant("2024-11-21T17:31:27.943+01:00"),
            Some(1_732_206_687_943)
        );
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(0), "PT0S");
        assert_eq!(fmt_duration(2531), "PT2.531S");
        assert_eq!(fmt_duration(2500), "PT2.5S");
        assert_eq!(fmt_duration(65_000), "PT1M5S");
        assert_eq!(fmt_duration(3_600_000), "PT1H");
        assert_eq!(parse_duration("PT168H"), Some(168 * 3_600_000));
        assert_eq!(parse_duration("P1D"), Some(86_400_000));
        assert_eq!(parse_duration("PT0.5S"), Some(500));
        assert_eq!(parse_duration("P1DT1M"), Some(86_460_000));
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("168h"), None);
    }
}
