//! Search parameters: paging, `sort=field:dir`, PHP-style `filters[field][OP]=value` (with
//! `filters[labels][OP][key]=value` and one level of `filters[or][i][…]`), validated per
//! resource like Kestra's `QueryFilter.validateQueryFilters`, plus the 1.x flat legacy params.

use std::collections::BTreeMap;

use regex::Regex;

use crate::errors::{ApiError, FieldError};
use crate::timefmt::{now_ms, parse_duration, parse_instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    NotEquals,
    GreaterThan,
    LessThan,
    GreaterThanOrEqualTo,
    LessThanOrEqualTo,
    In,
    NotIn,
    StartsWith,
    EndsWith,
    Contains,
    Regex,
    Prefix,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "EQUALS" => Op::Equals,
            "NOT_EQUALS" => Op::NotEquals,
            "GREATER_THAN" => Op::GreaterThan,
            "LESS_THAN" => Op::LessThan,
            "GREATER_THAN_OR_EQUAL_TO" => Op::GreaterThanOrEqualTo,
            "LESS_THAN_OR_EQUAL_TO" => Op::LessThanOrEqualTo,
            "IN" => Op::In,
            "NOT_IN" => Op::NotIn,
            "STARTS_WITH" => Op::StartsWith,
            "ENDS_WITH" => Op::EndsWith,
            "CONTAINS" => Op::Contains,
            "REGEX" => Op::Regex,
            "PREFIX" => Op::Prefix,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Op::Equals => "EQUALS",
            Op::NotEquals => "NOT_EQUALS",
            Op::GreaterThan => "GREATER_THAN",
            Op::LessThan => "LESS_THAN",
            Op::GreaterThanOrEqualTo => "GREATER_THAN_OR_EQUAL_TO",
            Op::LessThanOrEqualTo => "LESS_THAN_OR_EQUAL_TO",
            Op::In => "IN",
            Op::NotIn => "NOT_IN",
            Op::StartsWith => "STARTS_WITH",
            Op::EndsWith => "ENDS_WITH",
            Op::Contains => "CONTAINS",
            Op::Regex => "REGEX",
            Op::Prefix => "PREFIX",
        }
    }
}

/// `QueryFilter.Field`, with Kestra's wire names and supported operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Query,
    Scope,
    Namespace,
    Kind,
    Labels,
    FlowId,
    StartDate,
    EndDate,
    State,
    TimeRange,
    TriggerExecutionId,
    ChildFilter,
    MinLevel,
    TaskId,
    TaskRunId,
}

