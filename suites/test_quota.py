"""Namespace rate limits and authorization, on a server whose namespace authz-quota allows 2 calls a
second (burst 4, the default ratio of 2).

QUOTA-001: denied calls neither use nor are refused by a namespace's quota (the limiter runs after the
authorizer). QUOTA-002: the quota is the namespace's, shared by every caller and split by API priority:
a reader flooding a read of the writer's priority (GetWorkflowExecutionHistory, 2) makes the writer's
TerminateWorkflowExecution (2) fail with RESOURCE_EXHAUSTED (no per-principal quota); a read of a lower
priority (DescribeWorkflowExecution, 3) leaves a writer's signals (1) alone.

No verdict rests on timing: where quota must have refilled, the test waits for the clock past the
bucket's refill time and the model ignores refill (it only adds tokens); where the quota must be empty,
the test first sees it refuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)

from harness.cases.ask import Asked, CallQuestion, QuotaQuestion, QuotaSharingQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.runner import facts_of
from harness.model import quota
from harness.probes.grpc import ApiMethod, Observation, Prober, wf
from harness.server.config import Constrained, ServerSettings, constrained
from harness.server.setup import ensure_namespaces
from harness.server.target import OTHER_NAMESPACE, Target
from harness.tokens.mint import MintedToken
from harness.types import CallTarget, Outcome
from harness.wait import clock_reaches, until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")

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


@pytest.mark.req("AUTHZ-QUOTA-001")
@pytest.mark.needs_own_server
async def test_denied_calls_are_not_refused_by_an_empty_quota(server_for: Any, evidence: Evidence) -> None:
    server = await quota_server(server_for)
    prober = await server.prober()
    reader = server.mint([f"{Q}:read"], sub="reader")
    outsider = server.mint([f"{OTHER_NAMESPACE}:read"], sub="outsider")
    await exhaust(prober, server, reader)
    answers = await asyncio.gather(*(read(prober, server, outsider) for _ in range(FLOOD)))

    facts = facts_of(server)
    questions = [
        QuotaQuestion(
            CallQuestion(
                facts,
                server.credential(outsider),
                CallTarget(READ.full_method, Q),
                Window.between(a.started, a.ended),
            ),
            BURST,
            exhausted=True,
        )
        for a in answers
    ]
    evidence.asked += [Asked(q, q.answer(), answered(a)) for q, a in zip(questions, answers, strict=True)]
    evidence.expected = _tally(a.answer.value for a in evidence.asked)
    evidence.observed = _tally(answered(a) for a in answers)
    evidence.api, evidence.namespace = READ.name, Q
    evidence.reason = f"{FLOOD} calls by a caller without rights, right after the quota was seen empty: "
    evidence.reason += evidence.asked[0].answer.reason
    evidence.claims = outsider.evidence()
    evidence.extra = {"statuses": _tally(a.status for a in answers)}
    check(evidence, "AUTHZ-QUOTA-001")


@pytest.mark.req("AUTHZ-QUOTA-001")
@pytest.mark.needs_own_server
async def test_denied_calls_leave_the_quota_to_allowed_ones(server_for: Any, evidence: Evidence) -> None:
    server = await quota_server(server_for)
    prober = await server.prober()
    reader = server.mint([f"{Q}:read"], sub="reader")
    outsider = server.mint([f"{OTHER_NAMESPACE}:read"], sub="outsider")
    await refilled()  # nothing else calls into Q: the bucket is full
    flood = await asyncio.gather(*(read(prober, server, outsider) for _ in range(FLOOD)))
    last = await read(prober, server, reader)

    facts = facts_of(server)

    def asked_of(token: MintedToken, observation: Observation) -> CallQuestion:
        return CallQuestion(facts, server.credential(token), CallTarget(READ.full_method, Q),
                            Window.between(observation.started, observation.ended))  # fmt: skip

    question = QuotaQuestion(asked_of(reader, last), BURST, tuple(asked_of(outsider, o) for o in flood))
    asked = Asked(question, question.answer(), answered(last))
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = asked.answer.value, answered(last)
    evidence.api, evidence.namespace = READ.name, Q
    evidence.reason = (
        f"a reader's call after {FLOOD} denied calls on a full bucket of {BURST}: {asked.answer.reason}"
    )
    evidence.claims = reader.evidence()
    evidence.status, evidence.message = last.status, last.message
    evidence.extra = {"flood": _tally(answered(a) for a in flood)}
    check(evidence, "AUTHZ-QUOTA-001")


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


@pytest.mark.req("AUTHZ-QUOTA-002")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("pair", sorted(FLOODS))
async def test_a_readers_flood_and_a_writer(server_for: Any, evidence: Evidence, pair: str) -> None:
    flooding, starved = FLOODS[pair]
    server = await quota_server(server_for)
    prober = await server.prober()
    reader = server.mint([f"{Q}:read"], sub="reader")
    writer = server.mint([f"{Q}:write"], sub="writer")
    writes: list[Observation] = []
    flood_answers: list[Observation] = []
    stop = asyncio.Event()

    async def flood() -> None:
        while not stop.is_set():
            flood_answers.extend(
                await asyncio.gather(
                    *(
                        prober.probe(flooding, Q, server.metadata(reader), request_for(flooding))
                        for _ in range(4)
                    )
                )
            )

    await refilled()
    flooding_tasks = [asyncio.create_task(flood()) for _ in range(2)]
    try:
        # The writer calls once a second, half the namespace's rate: a quota of its own would never
        # refuse it. Up to 8 calls, stopping at the first refusal; the flood must be seen refused too.
        for _ in range(8):
            paced = time.monotonic() + 1.0
            write = await prober.probe(starved, Q, server.metadata(writer), request_for(starved))
            writes.append(write)
            if answered(write) == quota.LIMITED:
                break
            await clock_reaches(paced, clock=time.monotonic, what="the writer's next call")
        await until_async(
            lambda: _true(any(answered(a) == quota.LIMITED for a in flood_answers)),
            deadline=60,
            what="the reader's flood to use up the namespace's quota",
        )
    finally:
        stop.set()
        for task in flooding_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    question = QuotaSharingQuestion(facts_of(server), flooding.full_method, starved.full_method)
    refused = any(answered(w) == quota.LIMITED for w in writes)
    asked = Asked(question, question.answer(), refused)
    evidence.asked.append(asked)
    key = f"writer's {starved.name} refused while a reader floods {flooding.name}"
    evidence.expected, evidence.observed = {key: asked.answer.value}, {key: refused}
    evidence.api, evidence.namespace, evidence.reason = starved.name, Q, asked.answer.reason
    evidence.claims = writer.evidence()
    evidence.extra = {
        "writer's calls": [f"{w.status} {w.message[:80]}" for w in writes],
        "flood": _tally(answered(a) for a in flood_answers),
    }
    if asked.answer.value:
        evidence.finding_holds = refused
    check(evidence, "AUTHZ-QUOTA-002")


async def _true(value: bool) -> bool:
    return value


def _tally(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(sorted(counts.items()))
