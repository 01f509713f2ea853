"""Configuration variants: each a server started with that `global.authorization`, one per config, reused."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cases.calls import role_calls
from harness.cases.evidence import Evidence
from harness.cases.recipes import token
from harness.cases.runner import Case, allowed, denied, fixed, run_case
from harness.jwks.fixture import JwksServer
from harness.jwks.timeline import BlankSource, DeadSource, FixtureSource
from harness.model.features import Feature
from harness.pytest_plugin import rows
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.presentation import under

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
REGEX = r"^temporal\.(?P<namespace>[\w-]+)\.(?P<role>\w+)$"
AUDIENCE = "temporal-conformance"
HEADER = "X-Temporal-Authorization"
WRITE = f"{NS}:write"

CLAIM_NAME = ServerSettings(authorization={"permissionsClaimName": "roles"})
REGEX_VALID = ServerSettings(
    authorization={"permissionsRegex": REGEX}, admin_permission="temporal.temporal-system.admin"
)
REGEX_INVALID = ServerSettings(authorization={"permissionsRegex": r"(?P<namespace>["})
REGEX_ONE_GROUP = ServerSettings(authorization={"permissionsRegex": r"^(?P<namespace>[\w-]+)\.(\w+)$"})
AUDIENCE_SET = ServerSettings(authorization={"audience": AUDIENCE})
HEADER_NAME = ServerSettings(authorization={"authHeaderName": HEADER})


CASES = [
    Case("AUTHZ-CONFIG-001", "RolesClaimGrants", token(WRITE), settings=CLAIM_NAME),
    Case("AUTHZ-CONFIG-001", "PermissionsClaimIgnored", token(extra={"permissions": [f"{NS}:write"]}), settings=CLAIM_NAME),
    Case("AUTHZ-CONFIG-002", "MatchingEntry", token(f"temporal.{NS}.write"), settings=REGEX_VALID, since=Feature.PERMISSIONS_REGEX),
    Case("AUTHZ-CONFIG-002", "ColonEntryIgnored", token(WRITE), settings=REGEX_VALID, since=Feature.PERMISSIONS_REGEX),
    Case("AUTHZ-CONFIG-002", "SystemScope", token("temporal.temporal-system.read"), settings=REGEX_VALID, since=Feature.PERMISSIONS_REGEX),
    Case("AUTHZ-CONFIG-003", "InvalidFallsBackToSplit", token(WRITE), settings=REGEX_INVALID, since=Feature.PERMISSIONS_REGEX, finding=allowed("write")),
    Case("AUTHZ-CONFIG-004", "OneGroupFallsBackToSplit", token(WRITE), settings=REGEX_ONE_GROUP, since=Feature.PERMISSIONS_REGEX),
    Case("AUTHZ-CONFIG-004", "OneGroupDottedIgnored", token(f"{NS}.write"), settings=REGEX_ONE_GROUP, since=Feature.PERMISSIONS_REGEX),
    Case("AUTHZ-CONFIG-005", "AudString", token(WRITE, aud=AUDIENCE), settings=AUDIENCE_SET, since=Feature.AUDIENCE),
    Case("AUTHZ-CONFIG-005", "AudList", token(WRITE, aud=["x", AUDIENCE]), settings=AUDIENCE_SET, since=Feature.AUDIENCE),
    Case("AUTHZ-CONFIG-005", "AudMismatch", token(WRITE, aud="other-app"), settings=AUDIENCE_SET, since=Feature.AUDIENCE),
    Case("AUTHZ-CONFIG-005", "AudMissing", token(WRITE), settings=AUDIENCE_SET, since=Feature.AUDIENCE),
    Case("AUTHZ-CONFIG-005", "AudCase", token(WRITE, aud=AUDIENCE.upper()), settings=AUDIENCE_SET, since=Feature.AUDIENCE),
    Case("AUTHZ-CONFIG-006", "ConfiguredHeader", token(WRITE), under(HEADER.lower()), settings=HEADER_NAME, since=Feature.AUTH_HEADER_NAME),
    Case("AUTHZ-CONFIG-006", "DefaultHeaderIgnored", token(WRITE), under("authorization"), settings=HEADER_NAME, since=Feature.AUTH_HEADER_NAME),
]  # fmt: skip


@pytest.mark.parametrize("case", rows(CASES))
async def test_variant(case: Case, server_for: Any, evidence: Evidence) -> None:
    server = await server_for(case.settings)
    await run_case(server, case, evidence)


@pytest.mark.req("AUTHZ-CONFIG-007")
@pytest.mark.needs_own_server
async def test_one_failing_key_source(server_pool: ServerPool, target: Target, evidence: Evidence) -> None:
    """Two key source URIs, the second refusing connections: the initial fetch aborts as a whole, so even
    tokens signed by the healthy source's key are refused (#2134). The model is told only what the
    fixtures served: the healthy one its key set, the dead one nothing."""
    with JwksServer() as good, JwksServer() as gone:
        good.publish(target.signing_key)
        dead = DeadSource(gone.url())
        gone.stop_listening()  # connection refused from now on
        settings = ServerSettings(refresh_interval="1h", system_workers=False)
        async with server_pool.dedicated(
            settings, [FixtureSource(good, client="config-007"), dead], guarded=False
        ) as server:
            case = Case(
                "AUTHZ-CONFIG-007",
                "HealthySourceKey",
                token(WRITE),
                calls=fixed(*role_calls(NS)[:2]),
                finding=denied("read"),
            )
            await run_case(server, case, evidence, key_sources=[good.url(), dead.url])
            assert len(good.fetches()) >= 1, "the healthy source was never fetched"


@pytest.mark.req("AUTHZ-CONFIG-008")
@pytest.mark.needs_own_server
async def test_a_blank_key_source_is_skipped(
    server_pool: ServerPool, target: Target, evidence: Evidence
) -> None:
    with JwksServer() as good:
        good.publish(target.signing_key)
        sources = [BlankSource(""), BlankSource("  "), FixtureSource(good, client="config-008")]
        async with server_pool.dedicated(
            ServerSettings(refresh_interval="1h", system_workers=False), sources, guarded=False
        ) as server:
            case = Case(
                "AUTHZ-CONFIG-008",
                "BlankFirst",
                token(WRITE),
                calls=fixed(*role_calls(NS)[:2]),
            )
            await run_case(server, case, evidence, key_sources=[s.url for s in sources])
