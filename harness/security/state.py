"""What namespace B holds, read with an admin token (with the SDK's retries: visibility calls have a
per-namespace rate limit that a suite's own probes can use up): its record, search attributes, schedules, batch
operations and workflows (each workflow's latest run, status and history). A security test reads it before
and after an attempt from namespace A; any difference is a change a tenant of A made in B.

Reads by workflow id are strongly consistent (mutable state); the list of workflows comes from visibility,
which lags, so it is read until two reads agree (a poll with a deadline, never a sleep)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeScheduleRequest,
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    ListBatchOperationsRequest,
    ListSchedulesRequest,
    ListWorkflowExecutionsRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from harness.server.target import Target
from harness.wait import until_async

# Fields that change without anyone acting on the namespace (server clocks and caches), left out.
_VOLATILE = ("lastUpdateTime", "updateTime", "nextActionTimes", "futureActionTimes")


def _plain(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = _drop_volatile(
        json_format.MessageToDict(message, preserving_proto_field_name=False)
    )
    return data


def _drop_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_volatile(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_drop_volatile(v) for v in value]
    return value


@dataclass
class NamespaceState:
    namespace: str
    record: dict[str, Any] = field(default_factory=dict)
    search_attributes: dict[str, Any] = field(default_factory=dict)
    schedules: dict[str, Any] = field(default_factory=dict)
    batches: dict[str, Any] = field(default_factory=dict)
    workflows: dict[str, Any] = field(default_factory=dict)

    def flat(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in ("record", "search_attributes", "schedules", "batches", "workflows"):
            _flatten(getattr(self, part), part, out)
        return out


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}", out)
    else:
        out[prefix] = value


def changes(before: NamespaceState, after: NamespaceState) -> list[str]:
    """Each difference as one line a person reads ("workflows.victim-1.history: [...] -> [...]")."""
    old, new = _absent_alike(before.flat()), _absent_alike(after.flat())
    found = []
    for key in sorted(set(old) | set(new)):
        if old.get(key, "(absent)") != new.get(key, "(absent)"):
            found.append(f"{key}: {_short(old.get(key, '(absent)'))} -> {_short(new.get(key, '(absent)'))}")
    return found


def _absent_alike(flat: dict[str, Any]) -> dict[str, Any]:
    """A workflow read by id that does not exist is the same as one never read: both are absent."""
    return {
        k: v
        for k, v in flat.items()
        if not (k.startswith("workflows.") and k.endswith(".exists") and v is False)
    }


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


async def read_state(target: Target, namespace: str, known: Iterable[str] = ()) -> NamespaceState:
    """Everything a tenant could change in `namespace`, read as system admin. `known`: workflow ids to
    read whatever visibility says (a deleted one reads as absent)."""
    client = await target.service_client()
    admin = target.metadata(target.admin_token())
    state = NamespaceState(namespace)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace), metadata=admin, retry=True
    )
    state.record = _plain(described)
    try:
        attributes = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), metadata=admin, retry=True
        )
        state.search_attributes = _plain(attributes)
    except RPCError as err:
        state.search_attributes = {"error": err.status.name}
    state.schedules = await _schedules(target, namespace, admin)
    state.batches = await _batches(target, namespace, admin)
    listed = await _visible_workflows(target, namespace, admin)
    for workflow_id in sorted(set(listed) | set(known)):
        state.workflows[workflow_id] = await _workflow(target, namespace, workflow_id, admin)
    return state


async def _schedules(target: Target, namespace: str, admin: Mapping[str, str]) -> dict[str, Any]:
    client = await target.service_client()
    found: dict[str, Any] = {}
    try:
        listed = await client.workflow_service.list_schedules(
            ListSchedulesRequest(namespace=namespace, maximum_page_size=1000),
            metadata=dict(admin),
            retry=True,
        )
    except RPCError as err:
        return {"error": err.status.name}
    for entry in listed.schedules:
        described = await client.workflow_service.describe_schedule(
            DescribeScheduleRequest(namespace=namespace, schedule_id=entry.schedule_id),
            metadata=dict(admin),
            retry=True,
        )
        found[entry.schedule_id] = {
            "paused": described.schedule.state.paused,
            "notes": described.schedule.state.notes,
            "running": sorted(w.workflow_id for w in described.info.running_workflows),
            "actions": described.info.action_count,
            "recent": [
                (a.start_workflow_result.workflow_id, int(a.start_workflow_status))
                for a in described.info.recent_actions
            ],
        }
    return found


async def _batches(target: Target, namespace: str, admin: Mapping[str, str]) -> dict[str, Any]:
    client = await target.service_client()
    try:
        listed = await client.workflow_service.list_batch_operations(
            ListBatchOperationsRequest(namespace=namespace, page_size=1000), metadata=dict(admin), retry=True
        )
    except RPCError as err:
        return {"error": err.status.name}
    return {b.job_id: int(b.state) for b in listed.operation_info}


async def _visible_workflows(target: Target, namespace: str, admin: Mapping[str, str]) -> list[str]:
    """The workflow ids visibility lists, read until two reads agree (visibility lags its writes)."""
    client = await target.service_client()
    last: list[list[str]] = []

    async def stable() -> list[str] | None:
        listed = await client.workflow_service.list_workflow_executions(
            ListWorkflowExecutionsRequest(namespace=namespace, page_size=1000),
            metadata=dict(admin),
            retry=True,
        )
        ids = sorted({e.execution.workflow_id for e in listed.executions})
        agreed = bool(last) and last[-1] == ids
        last.append(ids)
        return ids if agreed else None

    found: list[str] = await until_async(stable, deadline=30, interval=0.3, what=f"visibility of {namespace}")
    return found


async def _workflow(
    target: Target, namespace: str, workflow_id: str, admin: Mapping[str, str]
) -> dict[str, Any]:
    """The latest run of a workflow: its run id, status, and every event's type (and signal names)."""
    client = await target.service_client()
    execution = WorkflowExecution(workflow_id=workflow_id)
    try:
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(namespace=namespace, execution=execution),
            metadata=dict(admin),
            retry=True,
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return {"exists": False}
        raise
    info = described.workflow_execution_info
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=namespace,
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=info.execution.run_id),
        ),
        metadata=dict(admin),
        retry=True,
    )
    events = []
    for event in history.history.events:
        name = event.WhichOneof("attributes") or str(event.event_type)
        signal = (
            event.workflow_execution_signaled_event_attributes.signal_name
            if event.HasField("workflow_execution_signaled_event_attributes")
            else ""
        )
        events.append(f"{name}:{signal}" if signal else name)
    return {
        "exists": True,
        "run_id": info.execution.run_id,
        "status": int(info.status),
        "history": events,
        "pending_activities": len(described.pending_activities),
    }
