"""JWKS faults: each test runs a server of its own against a JWKS fixture it breaks on purpose.

Expectations come from the key-provider model fed with the fixture's fetch log (what was served, when):
after each change the test waits for the server's next refresh (server behaviour, with a deadline),
then probes; where a refresh lands while a probe runs, the runner probes again once it has settled.
"""

from __future__ import annotations

import time

import pytest

from harness.cases.evidence import Evidence
from harness.cases.runner import Steps
from harness.jwks.fixture import Fault, JwksServer
from harness.scripts.key_sources import failed_refreshes, server_trusting
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.keys import SigningKey, rsa_key
from harness.tokens.mint import MintedToken
from harness.types import Outcome

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.needs_own_server]

NS = SUITE_NAMESPACE
INTERVAL = 1.0  # refreshInterval of these servers, seconds
SETTLE = 10 * INTERVAL + 20  # deadline for the server's next refresh


def token_for(server: Target, key: SigningKey) -> MintedToken:
    """A token recipe (data): a writer in NS, signed by `key`."""
    return server.mint([f"{NS}:write"], key=key)


@pytest.mark.req("AUTHZ-JWKS-001")
async def test_endpoint_down_at_start_then_up(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    key = rsa_key(kid="k1")
    own_jwks.stop_listening()
    own_jwks.publish(key)
    async with server_trusting(server_pool, own_jwks, INTERVAL) as server:
        steps = Steps(server, evidence)
        await steps.probe("endpoint-down", token_for(server, key))
        own_jwks.resume_listening()
        await server.keys.settle(SETTLE)  # everything served so far applied
        await steps.probe("after-refresh", token_for(server, key))
        steps.check()


@pytest.mark.req("AUTHZ-JWKS-002")
async def test_endpoint_down_mid_run_keeps_keys(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    key = rsa_key(kid="k1")
    own_jwks.publish(key)
    async with server_trusting(server_pool, own_jwks, INTERVAL) as server:
        steps = Steps(server, evidence)
        await steps.probe("endpoint-up", token_for(server, key))
        own_jwks.stop_listening()
        await failed_refreshes(server, 2, SETTLE)
        await steps.probe("after-failed-refreshes", token_for(server, key))
        own_jwks.resume_listening()
        steps.check()


@pytest.mark.req("AUTHZ-JWKS-003")
@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500, body=b"internal error", name="http-500-text"),
        Fault(status=200, body=b'{"keys": [', name="invalid-json"),
        Fault(status=200, body=b"[]", name="json-array"),
    ],
    ids=lambda f: f.name,
)
async def test_broken_answers_keep_the_old_keys(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence, fault: Fault
) -> None:
    key, newer = rsa_key(kid="k1"), rsa_key(kid="k2")
    own_jwks.publish(key)
    async with server_trusting(server_pool, own_jwks, INTERVAL) as server:
        steps = Steps(server, evidence)
        own_jwks.publish(newer)  # would be picked up by a good refresh
        own_jwks.set_fault(fault)
        await server.keys.settle(SETTLE)  # everything served so far applied
        await steps.probe("new-key", token_for(server, newer))
        await steps.probe("old-key", token_for(server, key))
        evidence.extra["fault"] = fault.name
        steps.check()


@pytest.mark.req("AUTHZ-JWKS-004")
@pytest.mark.parametrize("status", [404, 500, 200])
async def test_an_empty_key_set_drops_every_key_whatever_the_status(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence, status: int
) -> None:
    key = rsa_key(kid="k1")
    own_jwks.publish(key)
    async with server_trusting(server_pool, own_jwks, INTERVAL) as server:
        steps = Steps(server, evidence)
        await steps.probe("before", token_for(server, key))
        own_jwks.set_fault(Fault(status=status, body=b'{"keys": []}', name=f"empty-{status}"))
        await server.keys.settle(SETTLE)  # everything served so far applied
        after = await steps.probe("after-empty-set", token_for(server, key))
        evidence.extra["status_served"] = status
        if status != 200:
            evidence.finding_holds = after["read"] is Outcome.DENIED
        steps.check()


@pytest.mark.req("AUTHZ-JWKS-005")
async def test_slow_endpoint_keeps_tokens_working_and_then_updates(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    key, newer = rsa_key(kid="k1"), rsa_key(kid="k2")
    own_jwks.publish(key)
    async with server_trusting(server_pool, own_jwks, INTERVAL) as server:
        steps = Steps(server, evidence)
        own_jwks.set_fault(Fault(delay=5 * INTERVAL, name="slow"))
        own_jwks.publish(newer)
        # While a slow fetch is outstanding (the server's HTTP client has no timeout), the old keys work
        # and the new one is not there yet.
        await own_jwks.requested(1, after=time.monotonic(), deadline=SETTLE, client=server.name)
        await steps.probe("old-key-during-slow-fetch", token_for(server, key))
        await steps.probe("new-key-during-slow-fetch", token_for(server, newer))
        own_jwks.set_fault(None)
        await server.keys.settle(SETTLE)  # everything served so far applied
        await steps.probe("after-answer", token_for(server, newer))
        steps.check()


@pytest.mark.req("AUTHZ-JWKS-006")
async def test_unsupported_key_types(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    """OKP (Ed25519) and oct keys are skipped and the rest is kept; an unknown kty refuses the whole set."""
    key, second, third = rsa_key(kid="k1"), rsa_key(kid="k2"), rsa_key(kid="k3")
    okp = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "okp"}
    octet = {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}
    own_jwks.publish(key)
    async with server_trusting(server_pool, own_jwks, INTERVAL) as server:
        steps = Steps(server, evidence)
        own_jwks.replace([key, second], extra_jwks=[okp, octet])
        await server.keys.settle(SETTLE)  # everything served so far applied
        await steps.probe("okp-oct-beside", token_for(server, second))
        own_jwks.replace([key, third], extra_jwks=[{"kty": "XYZ", "kid": "alien"}])  # and second is retired
        await server.keys.settle(SETTLE)  # everything served so far applied
        await steps.probe("unknown-kty-new-key", token_for(server, third))
        await steps.probe("unknown-kty-retired-key", token_for(server, second))
        evidence.extra["served"] = [j.get("kid") for j in own_jwks.document()["keys"]]
        steps.check()


@pytest.mark.req("AUTHZ-JWKS-007")
async def test_duplicate_kids_last_one_wins(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    first, last = rsa_key(kid="dup"), rsa_key(kid="dup")
    anchor = rsa_key(kid="anchor")
    own_jwks.replace([anchor], extra_jwks=[first.public_jwk(), last.public_jwk()])
    async with server_trusting(server_pool, own_jwks, INTERVAL) as server:
        steps = Steps(server, evidence)
        await steps.probe("first-dup", token_for(server, first))
        await steps.probe("last-dup", token_for(server, last))
        steps.check()
