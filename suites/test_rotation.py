"""Key rotation mid-run: a worker keeps polling and workflows keep starting while the JWKS publishes a new
key, the clients switch to it, and the old key is retired. Nothing may be lost. Every decision along
the way is the model's, fed with what the fixture served and when."""

from __future__ import annotations

import time
import uuid

import pytest

from harness.cases.evidence import Evidence
from harness.cases.load import WorkflowStream
from harness.cases.runner import Steps
from harness.cases.workers import HelloStarter, hello_result, worker
from harness.clients import set_token
from harness.jwks.fixture import JwksServer
from harness.report.recorder import Recorder
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE
from harness.tokens.keys import rsa_key
from harness.types import Outcome

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.needs_own_server]

NS = SUITE_NAMESPACE
INTERVAL = 2.0  # refreshInterval, seconds
SETTLE = 10 * INTERVAL + 20  # deadline for the server's next refresh


@pytest.mark.req("AUTHZ-ROTATE-001")
async def test_rotation_mid_run_loses_nothing(
    server_pool: ServerPool, own_jwks: JwksServer, recorder: Recorder, evidence: Evidence
) -> None:
    old, new = rsa_key(kid=f"old-{uuid.uuid4().hex[:4]}"), rsa_key(kid=f"new-{uuid.uuid4().hex[:4]}")
    own_jwks.publish(old)
    settings = ServerSettings(refresh_interval=f"{INTERVAL:g}s", system_workers=False)
    async with server_pool.dedicated(settings, own_jwks) as server:
        steps = Steps(server, evidence)
        perms = [f"{NS}:read", f"{NS}:write"]
        worker_client = await server.client(server.mint(perms, key=old, sub="rotating-worker"))
        starter = await server.client(server.mint(perms, key=old, sub="rotating-starter"))
        tq = f"rotate-{uuid.uuid4().hex[:6]}"

        stream = WorkflowStream(starter, HelloStarter(tq, "rot"), every=0.1)
        async with worker(worker_client, tq):
            stream.begin()
            await own_jwks.fetched(1, after=time.monotonic(), deadline=SETTLE, client=server.name)
            own_jwks.publish(new)  # right after a refresh: the next one is an interval away
            published = time.monotonic()
            await steps.probe("new-key-just-published", server.mint(perms, key=new))
            await server.keys.settle(SETTLE)
            await steps.probe("new-key-after-refresh", server.mint(perms, key=new))
            # Clients switch to tokens signed by the new key, without reconnecting.
            set_token(
                worker_client, server.mint(perms, key=new, sub="rotating-worker").token, server.carrier()
            )
            set_token(starter, server.mint(perms, key=new, sub="rotating-starter").token, server.carrier())
            own_jwks.retire(old)
            await server.keys.settle(SETTLE)
            await steps.probe("retired-key-after-refresh", server.mint(perms, key=old))
            await server.keys.settle(SETTLE)  # a little more load after the rotation
            await stream.stop()
            results = await stream.results(deadline=120)
        counts = stream.count(results, hello_result)

    fetched_new = next((f for f in own_jwks.fetches() if f.asked > published and new.kid in f.kids), None)
    if fetched_new is not None:
        recorder.metric("rotation_new_key_served_after_s", round(fetched_new.answered - published, 3))
    recorder.metric("rotation_workflows", counts)
    recorder.metric("rotation_refresh_interval_s", INTERVAL)
    steps.expected["workflows"] = {"lost": 0, "start_errors": 0}
    steps.observed["workflows"] = {"lost": counts["lost"], "start_errors": counts["start_errors"]}
    evidence.extra.update({"workflows": counts, "start_errors": stream.start_errors[:5]})
    evidence.extra["fetches"] = own_jwks.log_lines()[-10:]
    evidence.namespace, evidence.api = NS, "JWKS rotation with a live worker and starter"
    steps.check()
    assert counts["started"] >= 10, f"only {counts['started']} workflows started: too little load to say"


@pytest.mark.req("AUTHZ-ROTATE-001")
async def test_an_unknown_kid_triggers_no_refetch(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    """refreshInterval 0: the server fetches its keys once, at start. A token signed by a key published
    later names an unknown kid; the server must not fetch again because of it, so the token stays refused."""
    old, new = rsa_key(kid="first"), rsa_key(kid=f"later-{uuid.uuid4().hex[:4]}")
    own_jwks.publish(old)
    async with server_pool.dedicated(
        ServerSettings(refresh_interval="0s", system_workers=False), own_jwks, guarded=False
    ) as server:
        steps = Steps(server, evidence)
        own_jwks.publish(new)
        before = len(own_jwks.fetches(client=server.name))
        outcomes = [
            await steps.probe(f"unknown-kid-{i}", server.mint([f"{NS}:write"], key=new)) for i in range(3)
        ]
        after = len(own_jwks.fetches(client=server.name))
        steps.expected["fetches-caused-by-unknown-kids"] = 0
        steps.observed["fetches-caused-by-unknown-kids"] = after - before
        evidence.finding_holds = after == before and all(o["read"] is Outcome.DENIED for o in outcomes)
        steps.check()
