"""Configuration variants: each a server started with that `global.authorization`, one per config, reused.

A key the version under test does not have is reported as not applicable, naming the version that added it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.compare import bearer_credential, compare, fill, raw_credential, role_calls
from harness.jwks import JwksServer
from harness.model.rules import ServerRules
from harness.server.config import ServerSettings
from harness.session import ServerPool
from harness.target import SUITE_NAMESPACE, Target
from harness.types import Outcome
from harness.verdict import Evidence, check

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
REGEX = r"^temporal\.(?P<namespace>[\w-]+)\.(?P<role>\w+)$"
AUDIENCE = "temporal-conformance"
HEADER = "X-Temporal-Authorization"


@dataclass(frozen=True)
class Variant:
    name: str
    settings: ServerSettings
    since: tuple[int, int, int] = (1, 20, 0)
    key: str = ""

    def applies(self, rules: ServerRules) -> bool:
        return rules.version >= self.since


VARIANTS = {
    v.name: v
    for v in (
        Variant("ClaimNameRoles", ServerSettings(authorization={"permissionsClaimName": "roles"})),
        Variant(
            "RegexValid",
            ServerSettings(
                authorization={"permissionsRegex": REGEX}, admin_permission="temporal.temporal-system.admin"
            ),
            (1, 29, 0),
            "permissionsRegex",
        ),
        Variant(
            "RegexInvalid",
            ServerSettings(authorization={"permissionsRegex": r"(?P<namespace>["}),
            (1, 29, 0),
            "permissionsRegex",
        ),
        Variant(
            "RegexMissingRoleGroup",
            ServerSettings(authorization={"permissionsRegex": r"^(?P<namespace>[\w-]+)\.(\w+)$"}),
            (1, 29, 0),
            "permissionsRegex",
        ),
        Variant("Audience", ServerSettings(authorization={"audience": AUDIENCE}), (1, 29, 0), "audience"),
        Variant(
            "HeaderName",
            ServerSettings(authorization={"authHeaderName": HEADER}),
            (1, 23, 0),
            "authHeaderName",
        ),
    )
}


@dataclass(frozen=True)
class Case:
    req: str
    variant: str
    name: str
    token: dict[str, Any] = field(default_factory=dict)  # target.mint(**token)
    header: str = "authorization"
    accepted: bool | None = None  # does the read call pass (None: model agreement only)


CASES = [
    Case(
        "AUTHZ-CONFIG-001",
        "ClaimNameRoles",
        "RolesClaimGrants",
        {"permissions": [f"{NS}:write"]},
        accepted=True,
    ),
    Case(
        "AUTHZ-CONFIG-001",
        "ClaimNameRoles",
        "PermissionsClaimIgnored",
        {"permissions": [], "extra": {"permissions": [f"{NS}:write"]}},
        accepted=False,
    ),
    Case(
        "AUTHZ-CONFIG-002",
        "RegexValid",
        "MatchingEntry",
        {"permissions": [f"temporal.{NS}.write"]},
        accepted=True,
    ),
    Case(
        "AUTHZ-CONFIG-002",
        "RegexValid",
        "ColonEntryIgnored",
        {"permissions": [f"{NS}:write"]},
        accepted=False,
    ),
    Case(
        "AUTHZ-CONFIG-002",
        "RegexValid",
        "SystemScope",
        {"permissions": ["temporal.temporal-system.read"]},
        accepted=True,
    ),
    Case(
        "AUTHZ-CONFIG-003",
        "RegexInvalid",
        "FallsBackToSplit",
        {"permissions": [f"{NS}:write"]},
        accepted=True,
    ),
    Case(
        "AUTHZ-CONFIG-004",
        "RegexMissingRoleGroup",
        "FallsBackToSplit",
        {"permissions": [f"{NS}:write"]},
        accepted=True,
    ),
    Case(
        "AUTHZ-CONFIG-004",
        "RegexMissingRoleGroup",
        "DottedIgnored",
        {"permissions": [f"{NS}.write"]},
        accepted=False,
    ),
    Case(
        "AUTHZ-CONFIG-005",
        "Audience",
        "AudString",
        {"permissions": [f"{NS}:write"], "aud": AUDIENCE},
        accepted=True,
    ),
    Case(
        "AUTHZ-CONFIG-005",
        "Audience",
        "AudList",
        {"permissions": [f"{NS}:write"], "aud": ["x", AUDIENCE]},
        accepted=True,
    ),
    Case(
        "AUTHZ-CONFIG-005",
        "Audience",
        "AudMismatch",
        {"permissions": [f"{NS}:write"], "aud": "other-app"},
        accepted=False,
    ),
    Case("AUTHZ-CONFIG-005", "Audience", "AudMissing", {"permissions": [f"{NS}:write"]}, accepted=False),
    Case(
        "AUTHZ-CONFIG-005",
        "Audience",
        "AudCase",
        {"permissions": [f"{NS}:write"], "aud": AUDIENCE.upper()},
        accepted=False,
    ),
    Case(
        "AUTHZ-CONFIG-006",
        "HeaderName",
        "ConfiguredHeader",
        {"permissions": [f"{NS}:write"]},
        HEADER.lower(),
        True,
    ),
    Case(
        "AUTHZ-CONFIG-006",
        "HeaderName",
        "DefaultHeaderIgnored",
        {"permissions": [f"{NS}:write"]},
        "authorization",
        False,
    ),
]


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.req(c.req), id=f"{c.variant}-{c.name}") for c in CASES]
)
async def test_variant(case: Case, server_pool: ServerPool, target: Target, evidence: Evidence) -> None:
    variant = VARIANTS[case.variant]
    if not variant.applies(target.rules):
        pytest.skip(
            f"not applicable: `{variant.key}` was added in v{'.'.join(map(str, variant.since))}; "
            f"server {target.version} ignores it"
        )
    if server_pool.options.target:
        pytest.skip("config variants start servers of their own; an external target cannot be reconfigured")
    server = await server_pool.target(variant.settings)
    token = server.mint(**case.token)
    credential, metadata = raw_credential([(case.header, token.authorization)], token.signed_by)
    calls = role_calls(NS)
    comparison = await compare(server, credential, metadata, calls)
    fill(evidence, comparison, calls, token)
    evidence.extra["config"] = dict(variant.settings.authorization)
    check(evidence, case.req)
    if case.accepted is not None:
        assert (comparison.observed["read"] is Outcome.ALLOWED) is case.accepted


@pytest.mark.req("AUTHZ-CONFIG-007")
async def test_one_failing_key_source_leaves_the_server_with_no_keys(
    server_pool: ServerPool, target: Target, evidence: Evidence
) -> None:
    """Two key source URIs, the second refusing connections: the initial fetch aborts as a whole, so even
    tokens signed by the healthy source's key are refused (#2134)."""
    if server_pool.options.target:
        pytest.skip("needs a server of its own")
    with JwksServer() as good, JwksServer() as gone:
        good.publish(target.signing_key)
        dead_url = gone.url()
        gone.stop_listening()  # connection refused from now on
        settings = ServerSettings(key_source_uris=[good.url(), dead_url], refresh_interval="1h")
        async with server_pool.dedicated(settings, good, guard=False) as server:
            token = server.mint([f"{NS}:write"])
            credential, metadata = bearer_credential(token)
            calls = role_calls(NS)[:2]
            # The server holds no keys at all: the model is told so explicitly.
            from harness.model import KeyRing

            comparison = await compare(server, credential, metadata, calls, keyring=KeyRing(()))
            fill(evidence, comparison, calls, token)
            evidence.extra["key_sources"] = [good.url(), dead_url]
            evidence.extra["fetches_of_good_source"] = len(good.fetches())
            check(evidence, "AUTHZ-CONFIG-007")
            assert comparison.observed["read"] is Outcome.DENIED
            assert len(good.fetches()) >= 1, "the healthy source was never fetched"
