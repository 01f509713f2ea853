"""Key rotation mid-run: a worker keeps polling and workflows keep starting while the JWKS publishes a new
key, the clients switch to it, and the old key is retired. Nothing may be lost."""

from __future__ import annotations

import time
import uuid

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from fixtures.workflows import HelloWorkflow, compose_greeting
from harness.client import set_token
from harness.compare import DESCRIBE, role_calls
from harness.jwks import JwksServer
from harness.keys import SigningKey, rsa_key
from harness.load import WorkflowStream
from harness.model import KeyRing
from harness.model.keyset import SourceAnswer, refresh
from harness.report.recorder import Recorder
from harness.server.config import ServerSettings
from harness.session import ServerPool
from harness.target import SUITE_NAMESPACE, Target, credential_of
from harness.types import Outcome
from harness.verdict import Evidence, check
from harness.wait import DeadlineExceeded, until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
INTERVAL = 2.0  # refreshInterval, seconds
MARGIN = 1.5  # allowed beyond one interval: fetch, parse and swap


async def read_outcome(server: Target, key: SigningKey) -> Outcome:
    prober = await server.prober()
    token = server.mint([f"{NS}:read"], key=key)
    return (await prober.probe(DESCRIBE, NS, server.auth_metadata(token))).outcome


async def wait_outcome(server: Target, key: SigningKey, want: Outcome, what: str) -> float:
    started = time.monotonic()

    async def reached() -> bool:
        return await read_outcome(server, key) is want

    try:
        await until_async(reached, deadline=INTERVAL + MARGIN + 5, interval=0.05, what=what)
    except DeadlineExceeded as exc:
        raise AssertionError(
            f"{what}: not seen within {INTERVAL + MARGIN + 5:.1f}s. The server's key refresh did not happen: "
            f"is jwtKeyProvider.refreshInterval > 0 (the YAML default 0 means never)? ({exc})"
        ) from exc
    return time.monotonic() - started


@pytest.mark.req("AUTHZ-ROTATE-001")
async def test_rotation_mid_run_loses_nothing(
    server_pool: ServerPool, own_jwks: JwksServer, recorder: Recorder, evidence: Evidence
) -> None:
    old, new = rsa_key(kid=f"old-{uuid.uuid4().hex[:4]}"), rsa_key(kid=f"new-{uuid.uuid4().hex[:4]}")
    own_jwks.publish(old)
    settings = ServerSettings(refresh_interval=f"{INTERVAL:g}s")
    async with server_pool.dedicated(settings, own_jwks) as server:
        perms = [f"{NS}:read", f"{NS}:write"]
        worker_client = await server.client(server.mint(perms, key=old, sub="rotating-worker"))
        starter = await server.client(server.mint(perms, key=old, sub="rotating-starter"))
        tq = f"rotate-{uuid.uuid4().hex[:6]}"

        async def start(client: Client, name: str):  # type: ignore[no-untyped-def]
            return await client.start_workflow(HelloWorkflow.run, name, id=f"rot-{name}", task_queue=tq)

        stream = WorkflowStream(starter, start, every=0.1)
        ring = refresh(KeyRing(), [SourceAnswer(own_jwks.served_body())])
        async with Worker(
            worker_client, task_queue=tq, workflows=[HelloWorkflow], activities=[compose_greeting]
        ):
            stream.begin()
            # Publish right after a refresh, so the next one is a whole interval away.
            await own_jwks.fetched(1, after=time.monotonic(), deadline=INTERVAL + 5)
            own_jwks.publish(new)
            published = time.monotonic()
            before_refresh = await read_outcome(server, new)
            expected_before = server.expect(
                credential_of(server.mint([f"{NS}:read"], key=new)), role_calls(NS)[0].target, keyring=ring
            ).decision.value
            pickup = await wait_outcome(
                server, new, Outcome.ALLOWED, "a token signed by the new key accepted"
            )
            fetch = next(f for f in own_jwks.fetches() if f.monotonic > published and new.kid in f.kids)
            ring = refresh(ring, [SourceAnswer(own_jwks.served_body())])
            # Clients switch to tokens signed by the new key, without reconnecting.
            set_token(worker_client, server.mint(perms, key=new, sub="rotating-worker").token)
            set_token(starter, server.mint(perms, key=new, sub="rotating-starter").token)
            own_jwks.retire(old)
            retired = time.monotonic()
            old_denied = await wait_outcome(
                server, old, Outcome.DENIED, "a token signed by the retired key refused"
            )
            ring = refresh(ring, [SourceAnswer(own_jwks.served_body())])
            # A little more load after the rotation, then collect everything.
            await own_jwks.fetched(1, after=time.monotonic(), deadline=INTERVAL + 5)
            await stream.stop()
            results = await stream.results(deadline=60)
        counts = stream.count(results, lambda name: f"Hello, {name}!")

    recorder.metric("rotation_new_key_pickup_s", round(pickup, 3))
    recorder.metric("rotation_new_key_fetched_after_s", round(fetch.monotonic - published, 3))
    recorder.metric("rotation_retired_key_refused_after_s", round(old_denied, 3))
    recorder.metric("rotation_workflows", counts)
    recorder.metric("rotation_refresh_interval_s", INTERVAL)
    evidence.expected = {
        "new_key_before_refresh": "DENIED" if expected_before == "DENY" else "ALLOWED",
        "new_key_pickup_within_s": INTERVAL + MARGIN,
        "retired_key_refused_within_s": INTERVAL + MARGIN,
        "lost": 0,
        "start_errors": 0,
    }
    evidence.observed = {
        "new_key_before_refresh": before_refresh.value,
        "new_key_pickup_within_s": INTERVAL + MARGIN if pickup <= INTERVAL + MARGIN else round(pickup, 3),
        "retired_key_refused_within_s": INTERVAL + MARGIN
        if old_denied <= INTERVAL + MARGIN
        else round(old_denied, 3),
        "lost": counts["lost"],
        "start_errors": counts["start_errors"],
    }
    evidence.extra = {
        "pickup_s": round(pickup, 3),
        "retired_refused_s": round(old_denied, 3),
        "workflows": counts,
        "start_errors": stream.start_errors[:5],
        "fetches": own_jwks.log_lines()[-8:],
        "retired_at_offset_s": round(retired - published, 3),
    }
    evidence.namespace, evidence.api = NS, "JWKS rotation with a live worker and starter"
    check(evidence, "AUTHZ-ROTATE-001")
    assert counts["started"] >= 10
