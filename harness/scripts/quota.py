"""Namespace rate limits and authorization (AUTHZ-QUOTA-001/002): a server whose namespace authz-quota
allows RPS calls a second (burst BURST), the requests that touch nothing (a workflow that does not exist:
served means NOT_FOUND), a reader's flood, and what each answer means in the model's words (denied,
rate-limited, served)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

from harness.cases.ask import CallQuestion, ServerFacts, Window
from harness.model import quota
from harness.probes.grpc import ApiMethod, Observation, Prober, wf
from harness.server.config import Constrained, ServerSettings, constrained
from harness.server.setup import ensure_namespaces
from harness.server.target import Target
from harness.tokens.mint import MintedToken
from harness.types import CallTarget, Outcome
from harness.wait import cancel_and_wait, clock_reaches, until_async

Q = "authz-quota"
RPS, BURST = 2, 4  # frontend.namespaceRPS for Q; the bucket holds RPS x namespaceBurstRatio (2)
QUOTA = ServerSettings(
    dynamic_config={
        "frontend.namespaceRPS": (constrained(RPS, namespace=Q), Constrained(100000, ())),
        # Before 1.24 the bucket is frontend.namespaceBurst (default 4800), not a ratio of the rate: a
        # flood then drains 4,800 tokens first, and whether the writer sees it in time depends on load
        # (seen live on 1.20.5 and 1.21.0). Later releases ignore the key (a warning in the log).
        "frontend.namespaceBurst": constrained(BURST, namespace=Q),
    }
)
READ, WRITE = wf("DescribeWorkflowExecution"), wf("SignalWorkflowExecution")
FLOOD = 100


def read_request() -> DescribeWorkflowExecutionRequest:
    return DescribeWorkflowExecutionRequest(
        namespace=Q, execution=WorkflowExecution(workflow_id=f"nobody-{uuid.uuid4().hex[:8]}")
    )


def write_request() -> SignalWorkflowExecutionRequest:
    return SignalWorkflowExecutionRequest(
        namespace=Q,
        workflow_execution=WorkflowExecution(workflow_id=f"nobody-{uuid.uuid4().hex[:8]}"),
        signal_name="ring",
        request_id=str(uuid.uuid4()),
    )


def answered(observation: Observation) -> str:
    """The observation as the model's words: denied, rate-limited or served (NotFound is served)."""
    if observation.outcome is Outcome.DENIED:
        return quota.DENIED
    if observation.outcome is Outcome.ALLOWED and observation.status == "RESOURCE_EXHAUSTED":
        return quota.LIMITED
    if observation.outcome is Outcome.ALLOWED:
        return quota.SERVED
    return f"no answer ({observation.status})"


_READY: set[str] = set()  # servers whose Q is registered and usable


async def quota_server(server_for: Any) -> Target:
    """The pooled server of QUOTA (`server_for` is the suites' fixture), its namespace Q ready."""
    server: Target = await server_for(QUOTA)
    if server.address not in _READY:
        # Once per server: the readiness check's own calls use Q's small quota.
        await ensure_namespaces(server, [Q])
        _READY.add(server.address)
    return server


async def read(prober: Prober, server: Target, token: MintedToken) -> Observation:
    return await prober.probe(READ, Q, server.metadata(token), read_request())


async def exhaust(prober: Prober, server: Target, reader: MintedToken) -> None:
    """Reads until the namespace refuses one: its bucket is then empty."""

    async def refused() -> bool:
        answers = await asyncio.gather(*(read(prober, server, reader) for _ in range(BURST * 2)))
        return any(answered(a) == quota.LIMITED for a in answers)

    await until_async(refused, deadline=60, what=f"{Q}'s quota to run out under a reader's reads")


async def refilled() -> None:
    """The bucket refills at RPS tokens a second: past BURST / RPS seconds (and one more) it is full."""
    await clock_reaches(time.monotonic() + BURST / RPS + 1, clock=time.monotonic, what="the quota to refill")


TERMINATE, HISTORY = wf("TerminateWorkflowExecution"), wf("GetWorkflowExecutionHistory")
# (what the reader floods, what the writer calls): a read of the writer's priority starves the writer;
# a read of a lower priority does not (its calls never draw on the writer's bucket).
FLOODS = {
    "GetWorkflowExecutionHistory-starves-TerminateWorkflowExecution": (HISTORY, TERMINATE),
    "DescribeWorkflowExecution-spares-SignalWorkflowExecution": (READ, WRITE),
}


def request_for(method: ApiMethod) -> Message:
    """A request naming a workflow that does not exist: served means NOT_FOUND (nothing is touched)."""
    execution = WorkflowExecution(workflow_id=f"nobody-{uuid.uuid4().hex[:8]}")
    if method == HISTORY:
        return GetWorkflowExecutionHistoryRequest(namespace=Q, execution=execution)
    if method == TERMINATE:
        return TerminateWorkflowExecutionRequest(
            namespace=Q, workflow_execution=execution, reason="quota probe"
        )
    if method == WRITE:
        return write_request()
    return read_request()


def read_question(
    facts: ServerFacts, server: Target, token: MintedToken, observation: Observation
) -> CallQuestion:
    """The model's question for one read of Q by `token`, in the window it ran in."""
    return CallQuestion(
        facts, server.credential(token), CallTarget(READ.full_method, Q),
        Window.between(observation.started, observation.ended),
    )  # fmt: skip


def tally(values: Iterable[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class Flood:
    """Calls of `method` by `token`, four at a time from each of `workers` tasks, until stopped."""

    prober: Prober
    server: Target
    method: ApiMethod
    token: MintedToken
    workers: int = 2
    answers: list[Observation] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _flood(self) -> None:
        metadata = self.server.metadata(self.token)
        while not self._stop.is_set():
            self.answers.extend(
                await asyncio.gather(
                    *(self.prober.probe(self.method, Q, metadata, request_for(self.method)) for _ in range(4))
                )
            )

    def begin(self) -> None:
        self._tasks = [asyncio.create_task(self._flood()) for _ in range(self.workers)]

    async def limited(self) -> bool:
        """Whether the namespace has refused one of the flood's calls yet."""
        return any(answered(a) == quota.LIMITED for a in self.answers)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            await cancel_and_wait(task)


@contextlib.asynccontextmanager
async def flooding(flood: Flood) -> Any:
    flood.begin()
    try:
        yield flood
    finally:
        await flood.stop()
