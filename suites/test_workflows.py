"""Real workers and real workflows under each role: what users feel, not single calls."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleIntervalSpec, ScheduleSpec

from fixtures.workflows import GuestbookWorkflow, HelloWorkflow, ParentWorkflow
from harness.cases.ask import Window
from harness.cases.calls import Call
from harness.cases.evidence import Evidence, check
from harness.cases.runner import Steps
from harness.cases.workers import Script, ask_call, drain, scheduled_result, task_queue, worker
from harness.probes.grpc import classify_exception, wf
from harness.scripts.namespaces import register, update
from harness.server.setup import ensure_namespaces
from harness.server.target import SUITE_NAMESPACE, Target
from harness.types import Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE


@pytest.mark.req("AUTHZ-WORKFLOW-002")
async def test_worker_with_read_and_write_completes_work(target: Target, evidence: Evidence) -> None:
    token = target.mint([f"{NS}:read", f"{NS}:write"], sub="rw-worker")
    client = await target.client(token)
    tq = task_queue()
    async with worker(client, tq):
        results = await asyncio.gather(
            *(
                client.execute_workflow(ParentWorkflow.run, f"n{i}", id=f"rw-{uuid.uuid4()}", task_queue=tq)
                for i in range(5)
            )
        )
    evidence.expected = [f"Hello, n{i}!" for i in range(5)]
    evidence.observed = results
    evidence.claims, evidence.namespace = token.evidence(), NS
    evidence.api = "worker + child workflows + activities"
    check(evidence)


@pytest.mark.req("AUTHZ-WORKFLOW-003")
async def test_worker_role_alone(target: Target, evidence: Evidence) -> None:
    """`ns:worker` alone: the poll is refused, a real worker fails at once, and the workflow never moves.

    The SDK's worker first describes its namespace (its validation), then polls; the poll is probed on
    its own too, so the refusal is classified exactly, not read out of the worker's error text."""
    token = target.mint([f"{NS}:worker"], sub="worker-role-only")
    starter = await target.client(target.mint([f"{NS}:write", f"{NS}:read"], sub="starter"))
    tq = task_queue()
    handle = await starter.start_workflow(HelloWorkflow.run, "x", id=f"wo-{uuid.uuid4()}", task_queue=tq)
    steps = Steps(target, evidence)
    polled = await steps.probe("poll", token, [Call("poll", wf("PollWorkflowTaskQueue"), NS)])
    window = Window.open()
    failure: BaseException | None = None
    try:
        # The SDK's worker gives up on a refused validation or poll; the deadline is for a server that
        # wrongly lets it in (the workflow would then complete, which is checked below).
        await asyncio.wait_for(worker(await target.client(token), tq).run(), timeout=30)
    except TimeoutError:
        pass
    except Exception as exc:  # the worker's failure is the observation
        failure = exc
    window = window.closed()
    history = [e async for e in handle.fetch_history_events()]
    progressed = any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history)
    describe = ask_call(target, token, "DescribeNamespace", NS, window).answer.value
    poll = ask_call(target, token, "PollWorkflowTaskQueue", NS, window).answer.value
    refused = Outcome.DENIED in (describe, poll)
    # The worker's failure counts as a refusal only when the authorizer's denial is inside it: a worker
    # that died of anything else (a crash, a transport error) shows nothing about authorization.
    failed_with = classify_exception(failure) if failure is not None else None
    denied = failed_with is not None and failed_with[0] is Outcome.DENIED
    steps.expected["worker"] = {"refused by the authorizer": refused, "workflow_progressed": not refused}
    steps.observed["worker"] = {"refused by the authorizer": denied, "workflow_progressed": progressed}
    evidence.claims, evidence.namespace, evidence.api = token.evidence(), NS, "Worker.run"
    evidence.extra["worker_error"] = repr(failure)[:300] if failure else None
    evidence.extra["worker_error_status"] = failed_with[1:] if failed_with else None
    evidence.finding_holds = polled["poll"] is Outcome.DENIED and denied and not progressed
    await handle.terminate()
    steps.check()


