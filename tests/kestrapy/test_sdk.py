"""Kestra's official Python SDK (kestrapy) against kestractl's Kestra emulator.

A client nobody here wrote: every call goes through the SDK's own API classes and every answer
through its models, made strict (the SDK falls back to an unvalidated object when a model does
not fit; here that is a failure). Run by `tests/kestrapy/run`, which starts the emulator in each
version mode and gives its address in the environment:

    KESTRA_URL, KESTRA_USERNAME, KESTRA_PASSWORD, KESTRA_VERSION_MODE (1.3, 2.0 or 2.1-dev),
    KESTRA_MANAGEMENT_URL (the emulator's request journal is read there)

The emulator runs executions for about a second and a half, so a kill can catch one running.
"""

import os
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import requests

from kestrapy import KestraClient
from kestrapy import exceptions
from kestrapy.base_api import BaseApi

TENANT = "main"
URL = os.environ["KESTRA_URL"]
MODE = os.environ["KESTRA_VERSION_MODE"]
V2 = MODE != "1.3"


def strict_deserialize(data: Any, return_type: Any) -> Any:
    """The SDK's `_deserialize` without its lenient fallback: a model that does not fit raises."""
    if return_type is None or data is None:
        return data
    if return_type in (str, int, float, bool):
        return return_type(data)
    if return_type is dict or return_type is Any:
        return data
    if isinstance(data, dict) and hasattr(return_type, "from_dict"):
        return return_type.from_dict(data)
    if hasattr(return_type, "model_validate"):
        return return_type.model_validate(data)
    return data


BaseApi._deserialize = staticmethod(strict_deserialize)


def waive_state_getters() -> None:
    """One known defect of Kestra's published spec, waived as the emulator's conformance test
    waives it: `State` lists `getDuration`, `getStartDate` and `getEndDate` as required (Java
    getters picked up by the spec generator), while Kestra's JSON has only `duration`,
    `startDate` and `endDate` (and no end date while running). The SDK's model requires the
    getter names, so no real Kestra answer fits it either. They are filled from the real fields
    (a placeholder where there is none) before the strict validation of everything else."""
    from kestrapy.models.state import State

    original = State.from_dict.__func__

    def from_dict(cls, obj):
        if isinstance(obj, dict) and "getDuration" not in obj:
            start = obj.get("startDate") or "1970-01-01T00:00:00Z"
            obj = dict(obj)
            obj["getDuration"] = obj.get("duration") or "PT0S"
            obj["getStartDate"] = start
            obj["getEndDate"] = obj.get("endDate") or start
        return original(cls, obj)

    State.from_dict = classmethod(from_dict)


waive_state_getters()


def waive_object_maps() -> None:
    """The other known defect of Kestra's published spec, waived as the emulator's conformance
    test waives it: a Java `Map<String, Object>` (an execution's inputs, outputs, variables) is
    written `additionalProperties: {type: object}`, which the SDK's generator read as "every
    value is an object". Java's `Object` is any JSON value: Kestra answers `{"name": "sdk"}`.
    Those fields (and only those) take any value; everything else stays strict."""
    import typing

    import pydantic

    import kestrapy.models as models

    object_map = typing.Optional[typing.Dict[str, typing.Dict[str, typing.Any]]]
    for name in dir(models):
        cls = getattr(models, name)
        if not (isinstance(cls, type) and issubclass(cls, pydantic.BaseModel)):
            continue
        changed = False
        for field in cls.model_fields.values():
            if field.annotation == object_map:
                field.annotation = typing.Optional[typing.Dict[str, typing.Any]]
                changed = True
        if changed:
            cls.model_rebuild(force=True)


waive_object_maps()


