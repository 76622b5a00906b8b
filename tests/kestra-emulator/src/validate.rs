//! Flow validation that needs no plugin classes: what Kestra's strict YAML parsing, bean
//! validation (`@NotNull`, `@Pattern`, `@NotEmpty`) and `FlowValidator` reject, plus the few core
//! plugins whose own validators only look at the flow's shape (Dag, Switch, WorkingDirectory,
//! Parallel & co., Subflow recursion). Messages follow Kestra's wording where it is known.
//!
//! Two phases, like `FlowService.validate`: a *parse* phase (YAML syntax, duplicate keys, unknown
//! flow properties, unknown `type`s) after which id/namespace are not known to the caller, then a
//! *model* phase whose violations come back with the flow's id and namespace.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use regex::Regex;
use serde_json::{Map, Value};

use crate::errors::FieldError;
use crate::version::KestraVersion;

pub const FLOW_ID_PATTERN: &str = "^[a-zA-Z0-9][a-zA-Z0-9._-]*";
pub const NAMESPACE_PATTERN: &str = "^[a-z0-9][a-z0-9._-]*";
pub const TASK_ID_PATTERN: &str = "^[a-zA-Z0-9][a-zA-Z0-9_-]*";
pub const INPUT_ID_PATTERN: &str = "^[a-zA-Z0-9][.a-zA-Z0-9_-]*";

/// Flow ids that collide with API routes since 1.0 (migration guide "reserved flow ids").
pub const RESERVED_IDS: &[&str] = &[
    "text",
    "pause",
    "resume",
    "force-run",
    "change-status",
    "kill",
    "executions",
    "search",
    "source",
    "disable",
    "enable",
];

const INPUT_TYPES: &[&str] = &[
    "STRING",
    "ENUM",
    "SELECT",
    "MULTISELECT",
    "INT",
    "FLOAT",
    "BOOLEAN",
    "BOOL",
    "DATETIME",
    "DATE",
    "TIME",
    "DURATION",
    "FILE",
    "JSON",
    "URI",
    "SECRET",
    "ARRAY",
    "YAML",
    "EMAIL",
];

/// Item types an ARRAY input may declare (scalars; not ARRAY/FILE/JSON/YAML…).
const ARRAY_ITEM_TYPES: &[&str] = &[
    "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATETIME", "DATE", "TIME", "DURATION", "URI",
    "EMAIL", "ENUM",
];

/// Core plugin classes shipped by every Kestra image (io.kestra.plugin.core.*). A type under
/// that package that is not listed is a class that does not exist. Other packages (plugins,
/// test classes) cannot be checked without the plugin registry and are accepted.
const CORE_TYPES: &[&str] = &[
    "condition.DateTimeBetween",
    "condition.DayWeek",
    "condition.DayWeekInMonth",
    "condition.ExecutionFlow",
    "condition.ExecutionLabels",
    "condition.ExecutionNamespace",
    "condition.ExecutionOutputs",
    "condition.ExecutionStatus",
    "condition.Expression",
    "condition.ExpressionCondition",
    "condition.FlowCondition",
    "condition.FlowNamespaceCondition",
    "condition.HasRetryAttempt",
    "condition.MultipleCondition",
    "condition.Not",
    "condition.Or",
    "condition.PublicHoliday",
    "condition.TimeBetween",
    "condition.Weekend",
    "debug.Echo",
    "debug.Return",
    "execution.Assert",
    "execution.Count",
    "execution.Exit",
    "execution.Fail",
    "execution.Labels",
    "execution.PurgeExecutions",
    "execution.Resume",
    "execution.SetVariables",
    "execution.UnsetVariables",
    "flow.AllowFailure",
    "flow.ChildFlow",
    "flow.Dag",
    "flow.EachParallel",
    "flow.EachSequential",
    "flow.ForEach",
    "flow.ForEachItem",
    "flow.If",
    "flow.LoopUntil",
    "flow.Parallel",
    "flow.Pause",
    "flow.Sequential",
    "flow.Sleep",
    "flow.Subflow",
    "flow.Switch",
    "flow.Template",
    "flow.WaitFor",
    "flow.WorkingDirectory",
    "http.Download",
    "http.Request",
    "http.SseRequest",
    "http.Trigger",
    "kv.Delete",
    "kv.Get",
    "kv.GetKeys",
    "kv.PurgeKV",
    "kv.Set",
    "log.Fetch",
    "log.Log",
    "log.PurgeLogs",
    "metric.Publish",
    "namespace.DeleteFiles",
    "namespace.DownloadFiles",
    "namespace.UploadFiles",
    "output.OutputValues",
    "purge.PurgeExecutions",
    "purge.PurgeFiles",
    "state.Delete",
    "state.Get",
    "state.Set",
    "storage.Concat",
    "storage.DeduplicateItems",
    "storage.Delete",
    "storage.FilterItems",
    "storage.LocalFiles",
    "storage.PurgeCurrentExecutionFiles",
    "storage.Reverse",
    "storage.Size",
    "storage.Split",
    "storage.Write",
    "templating.TemplatedTask",
    "trigger.Flow",
    "trigger.Schedule",
    "trigger.ScheduleOnDates",
    "trigger.Toggle",
    "trigger.Webhook",
];

