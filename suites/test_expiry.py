"""Expiring tokens mid-run: a worker whose token expires is refused from then on; a worker whose client
refreshes its token (rpc_metadata or api_key) runs through many expiry periods without one refusal.

Each test has a server of its own, so the server's log counts only this test's refusals: the frontend logs
"Authorization error" for every token the claim mapper refuses (an expired one included).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType

from harness.cases.evidence import Evidence, check
from harness.cases.load import WorkflowStream
from harness.cases.runner import Steps
from harness.cases.workers import HelloStarter, hello_result, worker
from harness.clients import connect, refreshing
from harness.jwks.fixture import JwksServer
from harness.report.recorder import Recorder
from harness.scripts.expiry import fresh_tokens, refusals, work_past_exp
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.keys import rsa_key
from harness.wait import clock_reaches

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.needs_own_server]

NS = SUITE_NAMESPACE
PERMS = [f"{NS}:read", f"{NS}:write"]
# Seconds a worker token lives: longer again when the worker could not finish a workflow in that time.
LIFETIMES = (2.0, 6.0, 18.0)
# A refreshed token lives longer: exp is whole seconds (up to 1 s shorter than asked), and creating an SDK
# worker can hold the event loop (and so the refresh loop) for seconds on a busy machine. Seen live: a
# 4 s token went stale while the worker started and one start was refused "Token is expired". An 8 s
# token refreshed every 2 s leaves 5 s of such stalls before a refusal could be the harness's doing.
REFRESHED_LIFETIME = 8.0


@pytest_asyncio.fixture(loop_scope="session")
async def server(server_pool: ServerPool, target: Target) -> AsyncIterator[Target]:
    key = rsa_key(kid="expiry")
    with JwksServer() as jwks:
        jwks.publish(key)
        async with server_pool.dedicated(
            ServerSettings(refresh_interval="1h", system_workers=False), jwks
        ) as dedicated:
            yield dedicated


@pytest.mark.req("AUTHZ-EXPIRY-001")
async def test_worker_with_an_expired_token_is_refused(server: Target, evidence: Evidence) -> None:
    starter = await server.client(server.mint(PERMS, sub="starter"))
    steps = Steps(server, evidence)
    before: str | None = None
    history: list[Any] = []
    for lifetime in LIFETIMES:
        before, history = await work_past_exp(server, starter, steps, PERMS, lifetime)
        if before is not None:
            break  # else the worker could not finish a workflow in its token's life: a longer one
    completed_tasks = [e for e in history if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    steps.expected["workflows"] = {"before_exp": "Hello, before!", "after_exp_progressed": False}
    steps.observed["workflows"] = {
        "before_exp": before if before is not None else f"not done before exp, tokens of {LIFETIMES} s",
        "after_exp_progressed": bool(completed_tasks),
    }
    # A long poll authorized before exp may still hand out a task after it; its completion is refused.
    evidence.extra["history"] = [EventType.Name(e.event_type) for e in history]
    evidence.namespace, evidence.api = NS, "worker polls after exp"
    steps.check()


@pytest.mark.req("AUTHZ-EXPIRY-002")
@pytest.mark.parametrize("via", ["rpc_metadata", "api_key"])
async def test_refreshed_token_survives_many_expiry_periods(
    server: Target, evidence: Evidence, recorder: Recorder, via: str
) -> None:
    """A token provider swaps a fresh token into the live client every REFRESHED_LIFETIME/4 seconds."""
    periods = 2
    carrier = server.carrier(via=via)

    fresh = fresh_tokens(server, PERMS, f"refreshing-worker-{via}", REFRESHED_LIFETIME)
    first = server.mint(PERMS, sub=f"refreshing-worker-{via}", exp_in=REFRESHED_LIFETIME)
    first_exp = float(first.claims["exp"])
    worker_client = await connect(server.address, NS, first.token, carrier=carrier)
    starter_client = await connect(server.address, NS, fresh(), carrier=carrier)
    tq = f"refresh-{via}-{uuid.uuid4().hex[:6]}"
    refused_before = refusals(server)
    started = time.monotonic()
    # The starter's refresher starts after the worker is up, so its first token is minted then.
    async with (
        refreshing(worker_client, fresh, REFRESHED_LIFETIME / 4, carrier) as worker_refresher,
        worker(worker_client, tq),
        refreshing(starter_client, fresh, REFRESHED_LIFETIME / 4, carrier),
    ):
        stream = WorkflowStream(starter_client, HelloStarter(tq, "exp"), every=0.25)
        stream.begin()
        await clock_reaches(
            started + periods * REFRESHED_LIFETIME, what="two expiry periods", clock=time.monotonic
        )
        await stream.stop()
        results = await stream.results(deadline=120)
    expected = hello_result
    counts = stream.count(results, expected)
    refused = refusals(server) - refused_before
    after_first_exp = stream.completed_after(first_exp, results, expected)
    recorder.metric(
        f"expiry_refresh_{via}", {**counts, "refreshes": worker_refresher.refreshes, "refused": refused}
    )
    evidence.expected = {"lost": 0, "start_errors": 0, "refused_calls": 0, "completed_after_first_exp": True}
    evidence.observed = {
        "lost": counts["lost"],
        "start_errors": counts["start_errors"],
        "refused_calls": refused,
        "completed_after_first_exp": after_first_exp > 0,
    }
    evidence.namespace, evidence.api = NS, f"live token refresh via {via}"
    evidence.extra = {"workflows": counts, "refreshes": worker_refresher.refreshes, "errors": stream.start_errors[:3],
                      "completed_after_first_exp": after_first_exp}  # fmt: skip
    check(evidence)
    assert counts["started"] >= 10, f"only {counts['started']} workflows started: too little load to say"