impl Field {
    fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "q" => Field::Query,
            "scope" => Field::Scope,
            "namespace" => Field::Namespace,
            "kind" => Field::Kind,
            "labels" => Field::Labels,
            "flowId" => Field::FlowId,
            "startDate" => Field::StartDate,
            "endDate" => Field::EndDate,
            "state" => Field::State,
            "timeRange" => Field::TimeRange,
            "triggerExecutionId" => Field::TriggerExecutionId,
            "childFilter" => Field::ChildFilter,
            "level" => Field::MinLevel,
            "taskId" => Field::TaskId,
            "taskRunId" => Field::TaskRunId,
            _ => return None,
        })
    }

    fn enum_name(self) -> &'static str {
        match self {
            Field::Query => "QUERY",
            Field::Scope => "SCOPE",
            Field::Namespace => "NAMESPACE",
            Field::Kind => "KIND",
            Field::Labels => "LABELS",
            Field::FlowId => "FLOW_ID",
            Field::StartDate => "START_DATE",
            Field::EndDate => "END_DATE",
            Field::State => "STATE",
            Field::TimeRange => "TIME_RANGE",
            Field::TriggerExecutionId => "TRIGGER_EXECUTION_ID",
            Field::ChildFilter => "CHILD_FILTER",
            Field::MinLevel => "MIN_LEVEL",
            Field::TaskId => "TASK_ID",
            Field::TaskRunId => "TASK_RUN_ID",
        }
    }

    /// On logs (2.0 `Field.LEVEL`), `level` is a minimum or a maximum: `GREATER_THAN_OR_EQUAL_TO`
    /// or `LESS_THAN_OR_EQUAL_TO` only (`EQUALS` is a 400).
    fn ops_for(self, resource: Resource) -> &'static [Op] {
        match (self, resource) {
            (Field::MinLevel, Resource::Log) => &[Op::GreaterThanOrEqualTo, Op::LessThanOrEqualTo],
            _ => self.supported(),
        }
    }

    fn supported(self) -> &'static [Op] {
        use Op::*;
        match self {
            Field::Query | Field::Scope | Field::ChildFilter | Field::MinLevel => {
                &[Equals, NotEquals]
            }
            Field::Namespace | Field::FlowId => &[
                Equals, NotEquals, Contains, StartsWith, EndsWith, Regex, In, NotIn, Prefix,
            ],
            Field::Kind | Field::State => &[Equals, NotEquals, In, NotIn],
            Field::Labels => &[Equals, NotEquals, In, NotIn, Contains],
            Field::StartDate | Field::EndDate => &[
                GreaterThanOrEqualTo,
                GreaterThan,
                LessThanOrEqualTo,
                LessThan,
                Equals,
                NotEquals,
            ],
            Field::TimeRange => &[Equals],
            Field::TriggerExecutionId | Field::TaskId | Field::TaskRunId => {
                &[Equals, NotEquals, Contains, StartsWith, EndsWith, In, NotIn]
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Flow,
    Execution,
    Log,
    /// `QueryFilter.Resource.KV_METADATA` (1.3.25 `core/…/models/QueryFilter.java`): the KV list.
    KvMetadata,
    /// `QueryFilter.Resource.TRIGGER`: the trigger search.
    Trigger,
}

impl Resource {
    fn name(self) -> &'static str {
        match self {
            Resource::Flow => "FLOW",
            Resource::Execution => "EXECUTION",
            Resource::Log => "LOG",
            Resource::KvMetadata => "KV_METADATA",
            Resource::Trigger => "TRIGGER",
        }
    }

    fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Resource::Flow => &[Labels, Namespace, Query, Scope, FlowId],
            // timeRange is documented on executions/search (spec examples, 1.x legacy mapping).
            Resource::Execution => &[
                Query,
                Scope,
                FlowId,
                StartDate,
                EndDate,
                State,
                Labels,
                TriggerExecutionId,
                ChildFilter,
                Namespace,
                Kind,
                TimeRange,
            ],
            // Kestra also takes `updated` and `expirationDate`; the emulator does not (a 400):
            // kestractl filters on the namespace only.
            Resource::KvMetadata => &[Query, Namespace],
            // Kestra also takes scope, workerId, startDate, endDate, triggerId and triggerState;
            // the emulator does not (a 400): kestractl filters on namespace and flow only.
            Resource::Trigger => &[Query, Namespace, FlowId],
            Resource::Log => &[
                Query, MinLevel, TaskId, TaskRunId, StartDate, EndDate, Namespace, FlowId,
            ],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Text(String),
    /// `filters[labels][OP][key]=value`, several keys merged.
    Map(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryFilter {
    pub field: Field,
    pub op: Op,
    pub value: FilterValue,
}

/// Top-level filters are ANDed; each `or` group is one alternative (its members ANDed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub and: Vec<QueryFilter>,
    pub or: Vec<Vec<QueryFilter>>,
}

/// Decoded query string, in order, repeats kept.
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

pub fn first<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn all<'a>(q: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    q.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `filters[a][b][c]` → `["a","b","c"]`.
fn bracket_keys(name: &str) -> Option<Vec<String>> {
    let rest = name.strip_prefix("filters")?;
    let mut keys = Vec::new();
    let mut s = rest;
    while !s.is_empty() {
        let inner = s.strip_prefix('[')?;
        let end = inner.find(']')?;
        keys.push(inner[..end].to_string());
        s = &inner[end + 1..];
    }
    (!keys.is_empty()).then_some(keys)
}

fn invalid_filters(errors: Vec<String>) -> ApiError {
    ApiError::invalid_query_filters(errors.join(", ")).with_errors(
        errors
            .into_iter()
            .map(|m| FieldError {
                message: m,
                path: None,
            })
            .collect(),
    )
}

fn push_filter(list: &mut Vec<QueryFilter>, field: Field, op: Op, key: Option<&str>, value: &str) {
    if let Some(k) = key {
        if let Some(existing) = list
            .iter_mut()
            .find(|f| f.field == field && f.op == op && matches!(f.value, FilterValue::Map(_)))
        {
            if let FilterValue::Map(m) = &mut existing.value {
                m.insert(k.to_string(), value.to_string());
            }
            return;
        }
        let mut m = BTreeMap::new();
        m.insert(k.to_string(), value.to_string());
        list.push(QueryFilter {
            field,
            op,
            value: FilterValue::Map(m),
        });
    } else {
        list.push(QueryFilter {
            field,
            op,
            value: FilterValue::Text(value.to_string()),
        });
    }
}

/// Parse and validate every `filters[...]` parameter for `resource`.
pub fn parse_filters(q: &[(String, String)], resource: Resource) -> Result<Filters, ApiError> {
    let mut out = Filters::default();
    let mut groups: BTreeMap<u32, Vec<QueryFilter>> = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, value) in q {
        if !name.starts_with("filters") {
            continue;
        }
        let Some(keys) = bracket_keys(name) else {
            errors.push(format!("Invalid filter parameter '{name}'"));
            continue;
        };
        let (group, rest): (Option<u32>, &[String]) = if keys[0] == "or" {
            match keys.get(1).and_then(|i| i.parse::<u32>().ok()) {
                Some(i) => (Some(i), &keys[2..]),
                None => {
                    errors.push(format!("Invalid filter parameter '{name}'"));
                    continue;
                }
            }
        } else {
            (None, &keys[..])
        };
        let (fname, opname, key) = match rest {
            [f, o] => (f, o, None),
            [f, o, k] => (f, o, Some(k.as_str())),
            _ => {
                errors.push(format!("Invalid filter parameter '{name}'"));
                continue;
            }
        };
        let Some(field) = Field::parse(fname) else {
            errors.push(format!("Unsupported value '{fname}' for field"));
            continue;
        };
        let Some(op) = Op::parse(opname) else {
            errors.push(format!("Unsupported value '{opname}' for operation"));
            continue;
        };
        if !field.ops_for(resource).contains(&op) {
            errors.push(format!(
                "Operation {} is not supported for field {}. Supported operations are {}",
                op.name(),
                field.enum_name(),
                field
                    .ops_for(resource)
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !resource.fields().contains(&field) {
            errors.push(format!(
                "Field {} is not supported for resource {}. Supported fields are {}",
                field.enum_name(),
                resource.name(),
                resource
                    .fields()
                    .iter()
                    .map(|f| f.enum_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if key.is_some() && field != Field::Labels {
            errors.push(format!("Field {} does not take a key", field.enum_name()));
        }
        let target = match group {
            Some(i) => groups.entry(i).or_default(),
            None => &mut out.and,
        };
        push_filter(target, field, op, key, value);
    }
    if !errors.is_empty() {
        return Err(invalid_filters(errors));
    }
    out.or = groups.into_values().collect();
    // Dates and durations must parse; fail now rather than match nothing.
    for f in out.and.iter().chain(out.or.iter().flatten()) {
        if let FilterValue::Text(t) = &f.value {
            match f.field {
                Field::StartDate | Field::EndDate if parse_instant(t).is_none() => {
                    return Err(ApiError::new(
                        crate::errors::Problem::InvalidFormat,
                        "Invalid format",
                        Some(format!(
                            "Cannot parse date-time '{t}' for {}",
                            f.field.enum_name()
                        )),
                    ));
                }
                Field::TimeRange if parse_duration(t).is_none() => {
                    return Err(ApiError::new(
                        crate::errors::Problem::InvalidFormat,
                        "Invalid format",
                        Some(format!("Cannot parse duration '{t}' for TIME_RANGE")),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.and.is_empty() && self.or.is_empty()
    }

    pub fn push(&mut self, field: Field, op: Op, value: FilterValue) {
        self.and.push(QueryFilter { field, op, value });
    }

    /// Evaluate against a record described by `get` (field → text values, labels separately).
    pub fn matches(&self, rec: &dyn Record) -> bool {
        let and_ok = self.and.iter().all(|f| f.matches(rec));
        let or_ok = self.or.is_empty() || self.or.iter().any(|g| g.iter().all(|f| f.matches(rec)));
        and_ok && or_ok
    }

    /// Compile regexes once, so a search over 100,000 records does not recompile per record.
    pub fn compiled(self) -> Result<Compiled, ApiError> {
        let mut regexes = BTreeMap::new();
        for f in self.and.iter().chain(self.or.iter().flatten()) {
            if let (Op::Regex, FilterValue::Text(t)) = (f.op, &f.value) {
                let re = Regex::new(t)
                    .map_err(|e| ApiError::bad_request(format!("Invalid regex '{t}': {e}")))?;
                regexes.insert(t.clone(), re);
            }
        }
        Ok(Compiled {
            filters: self,
            regexes,
        })
    }
}

/// Filters with their regexes compiled.
pub struct Compiled {
    pub filters: Filters,
    regexes: BTreeMap<String, Regex>,
}

impl Compiled {
    pub fn matches(&self, rec: &dyn Record) -> bool {
        let m = |f: &QueryFilter| f.matches_with(rec, &self.regexes);
        self.filters.and.iter().all(m)
            && (self.filters.or.is_empty() || self.filters.or.iter().any(|g| g.iter().all(m)))
    }
}

/// A searchable record (flow, execution or log line).
pub trait Record {
    /// Text value(s) of a field; `None` when the record has no such field.
    fn text(&self, field: Field) -> Option<String>;
    /// Millisecond instant of a date field.
    fn date(&self, field: Field) -> Option<i64>;
    fn labels(&self) -> Vec<(String, String)>;
    /// Free-text haystacks for `q`.
    fn query_haystack(&self) -> Vec<String>;
}

fn split_list(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn label_pairs(value: &FilterValue) -> Vec<(String, String)> {
    match value {
        FilterValue::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        // `filters[labels][EQUALS]=k:v[,k2:v2]`
        FilterValue::Text(t) => split_list(t)
            .into_iter()
            .filter_map(|kv| {
                kv.split_once(':')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
    }
}

impl QueryFilter {
    pub fn matches(&self, rec: &dyn Record) -> bool {
        self.matches_with(rec, &BTreeMap::new())
    }

    fn matches_with(&self, rec: &dyn Record, regexes: &BTreeMap<String, Regex>) -> bool {
        let text = match &self.value {
            FilterValue::Text(t) => t.as_str(),
            FilterValue::Map(_) => "",
        };
        match self.field {
            Field::Labels => {
                let have = rec.labels();
                let want = label_pairs(&self.value);
                let has = |k: &str, v: &str| have.iter().any(|(hk, hv)| hk == k && hv == v);
                match self.op {
                    Op::Equals | Op::In => {
                        if self.op == Op::In {
                            want.iter().any(|(k, v)| has(k, v))
                        } else {
                            want.iter().all(|(k, v)| has(k, v))
                        }
                    }
                    Op::NotEquals | Op::NotIn => !want.iter().any(|(k, v)| has(k, v)),
                    Op::Contains => want.iter().all(|(k, v)| {
                        have.iter()
                            .any(|(hk, hv)| hk == k && hv.contains(v.as_str()))
                    }),
                    _ => false,
                }
            }
            Field::Query => {
                let needle = text.to_lowercase();
                let hit = rec
                    .query_haystack()
                    .iter()
                    .any(|h| h.to_lowercase().contains(&needle));
                if self.op == Op::NotEquals { !hit } else { hit }
            }
            Field::Scope => {
                // SYSTEM = the system namespace (and its children); USER = everything else.
                let ns = rec.text(Field::Namespace).unwrap_or_default();
                let system = ns == "system" || ns.starts_with("system.");
                let want_system = split_list(text)
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case("SYSTEM"));
                let want_user = split_list(text)
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case("USER"));
                let hit = (want_system && system) || (want_user && !system);
                if self.op == Op::NotEquals { !hit } else { hit }
            }
            Field::TimeRange => match (rec.date(Field::StartDate), parse_duration(text)) {
                (Some(start), Some(d)) => start >= now_ms() - d,
                _ => false,
            },
            Field::StartDate | Field::EndDate => {
                let (Some(have), Some(want)) = (rec.date(self.field), parse_instant(text)) else {
                    return false;
                };
                match self.op {
                    Op::Equals => have == want,
                    Op::NotEquals => have != want,
                    Op::GreaterThan => have > want,
                    Op::GreaterThanOrEqualTo => have >= want,
                    Op::LessThan => have < want,
                    Op::LessThanOrEqualTo => have <= want,
                    _ => false,
                }
            }
            Field::ChildFilter => {
                let is_child = rec.text(Field::ChildFilter).is_some();
                let hit = match text {
                    "CHILD" => is_child,
                    "MAIN" => !is_child,
                    _ => false,
                };
                if self.op == Op::NotEquals { !hit } else { hit }
            }
            Field::MinLevel => {
                let have =
                    crate::execution::level_rank(&rec.text(Field::MinLevel).unwrap_or_default());
                let want = crate::execution::level_rank(text);
                match self.op {
                    Op::LessThanOrEqualTo => have <= want,
                    Op::NotEquals => have < want,
                    _ => have >= want,
                }
            }
            _ => {
                let have = rec.text(self.field);
                let Some(have) = have else {
                    return matches!(self.op, Op::NotEquals | Op::NotIn);
                };
                match self.op {
                    Op::Equals => have == text,
                    Op::NotEquals => have != text,
                    Op::In => split_list(text).contains(&have.as_str()),
                    Op::NotIn => !split_list(text).contains(&have.as_str()),
                    Op::StartsWith => have.starts_with(text),
                    Op::EndsWith => have.ends_with(text),
                    Op::Contains => have.contains(text),
                    Op::Prefix => have == text || have.starts_with(&format!("{text}.")),
                    Op::Regex => match regexes.get(text) {
                        Some(re) => re.is_match(&have),
                        None => Regex::new(text)
                            .map(|re| re.is_match(&have))
                            .unwrap_or(false),
                    },
                    _ => false,
                }
            }
        }
    }
}

/// One `sort=field:dir` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

/// `PageableUtils.sort`: each entry must be exactly `field:dir`; any dir but `asc` is descending.
pub fn parse_sort(q: &[(String, String)], allowed: &[&str]) -> Result<Vec<SortKey>, ApiError> {
    let mut out = Vec::new();
    for raw in all(q, "sort") {
        for s in raw.split(',').filter(|s| !s.is_empty()) {
            let parts: Vec<&str> = s.split(':').collect();
            let [field, dir] = parts.as_slice() else {
                return Err(invalid_sort());
            };
            if !allowed.contains(field) {
                return Err(invalid_sort());
            }
            out.push(SortKey {
                field: (*field).to_string(),
                descending: *dir != "asc",
            });
        }
    }
    Ok(out)
}

fn invalid_sort() -> ApiError {
    ApiError::new(
        crate::errors::Problem::InvalidEntity,
        "Unprocessable Entity",
        Some("Invalid sort parameter".into()),
    )
}

/// 1-based `page` and `size` (both `@Min(1)`), defaults 1 and 10.
pub fn parse_paging(q: &[(String, String)], operation: &str) -> Result<(usize, usize), ApiError> {
    let num = |key: &str, default: usize| -> Result<usize, ApiError> {
        match first(q, key) {
            None => Ok(default),
            Some(s) => {
                let n: i64 = s.trim().parse().map_err(|_| {
                    ApiError::new(
                        crate::errors::Problem::InvalidQueryParameter,
                        "Bad Request",
                        Some(format!(
                            "Failed to convert argument [{key}] for value [{s}]"
                        )),
                    )
                    .with_status(axum::http::StatusCode::BAD_REQUEST)
                })?;
                if n < 1 {
                    return Err(ApiError::constraint(vec![FieldError {
                        message: "must be greater than or equal to 1".into(),
                        path: Some(format!("{operation}.{key}")),
                    }]));
                }
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    };
    Ok((num("page", 1)?, num("size", 10)?))
}

/// 1.x flat legacy parameters, mapped like `RequestUtils.mapLegacyParamsToFilters`.
pub fn legacy_filters(q: &[(String, String)], resource: Resource) -> Result<Filters, ApiError> {
    let mut f = Filters::default();
    let text = |s: &str| FilterValue::Text(s.to_string());
    if let Some(v) = first(q, "q").filter(|v| !v.is_empty()) {
        f.push(Field::Query, Op::Equals, text(v));
    }
    if let Some(v) = first(q, "namespace").filter(|v| !v.is_empty()) {
        f.push(Field::Namespace, Op::Prefix, text(v));
    }
    let scopes = all(q, "scope");
    if !scopes.is_empty() {
        f.push(Field::Scope, Op::Equals, text(&scopes.join(",")));
    }
    let labels = all(q, "labels");
    if !labels.is_empty() {
        let mut m = BTreeMap::new();
        for l in labels {
            let parts: Vec<&str> = l.split(':').collect();
            let [k, v] = parts.as_slice() else {
                return Err(ApiError::new(
                    crate::errors::Problem::InvalidEntity,
                    "Unprocessable Entity",
                    Some("Invalid queryString parameter".into()),
                ));
            };
            m.insert((*k).to_string(), (*v).to_string());
        }
        f.push(Field::Labels, Op::Equals, FilterValue::Map(m));
    }
    // `TriggerController.searchTriggers` maps a flat `flowId` too (`RequestUtils`).
    if resource == Resource::Trigger
        && let Some(v) = first(q, "flowId").filter(|v| !v.is_empty())
    {
        f.push(Field::FlowId, Op::Equals, text(v));
    }
    if resource == Resource::Execution {
        if let Some(v) = first(q, "flowId").filter(|v| !v.is_empty()) {
            f.push(Field::FlowId, Op::Equals, text(v));
        }
        if let Some(v) = first(q, "startDate").filter(|v| !v.is_empty()) {
            check_date("startDate", v)?;
            f.push(Field::StartDate, Op::GreaterThanOrEqualTo, text(v));
        }
        if let Some(v) = first(q, "endDate").filter(|v| !v.is_empty()) {
            check_date("endDate", v)?;
            f.push(Field::EndDate, Op::LessThanOrEqualTo, text(v));
        }
        if let Some(v) = first(q, "timeRange").filter(|v| !v.is_empty()) {
            if parse_duration(v).is_none() {
                return Err(conversion_error("timeRange", v));
            }
            f.push(Field::TimeRange, Op::Equals, text(v));
        }
        let states: Vec<&str> = all(q, "state")
            .into_iter()
            .flat_map(|s| s.split(','))
            .collect();
        if !states.is_empty() {
            for s in &states {
                if !crate::execution::ALL_STATES.contains(s) {
                    return Err(conversion_error("state", s));
                }
            }
            f.push(Field::State, Op::In, text(&states.join(",")));
        }
        if let Some(v) = first(q, "childFilter").filter(|v| !v.is_empty()) {
            f.push(Field::ChildFilter, Op::Equals, text(v));
        }
        if let Some(v) = first(q, "triggerExecutionId").filter(|v| !v.is_empty()) {
            f.push(Field::TriggerExecutionId, Op::Equals, text(v));
        }
    }
    Ok(f)
}

fn check_date(key: &str, v: &str) -> Result<(), ApiError> {
    parse_instant(v)
        .map(|_| ())
        .ok_or_else(|| conversion_error(key, v))
}

fn conversion_error(key: &str, v: &str) -> ApiError {
    ApiError::new(
        crate::errors::Problem::InvalidQueryParameter,
        "Bad Request",
        Some(format!(
            "Failed to convert argument [{key}] for value [{v}]"
        )),
    )
    .with_status(axum::http::StatusCode::BAD_REQUEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_filters() {
        let q = parse_query(Some(
            "filters%5Bnamespace%5D%5BPREFIX%5D=company&filters[labels][EQUALS][team]=data&filters[labels][EQUALS][env]=prod&filters[or][0][flowId][EQUALS]=a&filters[or][1][flowId][EQUALS]=b",
        ));
        let f = parse_filters(&q, Resource::Execution).unwrap();
        assert_eq!(f.and.len(), 2);
        assert_eq!(f.or.len(), 2);
        match &f.and[1].value {
            FilterValue::Map(m) => assert_eq!(m.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_unsupported() {
        let q = parse_query(Some("filters[state][CONTAINS]=FAILED"));
        let e = parse_filters(&q, Resource::Execution).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(
            e.message
                .unwrap()
                .contains("Operation CONTAINS is not supported for field STATE")
        );
        let q = parse_query(Some("filters[state][IN]=FAILED"));
        assert!(parse_filters(&q, Resource::Flow).is_err());
    }

    #[test]
    fn sort_and_paging() {
        let q = parse_query(Some("sort=state.startDate:desc&page=2&size=5"));
        let s = parse_sort(&q, &["state.startDate"]).unwrap();
        assert!(s[0].descending);
        assert_eq!(parse_paging(&q, "searchExecutions").unwrap(), (2, 5));
        let q = parse_query(Some("sort=state.startDate"));
        assert_eq!(
            parse_sort(&q, &["state.startDate"])
                .unwrap_err()
                .status
                .as_u16(),
            422
        );
        let q = parse_query(Some("page=0"));
        assert_eq!(parse_paging(&q, "x").unwrap_err().status.as_u16(), 422);
    }
}
