//! A flow's declared inputs, and the `--input` values of `executions run` checked against them
//! before anything starts. Kestra ignores an input it does not declare (the run starts with the
//! default instead), so a typo would otherwise go unnoticed until the results are wrong.
//!
//! Types and defaults follow Kestra's `core/src/main/java/io/kestra/core/models/flows/Input.java`
//! and `…/flows/input/*Input.java` (1.3.25): `required` defaults to true, an input with
//! `defaults` need not be given; only definite mistakes are refused — a type this module does not
//! know, or a value whose check needs the server (dynamic SELECT values, expressions), is left
//! to Kestra.

use serde_json::Value;

/// What the flow declares.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub id: String,
    /// Kestra's type name, upper case (`STRING`, `INT`, `FILE`, …).
    pub kind: String,
    /// Must be given: `required` (true unless said otherwise) and no `defaults`.
    pub must_give: bool,
    /// SELECT/ENUM: the allowed values, when static and custom values are not allowed.
    pub values: Option<Vec<String>>,
}

/// The declared inputs of a flow as the API returns it (`inputs: [{id, type, required,
/// defaults, values}]`; before 0.15 the id was `name`).
pub fn declared(flow: &Value) -> Vec<Declared> {
    let Some(items) = flow.get("inputs").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            let id = i
                .get("id")
                .or_else(|| i.get("name"))
                .and_then(Value::as_str)?
                .to_string();
            let kind = i
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("STRING")
                .to_ascii_uppercase();
            let required = i.get("required").and_then(Value::as_bool).unwrap_or(true);
            let has_default = i.get("defaults").is_some_and(|d| !d.is_null());
            let custom = i
                .get("allowCustomValue")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let values = match (kind.as_str(), i.get("values"), custom) {
                ("SELECT" | "ENUM", Some(Value::Array(vs)), false) => Some(
                    vs.iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect(),
                ),
                _ => None,
            };
            Some(Declared {
                id,
                kind,
                must_give: required && !has_default,
                values,
            })
        })
        .collect()
}

/// One `--input` as given: a text value, or a file (`name=@path`).
#[derive(Debug, Clone, Copy)]
pub enum Given<'a> {
    Text(&'a str),
    File,
}

