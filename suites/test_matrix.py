"""The grid: every WorkflowService/OperatorService method x token shape x namespace, server vs model."""

from __future__ import annotations

import pytest
import pytest_asyncio

from harness.cases.evidence import Evidence, check
from harness.cases.grid import (
    GridRun,
    all_cells,
    allowed_summary,
    cell_evidence,
    compare_cells,
    not_probed_because,
    probe_grid,
    record_grid,
)
from harness.cases.raw_cells import (
    RawCells,
    grid_services,
    listed_beyond_the_sdk,
    probe_raw_cells,
    raw_cells_evidence,
)
from harness.cases.unprobed import model_only, said
from harness.probes.grpc import sdk_methods
from harness.report.recorder import Recorder
from harness.security.checks import EXEMPT_METHODS, has_no_rights_in, hold
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import MATRIX_NAMESPACE, OTHER_NAMESPACE, Target
from harness.types import Outcome

CELLS = all_cells()
BY_ID = {c.id: c for c in CELLS}
COLUMNS = ("Own", "Other")


# DeprecateNamespace cannot be undone (a deprecated namespace never returns to registered): a system
# admin's cell really deprecates the grid's namespaces, so the grid runs on a server of its own. On a
# cluster the harness does not own, the calls of harness/safety.py's list are left out where they would
# touch what the harness did not create (DeprecateNamespace everywhere): the model answers alone.
GRID_SERVER = ServerSettings(purpose="the grid (DeprecateNamespace deprecates its namespaces for good)")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def grid(
    target: Target, server_pool: ServerPool, recorder: Recorder, request: pytest.FixtureRequest
) -> GridRun:
    """Probe every cell once, concurrently; probe again any cell whose keys or clock moved meanwhile."""
    concurrency = request.config.getoption("--probe-concurrency")
    if server_pool.configurable:
        target = await server_pool.target(GRID_SERVER)
    run = await probe_grid(target, CELLS, concurrency)
    record_grid(recorder, run, CELLS)
    return run


@pytest.mark.req("AUTHZ-MATRIX-001")
@pytest.mark.parametrize("cell_id", [c.id for c in CELLS])
def test_cell(cell_id: str, grid: GridRun, evidence: Evidence) -> None:
    cell = BY_ID[cell_id]
    if cell.id not in grid.observations:
        token = grid.tokens.get(cell.shape.name)
        model = said(model_only(grid.target, token, cell.target)) if cell.shape.name in grid.tokens else ""
        pytest.skip(not_probed_because(grid.target, cell) + (f"; the model says {model}" if model else ""))
    cell_evidence(
        evidence, grid.ask(cell), grid.observations[cell.id], grid.tokens[cell.shape.name],
        api=cell.method.full_method, namespace=cell.namespace,
        cell={"token_shape": cell.shape.name, "api": cell.method.short, "namespace_column": cell.column,
              "namespace": cell.namespace, "surface": "grpc"},
    )  # fmt: skip
    check(evidence)


@pytest.mark.req("AUTHZ-MATRIX-002")
def test_worker_role_alone(grid: GridRun, evidence: Evidence) -> None:
    observed, anonymous = allowed_summary(evidence, grid, "NamespaceWorker", ["Own"])
    evidence.finding_holds = observed == anonymous  # nothing beyond what needs no token at all
    check(evidence)


@pytest.mark.req("AUTHZ-MATRIX-003")
def test_legacy_system_admin(grid: GridRun, evidence: Evidence) -> None:
    observed, anonymous = allowed_summary(evidence, grid, "LegacySystemAdmin", COLUMNS)
    evidence.finding_holds = observed == anonymous
    check(evidence)


@pytest.mark.req("AUTHZ-MATRIX-004")
def test_namespace_admin_on_cluster_reads(grid: GridRun, evidence: Evidence) -> None:
    observed = compare_cells(
        evidence,
        grid,
        {m: f"NamespaceAdminOn{m}-Own" for m in ("ListNamespaces", "GetClusterInfo")},
    )
    evidence.finding_holds = all(o is Outcome.DENIED for o in observed.values())
    check(evidence)


@pytest.mark.req("AUTHZ-MATRIX-005")
def test_namespace_admin_registers_own_name(grid: GridRun, evidence: Evidence) -> None:
    observed = compare_cells(evidence, grid, {c: f"NamespaceAdminOnRegisterNamespace-{c}" for c in COLUMNS})
    evidence.finding_holds = observed["Own"] is Outcome.ALLOWED
    check(evidence)


