"""AdminService on the public frontend: every unary method (listed from the server's own descriptors in
its API table) x token shape, on a throwaway server of its own (a system admin's calls really run, with
empty requests). On a cluster the harness does not own, the methods on harness/safety.py's list are not
sent ("not probed: irreversible", the model's answer alone); the others, reads all, are."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from harness.cases.admin_grid import BY_NAME, CELLS, AdminGrid, cell_key, probe_admin_grid
from harness.cases.evidence import Evidence, Mismatch, check
from harness.cases.grid import cell_evidence
from harness.cases.unprobed import model_only, not_probed, said
from harness.probes.grpc_raw import probe_raw
from harness.report.recorder import Recorder
from harness.security.checks import hold, tenant_namespaces
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import Target
from harness.tokens.shapes import GRID_SHAPES
from harness.types import ADMIN_SERVICE, CallTarget, Outcome


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin_grid(server_pool: ServerPool, target: Target, recorder: Recorder) -> AsyncIterator[AdminGrid]:
    if not server_pool.configurable:  # a cluster the harness does not own: the methods not on the list
        grid = await probe_admin_grid(target)
        recorder.coverage["admin_methods_probed"] = grid.methods_probed
        yield grid
        return
    assert server_pool.jwks is not None
    async with server_pool.dedicated(ServerSettings(refresh_interval="1h"), server_pool.jwks) as server:
        grid = await probe_admin_grid(server)
        recorder.coverage["admin_methods_probed"] = grid.methods_probed
        yield grid


@pytest.mark.req("AUTHZ-ADMIN-001")
@pytest.mark.parametrize(("shape", "method"), [(s.name, m.name) for s, m in CELLS], ids=lambda v: str(v))
def test_admin_cell(shape: str, method: str, admin_grid: AdminGrid, evidence: Evidence) -> None:
    key = cell_key(shape, method)
    refused = not_probed(admin_grid.target, f"/{ADMIN_SERVICE}/{method}", None)
    if refused:
        call = CallTarget(f"/{ADMIN_SERVICE}/{method}", "")
        model = said(model_only(admin_grid.target, admin_grid.tokens[shape], call))
        pytest.skip(f"{refused}; the model says {model}")
    if key not in admin_grid.observations:
        pytest.skip(f"not probed: the server stopped answering after {admin_grid.down_at} (AUTHZ-ADMIN-002)")
    asked = admin_grid.ask(shape, BY_NAME[method])
    expected_allowed = Outcome.ALLOWED in asked.answer.values
    if (
        key == admin_grid.down_at
        and admin_grid.observations[key].outcome is Outcome.ERROR
        and expected_allowed
    ):
        # No answer: the server went down handling a request the model lets through. Its decision cannot be
        # observed (a crash is no ALLOWED), and the crash is AUTHZ-ADMIN-002's to report. (A crash on a
        # request the model refuses stays a FAIL: the authorizer should have answered first.)
        observed = admin_grid.observations[key]
        pytest.skip(
            f"not shown: the server went down handling this request ({observed.status} {observed.message[:120]!r}; "
            "AUTHZ-ADMIN-002)"
        )
    cell_evidence(
        evidence, asked, admin_grid.observations[key], admin_grid.tokens[shape],
        api=f"/{ADMIN_SERVICE}/{method}", namespace="",
        cell={"token_shape": shape, "api": f"AdminService/{method}", "namespace_column": "Cluster",
              "namespace": "", "surface": "grpc"},
    )  # fmt: skip
    check(evidence)


@pytest.mark.req("AUTHZ-ADMIN-002")
@pytest.mark.needs_own_server
@pytest.mark.xfail(
    strict=True,
    raises=Mismatch,
    reason="seen on 1.32.2: AdminService/AddOrUpdateRemoteCluster with an empty frontend_address makes the frontend "
    "call log.Fatal (common/rpc/rpc.go:236 'Invalid rpcAddress for remote cluster'): the process exits",
)
@pytest.mark.asyncio
async def test_an_admin_request_never_brings_the_server_down(
    server_pool: ServerPool, evidence: Evidence
) -> None:
    """On a throwaway server: a system admin's AddOrUpdateRemoteCluster with an empty address, then a health
    check. Only a system admin gets this far (the grid proves everyone else is refused first)."""
    assert server_pool.jwks is not None
    async with server_pool.dedicated(
        ServerSettings(refresh_interval="1h"), server_pool.jwks, guarded=False
    ) as server:
        admin = server.headers(server.admin_token())
        async with server.grpc_channel() as channel:
            answer = await probe_raw(channel, f"/{ADMIN_SERVICE}/AddOrUpdateRemoteCluster", b"", admin)
        async with server.grpc_channel() as channel:
            health = await probe_raw(channel, "/grpc.health.v1.Health/Check", b"", [], deadline=10)
    evidence.api, evidence.expected = (
        f"/{ADMIN_SERVICE}/AddOrUpdateRemoteCluster (empty request)",
        "the server still answers",
    )
    # The health check's own words vary with how the dead socket is found (reset or refused): they go to
    # extra, so the observation (and an upgrade gate over it) says only whether the server answers.
    evidence.observed = "the server still answers" if health.status == "OK" else "no answer"
    evidence.extra["health_check"] = health.answer()
    evidence.status, evidence.message = answer.status, answer.message
    check(evidence)


# -- security properties from the same probes (never from the model) ------------------------------------


@pytest.mark.prop("SEC-P1", "admin")
def test_anonymous_callers_get_no_admin_call(admin_grid: AdminGrid, evidence: Evidence) -> None:
    violations, shown = admin_grid.shapes_unrefused([s for s in GRID_SHAPES if s.anonymous])
    evidence.api, evidence.claims = "every unary AdminService method", {"token": None}
    hold(evidence, "SEC-P1/admin", violations, shown, "anonymous AdminService calls")


@pytest.mark.prop("SEC-P5", "admin")
def test_namespace_admins_get_no_admin_call(admin_grid: AdminGrid, evidence: Evidence) -> None:
    """Every token whose rights are in one named namespace (any role, admin included): AdminService is the
    cluster operator's, whatever namespace a request names."""
    shapes = [s for s in GRID_SHAPES if tenant_namespaces(s.claim("authz-matrix")) and not s.anonymous]
    violations, shown = admin_grid.shapes_unrefused(shapes)
    evidence.api, evidence.extra["tokens"] = "every unary AdminService method", [s.name for s in shapes]
    hold(evidence, "SEC-P5/admin", violations, shown, "AdminService calls by namespace-scoped tokens")
