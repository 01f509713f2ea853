"""Key sets an identity provider changes under the server: decoy keys beside the good ones, two providers
whose keys are pooled, a key source that hangs, and file:// key sources edited in place. Each test runs a
server of its own; the model's key ring comes from what was served (and written) and when."""

from __future__ import annotations

import base64
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cases.evidence import Evidence
from harness.cases.runner import Steps
from harness.jwks.fixture import Fault, JwksServer
from harness.jwks.timeline import FileSource, FixtureSource, JwksFile
from harness.model.features import Feature
from harness.scripts.key_sources import server_trusting
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.keys import SigningKey, rsa_key
from harness.tokens.mint import MintedToken
from harness.types import Outcome
from harness.wait import clock_reaches

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.needs_own_server]

NS = SUITE_NAMESPACE
INTERVAL = 1.0
SETTLE = 10 * INTERVAL + 20


def b64(raw: bytes) -> str:
    """Base64url without padding, as JWKs write numbers (for the decoys' data)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decoys() -> dict[str, dict[str, Any]]:
    """Key set entries no verifier should trip on (data: fresh random bytes on each call)."""
    return {
        "post-quantum-AKP": {"kty": "AKP", "alg": "ML-DSA-44", "pub": b64(os.urandom(1312)), "kid": "pq"},
        "EC-secp256k1": {"kty": "EC", "crv": "secp256k1", "x": b64(os.urandom(32)), "y": b64(os.urandom(32)), "kid": "k1"},
        "RSA-unknown-alg": {**rsa_key(kid="unusual").public_jwk(), "alg": "RS999", "kid": "alg-decoy"},
        "RSA-use-enc": {**rsa_key(kid="enc").public_jwk(), "use": "enc", "kid": "enc-decoy"},
    }  # fmt: skip


FREEZING = {"post-quantum-AKP", "EC-secp256k1"}


def token_for(server: Target, key: SigningKey, **spec: Any) -> MintedToken:
    """A token recipe (data): a writer in NS, signed by `key`."""
    return server.mint([f"{NS}:write"], key=key, **spec)


@pytest.mark.req("AUTHZ-JWKS-008")
@pytest.mark.parametrize("decoy", sorted(decoys()))
async def test_decoy_keys(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence, decoy: str
) -> None:
    old, new = rsa_key(kid="k1"), rsa_key(kid="k2")
    own_jwks.publish(old)
    async with server_trusting(server_pool, [FixtureSource(own_jwks, client="decoys")], INTERVAL) as server:
        steps = Steps(server, evidence)
        own_jwks.replace([old, new], extra_jwks=[decoys()[decoy]])
        await server.keys.settle(SETTLE)
        beside = await steps.probe("new-key-beside-the-decoy", token_for(server, new))
        await steps.probe("old-key-beside-the-decoy", token_for(server, old))
        own_jwks.replace([new])  # the decoy goes, and the old key is retired
        await server.keys.settle(SETTLE)
        gone = await steps.probe("new-key-after-the-decoy-is-gone", token_for(server, new))
        evidence.extra["decoy"] = decoys()[decoy] | {"pub": "...", "x": "...", "y": "...", "n": "..."}
        if decoy in FREEZING:
            evidence.finding_holds = beside["read"] is Outcome.DENIED and gone["read"] is Outcome.ALLOWED
        steps.check()


@pytest.mark.req("AUTHZ-JWKS-009")
async def test_two_identity_providers_are_pooled(server_pool: ServerPool, evidence: Evidence) -> None:
    key_a, key_b = rsa_key(kid="idp-a"), rsa_key(kid="idp-b")
    with JwksServer() as idp_a, JwksServer() as idp_b:
        idp_a.publish(key_a)
        idp_b.publish(key_b)
        sources = (FixtureSource(idp_a, client="pool"), FixtureSource(idp_b, client="pool"))
        async with server_trusting(server_pool, list(sources), INTERVAL, refresh_interval="1h") as server:
            steps = Steps(server, evidence)
            await steps.probe("signed-by-A-as-A", token_for(server, key_a, iss="https://idp-a.example"))
            forged = await steps.probe(
                "signed-by-B-claiming-A", token_for(server, key_b, iss="https://idp-a.example")
            )
            evidence.finding_holds = forged["read"] is Outcome.ALLOWED
            steps.check()


@pytest.mark.req("AUTHZ-JWKS-010")
async def test_a_hanging_key_source_holds_the_refresh(
    server_pool: ServerPool, own_jwks: JwksServer, evidence: Evidence
) -> None:
    old, new = rsa_key(kid="k1"), rsa_key(kid="k2")
    own_jwks.publish(old)
    async with server_trusting(server_pool, [FixtureSource(own_jwks, client="hang")], INTERVAL) as server:
        steps = Steps(server, evidence)
        own_jwks.set_fault(Fault(hang=True, name="hang"))
        own_jwks.publish(new)
        mark = time.monotonic()
        await own_jwks.requested(1, after=mark, deadline=SETTLE, client="hang")
        # Watch five refresh intervals go by: a server that timed the fetch out would ask again.
        hung_at = time.monotonic()
        await clock_reaches(hung_at + 5 * INTERVAL, what="five refresh intervals", clock=time.monotonic)
        asked = own_jwks.wait_for_requests(1, after=mark, deadline=0.1, client="hang")
        await steps.probe("old-key-while-hanging", token_for(server, old))
        await steps.probe("new-key-while-hanging", token_for(server, new))
        own_jwks.set_fault(None)  # the hung request ends (the connection closes): refreshes resume
        await server.keys.settle(SETTLE)
        await steps.probe("new-key-after-it-ends", token_for(server, new))
        steps.expected["requests-during-five-intervals"] = 1
        steps.observed["requests-during-five-intervals"] = asked
        evidence.finding_holds = (
            asked == 1 and steps.observed["new-key-while-hanging"]["read"] is Outcome.DENIED
        )
        steps.check()


@pytest.fixture
def key_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="authz-file-keys-") as directory:
        path = Path(directory)
        path.chmod(0o755)  # a containerised server runs as another user
        yield path


@pytest.mark.req("AUTHZ-CONFIG-014")
@pytest.mark.since(Feature.FILE_KEY_SOURCES)
@pytest.mark.parametrize(
    "host", ["", "localhost", "otherhost.example"], ids=["no-host", "localhost", "remote-host"]
)
async def test_file_key_sources(
    server_pool: ServerPool, own_jwks: JwksServer, key_dir: Path, evidence: Evidence, host: str
) -> None:
    """The file comes after a fixture source that marks each refresh: the server fetches the fixture,
    then reads the file, then swaps both in."""
    marker, first, second = rsa_key(kid="marker"), rsa_key(kid="file-1"), rsa_key(kid="file-2")
    own_jwks.publish(marker)
    jwks_file = JwksFile(key_dir / f"{uuid.uuid4().hex}.json")
    jwks_file.write(JwksServer.document_of([first]))
    source = FileSource(jwks_file, f"file://{host}{jwks_file.path}")
    async with server_trusting(
        server_pool, [FixtureSource(own_jwks, client="file"), source], INTERVAL, mounts=(str(key_dir),)
    ) as server:
        steps = Steps(server, evidence)
        await steps.probe("file-key-at-start", token_for(server, first))
        jwks_file.write(JwksServer.document_of([second]))
        await server.keys.settle(SETTLE)
        await steps.probe("edited-file-new-key", token_for(server, second))
        await steps.probe("edited-file-old-key", token_for(server, first))
        await steps.probe("http-source-key", token_for(server, marker))
        steps.check()
