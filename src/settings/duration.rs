//! Human durations on the command line and in settings: `500ms`, `30s`, `5m`, `2h`, `7d`, or a bare
//! number of seconds. Kept tiny and strict so a typo gives a message that shows the accepted forms.

use std::time::Duration;

/// The accepted forms, for error messages.
pub const DURATION_FORMS: &str = "a number with a unit: 500ms, 30s, 5m, 2h, 7d, 1w, or a sum such as 1m30s (a bare number means seconds)";

/// The longest duration accepted.
const MAX_SECONDS: f64 = 10.0 * 365.0 * 86_400.0;

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("empty duration; expected {DURATION_FORMS}"));
    }
    // Said plainly: "not a duration" would leave the operator wondering what is wrong with `-1s`.
    if t.strip_prefix('-')
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    {
        return Err(format!(
            "`{text}` is negative; expected a positive duration, {DURATION_FORMS}"
        ));
    }
    // `1h2m3s` (what `format_duration` prints) is a sum of parts, each with its unit; a part
    // starts at a digit that follows a unit.
    let mut parts = Vec::new();
    let mut start = 0;
    let mut after_unit = false;
    for (i, c) in t.char_indices() {
        let numeric = c.is_ascii_digit() || c == '.';
        if numeric && after_unit {
            parts.push(&t[start..i]);
            start = i;
        }
        if !c.is_whitespace() {
            after_unit = !numeric;
        }
    }
    parts.push(&t[start..]);
    let mut secs = 0.0;
    for part in &parts {
        secs += parse_part(text, part.trim(), parts.len() == 1)?;
    }
    if !secs.is_finite() || !(0.0..=MAX_SECONDS).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// One `<number><unit>` part, in seconds; `text` is the whole value, for messages.
fn parse_part(text: &str, t: &str, bare_allowed: bool) -> Result<f64, String> {
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; expected {DURATION_FORMS}"))?;
    let seconds_per_unit = match unit.trim() {
        "" if !bare_allowed => {
            return Err(format!(
                "`{text}` needs a unit after each number of a sum; expected {DURATION_FORMS}"
            ));
        }
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "wk" | "week" | "weeks" => 604_800.0,
        other => {
            return Err(format!(
                "`{text}` has an unknown unit `{other}`; expected {DURATION_FORMS}"
            ));
        }
    };
    let secs = value * seconds_per_unit;
    if !secs.is_finite() || !(0.0..=MAX_SECONDS).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(secs)
}

/// Renders a duration the way we accept it back (`1m30s` style): milliseconds under a minute,
/// whole seconds from a minute on.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let total = d.as_secs();
    let (days, h, m, s) = (
        total / 86_400,
        (total % 86_400) / 3600,
        (total % 3600) / 60,
        total % 60,
    );
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    // One way of printing, whatever the length: milliseconds under a second, tenths under ten
    // seconds, whole seconds beyond (`39.147s` next to `1m12s` read as two different tools).
    let tenths = d.subsec_millis() / 100;
    if s > 0 || out.is_empty() {
        if total < 10 && tenths > 0 {
            out.push_str(&format!("{s}.{tenths}s"));
        } else {
            out.push_str(&format!("{s}s"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_units_and_bare_seconds() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(
            parse_duration("1w").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_duration("2weeks").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
    }

    #[test]
    fn rejects_garbage_with_the_accepted_forms() {
        for bad in [
            "",
            "abc",
            "5 parsecs",
            "-1s",
            "1e400s",
            "s",
            "1m30",
            "1h-2m",
            "3650d1s",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.contains("500ms") || err.contains("out of range"),
                "{bad}: {err}"
            );
        }
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(!parse_duration("-v").unwrap_err().contains("negative"));
    }

    /// Found by the `settings` fuzz target: `8080` printed as `2h14m40s`, which was refused, so a
    /// duration kestractl printed (`no answer within 1m30s`) could not be given back to it.
    #[test]
    fn durations_print_one_way() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(4_260)), "4.2s");
        assert_eq!(format_duration(Duration::from_millis(39_147)), "39s");
        assert_eq!(format_duration(Duration::from_millis(72_400)), "1m12s");
        assert_eq!(format_duration(Duration::from_secs(3_600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(7 * 86_400)), "7d");
        assert_eq!(format_duration(Duration::from_secs(86_400 + 90)), "1d1m30s");
    }

    #[test]
    fn printed_durations_parse_back() {
        for d in [
            Duration::from_millis(250),
            Duration::from_secs(5),
            Duration::from_secs(90),
            Duration::from_secs(3600 + 61),
            Duration::from_millis(1500),
            Duration::from_secs(39),
            Duration::from_secs(8080),
            Duration::from_secs(10 * 365 * 86_400),
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{d:?}");
        }
        assert_eq!(
            parse_duration("2h14m40s").unwrap(),
            Duration::from_secs(8080)
        );
        assert_eq!(
            parse_duration("1m 30.5s").unwrap(),
            Duration::from_millis(90_500)
        );
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            Duration::from_secs(129_600)
        );
        // Printing keeps milliseconds under a minute, whole seconds from a minute on.
        assert_eq!(format_duration(Duration::from_millis(90_500)), "1m30s");
    }
}
