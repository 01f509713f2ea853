"""No door the suites do not need: nothing a harness-started server or fixture listens on answers an
anonymous admin call. internal-frontend answers every caller as system admin, and history, matching and
worker trust whoever reaches them: internode mTLS (a certificate made for the run) closes them all."""

from __future__ import annotations

import pytest

from harness.cases.evidence import Evidence, check
from harness.probes.doors import listening_ports, probe_doors
from harness.server.pool import ServerPool
from harness.server.target import Target

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.needs_own_server]


@pytest.mark.req("AUTHZ-DOOR-001")
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
    evidence.api = "gRPC ListNamespaces, OperatorService ListClusters, AdminService DescribeCluster; HTTP GET /api/v1/namespaces"
    check(evidence, "AUTHZ-DOOR-001")
    assert any("internal-frontend" in name for name in answers), "internal-frontend's ports were not probed"