@pytest.mark.req("AUTHZ-MATRIX-006")
def test_permissions_for_one_namespace(grid: GridRun, evidence: Evidence) -> None:
    observed = compare_cells(
        evidence,
        grid,
        {
            "write,read": "NamespaceWriteThenReadOnStartWorkflowExecution-Own",
            "read,write": "NamespaceReaderWriterOnStartWorkflowExecution-Own",
            "read": "NamespaceReaderOnStartWorkflowExecution-Own",
        },
    )
    evidence.finding_holds = (
        observed["write,read"] is Outcome.ALLOWED
        and observed["read,write"] is Outcome.ALLOWED
        and observed["read"] is Outcome.DENIED
    )
    check(evidence)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def raw_cells(target: Target, server_pool: ServerPool) -> RawCells:
    """On a server of its own (a release's handler may not survive an empty request)."""
    if not listed_beyond_the_sdk(target) or not server_pool.configurable:
        return RawCells()
    return await probe_raw_cells(
        await server_pool.target(ServerSettings(purpose="methods the SDK lacks, called raw"))
    )


@pytest.mark.req("AUTHZ-MATRIX-001")
def test_methods_the_sdk_lacks(target: Target, raw_cells: RawCells, evidence: Evidence) -> None:
    if not listed_beyond_the_sdk(target):
        pytest.skip("every method this release lists is in the SDK: the grid calls them all")
    if raw_cells.server is None:
        pytest.skip("raw calls to methods the SDK lacks are made on the harness's own servers only")
    raw_cells_evidence(evidence, raw_cells)
    check(evidence)


@pytest.mark.req("AUTHZ-MATRIX-008")
def test_every_listed_method_is_probed(target: Target, raw_cells: RawCells, evidence: Evidence) -> None:
    probed = {(m.service, m.name) for m in sdk_methods()} | {(s, m) for _, s, m in raw_cells.observed}
    listed = {(s, m) for s, methods in target.table.services.items() if s in grid_services() for m in methods}
    evidence.expected, evidence.observed = [], sorted(f"{s}/{m}" for s, m in listed - probed)
    evidence.extra = {"sdk_only_methods": sorted(f"{s}/{m}" for s, m in probed - listed)}
    check(evidence)


# -- security properties, read from the same probes (never from the model) -----------------------------

# Cluster-wide changes a namespace admin must never make (SEC-P5), whatever the release's access classes.
CLUSTER_WIDE_CHANGES = {
    "AddOrUpdateRemoteCluster", "RemoveRemoteCluster", "CreateNexusEndpoint", "UpdateNexusEndpoint",
    "DeleteNexusEndpoint",
}  # fmt: skip
NAMESPACE_ADMINS = ("NamespaceAdmin", "NamespaceAllFour")


@pytest.mark.prop("SEC-P1", "grpc")
def test_anonymous_callers_get_nothing(grid: GridRun, evidence: Evidence) -> None:
    cells = [c for c in CELLS if c.shape.anonymous]
    violations, shown = grid.unrefused(
        (c.id for c in cells if c.method.full_method not in EXEMPT_METHODS), 120
    )
    evidence.api, evidence.claims = "every WorkflowService and OperatorService method", {"token": None}
    hold(evidence, "SEC-P1/grpc", violations, shown, "anonymous calls outside the exempt ones")


@pytest.mark.prop("SEC-P2", "grpc")
def test_tenants_of_a_get_nothing_of_b(grid: GridRun, evidence: Evidence) -> None:
    """Every token without rights in the grid's other namespace (read from its permissions, release by
    release the same), on every call naming that namespace or none."""
    tenants = [
        s for s in {c.shape.name: c.shape for c in CELLS}.values()
        if s.anonymous or has_no_rights_in(s.claim(MATRIX_NAMESPACE), OTHER_NAMESPACE)
    ]  # fmt: skip
    cells = [c for c in CELLS if c.column == "Other" and c.shape in tenants]
    violations, shown = grid.unrefused(
        (c.id for c in cells if c.method.full_method not in EXEMPT_METHODS), 120
    )
    evidence.namespace = OTHER_NAMESPACE
    evidence.api = f"every method naming {OTHER_NAMESPACE!r} (or no namespace)"
    evidence.extra["tokens"] = sorted(s.name for s in tenants)
    hold(evidence, "SEC-P2/grpc", violations, shown, "calls by tenants of another namespace")


@pytest.mark.prop("SEC-P5", "grpc")
def test_namespace_admins_change_nothing_cluster_wide(grid: GridRun, evidence: Evidence) -> None:
    cells = [
        c for c in CELLS
        if c.shape.name in NAMESPACE_ADMINS
        and (c.method.name in CLUSTER_WIDE_CHANGES or (c.method.name == "RegisterNamespace" and c.column == "Other"))
    ]  # fmt: skip
    violations, shown = grid.unrefused(
        (c.id for c in cells if c.method.full_method not in EXEMPT_METHODS), 120
    )
    evidence.api = "remote clusters, Nexus endpoints, another namespace's registration"
    hold(evidence, "SEC-P5/grpc", violations, shown, "cluster-wide calls by namespace admins")
