"""JWKS faults: each test runs a server of its own against a JWKS fixture it breaks on purpose.

Expectations come from the key provider model (harness.model.keyset): which keys the server holds
after each fetch. The fixture's fetch log says when the server refreshed; the server's log says when a
refresh failed without reaching the fixture.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from harness.compare import bearer_credential, compare, fill, role_calls
from harness.jwks import Fault, JwksServer
from harness.keys import SigningKey, rsa_key
from harness.model import KeyRing
from harness.model.keyset import SourceAnswer, refresh
from harness.server.config import ServerSettings
from harness.session import ServerPool
from harness.target import SUITE_NAMESPACE, Target
from harness.tokens import MintedToken
from harness.types import Outcome
from harness.verdict import Evidence, check
from harness.wait import until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
INTERVAL = 1.0  # refreshInterval of these servers, seconds
REFRESH_ERROR = "error while refreshing token keys"


def answer(jwks: JwksServer) -> SourceAnswer:
    return SourceAnswer(jwks.served_body() if jwks.listening else None)


@contextlib.asynccontextmanager
async def server_trusting(
    server_pool: ServerPool, jwks: JwksServer, *keys: SigningKey
) -> AsyncIterator[tuple[Target, KeyRing]]:
    """A server of its own whose key source is `jwks` (publishing `keys` first), and the key ring the
    model says it holds after its initial fetch."""
    jwks.publish(*keys)
    settings = ServerSettings(refresh_interval=f"{INTERVAL:g}s")
    async with server_pool.dedicated(settings, jwks, guard=False) as server:
        yield server, refresh(KeyRing(), [answer(jwks)])


async def decision(
    server: Target, token: MintedToken, ring: KeyRing, evidence: Evidence | None = None
) -> Outcome:
    """Probe a read call; check it against the model for this key ring; return what the server did."""
    credential, metadata = bearer_credential(token)
    calls = role_calls(NS)[:1]
    comparison = await compare(server, credential, metadata, calls, keyring=ring)
    evidence = evidence if evidence is not None else Evidence()
    fill(evidence, comparison, calls, token)
    evidence.extra["key_ring"] = [f"{k.kty}:{k.kid}" for k in ring.keys]
    check(evidence)
    return comparison.observed["read"]


async def until_outcome(server: Target, token: MintedToken, want: Outcome, deadline: float) -> float:
    """Poll until the server gives `want` for this token; returns the seconds it took."""
    started = time.monotonic()
    prober = await server.prober()
    metadata = server.auth_metadata(token)

    async def reached() -> bool:
        observation = await prober.probe(role_calls(NS)[0].method, NS, metadata)
        return observation.outcome is want

    await until_async(reached, deadline=deadline, interval=0.05, what=f"token {want.value}")
    return time.monotonic() - started


async def refreshes_after(own_jwks: JwksServer, mark: float, count: int = 2) -> None:
    """`count` fetches after `mark`: the second one starting proves the first was fully processed."""
    await own_jwks.fetched(count, after=mark, deadline=count * INTERVAL + 10)


async def failed_refreshes(server: Target, count: int) -> None:
    """Refresh attempts that never reached the fixture show only in the server's log."""
    baseline = server.running.logs().count(REFRESH_ERROR)

    async def seen() -> bool:
        return server.running.logs().count(REFRESH_ERROR) >= baseline + count

    await until_async(seen, deadline=count * INTERVAL + 10, interval=0.1, what=f"{count} failed refreshes")


def token_for(server: Target, key: SigningKey) -> MintedToken:
    return server.mint([f"{NS}:write"], key=key)