/// Flowable core tasks: not runnable, so not allowed inside a WorkingDirectory.
const FLOWABLE: &[&str] = &[
    "flow.AllowFailure",
    "flow.Dag",
    "flow.EachParallel",
    "flow.EachSequential",
    "flow.ForEach",
    "flow.ForEachItem",
    "flow.If",
    "flow.LoopUntil",
    "flow.Parallel",
    "flow.Pause",
    "flow.Sequential",
    "flow.Subflow",
    "flow.Switch",
    "flow.Template",
    "flow.WaitFor",
    "flow.WorkingDirectory",
];

/// Flowable core tasks whose `tasks` must not be empty.
const NEEDS_TASKS: &[&str] = &[
    "flow.AllowFailure",
    "flow.EachParallel",
    "flow.EachSequential",
    "flow.ForEach",
    "flow.Parallel",
    "flow.Sequential",
    "flow.WorkingDirectory",
    "flow.Dag",
    "flow.LoopUntil",
    "flow.WaitFor",
];

fn flow_properties(v: KestraVersion) -> &'static [&'static str] {
    match v {
        KestraVersion::V1_3 => &[
            "id",
            "namespace",
            "revision",
            "description",
            "inputs",
            "outputs",
            "variables",
            "tasks",
            "errors",
            "finally",
            "afterExecution",
            "listeners",
            "triggers",
            "pluginDefaults",
            "taskDefaults",
            "concurrency",
            "retry",
            "sla",
            "checks",
            "labels",
            "disabled",
            "deleted",
            "workerGroup",
            "tenantId",
        ],
        KestraVersion::V2_0 | KestraVersion::V2_1Dev => &[
            "id",
            "namespace",
            "revision",
            "description",
            "inputs",
            "outputs",
            "variables",
            "tasks",
            "errors",
            "finally",
            "afterExecution",
            "triggers",
            "pluginDefaults",
            "concurrency",
            "retry",
            "sla",
            "checks",
            "labels",
            "disabled",
            "deleted",
            "draft",
            "workerSelector",
            "policyRefs",
            "quotas",
            "tenantId",
        ],
    }
}

