//! A flow's `outputs` at the end of its execution: Kestra's `ExecutorService.onEnd` (1.3.25
//! `executor/src/main/java/io/kestra/executor/ExecutorService.java` l.430-455) renders each
//! output's `value` (`RunContext.inputAndOutput().renderOutputs`), converts it to the output's
//! `type` (`FlowInputOutput.typedOutputs`, `core/…/runners/FlowInputOutput.java` l.438-520) and
//! sets them on the execution; a value that cannot be rendered or converted fails the execution
//! ("Failed to render output values") and leaves it without outputs. 1.3 answers them as the
//! execution's `outputs`; 2.0 keeps them apart (`ExecutionOutputService`), served by
//! `GET …/outputs/executions/{executionId}`.
//!
//! The emulator renders no Pebble: an expression that is only a variable path
//! (`{{ outputs.ret.value }}`, `{{ inputs.name }}`, `{{ execution.id }}`, `{{ flow.id }}`,
//! `{{ flow.namespace }}`) is resolved, a path under `outputs` or `inputs` that does not exist
//! fails as Kestra's strict variables do, and any other expression is left as written.

use serde_json::{Map, Value};

use crate::execution::Execution;
use crate::flow::scalar_string;

/// The outputs of `execution` per its flow's `outputs`: `None` when the flow declares none,
/// `Err` with the reason when one cannot be rendered or converted.
pub fn compute(
    flow_body: &Value,
    execution: &Execution,
) -> Option<Result<Map<String, Value>, String>> {
    let declared = flow_body.get("outputs")?.as_array()?;
    let mut out = Map::new();
    for output in declared {
        let Some(id) = output.get("id").map(scalar_string) else {
            continue;
        };
        let rendered = match output.get("value") {
            None | Some(Value::Null) => Value::Null,
            Some(v) => match render_value(v, execution) {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            },
        };
        let required = output
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if rendered.is_null() {
            if !required {
                out.insert(id, Value::Null);
                continue;
            }
            return Some(Err(format!("Missing required output '{id}'")));
        }
        let ty = output
            .get("type")
            .map(scalar_string)
            .unwrap_or_default()
            .to_ascii_uppercase();
        match typed(&id, &ty, rendered) {
            Ok(v) => {
                out.insert(id, v);
            }
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(out))
}

/// `FlowInputOutput.parseType` for the types a flow output commonly has.
fn typed(id: &str, ty: &str, v: Value) -> Result<Value, String> {
    let text = scalar_string(&v);
    let bad = |what: &str| format!("Invalid output '{id}': unable to convert `{text}` to {what}");
    Ok(match ty {
        "STRING" | "ENUM" | "SELECT" | "EMAIL" => Value::String(text),
        "INT" => Value::from(text.trim().parse::<i64>().map_err(|_| bad("INT"))?),
        "FLOAT" => {
            serde_json::Number::from_f64(text.trim().parse::<f64>().map_err(|_| bad("FLOAT"))?)
                .map(Value::Number)
                .ok_or_else(|| bad("FLOAT"))?
        }
        "BOOLEAN" | "BOOL" => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("BOOLEAN")),
        },
        "JSON" if v.is_string() => serde_json::from_str(&text).map_err(|_| bad("JSON"))?,
        "SECRET" => {
            return Err(
                "Unable to use a `SECRET` input/output as encryption is not configured".into(),
            );
        }
        // No type, and the others (dates, durations, files, arrays…): as rendered.
        _ => v,
    })
}

