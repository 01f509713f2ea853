"""Nexus HTTP: starting operations by namespace and task queue, and by endpoint, with a real handler
worker, and completing operations asynchronously through the callback routes (answered by hand, so the headers it receives can be seen). The model learns the NexusService
entries of the server's API table, the Nexus handlers' own way of reading the token (no audience), and
which caller headers reach the handler."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from harness.cases.ask import Asked, HandlerHeadersQuestion
from harness.cases.evidence import Evidence, check
from harness.cases.nexus_handler import PROBE_HEADER
from harness.cases.nexus_setup import nexus_setup, routes, sent_headers, stop_all
from harness.cases.recipes import token
from harness.cases.runner import Case, absent, run_case
from harness.model.features import Feature
from harness.probes.nexus import NexusRoute, probe_nexus
from harness.pytest_plugin import rows
from harness.security.checks import REFUSED, hold
from harness.server.config import ServerSettings
from harness.server.target import OTHER_NAMESPACE, SUITE_NAMESPACE, Target
from harness.tokens import forge
from harness.tokens.mint import MintedToken
from harness.tokens.presentation import bearer
from harness.types import Outcome

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.since(Feature.NEXUS_ENDPOINTS),
]

NS = SUITE_NAMESPACE
# Without the API metadata's DispatchBy*/CompleteNexusOperation (Feature.NEXUS_COMPLETIONS) every dispatch over
# HTTP is denied (the model says so: AUTHZ-NEXUS-001), no handler is reached, and completions take other routes.
AUDIENCE = ServerSettings(authorization={"audience": "temporal-conformance"})
BLACKLISTED = ServerSettings(
    dynamic_config={
        "frontend.nexusRequestHeadersBlacklist": [
            "authorization", "accept-encoding", "x-forwarded-for", "xdc-redirection", "xdc-redirection-api",
            "temporal-nexus-failure-support",
        ]
    }
)  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def handlers() -> AsyncIterator[None]:
    yield
    await stop_all()


BOTH = routes("by-namespace", "by-endpoint")
CALLBACKS = routes("callback-in-path", "callback-no-path")
REFUSED_CALLBACKS = routes("callback-wrong-path", "callback-unknown-namespace")


SHAPES = {
    "Anonymous": None,
    "NamespaceReader": token(f"{NS}:read"),
    "NamespaceWriter": token(f"{NS}:write"),
    "NamespaceAdmin": token(f"{NS}:admin"),
    "OtherNamespaceWriter": token(f"{OTHER_NAMESPACE}:write"),
    "SystemReader": token("{system}:read"),
    "SystemWriter": token("{system}:write"),
    "SystemAdmin": token("{system}:admin"),
    "Expired": token(f"{NS}:write", exp_in=-60),
    "Tampered": lambda t: forge.tampered_payload(t.mint([f"{NS}:read"]), {"permissions": [f"{NS}:write"]}),
}
REFUSED_TOKENS = ("Expired", "Tampered")  # the claim mapper refuses them
CASES = [
    *[Case("AUTHZ-NEXUS-001", name, recipe, calls=BOTH) for name, recipe in SHAPES.items()],
    Case(
        "AUTHZ-NEXUS-002",
        "OtherAudience",
        token(f"{NS}:write", aud="another-app"),
        calls=routes("by-namespace", "by-endpoint", "callback-in-path"),
        settings=AUDIENCE,
        since=Feature.AUDIENCE,
        finding=lambda o: o["by-namespace"] is Outcome.ALLOWED,
    ),
    *[
        Case(
            "AUTHZ-NEXUS-005",
            name,
            recipe,
            calls=CALLBACKS,
            finding=(lambda o: o["callback-in-path"] is Outcome.FAULT) if name in REFUSED_TOKENS else None,
            since=Feature.NEXUS_COMPLETIONS,
        )
        for name, recipe in SHAPES.items()
    ],
    *[
        Case("AUTHZ-NEXUS-005", name, recipe, calls=REFUSED_CALLBACKS, since=Feature.NEXUS_COMPLETIONS)
        for name, recipe in (
            ("Anonymous", None),
            ("Tampered", SHAPES["Tampered"]),
            ("SystemAdmin", SHAPES["SystemAdmin"]),
        )
    ],
    *[
        Case(
            "AUTHZ-NEXUS-004",
            name,
            recipe,
            calls=routes("unknown-endpoint"),
            finding=absent("unknown-endpoint"),
        )
        for name, recipe in (
            ("Anonymous", None),
            ("Tampered", SHAPES["Tampered"]),
            ("SystemAdmin", SHAPES["SystemAdmin"]),
        )
    ],
]


@pytest.mark.parametrize("case", rows(CASES))
async def test_nexus_case(case: Case, server_for: Any, evidence: Evidence, handlers: None) -> None:
    server = await server_for(case.settings)
    if server.running.http_address is None:
        pytest.skip("the HTTP API address of this target is not known")
    await nexus_setup(server)
    evidence.surface = "nexus"
    await run_case(server, case, evidence)


@pytest.mark.req("AUTHZ-NEXUS-002")
@pytest.mark.needs_own_server
async def test_the_same_token_over_grpc(server_for: Any, evidence: Evidence) -> None:
    """The other half of the audience finding: over gRPC the same server refuses that token."""
    server = await server_for(AUDIENCE)
    case = Case("AUTHZ-NEXUS-002", "OtherAudienceOverGrpc", token(f"{NS}:write", aud="another-app"))
    observed = await run_case(server, case, evidence)
    evidence.finding_holds = observed["write"] is Outcome.DENIED


@pytest.mark.req("AUTHZ-NEXUS-003")
@pytest.mark.since(Feature.NEXUS_COMPLETIONS)
@pytest.mark.parametrize("blacklisted", [False, True], ids=["default-blacklist", "authorization-blacklisted"])
async def test_headers_handed_to_the_handler(
    server_for: Any, evidence: Evidence, handlers: None, blacklisted: bool
) -> None:
    server = await server_for(BLACKLISTED if blacklisted else None)
    if server.running.http_address is None:
        pytest.skip("the HTTP API address of this target is not known")
    setup = await nexus_setup(server)
    caller: MintedToken = server.mint([f"{NS}:write"], sub="nexus-caller")
    probe_id = uuid.uuid4().hex
    headers = [*server.headers(caller), (PROBE_HEADER, probe_id), ("X-Caller-Note", "hello")]
    async with server.http_client() as client:
        observation = await probe_nexus(client, setup.by_namespace, headers)
        sent = [(k, v) for k, v in sent_headers(client, setup.by_namespace, headers)]
    received = setup.handler.received.get(probe_id, {})
    blacklist = BLACKLISTED.dynamic_config["frontend.nexusRequestHeadersBlacklist"] if blacklisted else None
    question = HandlerHeadersQuestion(
        tuple(sent), bearer(caller.token), tuple(blacklist) if blacklist else None, server.version
    )
    answer = question.answer()
    names, handed = answer.value
    seen = (
        tuple(sorted(k for k in received if k.lower() != "request-timeout")),
        received.get("authorization") == bearer(caller.token),
    )
    evidence.asked.append(Asked(question, answer, seen))
    evidence.surface, evidence.api, evidence.namespace = "nexus", setup.by_namespace.path, NS
    evidence.claims = caller.evidence()
    # Compare names, and whether the token arrived intact, without writing the token anywhere.
    evidence.expected = {
        "reached the handler": True,
        "header names": list(names),
        "token handed over": handed,
    }
    evidence.observed = {
        "reached the handler": bool(received) and observation.outcome is Outcome.ALLOWED,
        "header names": list(seen[0]),
        "token handed over": seen[1],
    }
    evidence.extra["server"] = observation.answer()
    if not blacklisted:
        evidence.finding_holds = bool(evidence.observed["token handed over"])
    check(evidence)


@pytest.mark.prop("SEC-P1", "nexus")
async def test_anonymous_nexus_dispatch_gets_nothing(target: Target, evidence: Evidence) -> None:
    """Both Nexus start routes, no token: refused, whatever the release (no handler listens: a request
    let through would wait for one and time out, past authorization)."""
    if target.running.http_address is None:
        pytest.skip("the HTTP API address of this target is not known")
    routes_tried = [NexusRoute("by-namespace", namespace=NS, task_queue="sec-anonymous")]
    async with target.http_client() as client:
        answers = {r.name: await probe_nexus(client, r, []) for r in routes_tried}
    if all(a.outcome is Outcome.ABSENT for a in answers.values()):
        pytest.skip("this release has no Nexus HTTP routes")
    violations = [
        f"{n}: {a.outcome.value} {a.status} {a.message[:100]!r}"
        for n, a in answers.items()
        if a.outcome not in REFUSED
    ]
    evidence.surface, evidence.api, evidence.claims = "nexus", "Nexus HTTP dispatch", {"token": None}
    evidence.extra["answers"] = {n: f"{a.status} {a.message}" for n, a in answers.items()}
    hold(evidence, "SEC-P1/nexus", violations, len(answers), "anonymous Nexus dispatches")