/// The outcome of validating one flow document.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub body: Value,
    /// Known once the parse phase passed.
    pub id: Option<String>,
    pub namespace: Option<String>,
    pub revision: Option<i64>,
    /// Parse-phase failure message (the whole `ConstraintViolationException` message).
    pub parse_error: Option<(String, Vec<FieldError>)>,
    /// Model-phase violations.
    pub violations: Vec<FieldError>,
    pub warnings: Vec<String>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.parse_error.is_none() && self.violations.is_empty()
    }

    /// `ConstraintViolationException.getMessage()`: "path: message, path: message".
    pub fn constraints(&self) -> Option<String> {
        if let Some((m, _)) = &self.parse_error {
            return Some(m.clone());
        }
        if self.violations.is_empty() {
            return None;
        }
        Some(
            self.violations
                .iter()
                .map(|v| match &v.path {
                    Some(p) if !p.is_empty() => format!("{p}: {}", v.message),
                    _ => v.message.clone(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    /// Field errors for an HTTP error body.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match &self.parse_error {
            Some((_, errs)) => errs.clone(),
            None => self.violations.clone(),
        }
    }
}

fn full_match(pattern: &str, s: &str) -> bool {
    // Java's @Pattern matches the whole string.
    Regex::new(&format!("{pattern}$"))
        .map(|r| r.is_match(s))
        .unwrap_or(false)
}

fn fe(path: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        message: message.into(),
        path: Some(path.into()),
    }
}

fn parse_fail(message: String, path: &str) -> (String, Vec<FieldError>) {
    let errs = vec![fe(path, message.clone())];
    (message, errs)
}

/// Validate one flow source.
pub fn check(source: &str, version: KestraVersion) -> Checked {
    let mut out = Checked::default();
    let value = match crate::flow::parse_yaml(source) {
        Ok(v) => v,
        Err(e) => {
            out.parse_error = Some(parse_fail(format!("Illegal flow yaml: {e}"), "yaml"));
            return out;
        }
    };
    let Value::Object(map) = &value else {
        let msg = if value.is_null() {
            "Illegal flow yaml: empty document".to_string()
        } else {
            "Illegal flow yaml: a flow must be a mapping".to_string()
        };
        out.parse_error = Some(parse_fail(msg, "yaml"));
        return out;
    };
    out.body = value.clone();

    // Parse phase: unknown flow properties and unknown core plugin types.
    let allowed = flow_properties(version);
    if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        let msg = format!(
            "Unrecognized field \"{k}\" (class io.kestra.core.models.flows.Flow), not marked as ignorable"
        );
        out.parse_error = Some(parse_fail(msg, k));
        return out;
    }
    let mut tasks = Vec::new();
    collect_tasks(map, "", &mut tasks);
    for t in &tasks {
        if let Some(ty) = t.obj.get("type").and_then(Value::as_str) {
            if let Some(short) = ty.strip_prefix("io.kestra.plugin.core.")
                && !CORE_TYPES.contains(&short)
            {
                let msg = format!("Invalid type: {ty}");
                out.parse_error = Some((msg.clone(), vec![fe(format!("{}.type", t.path), msg)]));
                return out;
            }
        } else if t.obj.get("type").is_none() {
            let msg = "Invalid type: null".to_string();
            out.parse_error = Some((msg.clone(), vec![fe(format!("{}.type", t.path), msg)]));
            return out;
        }
    }
    for (i, trig) in list(map.get("triggers")).iter().enumerate() {
        if let Some(ty) = trig.get("type").and_then(Value::as_str)
            && let Some(short) = ty.strip_prefix("io.kestra.plugin.core.")
            && !CORE_TYPES.contains(&short)
        {
            let msg = format!("Invalid type: {ty}");
            out.parse_error = Some((msg.clone(), vec![fe(format!("triggers[{i}].type"), msg)]));
            return out;
        }
    }
    if let Some(err) = check_input_types(map) {
        out.parse_error = Some(err);
        return out;
    }

    out.id = map.get("id").map(crate::flow::scalar_string);
    out.namespace = map.get("namespace").map(crate::flow::scalar_string);
    out.revision = map.get("revision").and_then(Value::as_i64);

    // Model phase.
    let v = &mut out.violations;
    match map.get("id") {
        None | Some(Value::Null) => v.push(fe("id", "must not be null")),
        Some(id) => {
            let id = crate::flow::scalar_string(id);
            if id.chars().count() > 100 {
                v.push(fe("id", "size must be between 1 and 100"));
            }
            if !full_match(FLOW_ID_PATTERN, &id) {
                v.push(fe("id", format!("must match \"{FLOW_ID_PATTERN}\"")));
            }
        }
    }
    match map.get("namespace") {
        None | Some(Value::Null) => v.push(fe("namespace", "must not be null")),
        Some(ns) => {
            let ns = crate::flow::scalar_string(ns);
            if ns.chars().count() > 150 {
                v.push(fe("namespace", "size must be between 1 and 150"));
            }
            if !full_match(NAMESPACE_PATTERN, &ns) {
                v.push(fe(
                    "namespace",
                    format!("must match \"{NAMESPACE_PATTERN}\""),
                ));
            }
        }
    }
    if list(map.get("tasks")).is_empty() {
        v.push(fe("tasks", "must not be empty"));
    }
    for t in &tasks {
        match t.obj.get("id") {
            None | Some(Value::Null) => v.push(fe(format!("{}.id", t.path), "must not be null")),
            Some(id) => {
                let id = crate::flow::scalar_string(id);
                if !full_match(TASK_ID_PATTERN, &id) {
                    v.push(fe(
                        format!("{}.id", t.path),
                        format!("must match \"{TASK_ID_PATTERN}\""),
                    ));
                }
            }
        }
        check_core_task(t, map, v);
    }
    if version == KestraVersion::V1_3 {
        for (i, l) in list(map.get("listeners")).iter().enumerate() {
            if list(l.get("tasks")).is_empty() {
                v.push(fe(format!("listeners[{i}].tasks"), "must not be empty"));
            }
        }
    }
    check_inputs(map, v);

    // FlowValidator: one "Invalid Flow: a, b" violation with every flow-level problem.
    let mut flow_level = Vec::new();
    let ids: Vec<String> = tasks
        .iter()
        .filter_map(|t| t.obj.get("id").map(crate::flow::scalar_string))
        .collect();
    let dups = duplicates(&ids);
    if !dups.is_empty() {
        flow_level.push(format!("Duplicate task id with name [{}]", dups.join(", ")));
    }
    let trig_ids: Vec<String> = list(map.get("triggers"))
        .iter()
        .filter_map(|t| t.get("id").map(crate::flow::scalar_string))
        .collect();
    let dups = duplicates(&trig_ids);
    if !dups.is_empty() {
        flow_level.push(format!(
            "Duplicate trigger id with name [{}]",
            dups.join(", ")
        ));
    }
    if let (Some(id), Some(ns)) = (&out.id, &out.namespace) {
        for t in &tasks {
            let is_subflow = matches!(
                t.obj.get("type").and_then(Value::as_str),
                Some(
                    "io.kestra.plugin.core.flow.Subflow"
                        | "io.kestra.core.tasks.flows.Subflow"
                        | "io.kestra.core.tasks.flows.Flow"
                )
            );
            let same = t.obj.get("flowId").and_then(Value::as_str) == Some(id.as_str())
                && t.obj.get("namespace").and_then(Value::as_str) == Some(ns.as_str());
            if is_subflow && same {
                flow_level.push(format!("Recursive call to flow [{ns}.{id}]"));
            }
        }
        if RESERVED_IDS.contains(&id.as_str()) {
            flow_level.push(format!(
                "Flow id '{id}' is a reserved keyword. Reserved keywords are: {}",
                RESERVED_IDS.join(", ")
            ));
        }
    }
    let input_ids: Vec<String> = list(map.get("inputs"))
        .iter()
        .filter_map(|i| {
            i.get("id")
                .or_else(|| i.get("name"))
                .map(crate::flow::scalar_string)
        })
        .collect();
    let dups = duplicates(&input_ids);
    if !dups.is_empty() {
        flow_level.push(format!("Duplicate input with name [{}]", dups.join(", ")));
    }
    let output_ids: Vec<String> = list(map.get("outputs"))
        .iter()
        .filter_map(|i| i.get("id").map(crate::flow::scalar_string))
        .collect();
    let dups = duplicates(&output_ids);
    if !dups.is_empty() {
        flow_level.push(format!("Duplicate output with name [{}]", dups.join(", ")));
    }
    for l in crate::flow::labels_as_list(map.get("labels")) {
        let k = l
            .get("key")
            .map(crate::flow::scalar_string)
            .unwrap_or_default();
        let val = l
            .get("value")
            .map(crate::flow::scalar_string)
            .unwrap_or_default();
        if k.starts_with("system.") && k != "system.readOnly" {
            flow_level.push(format!(
                "System labels can only be set by Kestra itself, offending label: {k}={val}"
            ));
        }
    }
    if !flow_level.is_empty() {
        v.push(FieldError {
            message: format!("Invalid Flow: {}", flow_level.join(", ")),
            path: None,
        });
    }
    out
}