@pytest.mark.req("AUTHZ-JWKS-001")
async def test_endpoint_down_at_start_then_up(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    key = rsa_key(kid="k1")
    own_jwks.stop_listening()
    async with server_trusting(server_pool, own_jwks, key) as (server, ring):
        token = token_for(server, key)
        # the initial fetch failed, so the model's ring is empty
        assert await decision(server, token, ring) is Outcome.DENIED
        mark = time.monotonic()
        own_jwks.resume_listening()
        await own_jwks.fetched(1, after=mark, deadline=INTERVAL + 10)
        ring = refresh(ring, [answer(own_jwks)])
        latency = await until_outcome(server, token, Outcome.ALLOWED, deadline=INTERVAL + 5)
        await decision(server, token, ring, evidence)
        evidence.extra["recovery_s_after_endpoint_up"] = round(time.monotonic() - mark, 3)
        evidence.extra["allowed_after_fetch_s"] = round(latency, 3)


@pytest.mark.req("AUTHZ-JWKS-002")
async def test_endpoint_down_mid_run_keeps_keys(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    key = rsa_key(kid="k1")
    async with server_trusting(server_pool, own_jwks, key) as (server, ring):
        token = token_for(server, key)
        assert await decision(server, token, ring) is Outcome.ALLOWED
        own_jwks.stop_listening()
        await failed_refreshes(server, 2)
        ring = refresh(ring, [answer(own_jwks)])
        assert await decision(server, token, ring, evidence) is Outcome.ALLOWED
        own_jwks.resume_listening()


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
    async with server_trusting(server_pool, own_jwks, key) as (server, ring):
        mark = time.monotonic()
        own_jwks.publish(newer)  # would be picked up by a good refresh
        own_jwks.set_fault(fault)
        await refreshes_after(own_jwks, mark)
        ring = refresh(ring, [answer(own_jwks)])
        assert await decision(server, token_for(server, newer), ring) is Outcome.DENIED
        assert await decision(server, token_for(server, key), ring, evidence) is Outcome.ALLOWED
        evidence.extra["fault"] = fault.name


@pytest.mark.req("AUTHZ-JWKS-004")
@pytest.mark.parametrize("status", [404, 500, 200])
async def test_an_empty_key_set_drops_every_key_whatever_the_status(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence, status: int
) -> None:
    key = rsa_key(kid="k1")
    async with server_trusting(server_pool, own_jwks, key) as (server, ring):
        token = token_for(server, key)
        assert await decision(server, token, ring) is Outcome.ALLOWED
        mark = time.monotonic()
        own_jwks.set_fault(Fault(status=status, body=b'{"keys": []}', name=f"empty-{status}"))
        await own_jwks.fetched(1, after=mark, deadline=INTERVAL + 10)
        ring = refresh(ring, [answer(own_jwks)])
        await until_outcome(server, token, Outcome.DENIED, deadline=5)
        assert await decision(server, token, ring, evidence) is Outcome.DENIED
        evidence.extra["status_served"] = status


@pytest.mark.req("AUTHZ-JWKS-005")
async def test_slow_endpoint_keeps_tokens_working_and_then_updates(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    key, newer = rsa_key(kid="k1"), rsa_key(kid="k2")
    async with server_trusting(server_pool, own_jwks, key) as (server, ring):
        own_jwks.set_fault(Fault(delay=3 * INTERVAL, name="slow"))
        own_jwks.publish(newer)
        mark = time.monotonic()
        # While a 3 s fetch hangs (the server's HTTP client has no timeout), the old keys keep working.
        for _ in range(3):
            assert await decision(server, token_for(server, key), ring) is Outcome.ALLOWED
        await own_jwks.fetched(1, after=mark, deadline=3 * INTERVAL + 10)
        own_jwks.set_fault(None)
        ring = refresh(ring, [answer(own_jwks)])
        await until_outcome(server, token_for(server, newer), Outcome.ALLOWED, deadline=5)
        assert await decision(server, token_for(server, newer), ring, evidence) is Outcome.ALLOWED
        evidence.extra["slow_fetch_s"] = 3 * INTERVAL


@pytest.mark.req("AUTHZ-JWKS-006")
async def test_unsupported_key_types(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    """OKP (Ed25519) and oct keys are skipped and the rest is kept; an unknown kty refuses the whole set."""
    key, second, third = rsa_key(kid="k1"), rsa_key(kid="k2"), rsa_key(kid="k3")
    okp = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "okp"}
    octet = {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}
    async with server_trusting(server_pool, own_jwks, key) as (server, ring):
        mark = time.monotonic()
        own_jwks.replace([key, second], extra_jwks=[okp, octet])
        await refreshes_after(own_jwks, mark)
        ring = refresh(ring, [answer(own_jwks)])
        assert await decision(server, token_for(server, second), ring) is Outcome.ALLOWED
        mark = time.monotonic()
        own_jwks.replace([key, third], extra_jwks=[{"kty": "XYZ", "kid": "alien"}])  # and second is retired
        await refreshes_after(own_jwks, mark)
        ring = refresh(ring, [answer(own_jwks)])
        assert await decision(server, token_for(server, third), ring) is Outcome.DENIED  # never picked up
        assert await decision(server, token_for(server, second), ring, evidence) is Outcome.ALLOWED  # kept
        evidence.extra["served"] = [j.get("kid") for j in own_jwks.document()["keys"]]


@pytest.mark.req("AUTHZ-JWKS-007")
async def test_duplicate_kids_last_one_wins(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    first, last = rsa_key(kid="dup"), rsa_key(kid="dup")
    anchor = rsa_key(kid="anchor")
    own_jwks.replace([anchor], extra_jwks=[first.public_jwk(), last.public_jwk()])
    async with server_trusting(server_pool, own_jwks) as (server, ring):
        assert await decision(server, token_for(server, first), ring) is Outcome.DENIED
        assert await decision(server, token_for(server, last), ring, evidence) is Outcome.ALLOWED
