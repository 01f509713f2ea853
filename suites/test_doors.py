"""No door the suites do not need: nothing a harness-started server or fixture listens on answers an
anonymous admin call. internal-frontend answers every caller as system admin, and history, matching and
worker trust whoever reaches them: internode mTLS (a certificate made for the run) closes them all."""

from __future__ import annotations

import pytest

from harness.cases.evidence import Evidence, check
from harness.model.features import Feature
from harness.probes.doors import listening_ports, probe_doors
from harness.scripts.doors import internal_expected, internal_observations, read_ca
from harness.security.checks import hold
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import Target
from harness.types import Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.req("AUTHZ-DOOR-001")
@pytest.mark.needs_own_server
async def test_no_port_answers_an_anonymous_admin_call(
    server_pool: ServerPool, target: Target, evidence: Evidence
) -> None:
    doors: dict[str, tuple[str, int, bytes | None]] = {}
    for server in server_pool.running_servers():
        internode = server.config.internode if server.config is not None else None
        ca = internode.ca.read_bytes() if internode is not None else None
        doors.update({name: ("127.0.0.1", port, ca) for name, port in listening_ports(server).items()})
    if server_pool.jwks is not None:
        doors[f"jwks fixture ({server_pool.jwks.base_url()})"] = ("127.0.0.1", server_pool.jwks.port, None)
    answers = dict(sorted((await probe_doors(doors)).items()))
    evidence.expected = {name: "closed to anonymous admin calls" for name in answers}
    evidence.observed = {name: answer.verdict for name, answer in answers.items()}
    evidence.extra["details"] = {name: answer.detail for name, answer in answers.items()}
    evidence.api = "gRPC ListNamespaces, OperatorService ListClusters, AdminService DescribeCluster; HTTP GET /api/v1/namespaces; each over plaintext and TLS without a client certificate"
    check(evidence)
    assert any("internal-frontend" in name for name in answers), "internal-frontend's ports were not probed"


OPEN_INTERNAL = ServerSettings(internode_tls=False, internal_http=True, refresh_interval="1h")
TLS_INTERNAL_HTTP = ServerSettings(internode_tls=True, internal_http=True, refresh_interval="1h")


@pytest.mark.req("AUTHZ-DOOR-002")
@pytest.mark.needs_own_server
async def test_internal_frontend_answers_anonymous_callers_as_admin(
    server_pool: ServerPool, evidence: Evidence
) -> None:
    assert server_pool.jwks is not None
    async with server_pool.dedicated(OPEN_INTERNAL, server_pool.jwks) as server:
        observed = await internal_observations(server)
        expected = {label: internal_expected(server, label) for label in observed}
    for label, asked in expected.items():
        asked.observed = observed[label].outcome
        evidence.asked.append(asked)
    evidence.expected = {label: asked.answer.value for label, asked in expected.items()}
    evidence.observed = {label: o.outcome for label, o in observed.items()}
    evidence.api, evidence.claims = "internal-frontend gRPC and HTTP ports, no token", {"token": None}
    evidence.extra["server"] = {label: o.answer() for label, o in observed.items()}
    evidence.finding_holds = all(o.outcome is Outcome.ALLOWED for o in observed.values())
    check(evidence)


@pytest.mark.req("AUTHZ-DOOR-003")
@pytest.mark.needs_own_server
@pytest.mark.since(Feature.INTERNAL_HTTP)
async def test_internode_mtls_leaves_internal_http_open(server_pool: ServerPool, evidence: Evidence) -> None:
    assert server_pool.jwks is not None
    async with server_pool.dedicated(TLS_INTERNAL_HTTP, server_pool.jwks) as server:
        observed = await internal_observations(server)
        http_asked = internal_expected(server, "http ListNamespaces")
    http_asked.observed = observed["http ListNamespaces"].outcome
    evidence.asked.append(http_asked)
    handshake = "refused without the certificate"
    evidence.expected = {"grpc ListNamespaces": handshake, "http ListNamespaces": http_asked.answer.value}
    grpc_answer = observed["grpc ListNamespaces"]
    evidence.observed = {
        "grpc ListNamespaces": handshake
        if grpc_answer.outcome is Outcome.ERROR
        else grpc_answer.outcome.value,
        "http ListNamespaces": observed["http ListNamespaces"].outcome,
    }
    evidence.api, evidence.claims = (
        "internal-frontend with internode mTLS, no token, no certificate",
        {"token": None},
    )
    evidence.extra["server"] = {label: o.answer() for label, o in observed.items()}
    evidence.finding_holds = observed["http ListNamespaces"].outcome is Outcome.ALLOWED
    check(evidence)


CHART_PORTS = (7233, 7243, 7236, 7246, 7234, 7235, 7239)


@pytest.mark.req("AUTHZ-DOOR-004")
async def test_the_clusters_ports(request: pytest.FixtureRequest, target: Target, evidence: Evidence) -> None:
    """--target mode: every port named with --check-doors (or the chart's defaults on the target's host)
    that this host can reach must refuse an anonymous admin call."""
    named = request.config.getoption("--check-doors")
    if not request.config.getoption("--target"):
        pytest.skip("--target only: AUTHZ-DOOR-001 checks the harness's own servers")
    host = target.address.rsplit(":", 1)[0]
    doors = named.split(",") if named else [f"{host}:{port}" for port in CHART_PORTS]
    ca = read_ca(request.config.getoption("--target-ca"))  # besides system roots and no verification
    answers = await probe_doors(
        {door: (door.rsplit(":", 1)[0], int(door.rsplit(":", 1)[1]), ca) for door in doors}
    )
    opened = {door: a.verdict for door, a in answers.items() if a.verdict.startswith("OPEN")}
    evidence.expected = {door: "closed to anonymous admin calls" for door in answers}
    evidence.observed = {door: a.verdict for door, a in answers.items()}
    evidence.extra["details"] = {door: a.detail for door, a in answers.items()}
    evidence.extra["open_doors"] = opened
    evidence.api = (
        "anonymous gRPC ListNamespaces/ListClusters/DescribeCluster and HTTP GET /api/v1/namespaces, "
        "over plaintext and TLS (system roots, --target-ca, no verification) without a client certificate"
    )
    check(evidence)


@pytest.mark.prop("SEC-P4", "doors")
@pytest.mark.needs_own_server
async def test_no_door_of_the_recommended_config(
    target: Target, server_pool: ServerPool, evidence: Evidence
) -> None:
    """Every port the default (recommended) server listens on, plaintext and TLS, gRPC and HTTP: none
    answers an anonymous admin call, whatever the release."""
    server = target.running
    internode = server.config.internode if server.config is not None else None
    ca = internode.ca.read_bytes() if internode is not None else None
    doors = {name: ("127.0.0.1", port, ca) for name, port in listening_ports(server).items()}
    answers = dict(sorted((await probe_doors(doors)).items()))
    violations = [f"{name}: {a.verdict}" for name, a in answers.items() if a.verdict.startswith("OPEN")]
    evidence.api, evidence.claims = "every listening port, no token, no client certificate", {"token": None}
    evidence.extra["answers"] = {name: a.verdict for name, a in answers.items()}
    if not any("internal-frontend" in name for name in answers):
        pytest.fail("internal-frontend's ports were not found: nothing shown")
    hold(evidence, "SEC-P4/doors", violations, len(answers), "ports of the recommended config")