fn duplicates(ids: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut dups = Vec::new();
    for id in ids {
        if !seen.insert(id) && !dups.contains(id) {
            dups.push(id.clone());
        }
    }
    dups
}

pub fn list(v: Option<&Value>) -> Vec<&Map<String, Value>> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

fn list_len(v: Option<&Value>) -> usize {
    match v {
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

/// A task found anywhere in the flow, with its Kestra-style property path.
struct TaskRef<'a> {
    path: String,
    obj: &'a Map<String, Value>,
}

/// Every task, children included (`Flow.allTasksWithChilds`): tasks/errors/finally/
/// afterExecution and the nested lists of flowable tasks (`then`, `else`, `cases`, `default`,
/// Dag's `task` wrappers), plus 1.x listeners' tasks.
fn collect_tasks<'a>(map: &'a Map<String, Value>, prefix: &str, out: &mut Vec<TaskRef<'a>>) {
    for key in [
        "tasks",
        "errors",
        "finally",
        "afterExecution",
        "then",
        "else",
        "default",
        "defaults",
    ] {
        if let Some(Value::Array(items)) = map.get(key) {
            for (i, item) in items.iter().enumerate() {
                let Some(obj) = item.as_object() else {
                    continue;
                };
                let path = format!("{prefix}{key}[{i}]");
                // Dag wraps each task: `- task: {...}\n  dependsOn: [...]`.
                if let (Some(Value::Object(inner)), None) = (obj.get("task"), obj.get("type")) {
                    let p = format!("{path}.task");
                    out.push(TaskRef {
                        path: p.clone(),
                        obj: inner,
                    });
                    collect_tasks(inner, &format!("{p}."), out);
                    continue;
                }
                out.push(TaskRef {
                    path: path.clone(),
                    obj,
                });
                collect_tasks(obj, &format!("{path}."), out);
            }
        }
    }
    if let Some(Value::Object(cases)) = map.get("cases") {
        for (case, items) in cases {
            if let Value::Array(items) = items {
                for (i, item) in items.iter().enumerate() {
                    if let Some(obj) = item.as_object() {
                        let path = format!("{prefix}cases.{case}[{i}]");
                        out.push(TaskRef {
                            path: path.clone(),
                            obj,
                        });
                        collect_tasks(obj, &format!("{path}."), out);
                    }
                }
            }
        }
    }
    if prefix.is_empty() {
        for (li, l) in list(map.get("listeners")).iter().enumerate() {
            if let Some(Value::Array(items)) = l.get("tasks") {
                for (i, item) in items.iter().enumerate() {
                    if let Some(obj) = item.as_object() {
                        let path = format!("listeners[{li}].tasks[{i}]");
                        out.push(TaskRef {
                            path: path.clone(),
                            obj,
                        });
                        collect_tasks(obj, &format!("{path}."), out);
                    }
                }
            }
        }
    }
}

