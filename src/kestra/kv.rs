//! Kestra's KV store (`KVController`, 1.3.25
//! `webserver/…/controllers/api/KVController.java`; the same routes in the 2.0 spec): the keys of
//! a namespace, one value, setting and deleting one.
//!
//! Kestra reads a value it is given (`PUT …/kv/{key}`, `text/plain`) with its Ion reader and
//! stores what that reader makes of it: `42` a number, `true` a boolean, `{"a":1}` JSON,
//! `2026-01-01T10:00:00Z` a timestamp, `"text"` a string. Unquoted text is an Ion symbol list, so
//! `hello world` would be kept as `hello` alone. The encoding below therefore always sends a
//! string quoted, and checks a value against the type asked for before anything is sent.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use super::client::{Body, KestraClient, Request};
use super::error::ApiError;
use super::model::Paged;
use super::routes::segment;
use reqwest::Method;

/// The types a value can be stored as (`KVType`). DURATION has no Ion form: Kestra stores the
/// text and reports any string of its duration pattern as a DURATION when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KvType {
    String,
    Number,
    Boolean,
    Json,
    Datetime,
    Date,
    Duration,
}

/// Kestra's `InternalKVStore.DURATION_PATTERN`: `P[nD][T[nH][nM][nS]]`, whole numbers, at least
/// one part.
pub fn is_kestra_duration(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let digits_then = |part: &str, unit: char| {
        part.strip_suffix(unit)
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
    };
    let date_ok = date.is_empty() || digits_then(date, 'D');
    let time_ok = match time {
        None => !date.is_empty(),
        Some("") => false,
        Some(t) => {
            // Each unit at most once, in the order H, M, S.
            let mut left = t;
            for unit in ['H', 'M', 'S'] {
                if let Some(i) = left.find(unit)
                    && digits_then(&left[..=i], unit)
                {
                    left = &left[i + 1..];
                }
            }
            left.is_empty()
        }
    };
    date_ok && time_ok
}

/// Kestra's key rule (`KVStore.KEY_VALIDATOR_PATTERN`): `[a-zA-Z0-9][a-zA-Z0-9._-]*`.
pub fn check_key(key: &str) -> Result<(), String> {
    let mut chars = key.chars();
    match chars.next() {
        None => Err("a key cannot be empty".into()),
        Some(c) if !c.is_ascii_alphanumeric() => {
            Err(format!("key `{key}` must start with a letter or a digit"))
        }
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) => Err(
            format!("key `{key}` may hold only letters, digits, `.`, `_` and `-`"),
        ),
        _ => Ok(()),
    }
}

fn is_date(text: &str) -> bool {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &f).is_ok()
}

fn is_datetime(text: &str) -> bool {
    text.contains('T') && time::OffsetDateTime::parse(text, &Rfc3339).is_ok()
}

/// What Kestra can store as a DATETIME. Its Ion reader (`IonParser`, `KVType.from`) types an
/// unquoted timestamp by its offset and time: UTC (`Z`) and not exactly midnight is an Instant,
/// DATETIME; an exact UTC midnight is a LocalDate, DATE; any other offset is a ZonedDateTime,
/// which Kestra calls JSON; and it keeps milliseconds only. So the instant is sent in UTC, and
/// what cannot be a DATETIME is refused with the reason.
fn kestra_datetime(text: &str) -> Result<String, String> {
    let t = time::OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("`{text}` is not an RFC 3339 date-time, e.g. 2026-12-06T10:00:00Z"))?
        .to_offset(time::UtcOffset::UTC);
    if t.nanosecond() % 1_000_000 != 0 {
        return Err(format!(
            "`{text}` is finer than a millisecond, and Kestra keeps date-times to the millisecond: \
             give at most three digits after the seconds"
        ));
    }
    if t.time() == time::Time::MIDNIGHT {
        return Err(format!(
            "`{text}` is midnight UTC ({}), which Kestra stores as a DATE, not a DATETIME: use \
             --type date for a date, or give the time you mean",
            t.date()
        ));
    }
    let f = if t.millisecond() == 0 {
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")
    } else {
        time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        )
    };
    t.format(&f).map_err(|e| e.to_string())
}

