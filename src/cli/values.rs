//! Typed values of the command line. clap's value parsers turn the text of a flag into the value
//! the commands use (a `Duration`, a point in time, states, `key=value` pairs), so a command never
//! re-parses a string. A bad value is kestractl's own usage error (message and hint, exit 2),
//! which `main` prints like any other.

use std::time::Duration;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::kestra::state::ExecutionState;
use crate::output::time as otime;
use crate::settings::duration::parse_duration;

/// `--wait-timeout`.
pub fn wait_timeout(text: &str) -> Result<Duration> {
    parse_duration(text).map_err(|m| Error::usage(m, "fix --wait-timeout"))
}

/// `stop --grace`.
pub fn grace(text: &str) -> Result<Duration> {
    parse_duration(text).map_err(|m| Error::usage(m, "fix --grace"))
}

/// `logs --since`: a duration back from now.
pub fn logs_since(text: &str) -> Result<Duration> {
    parse_duration(text).map_err(|m| Error::usage(m, "fix --since"))
}

/// A flow as `NAMESPACE ID` or `NAMESPACE/ID`: namespaces and ids never hold a `/`, so the last
/// one splits the word.
pub fn flow_ref(namespace: &str, id: Option<&str>) -> Result<(String, String)> {
    match (id, namespace.rsplit_once('/')) {
        (Some(id), None) => Ok((namespace.to_string(), id.to_string())),
        (None, Some((ns, id))) if !ns.is_empty() && !id.is_empty() => {
            Ok((ns.to_string(), id.to_string()))
        }
        (Some(_), Some(_)) => Err(Error::usage(
            format!("`{namespace}` already names a flow (NAMESPACE/ID) and an id follows it"),
            "give the flow as NAMESPACE ID or as NAMESPACE/ID, not both",
        )),
        _ => Err(Error::usage(
            format!("`{namespace}` names a namespace but no flow"),
            "give the flow as NAMESPACE ID or NAMESPACE/ID, e.g. company.team hello",
        )),
    }
}

/// `logs [kestra|postgres]`. An execution's id here is a common slip (`kestractl logs ID`): the
/// error names the command that shows an execution's logs.
pub fn service(text: &str) -> Result<super::Service> {
    match text.to_ascii_lowercase().as_str() {
        "kestra" => Ok(super::Service::Kestra),
        "postgres" => Ok(super::Service::Postgres),
        _ if looks_like_execution_id(text) => Err(Error::usage(
            format!("`{text}` looks like an execution id, not a container"),
            format!("an execution's logs: `kestractl executions logs {text}` (-f to follow)"),
        )),
        _ => Err(Error::usage(
            format!("`{text}` is not a container of the stack"),
            "use kestra or postgres, or nothing for both",
        )),
    }
}

/// Kestra's execution ids: base62 UUIDs, 22 characters (`IdUtils.create`, FriendlyId); a few
/// more or fewer tolerated.
fn looks_like_execution_id(text: &str) -> bool {
    (18..=26).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `kv set --ttl`: at least a second (Kestra keeps expiry dates to the millisecond, but a key
/// that expires before it can be read is a slip).
pub fn kv_ttl(text: &str) -> Result<Duration> {
    let d = parse_duration(text).map_err(|m| Error::usage(m, "fix --ttl, e.g. 1h or 7d"))?;
    if d < Duration::from_secs(1) {
        return Err(Error::usage(
            format!("--ttl {text} is shorter than a second"),
            "use 1s or more",
        ));
    }
    Ok(d)
}

/// `metrics --interval`: at least a second, so a watch does not hammer the server.
pub fn interval(text: &str) -> Result<Duration> {
    let d = parse_duration(text).map_err(|m| Error::usage(m, "fix --interval, e.g. 5s"))?;
    if d < Duration::from_secs(1) {
        return Err(Error::usage(
            format!("--interval {text} is shorter than a second"),
            "use 1s or more",
        ));
    }
    Ok(d)
}

/// `key=value` (labels, inputs). The key must not be empty.
pub fn parse_pair(text: &str, what: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(Error::usage(
            format!(
                "`{text}` is not {} {what}: expected KEY=VALUE",
                if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                }
            ),
            format!("write the {what} as key=value, e.g. team=data"),
        )),
    }
}

/// `--label team=data`.
pub fn label(text: &str) -> Result<(String, String)> {
    parse_pair(text, "label")
}

/// `--input name=value` (a value starting with `@` names a file, checked when the run starts).
pub fn input(text: &str) -> Result<(String, String)> {
    parse_pair(text, "input")
}

/// A point in time on the command line: a duration back from now, or a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Ago(Duration),
    At(OffsetDateTime),
}

impl When {
    pub fn resolve(self, now: OffsetDateTime) -> OffsetDateTime {
        match self {
            When::Ago(d) => now - time::Duration::try_from(d).unwrap_or(time::Duration::ZERO),
            When::At(t) => t,
        }
    }
}

fn when(text: &str, flag: &str) -> Result<When> {
    if let Ok(d) = parse_duration(text) {
        return Ok(When::Ago(d));
    }
    if let Some(t) = otime::parse(text) {
        return Ok(When::At(t));
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &date_format) {
        return Ok(When::At(date.midnight().assume_utc()));
    }
    Err(Error::usage(
        format!("`{text}` is neither a duration nor a date"),
        format!(
            "{flag} takes a duration back from now (24h, 7d) or a date (2026-11-01, 2026-11-01T10:00:00Z)"
        ),
    ))
}