/// Renders strings inside `v` (maps and lists recursively, as `renderOutputs` does).
fn render_value(v: &Value, e: &Execution) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => render_text(s, e)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_value(i, e))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.clone(), render_value(v, e)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// A text with `{{ … }}` expressions: a text that is one resolvable expression gives its value;
/// expressions inside other text are replaced by their text.
fn render_text(s: &str, e: &Execution) -> Result<Value, String> {
    let trimmed = s.trim();
    if let Some(inner) = trimmed
        .strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        .filter(|i| !i.contains("{{") && !i.contains("}}"))
        && let Some(v) = resolve(inner.trim(), e, s)?
    {
        return Ok(v);
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let expr = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        match resolve(expr.trim(), e, s)? {
            Some(Value::String(t)) => out.push_str(&t),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// A variable path's value; `None` for an expression the emulator does not render.
fn resolve(expr: &str, e: &Execution, template: &str) -> Result<Option<Value>, String> {
    let is_path = !expr.is_empty()
        && expr.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        });
    if !is_path {
        return Ok(None);
    }
    let mut parts = expr.split('.');
    let root = parts.next().unwrap_or_default();
    let missing = || format!("Unable to render `{template}`: `{expr}` is not defined");
    let mut cur: Value = match root {
        "outputs" => {
            let Some(task) = parts.next() else {
                return Ok(None);
            };
            let found = e
                .task_runs
                .iter()
                .rev()
                .find(|t| t.task_id == task)
                .and_then(|t| t.outputs.clone());
            Value::Object(found.ok_or_else(missing)?)
        }
        "inputs" => Value::Object(e.inputs.clone()),
        "execution" => {
            serde_json::json!({"id": e.id, "namespace": e.namespace, "flowId": e.flow_id})
        }
        "flow" => {
            serde_json::json!({"id": e.flow_id, "namespace": e.namespace, "revision": e.flow_revision})
        }
        _ => return Ok(None),
    };
    for p in parts {
        cur = match cur {
            Value::Object(mut m) => m.remove(p).ok_or_else(missing)?,
            _ => return Err(missing()),
        };
    }
    Ok(Some(cur))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::{State, TaskRun};
    use serde_json::json;

    fn execution(outputs: Option<Value>) -> Execution {
        let mut inputs = Map::new();
        inputs.insert("name".into(), json!("world"));
        Execution {
            id: "ex1".into(),
            namespace: "company.team".into(),
            flow_id: "f".into(),
            flow_revision: 1,
            labels: Vec::new(),
            inputs,
            outputs: None,
            state: State::new("RUNNING", 0),
            task_runs: vec![TaskRun {
                id: "tr1".into(),
                task_id: "ret".into(),
                parent_task_run_id: None,
                value: None,
                state: State::new("SUCCESS", 0),
                attempts: Vec::new(),
                outputs: outputs.and_then(|o| o.as_object().cloned()),
            }],
            original_id: "ex1".into(),
            parent_id: None,
            trigger: None,
            attempt_number: 1,
            created_ms: 0,
            schedule_date_ms: None,
            kind: None,
            deleted: false,
        }
    }

    fn flow(outputs: Value) -> Value {
        json!({"id": "f", "namespace": "company.team", "outputs": outputs})
    }

    #[test]
    fn renders_variable_paths_and_converts_types() {
        let e = execution(Some(json!({"value": "42"})));
        let f = flow(json!([
            {"id": "answer", "type": "STRING", "value": "{{ outputs.ret.value }}"},
            {"id": "n", "type": "INT", "value": "{{ outputs.ret.value }}"},
            {"id": "greeting", "type": "STRING", "value": "hello {{ inputs.name }} from {{ flow.id }}"},
            {"id": "raw", "type": "STRING", "value": "{{ now() }}"},
        ]));
        let got = compute(&f, &e).unwrap().unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"answer": "42", "n": 42, "greeting": "hello world from f", "raw": "{{ now() }}"})
        );
    }

    #[test]
    fn an_undefined_output_fails_the_rendering() {
        let e = execution(None);
        let f = flow(json!([{"id": "x", "type": "STRING", "value": "{{ outputs.ret.value }}"}]));
        assert!(compute(&f, &e).unwrap().is_err());
        let f = flow(json!([{"id": "x", "type": "INT", "value": "abc"}]));
        assert!(compute(&f, &e).unwrap().is_err());
    }

    #[test]
    fn no_declared_outputs_is_none() {
        let e = execution(None);
        assert!(compute(&json!({"id": "f"}), &e).is_none());
    }
}