/// The body to send for `value`, and the type Kestra will store it as. Without a type asked for,
/// JSON values keep their JSON type, RFC 3339 dates and date-times become Kestra's dates, and
/// anything else is a string.
fn quoted_text(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

pub fn encode(value: &str, asked: Option<KvType>) -> Result<(String, KvType), String> {
    let quoted = || quoted_text(value);
    let json = serde_json::from_str::<serde_json::Value>(value.trim());
    match asked {
        Some(KvType::String) => Ok((quoted(), KvType::String)),
        Some(KvType::Number) => match json {
            Ok(serde_json::Value::Number(_)) => Ok((value.trim().to_string(), KvType::Number)),
            _ => Err(format!("`{value}` is not a number")),
        },
        Some(KvType::Boolean) => match json {
            Ok(serde_json::Value::Bool(_)) => Ok((value.trim().to_string(), KvType::Boolean)),
            _ => Err(format!("`{value}` is not a boolean (true or false)")),
        },
        // Kestra calls JSON what is neither text, number nor boolean: an object or an array.
        Some(KvType::Json) => match json {
            Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                Ok((v.to_string(), KvType::Json))
            }
            Ok(_) => Err(format!(
                "`{value}` is JSON but not an object or array, which Kestra stores as JSON"
            )),
            Err(e) => Err(format!("the value is not JSON: {e}")),
        },
        Some(KvType::Datetime) if value.trim().contains('T') => {
            Ok((kestra_datetime(value.trim())?, KvType::Datetime))
        }
        Some(KvType::Datetime) => Err(format!(
            "`{value}` is not an RFC 3339 date-time, e.g. 2026-12-06T10:00:00Z"
        )),
        Some(KvType::Date) if is_date(value.trim()) => Ok((value.trim().to_string(), KvType::Date)),
        Some(KvType::Date) => Err(format!("`{value}` is not a date, e.g. 2026-12-06")),
        Some(KvType::Duration) if is_kestra_duration(value.trim()) => {
            Ok((quoted_text(value.trim()), KvType::Duration))
        }
        Some(KvType::Duration) => Err(format!(
            "`{value}` is not an ISO-8601 duration as Kestra reads one, e.g. PT30M, PT1H, P1D"
        )),
        None => Ok(match json {
            Ok(serde_json::Value::Number(_)) => (value.trim().to_string(), KvType::Number),
            Ok(serde_json::Value::Bool(_)) => (value.trim().to_string(), KvType::Boolean),
            Ok(serde_json::Value::String(_)) => (value.trim().to_string(), KvType::String),
            Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                (v.to_string(), KvType::Json)
            }
            // `null` is a word here, not an absent value.
            Ok(serde_json::Value::Null) | Err(_) => {
                let t = value.trim();
                if is_datetime(t) {
                    // The instant as Kestra can keep it; one it would store otherwise (a UTC
                    // midnight, sub-millisecond digits) is refused by `--type datetime` too.
                    match kestra_datetime(t) {
                        Ok(utc) => (utc, KvType::Datetime),
                        Err(_) => (quoted(), KvType::String),
                    }
                } else if is_date(t) {
                    (t.to_string(), KvType::Date)
                } else if is_kestra_duration(value) {
                    (quoted(), KvType::Duration)
                } else {
                    (quoted(), KvType::String)
                }
            }
        }),
    }
}

/// A key as Kestra lists it (`KVEntry`; 1.3 names the revision `version`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KvEntry {
    #[serde(default)]
    pub namespace: Option<String>,
    pub key: String,
    #[serde(default, alias = "version")]
    pub revision: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub creation_date: Option<String>,
    #[serde(default)]
    pub update_date: Option<String>,
    #[serde(default)]
    pub expiration_date: Option<String>,
}

/// One value (`KVController.KvDetail`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct KvDetail {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    pub updated: Option<String>,
}