@pytest.mark.req("AUTHZ-WORKFLOW-004")
async def test_reader_reads_but_cannot_act(target: Target, evidence: Evidence) -> None:
    writer = await target.client(target.mint([f"{NS}:write"], sub="writer"))
    reader_token = target.mint([f"{NS}:read"], sub="reader")
    reader = await target.client(reader_token)
    tq = task_queue()
    wf_id = f"guestbook-{uuid.uuid4()}"
    script = Script(target, evidence)
    async with worker(writer, tq):
        handle = await writer.start_workflow(GuestbookWorkflow.run, id=wf_id, task_queue=tq)
        await handle.signal(GuestbookWorkflow.sign, "writer")
        as_reader = reader.get_workflow_handle(wf_id)
        actions: dict[str, tuple[str, Callable[[], Awaitable[Any]]]] = {
            "describe": ("DescribeWorkflowExecution", as_reader.describe),
            "list": ("ListWorkflowExecutions", lambda: drain(reader.list_workflows(f"WorkflowId = '{wf_id}'"))),
            "count": ("CountWorkflowExecutions", lambda: reader.count_workflows()),
            "query": ("QueryWorkflow", lambda: as_reader.query(GuestbookWorkflow.count)),
            "history": ("GetWorkflowExecutionHistory", lambda: as_reader.fetch_history()),
            "start": (
                "StartWorkflowExecution",
                lambda: reader.start_workflow(HelloWorkflow.run, "r", id=f"r-{uuid.uuid4()}", task_queue=tq),
            ),
            "signal": ("SignalWorkflowExecution", lambda: as_reader.signal(GuestbookWorkflow.sign, "reader")),
            "update": ("UpdateWorkflowExecution", lambda: as_reader.execute_update(GuestbookWorkflow.sign_and_count, "reader")),
            "cancel": ("RequestCancelWorkflowExecution", as_reader.cancel),
            "terminate": ("TerminateWorkflowExecution", lambda: as_reader.terminate("reader")),
        }  # fmt: skip
        for label, (method, action) in actions.items():
            await script.act(label, reader_token, method, NS, action())
        await handle.signal(GuestbookWorkflow.close)
        entries = await handle.result()
    script.expected["entries"], script.observed["entries"] = ["writer"], entries
    evidence.claims, evidence.namespace, evidence.api = reader_token.evidence(), NS, "high-level SDK calls"
    script.check()


@pytest.mark.req("AUTHZ-WORKFLOW-005")
async def test_namespace_administration_by_role(target: Target, evidence: Evidence) -> None:
    """Writer and namespace admin update; system writer and system admin register and update."""
    scratch = f"authz-admin-{uuid.uuid4().hex[:8]}"
    script = Script(target, evidence)
    system = target.system_scope
    await update(script, "writer_updates", [f"{NS}:write"], NS)
    await update(script, "ns_admin_updates", [f"{NS}:admin"], NS)
    await register(script, "system_writer_registers", [f"{system}:write"], scratch)
    await register(script, "system_admin_registers", [f"{system}:admin"], scratch)
    await ensure_namespaces(target, [scratch])
    await update(script, "system_admin_updates", [f"{system}:admin"], scratch)
    await update(script, "ns_admin_of_other_updates", [f"{NS}:admin"], scratch)
    evidence.namespace, evidence.api = f"{NS}, {scratch}", "UpdateNamespace, RegisterNamespace"
    script.check()


@pytest.mark.req("AUTHZ-WORKFLOW-006")
async def test_schedule_created_by_a_writer_fires(target: Target, evidence: Evidence) -> None:
    """The server's own scheduler runs under auth (internal-frontend) and starts the writer's workflow."""
    token = target.mint([f"{NS}:write", f"{NS}:read"], sub="schedule-writer")
    client = await target.client(token)
    tq = task_queue()
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
            result = await scheduled_result(client, handle, deadline=90)
        finally:
            await handle.delete()
    evidence.expected, evidence.observed = "Hello, schedule!", result
    evidence.claims, evidence.namespace, evidence.api = token.evidence(), NS, "CreateSchedule + scheduler"
    check(evidence)