/// Every problem with the given inputs, each a sentence; empty when they are fine.
pub fn problems(declared: &[Declared], given: &[(&str, Given<'_>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in given {
        let Some(d) = declared.iter().find(|d| d.id == *name) else {
            let hint = match closest(name, declared.iter().map(|d| d.id.as_str())) {
                Some(c) => format!(" (did you mean `{c}`?)"),
                None if declared.is_empty() => " (the flow declares no inputs)".to_string(),
                None => format!(
                    " (it declares: {})",
                    declared
                        .iter()
                        .map(|d| d.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            out.push(format!(
                "`{name}` is not an input of this flow{hint}: Kestra would ignore it"
            ));
            continue;
        };
        if let Some(p) = type_problem(d, *value) {
            out.push(format!("input `{name}` ({}): {p}", d.kind));
        }
    }
    for d in declared.iter().filter(|d| d.must_give) {
        if !given.iter().any(|(n, _)| *n == d.id) {
            let example = match d.kind.as_str() {
                "FILE" => format!("--input {}=@path", d.id),
                _ => format!("--input {}=…", d.id),
            };
            out.push(format!(
                "input `{}` ({}) is required and has no default: give it with {example}",
                d.id, d.kind
            ));
        }
    }
    out
}

fn type_problem(d: &Declared, value: Given<'_>) -> Option<String> {
    let text = match value {
        Given::File if d.kind == "FILE" => return None,
        // Kestra reads any other input from a text part; a file upload there is not a value.
        Given::File => return Some("takes a value, not a file upload (`name=@path`)".into()),
        Given::Text(_) if d.kind == "FILE" => {
            return Some("is a file: give its path after @ (name=@./data.csv)".into());
        }
        Given::Text(t) => t,
    };
    let ok = match d.kind.as_str() {
        "INT" => text.trim().parse::<i64>().is_ok(),
        "FLOAT" => text.trim().parse::<f64>().is_ok_and(f64::is_finite),
        "BOOL" | "BOOLEAN" => matches!(text.trim().to_ascii_lowercase().as_str(), "true" | "false"),
        "JSON" => serde_json::from_str::<Value>(text).is_ok(),
        "DURATION" => is_iso_duration(text.trim()),
        "DATE" => time::Date::parse(
            text.trim(),
            &time::format_description::well_known::Iso8601::DATE,
        )
        .is_ok(),
        "DATETIME" => {
            time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
                .is_ok()
        }
        "SELECT" | "ENUM" => match &d.values {
            Some(vs) => vs.iter().any(|v| v == text),
            None => true,
        },
        _ => true,
    };
    if ok {
        return None;
    }
    Some(match d.kind.as_str() {
        "INT" => format!("`{text}` is not a whole number"),
        "FLOAT" => format!("`{text}` is not a number"),
        "BOOL" | "BOOLEAN" => format!("`{text}` is not true or false"),
        "JSON" => format!("`{text}` is not JSON"),
        "DURATION" => format!("`{text}` is not an ISO-8601 duration such as PT5M or P1D"),
        "DATE" => format!("`{text}` is not a date such as 2026-12-31"),
        "DATETIME" => format!("`{text}` is not a date-time such as 2026-12-31T08:00:00Z"),
        _ => format!(
            "`{text}` is not one of: {}",
            d.values.as_deref().unwrap_or_default().join(", ")
        ),
    })
}

/// ISO-8601 durations as Java's `Duration.parse` reads them (`PnDTnHnMn.nS`, a sign allowed).
fn is_iso_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let Some(rest) = s.strip_prefix(['P', 'p']) else {
        return false;
    };
    let (days, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let units_ok = |part: &str, units: &[char]| -> bool {
        let mut number = String::new();
        let mut seen = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' || c == '-' {
                number.push(c);
            } else if units.contains(&c.to_ascii_uppercase()) && !number.is_empty() {
                number.clear();
                seen += 1;
            } else {
                return false;
            }
        }
        number.is_empty() && seen > 0
    };
    let days_ok = days.is_empty() || units_ok(days, &['D']);
    let time_ok = time.is_none_or(|t| units_ok(t, &['H', 'M', 'S']));
    days_ok && time_ok && (!days.is_empty() || time.is_some())
}

/// The declared name nearest to a mistyped one, if it is near enough to be the likely intent.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow() -> Value {
        json!({"id": "f", "namespace": "n", "inputs": [
            {"id": "name", "type": "STRING"},
            {"id": "count", "type": "INT", "defaults": 3},
            {"id": "ratio", "type": "FLOAT", "required": false},
            {"id": "dry", "type": "BOOL", "defaults": false},
            {"id": "data", "type": "FILE", "required": false},
            {"id": "env", "type": "SELECT", "values": ["dev", "prod"], "defaults": "dev"},
            {"id": "any", "type": "SELECT", "values": ["a"], "allowCustomValue": true, "required": false},
            {"id": "wait", "type": "DURATION", "required": false},
            {"id": "day", "type": "DATE", "required": false},
            {"id": "at", "type": "DATETIME", "required": false},
            {"id": "cfg", "type": "JSON", "required": false}
        ]})
    }

    #[test]
    fn reads_kestras_defaults() {
        let d = declared(&flow());
        assert_eq!(d.len(), 11);
        assert!(d[0].must_give, "required by default");
        assert!(!d[1].must_give, "a default makes it optional");
        assert!(!d[2].must_give);
        assert_eq!(
            d[5].values.as_deref(),
            Some(&["dev".into(), "prod".into()][..])
        );
        assert_eq!(d[6].values, None, "custom values allowed");
        // The pre-0.15 `name` key.
        let old = declared(&json!({"inputs": [{"name": "x", "type": "string"}]}));
        assert_eq!(old[0].id, "x");
        assert_eq!(old[0].kind, "STRING");
    }

    #[test]
    fn a_typo_is_caught_with_the_declared_name_suggested() {
        let d = declared(&flow());
        let p = problems(&d, &[("nme", Given::Text("Ada"))]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("`nme` is not an input") && p[0].contains("did you mean `name`?"));
        assert!(p[1].contains("input `name` (STRING) is required"), "{p:?}");
        let p = problems(
            &d,
            &[("name", Given::Text("Ada")), ("zzzzzz", Given::Text("1"))],
        );
        assert!(p[0].contains("it declares: name, count"), "{p:?}");
        let none = problems(&[], &[("x", Given::Text("1"))]);
        assert!(none[0].contains("declares no inputs"), "{none:?}");
    }

    #[test]
    fn values_of_the_wrong_type_are_refused() {
        let d = declared(&flow());
        let check =
            |name: &str, v: Given<'_>| problems(&d, &[("name", Given::Text("x")), (name, v)]);
        for (name, bad) in [
            ("count", "three"),
            ("count", "1.5"),
            ("ratio", "abc"),
            ("dry", "yes"),
            ("env", "staging"),
            ("wait", "5 minutes"),
            ("day", "31/12/2026"),
            ("at", "tomorrow"),
            ("cfg", "{oops"),
        ] {
            assert_eq!(check(name, Given::Text(bad)).len(), 1, "{name}={bad}");
        }
        for (name, good) in [
            ("count", "42"),
            ("ratio", "0.5"),
            ("dry", "TRUE"),
            ("env", "prod"),
            ("any", "whatever"),
            ("wait", "PT5M"),
            ("wait", "P1DT2H"),
            ("day", "2026-12-31"),
            ("at", "2026-12-31T08:00:00Z"),
            ("cfg", "{\"a\": 1}"),
        ] {
            assert!(check(name, Given::Text(good)).is_empty(), "{name}={good}");
        }
        assert!(check("data", Given::Text("./x.csv"))[0].contains("give its path after @"));
        assert!(check("data", Given::File).is_empty());
        assert!(check("count", Given::File)[0].contains("not a file upload"));
    }

    #[test]
    fn iso_durations() {
        for ok in ["PT5M", "P1D", "PT0.5S", "-PT1H", "P2DT3H4M"] {
            assert!(is_iso_duration(ok), "{ok}");
        }
        for bad in ["P", "PT", "5M", "PT5X", "P1H", "1 day"] {
            assert!(!is_iso_duration(bad), "{bad}");
        }
    }
}
