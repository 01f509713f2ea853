"""Expiring tokens mid-run: a worker whose token expires is refused from then on; a worker whose client
refreshes its token (rpc_metadata or api_key) runs through many expiry periods without one refusal.

Each test has a server of its own, so the server's log counts only this test's refusals: the frontend logs
"Authorization error" for every token the claim mapper refuses (an expired one included).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Literal

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from fixtures.workflows import HelloWorkflow, compose_greeting
from harness.client import connect, refreshing
from harness.jwks import JwksServer
from harness.keys import rsa_key
from harness.load import WorkflowStream
from harness.report.recorder import Recorder
from harness.server.config import ServerSettings
from harness.session import ServerPool
from harness.target import SUITE_NAMESPACE, Target
from harness.verdict import Evidence, check
from harness.wait import clock_reaches, until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
PERMS = [f"{NS}:read", f"{NS}:write"]
LIFETIME = 2.0  # seconds a worker token lives
REFUSED = "Authorization error"


@pytest_asyncio.fixture(loop_scope="session")
async def server(server_pool: ServerPool, target: Target) -> AsyncIterator[Target]:
    if server_pool.options.target:
        pytest.skip("counts refusals in the server's own log: needs a server of the harness's own")
    key = rsa_key(kid="expiry")
    with JwksServer() as jwks:
        jwks.publish(key)
        async with server_pool.dedicated(ServerSettings(refresh_interval="1h"), jwks) as dedicated:
            yield dedicated


def refusals(server: Target) -> int:
    return server.running.logs().count(REFUSED)


async def start_hello(client: Client, name: str, tq: str):  # type: ignore[no-untyped-def]
    return await client.start_workflow(HelloWorkflow.run, name, id=f"exp-{name}", task_queue=tq)


@pytest.mark.req("AUTHZ-EXPIRY-001")
async def test_worker_with_an_expired_token_is_refused(server: Target, evidence: Evidence) -> None:
    token = server.mint(PERMS, sub="expiring-worker", exp_in=LIFETIME + 1)
    expires_at = float(token.claims["exp"])
    worker_client = await server.client(token)
    starter = await server.client(server.mint(PERMS, sub="starter"))
    tq = f"expiry-{uuid.uuid4().hex[:6]}"
    async with Worker(worker_client, task_queue=tq, workflows=[HelloWorkflow], activities=[compose_greeting]):
        before = await starter.execute_workflow(
            HelloWorkflow.run, "before", id=f"b-{uuid.uuid4()}", task_queue=tq
        )
        await clock_reaches(expires_at, what="the worker token's exp")
        refused_at_expiry = refusals(server)
        handle = await starter.start_workflow(
            HelloWorkflow.run, "after", id=f"a-{uuid.uuid4()}", task_queue=tq
        )

        async def refused_again() -> bool:
            return refusals(server) >= refused_at_expiry + 2

        await until_async(refused_again, deadline=30, interval=0.2, what="the worker's polls refused")
        description = await handle.describe()
        history = [e async for e in handle.fetch_history_events()]
        await handle.terminate("expiry test")
    completed_tasks = [e for e in history if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    evidence.expected = {"before_expiry": "Hello, before!", "after_expiry_progressed": False, "refused": True}
    evidence.observed = {
        "before_expiry": before,
        "after_expiry_progressed": bool(completed_tasks),
        "refused": refusals(server) > refused_at_expiry,
    }
    evidence.claims, evidence.namespace, evidence.api = token.evidence(), NS, "Worker polls after exp"
    # A long poll authorized before exp may still hand out a task after it; its completion is refused.
    evidence.extra = {
        "status": description.status.name if description.status else "",
        "history": [EventType.Name(e.event_type) for e in history],
    }
    check(evidence, "AUTHZ-EXPIRY-001")


@pytest.mark.req("AUTHZ-EXPIRY-002")
@pytest.mark.parametrize("via", ["rpc_metadata", "api_key"])
async def test_refreshed_token_survives_many_expiry_periods(
    server: Target, evidence: Evidence, recorder: Recorder, via: Literal["rpc_metadata", "api_key"]
) -> None:
    """A token provider swaps a fresh token into the live client every LIFETIME/4 seconds."""
    periods = 4

    def fresh() -> str:
        return server.mint(PERMS, sub=f"refreshing-worker-{via}", exp_in=LIFETIME).token

    worker_client = await connect(server.address, NS, fresh(), via=via)
    starter_client = await connect(server.address, NS, fresh(), via=via)
    tq = f"refresh-{via}-{uuid.uuid4().hex[:6]}"
    refused_before = refusals(server)
    started = time.monotonic()
    async with (
        refreshing(worker_client, fresh, LIFETIME / 4, via) as worker_refresher,
        refreshing(starter_client, fresh, LIFETIME / 4, via),
        Worker(worker_client, task_queue=tq, workflows=[HelloWorkflow], activities=[compose_greeting]),
    ):
        stream = WorkflowStream(starter_client, lambda c, n: start_hello(c, n, tq), every=0.25)
        stream.begin()
        await clock_reaches(started + periods * LIFETIME, what="four expiry periods", clock=time.monotonic)
        await stream.stop()
        results = await stream.results(deadline=60)
    counts = stream.count(results, lambda name: f"Hello, {name}!")
    refused = refusals(server) - refused_before
    recorder.metric(
        f"expiry_refresh_{via}", {**counts, "refreshes": worker_refresher.refreshes, "refused": refused}
    )
    evidence.expected = {"lost": 0, "start_errors": 0, "refused_calls": 0, "periods_covered": True}
    evidence.observed = {
        "lost": counts["lost"],
        "start_errors": counts["start_errors"],
        "refused_calls": refused,
        "periods_covered": time.monotonic() - started >= periods * LIFETIME,
    }
    evidence.namespace, evidence.api = NS, f"live token refresh via {via}"
    evidence.extra = {
        "workflows": counts,
        "refreshes": worker_refresher.refreshes,
        "errors": stream.start_errors[:3],
    }
    check(evidence, "AUTHZ-EXPIRY-002")
    assert counts["started"] >= 10