def spec_typed_execution_getter(client) -> None:
    """kestrapy 2.0.3 reads `GET /executions/{id}` into its `Execution` model, whose task runs
    require `executionId`, `namespace` and `flowId`; Kestra 2.0's spec answers `ApiExecution`,
    whose task runs (`ApiTaskRun`) do not carry them. On 2.x the same call, through the SDK's own
    request code, is read into the SDK's `ApiExecution` model, the type the spec names."""
    if not V2:
        return
    from kestrapy.models.api_execution import ApiExecution

    api = client.executions

    def execution(execution_id: str, tenant: str):
        path = api._tenant_path(tenant, "executions", execution_id)
        return api._json_request("GET", path, ApiExecution)

    api.execution = execution


def model(name: str):
    """A model class of the installed SDK by module name (they differ between 1.3 and 2.0)."""
    module = __import__(f"kestrapy.models.{name}", fromlist=["x"])
    cls = "".join(part.capitalize() for part in name.split("_"))
    return getattr(module, cls)


TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED"}


def state_of(execution) -> str:
    current = execution.state.current
    return current.value if hasattr(current, "value") else str(current)


def wait_for(client, execution_id: str, states, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        e = client.executions.execution(execution_id=execution_id, tenant=TENANT)
        if state_of(e) in states:
            return e
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_id} still {state_of(e)} after {timeout}s")
        time.sleep(0.1)


def flow_yaml(ns: str, flow_id: str, message: str, inputs: bool = False) -> str:
    text = f"id: {flow_id}\nnamespace: {ns}\n"
    if inputs:
        text += "inputs:\n  - id: name\n    type: STRING\n    defaults: world\n"
    text += (
        "tasks:\n"
        "  - id: hello\n"
        "    type: io.kestra.plugin.core.log.Log\n"
        f"    message: {message}\n"
    )
    return text


def check(label: str, condition: bool, detail: Any = "") -> None:
    if not condition:
        raise AssertionError(f"{label}: {detail}")
    print(f"  ok  {label}")


