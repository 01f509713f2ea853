"""The calls the principal-attribution suite makes (AUTHZ-PRINCIPAL-001): each writes one event in a
workflow's history, whose principal the suite then compares with the model's. A caller may add the
temporal-principal-* headers of SPOOF: the server must strip them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.schedule.v1 import (
    Schedule,
    ScheduleAction,
    SchedulePatch,
    ScheduleSpec,
    TriggerImmediatelyRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import NewWorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CreateScheduleRequest,
    DescribeScheduleRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.service import RPCError

from harness.cases.raw_worker import json_payload
from harness.model.decide import Credential
from harness.server.target import Target
from harness.wait import until_async

# What a caller would send to be taken for someone else (stripped by the server, whatever the flag).
SPOOF = {"temporal-principal-type": "jwt", "temporal-principal-name": "mallory"}
E = EventType


@dataclass
class Made:
    """One call made: the workflow whose history holds its event, which event, the call as the model
    sees it, when it ran, and its token (None: the server's own worker made it)."""

    workflow_id: str
    event_type: int
    api: str
    surface: str
    started: float
    ended: float
    token: Any
    sent: tuple[tuple[str, str], ...] = ()  # headers beyond the token (lower-case, as gRPC carries them)

    def credential(self, server: Target) -> Credential | None:
        """What the model is told the caller sent: the token and every other header (the HTTP API hands
        Grpc-Metadata-<name> on as metadata <name>)."""
        if self.token is None:
            return None
        base = server.credential(self.token)
        return Credential((*base.headers, *self.sent), base.signed_by)


async def _start(server: Target, namespace: str, token: Any, headers: dict[str, str]) -> Made:
    client = await server.service_client()
    workflow_id = f"principal-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=namespace,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="PrincipalVictim"),
            task_queue=TaskQueue(name=f"principal-{uuid.uuid4().hex[:6]}"),
            request_id=str(uuid.uuid4()),
        ),
        metadata={**server.metadata(token), **headers},
        retry=False,
    )
    return Made(workflow_id, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, "StartWorkflowExecution", "grpc",
                started, time.monotonic(), token, tuple(headers.items()))  # fmt: skip


async def _victim(server: Target, namespace: str) -> str:
    """A running workflow to signal, started by the harness's admin."""
    return (await _start(server, namespace, server.admin_token(), {})).workflow_id


async def start_spoofed(server: Target, namespace: str) -> Made:
    alice = server.mint([f"{namespace}:write"], sub="alice")
    return await _start(server, namespace, alice, SPOOF)


async def signal_grpc(server: Target, namespace: str) -> Made:
    workflow_id = await _victim(server, namespace)
    bob = server.mint([f"{namespace}:write"], sub="bob")
    client = await server.service_client()
    started = time.monotonic()
    await client.workflow_service.signal_workflow_execution(
        SignalWorkflowExecutionRequest(
            namespace=namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name="ring",
            input=Payloads(payloads=[json_payload("bob")]),
            request_id=str(uuid.uuid4()),
        ),
        metadata=server.metadata(bob),
        retry=False,
    )
    return Made(workflow_id, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, "SignalWorkflowExecution", "grpc",
                started, time.monotonic(), bob)  # fmt: skip


async def signal_http_spoofed(server: Target, namespace: str) -> Made:
    workflow_id = await _victim(server, namespace)
    carol = server.mint([f"{namespace}:write"], sub="carol")
    headers = {**server.metadata(carol)} | {f"Grpc-Metadata-{k}": v for k, v in SPOOF.items()}
    async with server.http_client() as http:
        started = time.monotonic()
        response = await http.post(
            f"/api/v1/namespaces/{namespace}/workflows/{workflow_id}/signal/ring",
            json={
                "input": {
                    "payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "ImNhcm9sIg=="}]
                }
            },
            headers=headers,
        )
        ended = time.monotonic()
    if response.status_code != 200:
        raise AssertionError(
            f"the HTTP signal was not accepted: {response.status_code} {response.text[:200]}"
        )
    return Made(workflow_id, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, "SignalWorkflowExecution", "http",
                started, ended, carol, tuple(SPOOF.items()))  # fmt: skip


async def schedule_start(server: Target, namespace: str) -> Made:
    """A schedule triggered at once: the server's scheduler starts the workflow, through internal-frontend."""
    dave = server.mint([f"{namespace}:write"], sub="dave")
    client = await server.service_client()
    schedule_id = f"principal-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    await client.workflow_service.create_schedule(
        CreateScheduleRequest(
            namespace=namespace,
            schedule_id=schedule_id,
            schedule=Schedule(
                spec=ScheduleSpec(),
                action=ScheduleAction(
                    start_workflow=NewWorkflowExecutionInfo(
                        workflow_id=f"{schedule_id}-run",
                        workflow_type=WorkflowType(name="PrincipalVictim"),
                        task_queue=TaskQueue(name=f"principal-{uuid.uuid4().hex[:6]}"),
                    )
                ),
            ),
            initial_patch=SchedulePatch(trigger_immediately=TriggerImmediatelyRequest()),
            request_id=str(uuid.uuid4()),
        ),
        metadata=server.metadata(dave),
        retry=False,
    )
    admin = server.metadata(server.admin_token())

    async def first_run() -> str | None:
        try:
            described = await client.workflow_service.describe_schedule(
                DescribeScheduleRequest(namespace=namespace, schedule_id=schedule_id),
                metadata=admin,
                retry=False,
                timeout=timedelta(seconds=10),
            )
        except RPCError:
            return None  # the schedule's workflow may not be queryable yet
        actions = described.info.recent_actions
        return actions[0].start_workflow_result.workflow_id if actions else None

    workflow_id = await until_async(first_run, deadline=90, interval=0.2, what="the schedule's first start")
    return Made(workflow_id, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, "StartWorkflowExecution", "grpc",
                started, time.monotonic(), None)  # fmt: skip


CALLS: dict[str, Callable[[Target, str], Awaitable[Made]]] = {
    "start-with-spoofed-grpc-headers": start_spoofed,
    "signal": signal_grpc,
    "signal-over-http-with-spoofed-headers": signal_http_spoofed,
    "schedule-fires": schedule_start,
}
