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
import time
from typing import Any

import pytest

from harness.cases.ask import Asked, QuotaQuestion, QuotaSharingQuestion
from harness.cases.evidence import Evidence, check
from harness.cases.runner import facts_of
from harness.model import quota
from harness.probes.grpc import Observation
from harness.scripts.quota import (
    BURST,
    FLOOD,
    FLOODS,
    READ,
    Flood,
    Q,
    answered,
    exhaust,
    flooding,
    quota_server,
    read,
    read_question,
    refilled,
    request_for,
    tally,
)
from harness.server.target import OTHER_NAMESPACE
from harness.wait import clock_reaches, until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")


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
        QuotaQuestion(read_question(facts, server, outsider, a), BURST, exhausted=True) for a in answers
    ]
    evidence.asked += [Asked(q, q.answer(), answered(a)) for q, a in zip(questions, answers, strict=True)]
    evidence.expected = tally(a.answer.value for a in evidence.asked)
    evidence.observed = tally(answered(a) for a in answers)
    evidence.api, evidence.namespace = READ.name, Q
    evidence.reason = f"{FLOOD} calls by a caller without rights, right after the quota was seen empty: "
    evidence.reason += evidence.asked[0].answer.reason
    evidence.claims = outsider.evidence()
    evidence.extra = {"statuses": tally(a.status for a in answers)}
    check(evidence)


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

    question = QuotaQuestion(
        read_question(facts, server, reader, last),
        BURST,
        tuple(read_question(facts, server, outsider, o) for o in flood),
    )
    asked = Asked(question, question.answer(), answered(last))
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = asked.answer.value, answered(last)
    evidence.api, evidence.namespace = READ.name, Q
    evidence.reason = (
        f"a reader's call after {FLOOD} denied calls on a full bucket of {BURST}: {asked.answer.reason}"
    )
    evidence.claims = reader.evidence()
    evidence.status, evidence.message = last.status, last.message
    evidence.extra = {"flood": tally(answered(a) for a in flood)}
    check(evidence)


@pytest.mark.req("AUTHZ-QUOTA-002")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("pair", sorted(FLOODS))
async def test_a_readers_flood_and_a_writer(server_for: Any, evidence: Evidence, pair: str) -> None:
    flooding_method, starved = FLOODS[pair]
    server = await quota_server(server_for)
    prober = await server.prober()
    reader = server.mint([f"{Q}:read"], sub="reader")
    writer = server.mint([f"{Q}:write"], sub="writer")
    writes: list[Observation] = []
    await refilled()
    async with flooding(Flood(prober, server, flooding_method, reader)) as flood:
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
            flood.limited, deadline=60, what="the reader's flood to use up the namespace's quota"
        )
    flood_answers = flood.answers
    question = QuotaSharingQuestion(facts_of(server), flooding_method.full_method, starved.full_method)
    refused = any(answered(w) == quota.LIMITED for w in writes)
    asked = Asked(question, question.answer(), refused)
    evidence.asked.append(asked)
    key = f"writer's {starved.name} refused while a reader floods {flooding_method.name}"
    evidence.expected, evidence.observed = {key: asked.answer.value}, {key: refused}
    evidence.api, evidence.namespace, evidence.reason = starved.name, Q, asked.answer.reason
    evidence.claims = writer.evidence()
    evidence.extra = {
        "writer's calls": [f"{w.status} {w.message[:80]}" for w in writes],
        "flood": tally(answered(a) for a in flood_answers),
    }
    if asked.answer.value:
        evidence.finding_holds = refused
    check(evidence)
