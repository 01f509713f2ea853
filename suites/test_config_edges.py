"""Configurations that open or close the cluster: a claim mapper left out, the noop authorizer, names the
server does not know, remoteClusterAuth without a token provider, exposeAuthorizerErrors,
authExtraHeaderName. Each is a server of its own config; the model is told the config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.cases.evidence import Evidence, check
from harness.cases.recipes import token
from harness.cases.runner import Case, run_case
from harness.model.features import Feature
from harness.pytest_plugin import rows
from harness.server.backend import ServerStartError
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE
from harness.tokens import forge
from harness.tokens.presentation import Header, Presentation, under
from harness.types import Outcome

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.needs_own_server]

NS = SUITE_NAMESPACE
NO_MAPPER = ServerSettings(authorization={"claimMapper": None})
NOOP_AUTHORIZER = ServerSettings(authorization={"authorizer": None})
EXPOSED = ServerSettings(dynamic_config={"frontend.exposeAuthorizerErrors": True})
EXTRA = ServerSettings(authorization={"authExtraHeaderName": "x-id"})


def everyone_admin(observed: Any) -> bool:
    """A finding (data): every call allowed, anonymous included."""
    return all(o is Outcome.ALLOWED for o in observed.outcomes.values())


def tampered(target: Any) -> Any:
    """A forged token recipe (data): a reader's token whose payload says system admin."""
    return forge.tampered_payload(target.mint([f"{NS}:read"]), {"permissions": ["temporal-system:admin"]})


CASES = [
    Case("AUTHZ-CONFIG-009", "AnonymousWithoutClaimMapper", None, settings=NO_MAPPER, finding=everyone_admin),
    Case("AUTHZ-CONFIG-009", "TamperedTokenWithoutClaimMapper", tampered, settings=NO_MAPPER),
    Case("AUTHZ-CONFIG-013", "AnonymousWithNoopAuthorizer", None, settings=NOOP_AUTHORIZER),
    Case("AUTHZ-CONFIG-013", "ExpiredTokenWithNoopAuthorizer", token(f"{NS}:read", exp_in=-60), settings=NOOP_AUTHORIZER),
    Case("AUTHZ-CONFIG-011", "Anonymous", None, settings=EXPOSED),
    Case("AUTHZ-CONFIG-011", "NamespaceReader", token(f"{NS}:read"), settings=EXPOSED),
    Case("AUTHZ-CONFIG-011", "Expired", token(f"{NS}:write", exp_in=-60), settings=EXPOSED),
    Case("AUTHZ-CONFIG-011", "Tampered", tampered, settings=EXPOSED),
    Case("AUTHZ-CONFIG-012", "TokenOnlyInExtraHeader", token("{system}:admin"), under("x-id"), settings=EXTRA,
         since=Feature.AUTH_EXTRA_HEADER_NAME),
    Case("AUTHZ-CONFIG-012", "GarbageInExtraHeader", token(f"{NS}:write"),
         Presentation((Header(), Header(name="x-id", text="not-a-token"))), settings=EXTRA,
         since=Feature.AUTH_EXTRA_HEADER_NAME),
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def close_open_doors(server_pool: ServerPool) -> Iterator[None]:
    yield
    server_pool.stop_unguarded()


@pytest.mark.parametrize("case", rows(CASES))
async def test_config_edge(case: Case, server_pool: ServerPool, evidence: Evidence) -> None:
    # Servers that let anonymous callers in are kept apart from the guarded pool: the guard would
    # (rightly) stop the run.
    assert case.settings is not None
    server = await server_pool.unguarded(case.settings)
    await run_case(server, case, evidence)
    if case.finding is everyone_admin:
        warned = [
            line
            for line in server.logs().splitlines()
            if '"level":"warn"' in line and "claim" in line.lower()
        ]
        evidence.extra["claim_mapper_warnings"] = len(warned)
        evidence.finding_holds = bool(evidence.finding_holds) and not warned


REFUSED_CONFIGS = {
    "UnknownAuthorizer": ServerSettings(authorization={"authorizer": "strict"}),
    "UnknownClaimMapper": ServerSettings(authorization={"claimMapper": "jwt"}),
    "RemoteClusterAuthWithoutTokenProvider": ServerSettings(
        authorization={"remoteClusterAuth": {"require": True}}
    ),
}


@pytest.mark.req("AUTHZ-CONFIG-010")
@pytest.mark.parametrize("name", sorted(REFUSED_CONFIGS))
async def test_config_the_server_refuses(name: str, server_pool: ServerPool, evidence: Evidence) -> None:
    settings = REFUSED_CONFIGS[name]
    assert server_pool.jwks is not None and server_pool.binary is not None
    from harness.model import rules_for

    rules = rules_for(server_pool.binary.version)
    refusal = settings.auth_config().refusal_to_start(rules)
    started = True
    error = ""
    try:
        async with server_pool.dedicated(settings, server_pool.jwks, guarded=False):
            pass
    except ServerStartError as exc:
        started, error = False, str(exc)
    evidence.api, evidence.extra["config"] = "server start", dict(settings.authorization)
    evidence.expected = {"starts": not refusal, "says why": bool(refusal)}
    evidence.observed = {"starts": started, "says why": bool(refusal) and refusal.split(":")[0] in error}
    evidence.reason = refusal or "the server accepts this config"
    evidence.message = error.splitlines()[0] if error else ""
    check(evidence)