fn core_short(t: &TaskRef<'_>) -> Option<&'static str> {
    let ty = t.obj.get("type").and_then(Value::as_str)?;
    let short = ty.strip_prefix("io.kestra.plugin.core.")?;
    CORE_TYPES.iter().copied().find(|c| *c == short)
}

/// The core plugins' own validators that only depend on the flow's shape.
fn check_core_task(t: &TaskRef<'_>, _flow: &Map<String, Value>, v: &mut Vec<FieldError>) {
    if t.obj.contains_key("workerGroup") {
        v.push(fe(
            format!("{}.workerGroup", t.path),
            "Worker Group is an Enterprise Edition functionality",
        ));
    }
    let Some(short) = core_short(t) else { return };
    if NEEDS_TASKS.contains(&short) && list_len(t.obj.get("tasks")) == 0 {
        v.push(fe(format!("{}.tasks", t.path), "must not be empty"));
    }
    match short {
        "flow.WorkingDirectory" => {
            let children = list(t.obj.get("tasks"));
            let bad = children.iter().any(|c| {
                c.get("type")
                    .and_then(Value::as_str)
                    .and_then(|ty| ty.strip_prefix("io.kestra.plugin.core."))
                    .is_some_and(|s| FLOWABLE.contains(&s))
            });
            if bad {
                v.push(fe(
                    t.path.clone(),
                    "Only runnable tasks are allowed as children of a WorkingDirectory task",
                ));
            }
        }
        "flow.Switch" => {
            let cases_have_tasks = match t.obj.get("cases") {
                Some(Value::Object(c)) => c
                    .values()
                    .any(|l| matches!(l, Value::Array(a) if !a.is_empty())),
                _ => false,
            };
            let defaults_have_tasks =
                list_len(t.obj.get("defaults")) > 0 || list_len(t.obj.get("default")) > 0;
            if !cases_have_tasks && !defaults_have_tasks {
                v.push(fe(
                    t.path.clone(),
                    "No task defined, neither cases or default have any tasks",
                ));
            }
        }
        "flow.Dag" => check_dag(t, v),
        "flow.If" if list_len(t.obj.get("then")) == 0 => {
            v.push(fe(format!("{}.then", t.path), "must not be empty"));
        }
        _ => {}
    }
}

fn check_dag(t: &TaskRef<'_>, v: &mut Vec<FieldError>) {
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in list(t.obj.get("tasks")) {
        let Some(id) = item
            .get("task")
            .and_then(Value::as_object)
            .and_then(|o| o.get("id"))
            .map(crate::flow::scalar_string)
        else {
            continue;
        };
        let deps = match item.get("dependsOn") {
            Some(Value::Array(a)) => a.iter().map(crate::flow::scalar_string).collect(),
            _ => Vec::new(),
        };
        graph.insert(id, deps);
    }
    let mut missing = Vec::new();
    for deps in graph.values() {
        for d in deps {
            if !graph.contains_key(d) && !missing.contains(d) {
                missing.push(d.clone());
            }
        }
    }
    if !missing.is_empty() {
        v.push(fe(
            t.path.clone(),
            format!("Not existing task id in dependency: {}", missing.join(", ")),
        ));
    }
    // Cycle: repeatedly drop nodes whose dependencies are all resolved.
    let mut remaining: HashMap<&str, Vec<&str>> = graph
        .iter()
        .map(|(k, d)| {
            (
                k.as_str(),
                d.iter()
                    .map(String::as_str)
                    .filter(|x| graph.contains_key(*x))
                    .collect(),
            )
        })
        .collect();
    loop {
        let ready: Vec<&str> = remaining
            .iter()
            .filter(|(_, d)| d.is_empty())
            .map(|(k, _)| *k)
            .collect();
        if ready.is_empty() {
            break;
        }
        for r in &ready {
            remaining.remove(r);
        }
        for d in remaining.values_mut() {
            d.retain(|x| !ready.contains(x));
        }
    }
    if !remaining.is_empty() {
        let mut cyc: Vec<&str> = remaining.keys().copied().collect();
        cyc.sort_unstable();
        v.push(fe(
            t.path.clone(),
            format!("Cyclic dependency detected: {}", cyc.join(", ")),
        ));
    }
}

/// Input `type` is a polymorphic type id: a missing or unknown one fails at parse time.
fn check_input_types(map: &Map<String, Value>) -> Option<(String, Vec<FieldError>)> {
    for (i, input) in list(map.get("inputs")).iter().enumerate() {
        match input.get("type").and_then(Value::as_str) {
            None => {
                let msg = "Invalid type: null".to_string();
                return Some((msg.clone(), vec![fe(format!("inputs[{i}].type"), msg)]));
            }
            Some(t) if !INPUT_TYPES.contains(&t.to_ascii_uppercase().as_str()) => {
                let msg = format!("Invalid type: {t}");
                return Some((msg.clone(), vec![fe(format!("inputs[{i}].type"), msg)]));
            }
            _ => {}
        }
    }
    None
}

fn check_inputs(map: &Map<String, Value>, v: &mut Vec<FieldError>) {
    for (i, input) in list(map.get("inputs")).iter().enumerate() {
        let path = format!("inputs[{i}]");
        // `name` is the deprecated spelling of `id`, still honoured.
        match input.get("id").or_else(|| input.get("name")) {
            None | Some(Value::Null) => v.push(fe(format!("{path}.id"), "must not be null")),
            Some(id) => {
                let id = crate::flow::scalar_string(id);
                if !full_match(INPUT_ID_PATTERN, &id) {
                    v.push(fe(
                        format!("{path}.id"),
                        format!("must match \"{INPUT_ID_PATTERN}\""),
                    ));
                }
            }
        }
        let ty = input
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        match ty.as_str() {
            "FILE" if input.get("defaults").is_some_and(|d| !d.is_null()) => {
                v.push(fe(
                    format!("{path}.defaults"),
                    "Inputs of type 'FILE' cannot have a default value other than a file URI",
                ));
            }
            "ARRAY" => match input.get("itemType").and_then(Value::as_str) {
                None => v.push(fe(format!("{path}.itemType"), "must not be null")),
                Some(it) if !ARRAY_ITEM_TYPES.contains(&it.to_ascii_uppercase().as_str()) => {
                    v.push(fe(
                        format!("{path}.itemType"),
                        format!("Item type '{it}' is not supported for ARRAY inputs"),
                    ));
                }
                _ => {}
            },
            "STRING" => {
                if let Some(Value::String(re)) = input.get("validator")
                    && let Err(e) = Regex::new(re)
                {
                    v.push(fe(
                        format!("{path}.validator"),
                        format!("Invalid validator regex: {e}"),
                    ));
                }
            }
            "ENUM" | "SELECT" | "MULTISELECT" => {
                let has_values = matches!(input.get("values"), Some(Value::Array(a)) if !a.is_empty())
                    || input.get("expression").is_some()
                    || input.get("options").is_some();
                if !has_values {
                    v.push(fe(format!("{path}.values"), "must not be empty"));
                }
            }
            _ => {}
        }
    }
}

/// Split a multi-document body like `FlowController.validateFlows`: trim, then split on
/// `\n+---\n*?`; Java's `split` drops trailing empty strings.
pub fn split_documents(body: &str) -> Vec<String> {
    let content = body.trim();
    let re = match Regex::new(r"\n+---\n*?") {
        Ok(r) => r,
        Err(_) => return vec![content.to_string()],
    };
    let mut parts: Vec<String> = re.split(content).map(str::to_string).collect();
    while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_kestra() {
        // The lazy `\n*?` consumes nothing: the newlines after `---` stay with the next document.
        assert_eq!(split_documents("a: 1\n---\nb: 2\n"), vec!["a: 1", "\nb: 2"]);
        assert_eq!(
            split_documents("a: 1\n\n---\n\nb: 2\n---\n"),
            vec!["a: 1", "\n\nb: 2"]
        );
        assert_eq!(split_documents("a: 1"), vec!["a: 1"]);
    }

    #[test]
    fn basic_rules() {
        let ok = "id: a\nnamespace: b.c\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n";
        assert!(check(ok, KestraVersion::V2_0).is_valid());
        let bad = "id: my#flow\nnamespace: MY$NS\ntasks:\n- type: io.kestra.plugin.core.log.Log\n";
        let c = check(bad, KestraVersion::V1_3);
        let m = c.constraints().unwrap();
        assert!(m.contains("id: must match"), "{m}");
        assert!(m.contains("namespace: must match"), "{m}");
        assert!(m.contains("tasks[0].id: must not be null"), "{m}");
        let reserved = ok.replace("id: a\n", "id: pause\n");
        assert!(
            check(&reserved, KestraVersion::V1_3)
                .constraints()
                .unwrap()
                .contains("reserved")
        );
        let td = format!("{ok}taskDefaults:\n  - type: x\n    values: {{}}\n");
        assert!(check(&td, KestraVersion::V1_3).is_valid());
        assert!(check(&td, KestraVersion::V2_0).parse_error.is_some());
    }
}