/// `--since 24h` / `--since 2026-11-01` / `--since 2026-11-01T10:00:00Z`.
pub fn since(text: &str) -> Result<When> {
    when(text, "--since")
}

/// `--until`, in the same forms as `--since`.
pub fn until(text: &str) -> Result<When> {
    when(text, "--until")
}

/// The states of one `--state` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct States(pub Vec<ExecutionState>);

/// `--state failed,warning`.
pub fn states(text: &str) -> Result<States> {
    parse_states(&[text.to_string()]).map(States)
}

/// Every `--state` given, in order, each state once.
pub fn merge_states(lists: &[States]) -> Vec<ExecutionState> {
    let mut out: Vec<ExecutionState> = Vec::new();
    for s in lists.iter().flat_map(|l| &l.0) {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// `--state failed,warning` → `FAILED`, `WARNING`; Kestra 1.x's `CANCELED` is read as `CANCELLED`.
pub fn parse_states(values: &[String]) -> Result<Vec<ExecutionState>> {
    let mut out = Vec::new();
    for part in values.iter().flat_map(|v| v.split(',')) {
        // `failed,,warning` and a trailing comma: an empty part is no state, and no error.
        if part.trim().is_empty() {
            continue;
        }
        let Ok(s) = part.parse::<ExecutionState>() else {
            let known: Vec<&str> = ExecutionState::KNOWN
                .iter()
                .map(ExecutionState::as_str)
                .collect();
            return Err(Error::usage(
                format!("`{part}` is not an execution state"),
                format!("use one of: {}", known.join(", ")),
            ));
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn logs_takes_a_container_and_points_an_execution_id_elsewhere() {
        assert_eq!(service("kestra").unwrap(), crate::cli::Service::Kestra);
        assert_eq!(service("Postgres").unwrap(), crate::cli::Service::Postgres);
        let e = service("4fGpDPJmkkZ8lAfd1a2QqE").unwrap_err();
        assert!(e.message().contains("looks like an execution id"), "{e:?}");
        assert!(
            e.hint()
                .unwrap()
                .contains("kestractl executions logs 4fGpDPJmkkZ8lAfd1a2QqE")
        );
        assert!(
            service("redis")
                .unwrap_err()
                .message()
                .contains("not a container")
        );
    }

    #[test]
    fn a_flow_is_two_words_or_one_with_a_slash() {
        let ok = |ns: &str, id: Option<&str>| flow_ref(ns, id).unwrap();
        assert_eq!(
            ok("company.team", Some("hello")),
            ("company.team".into(), "hello".into())
        );
        assert_eq!(
            ok("company.team/hello", None),
            ("company.team".into(), "hello".into())
        );
        for (ns, id) in [
            ("company.team", None),
            ("company.team/", None),
            ("/hello", None),
            ("company.team/hello", Some("hello")),
        ] {
            assert!(flow_ref(ns, id).is_err(), "{ns} {id:?}");
        }
    }

    use super::*;

    fn now() -> OffsetDateTime {
        otime::parse("2026-11-27T12:00:00Z").unwrap()
    }

    /// What `executions --since/--until` gets at `now`.
    fn parse_when(text: &str, now: OffsetDateTime, flag: &str) -> Result<OffsetDateTime> {
        when(text, flag).map(|w| w.resolve(now))
    }

    #[test]
    fn pairs_and_states() {
        assert_eq!(
            parse_pair("team=data=x", "label").unwrap(),
            ("team".into(), "data=x".into())
        );
        assert!(parse_pair("=x", "label").is_err());
        assert!(
            parse_pair("novalue", "label")
                .unwrap_err()
                .to_string()
                .contains("KEY=VALUE")
        );
        assert_eq!(
            parse_states(&["failed,Warning".into(), "canceled".into(), "FAILED".into()]).unwrap(),
            ["FAILED", "WARNING", "CANCELLED"]
        );
        let err = parse_states(&["DONE".into()]).unwrap_err();
        assert!(err.hint().unwrap().contains("SUCCESS"));
        // Repeated --state flags merge the same way one comma-separated value does.
        let lists: Vec<States> = ["failed,Warning", "canceled", "FAILED"]
            .iter()
            .map(|t| states(t).unwrap())
            .collect();
        assert_eq!(merge_states(&lists), ["FAILED", "WARNING", "CANCELLED"]);
    }

    #[test]
    fn when_accepts_durations_and_dates() {
        assert_eq!(
            parse_when("24h", now(), "--since").unwrap(),
            otime::parse("2026-11-26T12:00:00Z").unwrap()
        );
        assert_eq!(
            parse_when("2026-11-01", now(), "--since").unwrap(),
            otime::parse("2026-11-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_when("2026-11-01T10:00:00+02:00", now(), "--since").unwrap(),
            otime::parse("2026-11-01T08:00:00Z").unwrap()
        );
        let err = parse_when("yesterday", now(), "--since").unwrap_err();
        assert!(err.hint().unwrap().contains("24h"));
    }

    #[test]
    fn durations_name_their_flag() {
        assert_eq!(wait_timeout("3m").unwrap(), Duration::from_secs(180));
        assert!(
            wait_timeout("-1s")
                .unwrap_err()
                .hint()
                .unwrap()
                .contains("--wait-timeout")
        );
        assert!(
            grace("soon")
                .unwrap_err()
                .hint()
                .unwrap()
                .contains("--grace")
        );
    }
}
