"""No door the suites do not need: nothing a harness-started server or fixture listens on answers an
anonymous admin call. internal-frontend answers every caller as system admin, and history, matching and
worker trust whoever reaches them: internode mTLS (a certificate made for the run) closes them all."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from harness.cases.ask import Asked, InternalFrontendQuestion
from harness.cases.evidence import Evidence, check
from harness.cases.runner import facts_of
from harness.model.features import Feature
from harness.probes.doors import listening_ports, probe_doors
from harness.probes.grpc import Observation, minimal_request, wf
from harness.probes.grpc_raw import probe_raw
from harness.probes.http import plain_http_client, probe_http, routes
from harness.security.checks import hold
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import SUITE_NAMESPACE, Target
from harness.types import CallTarget, Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROUTES = {r.name: r for r in routes()}


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
    check(evidence, "AUTHZ-DOOR-001")
    assert any("internal-frontend" in name for name in answers), "internal-frontend's ports were not probed"


OPEN_INTERNAL = ServerSettings(internode_tls=False, internal_http=True, refresh_interval="1h")
TLS_INTERNAL_HTTP = ServerSettings(internode_tls=True, internal_http=True, refresh_interval="1h")
INTERNAL_GRPC = ("ListNamespaces", "DescribeNamespace", "RegisterNamespace")


def _internal(server: Target) -> tuple[str, str | None]:
    """internal-frontend's gRPC address and, where the release serves one there (1.29+), its HTTP API's."""
    assert server.running.config is not None
    ports = server.running.config.ports["internal-frontend"]
    http = f"127.0.0.1:{ports['httpPort']}" if server.rules.internal_http and "httpPort" in ports else None
    return f"127.0.0.1:{ports['grpcPort']}", http


async def _internal_observations(server: Target) -> dict[str, Observation]:
    grpc_address, http_address = _internal(server)
    observed: dict[str, Observation] = {}
    # grpcio by name: a port that needs a client certificate must show as refused, not stop the probe.
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        for name in INTERNAL_GRPC:
            body = minimal_request(wf(name), SUITE_NAMESPACE).SerializeToString()
            observed[f"grpc {name}"] = await probe_raw(channel, wf(name).full_method, body, [], deadline=10)
    if http_address is None:
        return observed
    async with plain_http_client(f"http://{http_address}", timeout=10) as http:
        observed["http ListNamespaces"] = await probe_http(http, ROUTES["ListNamespaces"], "", [])
    return observed


def _expected(server: Target, label: str) -> Asked:
    method = label.split()[1]
    question = InternalFrontendQuestion(
        facts_of(server),
        CallTarget(wf(method).full_method, SUITE_NAMESPACE if method != "ListNamespaces" else ""),
    )
    return Asked(question, question.answer())


@pytest.mark.req("AUTHZ-DOOR-002")
@pytest.mark.needs_own_server
async def test_internal_frontend_answers_anonymous_callers_as_admin(
    server_pool: ServerPool, evidence: Evidence
) -> None:
    assert server_pool.jwks is not None
    async with server_pool.dedicated(OPEN_INTERNAL, server_pool.jwks) as server:
        observed = await _internal_observations(server)
        expected = {label: _expected(server, label) for label in observed}
    for label, asked in expected.items():
        asked.observed = observed[label].outcome
        evidence.asked.append(asked)
    evidence.expected = {label: asked.answer.value for label, asked in expected.items()}
    evidence.observed = {label: o.outcome for label, o in observed.items()}
    evidence.api, evidence.claims = "internal-frontend gRPC and HTTP ports, no token", {"token": None}
    evidence.extra["server"] = {label: o.answer() for label, o in observed.items()}
    evidence.finding_holds = all(o.outcome is Outcome.ALLOWED for o in observed.values())
    check(evidence, "AUTHZ-DOOR-002")


@pytest.mark.req("AUTHZ-DOOR-003")
@pytest.mark.needs_own_server
@pytest.mark.since(Feature.INTERNAL_HTTP)
async def test_internode_mtls_leaves_internal_http_open(server_pool: ServerPool, evidence: Evidence) -> None:
    assert server_pool.jwks is not None
    async with server_pool.dedicated(TLS_INTERNAL_HTTP, server_pool.jwks) as server:
        observed = await _internal_observations(server)
        http_asked = _expected(server, "http ListNamespaces")
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
    check(evidence, "AUTHZ-DOOR-003")


CHART_PORTS = (7233, 7243, 7236, 7246, 7234, 7235, 7239)


def _target_ca(config: pytest.Config) -> bytes | None:
    path = config.getoption("--target-ca")
    return Path(path).read_bytes() if path else None


@pytest.mark.req("AUTHZ-DOOR-004")
async def test_the_clusters_ports(request: pytest.FixtureRequest, target: Target, evidence: Evidence) -> None:
    """--target mode: every port named with --check-doors (or the chart's defaults on the target's host)
    that this host can reach must refuse an anonymous admin call."""
    named = request.config.getoption("--check-doors")
    if not request.config.getoption("--target"):
        pytest.skip("--target only: AUTHZ-DOOR-001 checks the harness's own servers")
    host = target.address.rsplit(":", 1)[0]
    doors = named.split(",") if named else [f"{host}:{port}" for port in CHART_PORTS]
    ca = _target_ca(request.config)  # besides system roots and no verification
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
    check(evidence, "AUTHZ-DOOR-004")


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
