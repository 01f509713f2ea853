"""Expiring tokens mid-run: a worker whose token expires is refused from then on; a worker whose client
refreshes its token (rpc_metadata or api_key) runs through many expiry periods without one refusal.

Each test has a server of its own, so the server's log counts only this test's refusals: the frontend logs
"Authorization error" for every token the claim mapper refuses (an expired one included).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from fixtures.workflows import HelloWorkflow
from harness.cases.evidence import Evidence, check
from harness.cases.load import WorkflowStream
from harness.cases.runner import Steps
from harness.cases.workers import refusable_worker, worker
from harness.clients import connect, refreshing
from harness.jwks.fixture import JwksServer
from harness.report.recorder import Recorder
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.keys import rsa_key
from harness.wait import clock_reaches, until_async

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
REFUSED = "Authorization error"


@pytest_asyncio.fixture(loop_scope="session")
async def server(server_pool: ServerPool, target: Target) -> AsyncIterator[Target]:
    key = rsa_key(kid="expiry")
    with JwksServer() as jwks:
        jwks.publish(key)
        async with server_pool.dedicated(
            ServerSettings(refresh_interval="1h", system_workers=False), jwks
        ) as dedicated:
            yield dedicated


def refusals(server: Target) -> int:
    return server.logs().count(REFUSED)


async def start_hello(client: Client, name: str, tq: str) -> Any:
    return await client.start_workflow(HelloWorkflow.run, name, id=f"exp-{name}", task_queue=tq)


@pytest.mark.req("AUTHZ-EXPIRY-001")
async def test_worker_with_an_expired_token_is_refused(server: Target, evidence: Evidence) -> None:
    starter = await server.client(server.mint(PERMS, sub="starter"))
    steps = Steps(server, evidence)
    before: str | None = None
    history: list[Any] = []
    for lifetime in LIFETIMES:
        before, history = await work_past_exp(server, starter, steps, lifetime)
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
    steps.check("AUTHZ-EXPIRY-001")


async def work_past_exp(
    server: Target, starter: Client, steps: Steps, lifetime: float
) -> tuple[str | None, list[Any]]:
    """A worker whose token lives `lifetime` s runs a workflow before exp; after exp one more is started
    and its history read once the server has refused the worker. (None, []) when the first workflow was
    not done before exp."""
    token = server.mint(PERMS, sub="expiring-worker", exp_in=lifetime + 1)
    expires_at = float(token.claims["exp"])
    worker_client = await server.client(token)
    tq = f"expiry-{uuid.uuid4().hex[:6]}"
    async with refusable_worker(worker_client, tq) as running:
        before = await result_before(starter, tq, expires_at)
        if before is None:
            return None, []
        await clock_reaches(expires_at, what="the worker token's exp")
        await steps.probe("worker-token-after-exp", token)
        refused_at_start = refusals(server)
        handle = await starter.start_workflow(
            HelloWorkflow.run, "after", id=f"a-{uuid.uuid4()}", task_queue=tq
        )

        async def refused_again() -> bool:
            after_start = refusals(server) - refused_at_start
            # The SDK may stop a worker whose poll is refused (then one refusal is all there will be).
            return after_start >= 2 or (after_start >= 1 and not running.is_running)

        # The worker keeps polling with its expired token: wait until the server has refused it twice after
        # the workflow was started (the server's own log), or refused it once and the SDK stopped the
        # worker for it, then look at the workflow's history.
        await until_async(
            refused_again, deadline=60, interval=0.2, what="the worker's polls refused after exp"
        )
        history = [e async for e in handle.fetch_history_events()]
        await handle.terminate("expiry test")
    return before, history


async def result_before(starter: Client, tq: str, expires_at: float) -> str | None:
    """The "before" workflow's result, or None when it was not done before the worker's token expired
    (a busy machine can take longer than a short token lives to start the worker: seen live, the test then
    waited forever for a workflow no worker could run)."""
    workflow_id = f"b-{uuid.uuid4()}"
    try:
        result: str = await asyncio.wait_for(
            starter.execute_workflow(HelloWorkflow.run, "before", id=workflow_id, task_queue=tq),
            timeout=max(0.0, expires_at - time.time()),
        )
        return result
    except TimeoutError:
        await starter.get_workflow_handle(workflow_id).terminate("not done before the token's exp")
        return None


@pytest.mark.req("AUTHZ-EXPIRY-002")
@pytest.mark.parametrize("via", ["rpc_metadata", "api_key"])
async def test_refreshed_token_survives_many_expiry_periods(
    server: Target, evidence: Evidence, recorder: Recorder, via: str
) -> None:
    """A token provider swaps a fresh token into the live client every REFRESHED_LIFETIME/4 seconds."""
    periods = 2
    carrier = server.carrier(via=via)

    def fresh() -> str:
        return server.mint(PERMS, sub=f"refreshing-worker-{via}", exp_in=REFRESHED_LIFETIME).token

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
        stream = WorkflowStream(starter_client, lambda c, n: start_hello(c, n, tq), every=0.25)
        stream.begin()
        await clock_reaches(
            started + periods * REFRESHED_LIFETIME, what="two expiry periods", clock=time.monotonic
        )
        await stream.stop()
        results = await stream.results(deadline=120)
    expected = lambda name: f"Hello, {name}!"  # noqa: E731
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
    check(evidence, "AUTHZ-EXPIRY-002")
    assert counts["started"] >= 10, f"only {counts['started']} workflows started: too little load to say"