def second_wave(client, ns: str) -> None:
    """The routes of kestractl's second wave through the SDK: flow switches, KV, namespace files
    (and their search), triggers (one at a time and in bulk), pause and resume, latest, an
    execution's file, delete."""
    ids = [{"namespace": ns, "id": "plain"}]
    done = client.flows.disable_flows_by_ids(tenant=TENANT, ids=ids)
    check("disable_flows_by_ids counts the flow", done.count == 1, done)
    f = client.flows.flow(namespace=ns, id="plain", tenant=TENANT, source=True)
    check("the flow is disabled, its source says so", f.disabled and f.source.endswith("\ndisabled: true"), f.source)
    done = client.flows.enable_flows_by_ids(tenant=TENANT, ids=ids)
    check("enable_flows_by_ids counts the flow", done.count == 1, done)

    # KV: text is sent as the SDK sends it (the body as given, text/plain).
    client.kv.set_key_value(namespace=ns, key="settings", tenant=TENANT, body='{"pool": 8}')
    client.kv.set_key_value(namespace=ns, key="greeting", tenant=TENANT, body='"hello world"')
    d = client.kv.key_value(namespace=ns, key="settings", tenant=TENANT)
    kind = d.type.value if hasattr(d.type, "value") else str(d.type)
    check("key_value reads JSON back typed", kind == "JSON" and d.value == {"pool": 8}, d)
    d = client.kv.key_value(namespace=ns, key="greeting", tenant=TENANT)
    check("a quoted text is a STRING", d.value == "hello world", d)
    page = client.kv.list_all_keys(
        tenant=TENANT,
        page=1,
        size=10,
        filters=[{"field": "namespace", "operation": "EQUALS", "value": ns}],
    )
    check("list_all_keys filters on the namespace", page.total == 2, page)
    gone = client.kv.delete_key_value(namespace=ns, key="greeting", tenant=TENANT)
    again = client.kv.delete_key_value(namespace=ns, key="greeting", tenant=TENANT)
    check("delete_key_value: true, then false", gone is True and again is False, (gone, again))

    # Namespace files.
    client.files.create_namespace_file(
        namespace=ns, path="/scripts/etl.py", tenant=TENANT, file_content=b"print(1)\n"
    )
    content = client.files.file_content(namespace=ns, path="/scripts/etl.py", tenant=TENANT)
    check("file_content gives the bytes back", content == b"print(1)\n", content)
    entries = client.files.list_namespace_directory_files(namespace=ns, tenant=TENANT, path="/scripts")
    check(
        "list_namespace_directory_files",
        [(e.file_name, e.size) for e in entries] == [("etl.py", 9)],
        entries,
    )
    for q in ("etl", "scripts"):
        found = client.files.search_namespace_files(namespace=ns, q=q, tenant=TENANT)
        check(f"search_namespace_files q={q}: the file's absolute path", found == ["/scripts/etl.py"], found)
    found = client.files.search_namespace_files(namespace=ns, q="nothing-like-it", tenant=TENANT)
    check("search_namespace_files without a match", found == [], found)
    client.files.delete_file_directory(namespace=ns, path="/scripts", tenant=TENANT)
    try:
        client.files.file_content(namespace=ns, path="/scripts/etl.py", tenant=TENANT)
        raise AssertionError("a deleted file is still served")
    except exceptions.NotFoundException:
        print("  ok  delete_file_directory: the file is gone")

    # Triggers: a schedule and a realtime trigger have a context; each version switches them
    # its own way.
    client.flows.create_flow(
        tenant=TENANT,
        body=flow_yaml(ns, "sched", "tick")
        + "triggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        + "    cron: \"0 2 * * *\"\n"
        + "  - id: stream\n    type: io.kestra.plugin.kafka.RealtimeTrigger\n    topic: events\n",
    )

    def trigger_states():
        found = client.triggers.search_triggers(
            tenant=TENANT,
            page=1,
            size=10,
            filters=[{"field": "namespace", "operation": "EQUALS", "value": ns}],
        )
        key = "state" if V2 else "triggerContext"
        return {i[key]["triggerId"]: i[key]["disabled"] for i in found["results"]}, found

    states, found = trigger_states()
    check(
        "search_triggers finds the schedule and the realtime trigger",
        found["total"] == 2 and states == {"daily": False, "stream": False},
        found,
    )
    set_disabled_request = model("trigger_controller_set_disabled_request")
    if V2:
        state = client.triggers.disable_trigger_by_id(
            tenant=TENANT,
            request={"namespace": ns, "flowId": "sched", "triggerId": "daily", "disabled": True},
        )
        check("disable_trigger_by_id", state["disabled"] is True and state["locked"] is False, state)
        # 2.0's TriggerStateService has no realtime check: a realtime trigger is switched too.
        state = client.triggers.disable_trigger_by_id(
            tenant=TENANT,
            request={"namespace": ns, "flowId": "sched", "triggerId": "stream", "disabled": True},
        )
        check(
            "disable_trigger_by_id switches a realtime trigger off",
            state["disabled"] is True and state["kind"] == "REALTIME",
            state,
        )
        trigger_id = model("trigger_controller_api_trigger_id")
        answer = client.triggers.disabled_triggers_by_ids(
            tenant=TENANT,
            request=set_disabled_request(
                triggers=[
                    trigger_id(namespace=ns, flow_id="sched", trigger_id=t)
                    for t in ("daily", "stream", "missing")
                ],
                disabled=False,
            ),
        )
        check(
            "disabled_triggers_by_ids: one operation over the two that exist",
            answer["totalItems"] == 2 and bool(answer["operationId"]),
            answer,
        )
        states, _ = trigger_states()
        check("both are enabled again", states == {"daily": False, "stream": False}, states)
    else:
        # 1.3's items are full Triggers; the tenant names the row, realtime ones are skipped.
        trigger = model("trigger")
        answer = client.triggers.disabled_triggers_by_ids(
            tenant=TENANT,
            request=set_disabled_request(
                triggers=[
                    trigger(
                        tenant_id=TENANT,
                        namespace=ns,
                        flow_id="sched",
                        trigger_id=t,
                        var_date=datetime.now(timezone.utc),
                    )
                    for t in ("daily", "stream")
                ],
                disabled=True,
            ),
        )
        check("disabled_triggers_by_ids counts every item", answer == {"count": 2}, answer)
        states, _ = trigger_states()
        check(
            "the schedule is disabled, the realtime trigger skipped",
            states == {"daily": True, "stream": False},
            states,
        )
    try:
        client.triggers.unlock_trigger(tenant=TENANT, namespace=ns, flow_id="sched", trigger_id="daily")
        raise AssertionError("unlocking a trigger that is not locked was accepted")
    except exceptions.ConflictException:
        print("  ok  unlock_trigger of an unlocked trigger is a conflict")
    client.flows.delete_flow(namespace=ns, id="sched", tenant=TENANT)

    # Pause and resume a running execution.
    e = client.executions.create_execution(tenant=TENANT, namespace=ns, id="plain")
    wait_for(client, e.id, {"RUNNING"})
    client.executions.pause_execution(execution_id=e.id, tenant=TENANT)
    paused = client.executions.execution(execution_id=e.id, tenant=TENANT)
    check("pause_execution", state_of(paused) == "PAUSED", state_of(paused))
    client.executions.resume_execution(execution_id=e.id, tenant=TENANT)
    e = wait_for(client, e.id, TERMINAL)
    check("resume_execution: it ends", state_of(e) == "SUCCESS", state_of(e))

    latest = client.executions.latest_executions(
        tenant=TENANT, filters=[{"namespace": ns, "id": "plain"}]
    )
    check("latest_executions", len(latest) == 1 and latest[0].id == e.id, latest)

    # An execution's file: a Write task's output, read through the SDK's download.
    client.flows.create_flow(
        tenant=TENANT,
        body=f"id: writes\nnamespace: {ns}\ntasks:\n"
        "  - id: w\n    type: io.kestra.plugin.core.storage.Write\n    content: data\n",
    )
    w = client.executions.create_execution(tenant=TENANT, namespace=ns, id="writes", wait=True)
    if V2:
        # Kestra 2.0 serves task outputs apart from the execution (`OutputsApi`).
        info = client.outputs.task_outputs_information(execution_id=w.id, tenant=TENANT)
        uri = client.outputs.task_run_outputs(
            execution_id=w.id, task_run_id=info[0].task_run_id, tenant=TENANT
        )["uri"]
    else:
        # 1.3 inlines them in the execution.
        got = client.executions.execution(execution_id=w.id, tenant=TENANT)
        uri = got.task_run_list[0].outputs["uri"]
    data = client.executions.download_file_from_execution(execution_id=w.id, path_uri=uri, tenant=TENANT)
    check("download_file_from_execution", data == b"data", data)
    client.executions.delete_execution(execution_id=w.id, tenant=TENANT)
    try:
        client.executions.execution(execution_id=w.id, tenant=TENANT)
        raise AssertionError("a deleted execution is still found")
    except exceptions.NotFoundException:
        print("  ok  delete_execution: it is gone")


