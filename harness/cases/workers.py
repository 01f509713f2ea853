"""Helpers for the cases that need real workers and the SDK's high-level calls."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, ScheduleHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from fixtures.workflows import GuestbookWorkflow, HelloWorkflow, ParentWorkflow, compose_greeting
from harness.cases.ask import Asked, CallQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.runner import facts_of
from harness.probes.grpc import classify_exception
from harness.server.target import Target
from harness.tokens.mint import MintedToken
from harness.tokens.presentation import DEFAULT, Presentation
from harness.types import WORKFLOW_SERVICE, CallTarget, Outcome
from harness.wait import until_async

WORKFLOWS = [HelloWorkflow, GuestbookWorkflow, ParentWorkflow]


def task_queue(prefix: str = "tq") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def worker(client: Client, queue: str) -> Worker:
    # Unsandboxed: the sandbox re-imports the workflow module for every workflow run (0.1-0.15 CPU-s each,
    # about 240 runs a suite); these workflows are the harness's own, deterministic, and trusted. The worker
    # still polls the real server with the test's token: the sandbox only guards workflow code.
    return Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[compose_greeting],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )


@contextlib.asynccontextmanager
async def refusable_worker(client: Client, queue: str) -> AsyncIterator[Worker]:
    """A worker the server may refuse (its token expires). The SDK stops a worker whose poll is refused
    ("Workflow worker failed"); run as `async with Worker` that would also cancel the test's body, so it
    runs as a task of its own and its end is judged here: a refusal is what the test is about, any other
    failure is raised."""
    running = worker(client, queue)
    task = asyncio.create_task(running.run())
    try:
        yield running
    finally:
        if not task.done():
            await running.shutdown()
        try:
            await task
        except Exception as exc:
            if not _refused(exc):
                raise


# The SDK core's poll failure, as its text: no RPCError is raised for it, only this message.
POLL_REFUSED = 'code: PermissionDenied, message: "Request unauthorized."'


def _refused(exc: BaseException) -> bool:
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            return False
        if POLL_REFUSED in str(current) or classify_exception(current)[0] is Outcome.DENIED:
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class ActionResult:
    outcome: Outcome
    answer: str  # status and message (or the exception), for the evidence
    window: Window
    value: Any = None


async def outcome_of(action: Awaitable[Any]) -> ActionResult:
    """What a high-level SDK call ran into, classified by the RPC error inside it (one classifier for
    every surface). An exception with no RPC error inside is ERROR: it says nothing about authorization."""
    window = Window.open()
    try:
        value = await action
    except Exception as exc:  # classified below: every SDK error path ends in one of four outcomes
        outcome, status, message = classify_exception(exc)
        return ActionResult(outcome, f"{status} {message[:160]!r}", window.closed())
    return ActionResult(Outcome.ALLOWED, "OK", window.closed(), value)


def ask_call(
    target: Target,
    token: MintedToken | None,
    method: str,
    namespace: str,
    window: Window,
    presentation: Presentation = DEFAULT,
    service: str = WORKFLOW_SERVICE,
) -> Asked:
    """The model's answer for one call made by a script (a worker, an SDK action) during `window`."""
    question = CallQuestion(
        facts_of(target),
        target.credential(token, presentation),
        CallTarget(f"/{service}/{method}", namespace),
        window,
    )
    return Asked(question, question.answer())


async def run_hello(target: Target, token: MintedToken, namespace: str, name: str) -> str:
    """The sample's flow: a worker and a starter with `token` run HelloWorkflow to its result."""
    client = await target.client(token, namespace)
    queue = task_queue("hello")
    async with worker(client, queue):
        return str(
            await client.execute_workflow(
                HelloWorkflow.run, name, id=f"hello-{uuid.uuid4()}", task_queue=queue
            )
        )


@dataclass(frozen=True)
class HelloStarter:
    """Starts HelloWorkflow(name) on `queue` with id `<prefix>-<name>`: a WorkflowStream's start."""

    queue: str
    prefix: str

    async def __call__(self, client: Client, name: str) -> Any:
        return await client.start_workflow(
            HelloWorkflow.run, name, id=f"{self.prefix}-{name}", task_queue=self.queue
        )


def hello_result(name: str) -> str:
    """What HelloWorkflow(name) returns."""
    return f"Hello, {name}!"


@dataclass
class Script:
    """Actions a script takes with one token: what the server did and what the model says, per action;
    one check over all of them at the end (the SDK-action sibling of runner.Steps)."""

    target: Target
    evidence: Evidence
    expected: dict[str, Any] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)

    async def act(
        self, label: str, token: MintedToken | None, method: str, namespace: str, action: Awaitable[Any]
    ) -> ActionResult:
        result = await outcome_of(action)
        asked = ask_call(self.target, token, method, namespace, result.window)
        asked.observed = result.outcome
        self.evidence.asked.append(asked)
        self.expected[label] = asked.answer.value if asked.answer.determinate else sorted(asked.answer.values)
        self.observed[label] = result.outcome
        self.answers[label] = f"{method}: {result.answer}"
        return result

    def check(self, requirement: str = "") -> None:
        __tracebackhide__ = True
        self.evidence.expected, self.evidence.observed = self.expected, self.observed
        self.evidence.extra["answers"] = self.answers
        check(self.evidence, requirement)


async def drain(iterator: AsyncIterable[Any]) -> list[Any]:
    """Every item of an SDK listing (which pages lazily)."""
    return [item async for item in iterator]


async def scheduled_result(client: Client, handle: ScheduleHandle, deadline: float) -> str:
    """The result of the first of the schedule's runs that completed, once one has."""

    async def completed_run() -> str | None:
        description = await handle.describe()
        for action in description.info.recent_actions:
            run = action.action
            if not isinstance(run, ScheduleActionExecutionStartWorkflow):
                continue  # the only action these schedules take
            result_handle = client.get_workflow_handle(run.workflow_id, run_id=run.first_execution_run_id)
            info = await result_handle.describe()
            if info.status and info.status.name == "COMPLETED":
                return str(await result_handle.result())
        return None

    result: str = await until_async(
        completed_run, deadline=deadline, interval=0.5, what="a scheduled run completed"
    )
    return result
