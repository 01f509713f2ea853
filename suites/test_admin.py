"""AdminService on the public frontend: every unary method (listed from the server's own descriptors in
its API table) x token shape, on a throwaway server of its own (a system admin's calls really run, with
empty requests). On a cluster the harness does not own, the methods on harness/safety.py's list are not
sent ("not probed: irreversible", the model's answer alone); the others, reads all, are."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.operatorservice.v1 import AddOrUpdateRemoteClusterRequest

from harness.api_tables import table_path
from harness.cases.ask import Asked, CallQuestion, Window
from harness.cases.evidence import Evidence, Mismatch, check
from harness.cases.grid import shape_tokens
from harness.cases.runner import facts_of
from harness.cases.unprobed import model_only, not_probed, said
from harness.ceiling import GRID_DEADLINE_S, within
from harness.probes.grpc import Observation
from harness.probes.grpc_raw import RawMethod, probe_raw
from harness.report.recorder import Recorder
from harness.security.checks import REFUSED, hold, tenant_namespaces
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import Target
from harness.settings import DEFAULT_VERSION
from harness.tokens.mint import MintedToken
from harness.tokens.shapes import GRID_SHAPES, TokenShape
from harness.types import ADMIN_SERVICE, CallTarget, Outcome


def admin_methods() -> list[RawMethod]:
    """The unary AdminService methods of the pinned version's table (a release that lacks one answers
    it as unknown: ABSENT)."""
    table = json.loads(table_path(DEFAULT_VERSION).read_text())
    methods = table["services"].get(ADMIN_SERVICE, {})
    return [
        RawMethod(ADMIN_SERVICE, name, BODIES.get(name, b""))
        for name, rule in sorted(methods.items())
        if not rule.get("streaming")
    ]


# AddOrUpdateRemoteCluster with an empty address brings the whole server down (AUTHZ-ADMIN-002): give it
# an address that refuses connections instead. Same field number as the OperatorService request.
BODIES = {
    "AddOrUpdateRemoteCluster": AddOrUpdateRemoteClusterRequest(
        frontend_address="127.0.0.1:1"
    ).SerializeToString()
}


# Calls that bring some releases down: AddOrUpdateRemoteCluster (1.23-1.27: "missing port" even with the
# address below), GetDLQTasks with an empty request (1.27.3: a nil pointer in history's handler). Both are on
# harness/safety.py's list: never sent to a cluster the harness does not own.
LAST = {"AddOrUpdateRemoteCluster", "GetDLQTasks"}
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
METHODS = admin_methods()
CELLS = [(s, m) for s in GRID_SHAPES for m in METHODS]


class AdminGrid:
    def __init__(self, target: Target, tokens: dict[str, MintedToken | None]) -> None:
        self.target, self.tokens = target, tokens
        self.observations: dict[str, Observation] = {}
        self.asked: dict[str, Asked] = {}
        self.down_at = ""  # the cell after which the server stopped answering


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin_grid(server_pool: ServerPool, target: Target, recorder: Recorder) -> AsyncIterator[AdminGrid]:
    if not server_pool.configurable:  # a cluster the harness does not own: the methods not on the list
        yield await _probe_admin(target, recorder)
        return
    assert server_pool.jwks is not None
    async with server_pool.dedicated(ServerSettings(refresh_interval="1h"), server_pool.jwks) as server:
        yield await _probe_admin(server, recorder)


async def _probe_admin(server: Target, recorder: Recorder) -> AdminGrid:
    grid = AdminGrid(server, shape_tokens(server, GRID_SHAPES))
    # On a cluster the harness does not own, the listed (destructive) methods are left out.
    cells = [(s, m) for s, m in CELLS if not not_probed(server, m.full_method, None)]
    gate = asyncio.Semaphore(16)
    async with server.grpc_channel() as channel:

        async def one(shape: str, method: RawMethod) -> None:
            async with gate:
                observation = await probe_raw(
                    channel, method.full_method, method.body, server.headers(grid.tokens[shape])
                )
            grid.observations[f"{shape}On{method.name}"] = observation

        probing = asyncio.gather(*(one(s.name, m) for s, m in cells if m.name not in LAST))
        await within(GRID_DEADLINE_S, probing, "the AdminService grid did not finish")

        # Calls that may bring the server down go last, one at a time: once it is down, the rest of
        # them are not probed (the cell that brought it down fails; AUTHZ-ADMIN-002 says why).
        # Those the model expects refused go first: they never reach the handler that crashes.
        def allowed_first_last(cell: tuple[TokenShape, RawMethod]) -> tuple[bool, str]:
            shape, method = cell
            now = time.monotonic()
            question = CallQuestion(
                facts_of(server), server.credential(grid.tokens[shape.name]),
                CallTarget(method.full_method, ""), Window.between(now, now),
            )  # fmt: skip
            return Outcome.ALLOWED in question.answer().values, f"{shape.name}{method.name}"

        for s, m in sorted(((s, m) for s, m in cells if m.name in LAST), key=allowed_first_last):
            if grid.down_at:
                continue
            await one(s.name, m)
            health = await probe_raw(channel, HEALTH_CHECK, b"", [], deadline=10)
            if Outcome.ERROR in (health.outcome, grid.observations[f"{s.name}On{m.name}"].outcome):
                grid.down_at = f"{s.name}On{m.name}"
    for shape, method in ((s.name, m) for s, m in CELLS):
        key = f"{shape}On{method.name}"
        if key not in grid.observations:
            continue
        observation = grid.observations[key]
        question = CallQuestion(
            facts_of(server),
            server.credential(grid.tokens[shape]),
            CallTarget(method.full_method, ""),
            Window.between(observation.started, observation.ended),
        )
        grid.asked[key] = Asked(question, question.answer(), observation.outcome)
    recorder.coverage["admin_methods_probed"] = len({m.name for _, m in cells})
    return grid


@pytest.mark.req("AUTHZ-ADMIN-001")
@pytest.mark.parametrize(("shape", "method"), [(s.name, m.name) for s, m in CELLS], ids=lambda v: str(v))
def test_admin_cell(shape: str, method: str, admin_grid: AdminGrid, evidence: Evidence) -> None:
    key = f"{shape}On{method}"
    refused = not_probed(admin_grid.target, f"/{ADMIN_SERVICE}/{method}", None)
    if refused:
        call = CallTarget(f"/{ADMIN_SERVICE}/{method}", "")
        model = said(model_only(admin_grid.target, admin_grid.tokens[shape], call))
        pytest.skip(f"{refused}; the model says {model}")
    if key not in admin_grid.observations:
        pytest.skip(f"not probed: the server stopped answering after {admin_grid.down_at} (AUTHZ-ADMIN-002)")
    expected_allowed = Outcome.ALLOWED in admin_grid.asked[key].answer.values
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
    asked, observation = admin_grid.asked[key], admin_grid.observations[key]
    token = admin_grid.tokens[shape]
    evidence.asked.append(asked)
    evidence.expected = (
        asked.answer.value if asked.answer.determinate else sorted(v.value for v in asked.answer.values)
    )
    evidence.observed = observation.outcome
    evidence.api = f"/{ADMIN_SERVICE}/{method}"
    evidence.claims = token.evidence() if token else {"token": None}
    evidence.status, evidence.message, evidence.reason = (
        observation.status,
        observation.message,
        asked.answer.reason,
    )
    evidence.cell = {
        "token_shape": shape,
        "api": f"AdminService/{method}",
        "namespace_column": "Cluster",
        "namespace": "",
        "expected": getattr(evidence.expected, "value", str(evidence.expected)),
        "observed": observation.outcome.value,
        "status": observation.status,
        "surface": "grpc",
    }
    check(evidence, "AUTHZ-ADMIN-001")


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
    check(evidence, "AUTHZ-ADMIN-002")


# -- security properties from the same probes (never from the model) ------------------------------------


def _not_refused(grid: AdminGrid, shapes: list[TokenShape]) -> tuple[list[str], int]:
    violations, shown = [], 0
    for shape in shapes:
        for method in METHODS:
            observed = grid.observations.get(f"{shape.name}On{method.name}")
            if observed is None or observed.outcome is Outcome.ERROR:
                continue
            shown += 1
            if observed.outcome not in REFUSED:
                violations.append(
                    f"{shape.name}On{method.name}: {observed.outcome.value} {observed.status} {observed.message[:100]!r}"
                )
    return violations, shown


@pytest.mark.prop("SEC-P1", "admin")
def test_anonymous_callers_get_no_admin_call(admin_grid: AdminGrid, evidence: Evidence) -> None:
    violations, shown = _not_refused(admin_grid, [s for s in GRID_SHAPES if s.anonymous])
    evidence.api, evidence.claims = "every unary AdminService method", {"token": None}
    hold(evidence, "SEC-P1/admin", violations, shown, "anonymous AdminService calls")


@pytest.mark.prop("SEC-P5", "admin")
def test_namespace_admins_get_no_admin_call(admin_grid: AdminGrid, evidence: Evidence) -> None:
    """Every token whose rights are in one named namespace (any role, admin included): AdminService is the
    cluster operator's, whatever namespace a request names."""
    shapes = [s for s in GRID_SHAPES if tenant_namespaces(s.claim("authz-matrix")) and not s.anonymous]
    violations, shown = _not_refused(admin_grid, shapes)
    evidence.api, evidence.extra["tokens"] = "every unary AdminService method", [s.name for s in shapes]
    hold(evidence, "SEC-P5/admin", violations, shown, "AdminService calls by namespace-scoped tokens")