OUTS = (
    "id: outs\nnamespace: {ns}\ntasks:\n"
    "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    "  - id: ret\n    type: io.kestra.plugin.core.debug.Return\n    format: done\n"
    "outputs:\n  - id: result\n    type: STRING\n    value: \"{{{{ outputs.ret.value }}}}\"\n"
)


def outputs(client, ns: str) -> None:
    """Task and flow outputs: inline in the execution on 1.3; on 2.x only through `OutputsApi`
    (kestrapy 2.0.3: "Kestra 2.0 dropped the `outputs` property from the execution payload")."""
    client.flows.create_flow(tenant=TENANT, body=OUTS.format(ns=ns))
    e = client.executions.create_execution(tenant=TENANT, namespace=ns, id="outs", wait=True)
    check("a flow with outputs succeeds", state_of(e) == "SUCCESS", state_of(e))
    got = client.executions.execution(execution_id=e.id, tenant=TENANT)
    runs = {r.task_id: r for r in got.task_run_list}
    if not V2:
        check(
            "1.3: the task's outputs are inline",
            runs["ret"].outputs == {"value": "done"} and not runs["log"].outputs,
            runs,
        )
        check("1.3: the flow's outputs are on the execution", got.outputs == {"result": "done"}, got.outputs)
        return
    check(
        "2.x: the execution carries no outputs",
        "outputs" not in got.additional_properties
        and all("outputs" not in r.additional_properties for r in runs.values()),
        got,
    )
    flow_outputs = client.outputs.execution_outputs(execution_id=e.id, tenant=TENANT)
    check("execution_outputs: the flow's outputs", flow_outputs == {"result": "done"}, flow_outputs)
    info = client.outputs.task_outputs_information(execution_id=e.id, tenant=TENANT)
    check(
        "task_outputs_information: the task run that has outputs, no loop value",
        [(i.task_id, i.task_run_id, i.value, i.inline) for i in info]
        == [("ret", runs["ret"].id, None, True)],
        info,
    )
    ret = client.outputs.task_run_outputs(execution_id=e.id, task_run_id=info[0].task_run_id, tenant=TENANT)
    check("task_run_outputs: the Return task's output", ret == {"value": "done"}, ret)
    log = client.outputs.task_run_outputs(execution_id=e.id, task_run_id=runs["log"].id, tenant=TENANT)
    check("task_run_outputs of a task without outputs is empty", log == {}, log)
    running = client.executions.create_execution(tenant=TENANT, namespace=ns, id="outs")
    try:
        client.outputs.execution_outputs(execution_id=running.id, tenant=TENANT)
        raise AssertionError("flow outputs of an execution not yet ended were answered")
    except exceptions.NotFoundException:
        print("  ok  execution_outputs of an execution not yet ended is a 404")
    wait_for(client, running.id, TERMINAL)