/// What `set` sends beside the value: Kestra reads both from request headers.
#[derive(Debug, Clone, Default)]
pub struct KvMetadata {
    /// ISO-8601 duration (`PT1H`), read by Java's `Duration.parse`.
    pub ttl: Option<String>,
    pub description: Option<String>,
}

/// Java's `Duration.toString` form of a duration, which `Duration.parse` reads back.
pub fn iso_duration(d: std::time::Duration) -> String {
    let millis = d.as_millis();
    if millis.is_multiple_of(1000) {
        format!("PT{}S", millis / 1000)
    } else {
        format!("PT{}.{:03}S", millis / 1000, millis % 1000)
    }
}

const PAGE: u32 = 100;

/// The KV store of one namespace, borrowed from the client (`client.kv(namespace)`): every call
/// names the same namespace, so it is given once.
#[derive(Clone, Copy)]
pub struct Kv<'a> {
    client: &'a KestraClient,
    namespace: &'a str,
}

impl KestraClient {
    /// The KV store of one namespace.
    pub fn kv<'a>(&'a self, namespace: &'a str) -> Kv<'a> {
        Kv {
            client: self,
            namespace,
        }
    }
}

impl Kv<'_> {
    fn key_path(&self, key: &str) -> String {
        format!(
            "{}/namespaces/{}/kv/{}",
            super::routes::tenant_base(self.client.tenant()),
            segment(self.namespace),
            segment(key)
        )
    }

    /// Every key of the namespace (not its children), by pages of `GET /kv` filtered on the
    /// namespace: the per-namespace list `GET /namespaces/{ns}/kv` is deprecated in 1.3.25 and
    /// gone from the 2.0 spec.
    pub async fn list(self) -> Result<Vec<KvEntry>, ApiError> {
        let mut all = Vec::new();
        for page in 1.. {
            let req = Request::get(format!(
                "{}/kv",
                super::routes::tenant_base(self.client.tenant())
            ))
            .query("page", page.to_string())
            .query("size", PAGE.to_string())
            .query("sort", "key:asc")
            .query("filters[namespace][EQUALS]", self.namespace);
            let got: Paged<KvEntry> = self.client.json(&req).await?;
            let n = got.results.len();
            all.extend(got.results);
            super::limits::check_listed(
                all.len(),
                || self.client.url(&req.path),
                "keys in one namespace",
                "read the keys you need with `kestractl kv get`",
            )?;
            let total = got.total.and_then(|t| usize::try_from(t).ok());
            if n < PAGE as usize || total.is_some_and(|t| all.len() >= t) {
                break;
            }
        }
        Ok(all)
    }

    pub async fn get(self, key: &str) -> Result<KvDetail, ApiError> {
        self.client.json(&Request::get(self.key_path(key))).await
    }

    /// `PUT …/kv/{key}` with the encoded value as `text/plain` (the only type the route
    /// consumes); TTL and description as the `ttl` and `description` headers.
    pub async fn set(self, key: &str, encoded: &str, meta: &KvMetadata) -> Result<(), ApiError> {
        let mut req = Request::with_body(
            Method::PUT,
            self.key_path(key),
            Body::Bytes("text/plain", encoded.as_bytes().to_vec()),
            true,
        );
        if let Some(ttl) = &meta.ttl {
            req = req.header("ttl", ttl.clone());
        }
        if let Some(d) = &meta.description {
            req = req.header("description", d.clone());
        }
        self.client.send(&req).await.map(|_| ())
    }

    /// `DELETE …/kv/{key}`: Kestra answers `true`, or `false` when there was no such key.
    pub async fn delete(self, key: &str) -> Result<bool, ApiError> {
        let mut req = Request::get(self.key_path(key));
        req.method = Method::DELETE;
        self.client.json(&req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_kestras_rule() {
        assert!(check_key("db.url").is_ok());
        assert!(check_key("A-1_b").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key(".hidden").unwrap_err().contains("start"));
        assert!(check_key("a/b").unwrap_err().contains("only"));
        assert!(check_key("é").is_err());
    }

    #[test]
    fn inferred_types() {
        let e = |v| encode(v, None).unwrap();
        assert_eq!(e("42"), ("42".into(), KvType::Number));
        assert_eq!(e(" 4.5 "), ("4.5".into(), KvType::Number));
        assert_eq!(e("true"), ("true".into(), KvType::Boolean));
        assert_eq!(e(r#"{"a": 1}"#), (r#"{"a":1}"#.into(), KvType::Json));
        assert_eq!(e("[1,2]"), ("[1,2]".into(), KvType::Json));
        assert_eq!(e(r#""quoted""#), (r#""quoted""#.into(), KvType::String));
        assert_eq!(
            e("hello world"),
            (r#""hello world""#.into(), KvType::String)
        );
        assert_eq!(e("null"), (r#""null""#.into(), KvType::String));
        assert_eq!(
            e("2026-12-06T10:00:00Z"),
            ("2026-12-06T10:00:00Z".into(), KvType::Datetime)
        );
        assert_eq!(e("2026-12-06"), ("2026-12-06".into(), KvType::Date));
        assert_eq!(e("PT30M"), (r#""PT30M""#.into(), KvType::Duration));
        assert_eq!(e("PT"), (r#""PT""#.into(), KvType::String));
        // Quotes, backslashes and newlines are escaped, never passed through.
        assert_eq!(
            e("say \"hi\"\\\n"),
            (r#""say \"hi\"\\\n""#.into(), KvType::String)
        );
    }

    #[test]
    fn asked_types_are_checked() {
        assert_eq!(
            encode("42", Some(KvType::String)).unwrap(),
            (r#""42""#.into(), KvType::String)
        );
        assert!(
            encode("abc", Some(KvType::Number))
                .unwrap_err()
                .contains("number")
        );
        assert!(encode("yes", Some(KvType::Boolean)).is_err());
        assert!(
            encode("{a", Some(KvType::Json))
                .unwrap_err()
                .contains("JSON")
        );
        assert!(encode("2026-13-01", Some(KvType::Date)).is_err());
        assert!(encode("2026-12-06", Some(KvType::Datetime)).is_err());
        // As Kestra's Ion reader can store a DATETIME: in UTC, to the millisecond, not at
        // midnight UTC (a DATE to Kestra).
        let dt = |v| encode(v, Some(KvType::Datetime));
        assert_eq!(
            dt("2026-12-07T12:30:00+02:00").unwrap(),
            ("2026-12-07T10:30:00Z".into(), KvType::Datetime)
        );
        assert_eq!(
            dt("2026-12-07T10:30:00.250Z").unwrap(),
            ("2026-12-07T10:30:00.250Z".into(), KvType::Datetime)
        );
        let midnight = dt("2026-12-07T02:00:00+02:00").unwrap_err();
        assert!(midnight.contains("midnight UTC (2026-12-07)"), "{midnight}");
        assert!(midnight.contains("--type date"), "{midnight}");
        assert!(
            dt("2026-12-07T10:30:00.123456Z")
                .unwrap_err()
                .contains("millisecond")
        );
        assert!(dt("2026-12-07T10:30:00").is_err());
        assert!(
            encode("\"x\"", Some(KvType::Json))
                .unwrap_err()
                .contains("object")
        );
    }

    #[test]
    fn kestras_duration_pattern() {
        for ok in [
            "P1D",
            "PT1H",
            "PT30M",
            "PT5S",
            "P1DT2H3M4S",
            "PT1H30M",
            "PT0S",
        ] {
            assert!(is_kestra_duration(ok), "{ok}");
        }
        for bad in [
            "P", "PT", "1h", "PT1.5S", "PT1S1H", "P1H", "PT1D", "p1d", "P1DT",
        ] {
            assert!(!is_kestra_duration(bad), "{bad}");
        }
        assert!(
            encode("1h", Some(KvType::Duration))
                .unwrap_err()
                .contains("PT1H")
        );
    }

    #[test]
    fn durations_in_javas_form() {
        use std::time::Duration;
        assert_eq!(iso_duration(Duration::from_secs(3600)), "PT3600S");
        assert_eq!(iso_duration(Duration::from_millis(1500)), "PT1.500S");
    }
}
