"""Real workers and real workflows under each role: what users feel, not single calls."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf import duration_pb2
from temporalio.api.namespace.v1 import UpdateNamespaceInfo
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest, UpdateNamespaceRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from fixtures.workflows import GuestbookWorkflow, HelloWorkflow, ParentWorkflow, compose_greeting
from harness.target import SUITE_NAMESPACE, Target, credential_of
from harness.types import REQUEST_UNAUTHORIZED, WORKFLOW_SERVICE, CallTarget, Outcome
from harness.verdict import Evidence, check, expected_outcome
from harness.wait import until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
WORKFLOWS = [HelloWorkflow, GuestbookWorkflow, ParentWorkflow]


def queue() -> str:
    return f"tq-{uuid.uuid4().hex[:8]}"


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=[compose_greeting])


async def outcome_of(action: Awaitable[Any]) -> tuple[Outcome, str]:
    """What a high-level SDK call ran into: authorization denial or not (the rest is not our business)."""
    try:
        await action
        return Outcome.ALLOWED, "OK"
    except RPCError as err:
        if err.status == RPCStatusCode.PERMISSION_DENIED and err.message == REQUEST_UNAUTHORIZED:
            return Outcome.DENIED, f"{err.status.name} {err.message}"
        return Outcome.ALLOWED, f"{err.status.name} {err.message[:100]}"
    except Exception as exc:  # the SDK wraps some RPC errors (e.g. WorkflowUpdateRPCTimeoutOrCancelledError)
        cause = exc.__cause__
        if isinstance(cause, RPCError) and cause.status == RPCStatusCode.PERMISSION_DENIED:
            return Outcome.DENIED, f"{cause.status.name} {cause.message}"
        return Outcome.ALLOWED, f"{type(exc).__name__}: {str(exc)[:100]}"


@pytest.mark.req("AUTHZ-WORKFLOW-002")
async def test_worker_with_read_and_write_completes_work(target: Target, evidence: Evidence) -> None:
    token = target.mint([f"{NS}:read", f"{NS}:write"], sub="rw-worker")
    client = await target.client(token)
    tq = queue()
    async with worker(client, tq):
        results = await asyncio.gather(
            *(
                client.execute_workflow(ParentWorkflow.run, f"n{i}", id=f"rw-{uuid.uuid4()}", task_queue=tq)
                for i in range(5)
            )
        )
    evidence.expected = [f"Hello, n{i}!" for i in range(5)]
    evidence.observed = results
    evidence.claims, evidence.namespace, evidence.api = (
        token.evidence(),
        NS,
        "worker + child workflows + activities",
    )
    check(evidence, "AUTHZ-WORKFLOW-002")


@pytest.mark.req("AUTHZ-WORKFLOW-003")
async def test_worker_role_alone_cannot_poll(target: Target, evidence: Evidence) -> None:
    """`ns:worker` alone: the worker fails fast with PERMISSION_DENIED and the workflow never moves."""
    token = target.mint([f"{NS}:worker"], sub="worker-role-only")
    starter = await target.client(target.mint([f"{NS}:write", f"{NS}:read"], sub="starter"))
    tq = queue()
    handle = await starter.start_workflow(HelloWorkflow.run, "x", id=f"wo-{uuid.uuid4()}", task_queue=tq)
    failure = ""
    try:
        await asyncio.wait_for(worker(await target.client(token), tq).run(), timeout=30)
    except Exception as exc:
        failure = str(exc)
    description = await handle.describe()
    history = [e async for e in handle.fetch_history_events()]
    model = target.expect(credential_of(token), CallTarget(f"/{WORKFLOW_SERVICE}/PollWorkflowTaskQueue", NS))
    evidence.expected = {"poll": expected_outcome(model.decision), "worker_failed": True, "progressed": False}
    evidence.observed = {
        "poll": Outcome.DENIED if "Request unauthorized." in failure else Outcome.ALLOWED,
        "worker_failed": bool(failure),
        "progressed": len(history) > 2,
    }
    evidence.claims, evidence.namespace, evidence.api = token.evidence(), NS, "Worker.run"
    evidence.reason = model.reason
    evidence.extra = {
        "worker_error": failure[:300],
        "workflow_status": description.status.name if description.status else "",
    }
    check(evidence, "AUTHZ-WORKFLOW-003")
    await handle.terminate()


@pytest.mark.req("AUTHZ-WORKFLOW-004")
async def test_reader_reads_but_cannot_act(target: Target, evidence: Evidence) -> None:
    writer = await target.client(target.mint([f"{NS}:write"], sub="writer"))
    reader_token = target.mint([f"{NS}:read"], sub="reader")
    reader = await target.client(reader_token)
    tq = queue()
    wf_id = f"guestbook-{uuid.uuid4()}"
    async with worker(writer, tq):
        handle: WorkflowHandle[Any, Any] = await writer.start_workflow(
            GuestbookWorkflow.run, id=wf_id, task_queue=tq
        )
        await handle.signal(GuestbookWorkflow.sign, "writer")
        as_reader = reader.get_workflow_handle(wf_id)
        actions: dict[str, tuple[str, Callable[[], Awaitable[Any]]]] = {
            "describe": ("DescribeWorkflowExecution", as_reader.describe),
            "list": (
                "ListWorkflowExecutions",
                lambda: _drain(reader.list_workflows(f"WorkflowId = '{wf_id}'")),
            ),
            "count": ("CountWorkflowExecutions", lambda: reader.count_workflows()),
            "query": ("QueryWorkflow", lambda: as_reader.query(GuestbookWorkflow.count)),
            "history": ("GetWorkflowExecutionHistory", lambda: as_reader.fetch_history()),
            "start": (
                "StartWorkflowExecution",
                lambda: reader.start_workflow(HelloWorkflow.run, "r", id=f"r-{uuid.uuid4()}", task_queue=tq),
            ),
            "signal": ("SignalWorkflowExecution", lambda: as_reader.signal(GuestbookWorkflow.sign, "reader")),
            "update": (
                "UpdateWorkflowExecution",
                lambda: as_reader.execute_update(GuestbookWorkflow.sign_and_count, "reader"),
            ),
            "cancel": ("RequestCancelWorkflowExecution", as_reader.cancel),
            "terminate": ("TerminateWorkflowExecution", lambda: as_reader.terminate("reader")),
        }
        observed: dict[str, Outcome] = {}
        answers: dict[str, str] = {}
        for name, (_, action) in actions.items():
            observed[name], answers[name] = await outcome_of(action())
        count_after = await handle.query(GuestbookWorkflow.count)
        await handle.signal(GuestbookWorkflow.close)
        entries = await handle.result()
    cred = credential_of(reader_token)
    expected = {
        name: expected_outcome(target.expect(cred, CallTarget(f"/{WORKFLOW_SERVICE}/{api}", NS)).decision)
        for name, (api, _) in actions.items()
    }
    evidence.expected = {**expected, "entries": ["writer"]}
    evidence.observed = {**observed, "entries": entries}
    evidence.claims, evidence.namespace, evidence.api = reader_token.evidence(), NS, "high-level SDK calls"
    evidence.extra = {"answers": answers, "query_count_after": count_after}
    check(evidence, "AUTHZ-WORKFLOW-004")


async def _drain(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


@pytest.mark.req("AUTHZ-WORKFLOW-005")
async def test_namespace_administration_by_role(target: Target, evidence: Evidence) -> None:
    """Writer cannot administer the namespace; namespace admin can; temporal-system:admin registers and updates."""
    prober = await target.prober()
    service = prober.client.workflow_service
    scratch = f"authz-admin-{uuid.uuid4().hex[:8]}"

    async def update(token_perms: list[str], namespace: str) -> Outcome:
        token = target.mint(token_perms)
        request = UpdateNamespaceRequest(
            namespace=namespace, update_info=UpdateNamespaceInfo(description=f"updated by {token_perms}")
        )
        return (await outcome_of(service.update_namespace(request, metadata=target.auth_metadata(token))))[0]

    async def register(token_perms: list[str], namespace: str) -> Outcome:
        token = target.mint(token_perms)
        request = RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
        )
        return (await outcome_of(service.register_namespace(request, metadata=target.auth_metadata(token))))[
            0
        ]

    system_admin = [f"{target.rules.system_scope}:admin"]
    observed = {
        "writer_updates": await update([f"{NS}:write"], NS),
        "ns_admin_updates": await update([f"{NS}:admin"], NS),
        "system_writer_registers": await register([f"{target.rules.system_scope}:write"], scratch),
        "system_admin_registers": await register(system_admin, scratch),
    }
    await target.ensure_namespaces([scratch])
    observed["system_admin_updates"] = await update(system_admin, scratch)
    observed["ns_admin_of_other_updates"] = await update([f"{NS}:admin"], scratch)

    def model(perms: list[str], api: str, namespace: str) -> Outcome:
        cred = credential_of(target.mint(perms))
        return expected_outcome(
            target.expect(cred, CallTarget(f"/{WORKFLOW_SERVICE}/{api}", namespace)).decision
        )

    evidence.expected = {
        "writer_updates": model([f"{NS}:write"], "UpdateNamespace", NS),
        "ns_admin_updates": model([f"{NS}:admin"], "UpdateNamespace", NS),
        "system_writer_registers": model(
            [f"{target.rules.system_scope}:write"], "RegisterNamespace", scratch
        ),
        "system_admin_registers": model(system_admin, "RegisterNamespace", scratch),
        "system_admin_updates": model(system_admin, "UpdateNamespace", scratch),
        "ns_admin_of_other_updates": model([f"{NS}:admin"], "UpdateNamespace", scratch),
    }
    evidence.observed = observed
    evidence.namespace, evidence.api = f"{NS}, {scratch}", "UpdateNamespace, RegisterNamespace"
    check(evidence, "AUTHZ-WORKFLOW-005")


@pytest.mark.req("AUTHZ-WORKFLOW-006")
async def test_schedule_created_by_a_writer_fires(target: Target, evidence: Evidence) -> None:
    """The server's own scheduler runs under auth (internal-frontend) and starts the writer's workflow."""
    token = target.mint([f"{NS}:write", f"{NS}:read"], sub="schedule-writer")
    client = await target.client(token)
    tq = queue()
    schedule_id = f"sched-{uuid.uuid4().hex[:8]}"
    async with worker(client, tq):
        handle = await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    HelloWorkflow.run, "schedule", id=f"{schedule_id}-wf", task_queue=tq
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=1))]),
            ),
        )
        try:

            async def completed_run() -> str | None:
                description = await handle.describe()
                for action in description.info.recent_actions:
                    run = action.action
                    result_handle = client.get_workflow_handle(
                        run.workflow_id, run_id=run.first_execution_run_id
                    )
                    info = await result_handle.describe()
                    if info.status and info.status.name == "COMPLETED":
                        return str(await result_handle.result())
                return None

            result = await until_async(
                completed_run, deadline=45, interval=0.5, what="a scheduled run completed"
            )
        finally:
            await handle.delete()
    evidence.expected, evidence.observed = "Hello, schedule!", result
    evidence.claims, evidence.namespace, evidence.api = token.evidence(), NS, "CreateSchedule + scheduler"
    check(evidence, "AUTHZ-WORKFLOW-006")