def main() -> int:
    ns = f"kestrapy.t{uuid.uuid4().hex[:8]}"
    client = KestraClient(
        host=URL,
        username=os.environ["KESTRA_USERNAME"],
        password=os.environ["KESTRA_PASSWORD"],
        timeout=30,
    )
    spec_typed_execution_getter(client)
    print(f"kestrapy against the emulator in {MODE} mode at {URL}, namespace {ns}")

    # Flows: create, update, get, search, validate.
    greet = flow_yaml(ns, "greet", "Hello", inputs=True)
    f = client.flows.create_flow(tenant=TENANT, body=greet)
    check("create_flow", f.id == "greet" and f.namespace == ns and f.revision == 1, f)
    updated = flow_yaml(ns, "greet", "Hello again", inputs=True)
    f = client.flows.update_flow(namespace=ns, id="greet", tenant=TENANT, body=updated)
    check("update_flow makes revision 2", f.revision == 2, f.revision)
    f = client.flows.flow(namespace=ns, id="greet", tenant=TENANT, source=True)
    check("flow(source=True) gives the source back", f.source == updated, f.source)
    for fid, body in [
        ("plain", flow_yaml(ns, "plain", "Plain")),
        (
            "boom",
            f"id: boom\nnamespace: {ns}\ntasks:\n"
            "  - id: fail\n    type: io.kestra.plugin.core.execution.Fail\n",
        ),
    ]:
        client.flows.create_flow(tenant=TENANT, body=body)
    found = client.flows.search_flows(
        tenant=TENANT,
        page=1,
        size=10,
        filters=[{"field": "namespace", "operation": "EQUALS", "value": ns}],
    )
    check("search_flows finds the three", found.total == 3, found)
    results = client.flows.validate_flows(
        tenant=TENANT,
        body=flow_yaml(ns, "ok", "fine") + "---\n" + f"id: bad flow\nnamespace: {ns}\ntasks: []\n",
    )
    check("validate_flows answers per document", len(results) == 2, results)
    check("a valid document has no constraints", not results[0].constraints, results[0])
    check("an invalid document is reported", bool(results[1].constraints), results[1])

    # Executions: with inputs (multipart), without any (no body, no Content-Type).
    e = client.executions.create_execution(
        tenant=TENANT, namespace=ns, id="greet", inputs={"name": "sdk"}, wait=True
    )
    check("create_execution with inputs, wait", state_of(e) == "SUCCESS", state_of(e))
    check("its input arrived", (e.inputs or {}).get("name") == "sdk", e.inputs)
    with_inputs = e.id
    e = client.executions.create_execution(tenant=TENANT, namespace=ns, id="plain")
    plain = e.id
    e = wait_for(client, plain, TERMINAL)
    check("create_execution without inputs runs", state_of(e) == "SUCCESS", state_of(e))
    journal = requests.get(os.environ["KESTRA_MANAGEMENT_URL"] + "/emulator/requests", timeout=10)
    trigger = [
        r
        for r in journal.json()
        if r["method"] == "POST" and r["path"] == f"/api/v1/main/executions/{ns}/plain"
    ][0]
    headers = {k.lower() for k, _ in trigger["headers"]}
    check(
        "the SDK sent that trigger with no body and no Content-Type",
        trigger["bodyLen"] == 0 and "content-type" not in headers,
        trigger,
    )
    e = client.executions.execution(execution_id=with_inputs, tenant=TENANT)
    check("execution()", e.id == with_inputs and e.namespace == ns, e)

    page = client.executions.search_executions(
        tenant=TENANT,
        page=1,
        size=10,
        filters=[{"field": "namespace", "operation": "EQUALS", "value": ns}],
    )
    paged = model("paged_results_api_light_execution" if V2 else "paged_results_execution")
    page = strict_deserialize(page, paged)
    check("search_executions", page.total == 2, page.total)

    logs = client.logs.list_logs_from_execution(execution_id=with_inputs, tenant=TENANT)
    check(
        "list_logs_from_execution",
        any("Hello again" in (line.message or "") for line in logs),
        [line.message for line in logs],
    )

    # Kill a running execution.
    e = client.executions.create_execution(tenant=TENANT, namespace=ns, id="plain")
    running = e.id
    wait_for(client, running, {"RUNNING"})
    client.executions.kill_execution(execution_id=running, tenant=TENANT)
    e = wait_for(client, running, TERMINAL)
    check("kill_execution", state_of(e) == "KILLED", state_of(e))

    # Restart a failed one: it fails again, on the same execution.
    e = client.executions.create_execution(tenant=TENANT, namespace=ns, id="boom", wait=True)
    check("a Fail task fails", state_of(e) == "FAILED", state_of(e))
    failed = e.id
    e = client.executions.restart_execution(execution_id=failed, tenant=TENANT)
    check("restart_execution", state_of(e) == "RESTARTED" and e.id == failed, state_of(e))
    e = wait_for(client, failed, TERMINAL)
    check("the restarted execution ran again", state_of(e) == "FAILED", state_of(e))

    # A killed one is not restarted: Kestra's refusal, as the SDK reports it.
    try:
        client.executions.restart_execution(execution_id=running, tenant=TENANT)
        raise AssertionError("restarting a KILLED execution was accepted")
    except exceptions.ConflictException:
        print("  ok  restart of a KILLED execution is a conflict")

    second_wave(client, ns)
    outputs(client, ns)

    # Delete the flows.
    for fid in ("greet", "plain", "boom", "writes", "outs"):
        client.flows.delete_flow(namespace=ns, id=fid, tenant=TENANT)
    try:
        client.flows.flow(namespace=ns, id="greet", tenant=TENANT)
        raise AssertionError("a deleted flow is still found")
    except exceptions.NotFoundException:
        print("  ok  delete_flow: the flow is gone")
    client.close()
    print(f"kestrapy {MODE}: all calls passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
