"""The grid: every WorkflowService/OperatorService method x token shape x namespace, server vs model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from harness.cases.ask import Asked, CallQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.grid import Cell, GridRun, all_cells, reprobe, run_grid, shape_tokens
from harness.cases.runner import facts_of
from harness.cases.unprobed import model_only, not_probed_minimal, said
from harness.ceiling import GRID_DEADLINE_S, within
from harness.model.features import Feature
from harness.probes.grpc import Observation, sdk_methods
from harness.probes.grpc_raw import probe_raw
from harness.report.recorder import Recorder
from harness.security.checks import EXEMPT_METHODS, REFUSED, has_no_rights_in, hold
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import MATRIX_NAMESPACE, OTHER_NAMESPACE, Target
from harness.tokens.mint import MintedToken
from harness.tokens.shapes import GRID_SHAPES
from harness.types import CallTarget, Outcome, full_method

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
    cells = [c for c in CELLS if _probed_on(target, c)]
    run = await within(GRID_DEADLINE_S, run_grid(target, cells, concurrency), "the gRPC grid did not finish")
    for _ in range(3):
        moving = [c for c in CELLS if c.id in run.observations and not run.answer(c).determinate]
        if not moving:
            break
        await target.keys.settle(30)
        await within(
            GRID_DEADLINE_S, reprobe(run, moving, concurrency), "the gRPC grid's reprobe did not finish"
        )
    recorder.metric("grid_cells", len(run.observations))
    recorder.metric("grid_wall_s", round(run.wall_s, 3))
    recorder.metric("grid_cells_per_s", round(run.cells_per_s, 1))
    recorder.metric("probe_concurrency", concurrency)
    recorder.coverage["api_methods_probed"] = len({c.method.full_method for c in CELLS})
    recorder.coverage["token_shapes"] = {
        shape.name: {
            "permissions": shape.claim(MATRIX_NAMESPACE),
            "anonymous": shape.anonymous,
            "note": shape.note,
        }
        for shape in {c.shape.name: c.shape for c in CELLS}.values()
    }
    return run


def _probed_on(target: Target, cell: Cell) -> bool:
    return not _not_probed_because(target, cell)


def _not_probed_because(target: Target, cell: Cell) -> str:
    """Why a cell is left out ("" when it is probed): on a cluster the harness does not own, the
    destructive calls of harness/safety.py aimed at what it did not create ("not probed: irreversible");
    before 1.23, DeleteNamespace, whose request has no namespace_id to make it fail after authorization:
    an allowed call really deletes the namespace and waits for the deletion (past any probe's deadline)."""
    if refused := not_probed_minimal(target, cell.method, cell.namespace):
        return refused
    by_id = Feature.DELETE_NAMESPACE_BY_ID
    if cell.method.name == "DeleteNamespace" and not by_id.available(target.version):
        return f"DeleteNamespace before {by_id.first} deletes for real and waits for it: not called"
    return ""


@pytest.mark.req("AUTHZ-MATRIX-001")
@pytest.mark.parametrize("cell_id", [c.id for c in CELLS])
def test_cell(cell_id: str, grid: GridRun, evidence: Evidence) -> None:
    cell = BY_ID[cell_id]
    if cell.id not in grid.observations:
        token = grid.tokens.get(cell.shape.name)
        model = said(model_only(grid.target, token, cell.target)) if cell.shape.name in grid.tokens else ""
        pytest.skip(_not_probed_because(grid.target, cell) + (f"; the model says {model}" if model else ""))
    asked = grid.ask(cell)
    observed = grid.observations[cell.id]
    token = grid.tokens[cell.shape.name]
    evidence.expected = asked.answer.value if asked.answer.determinate else sorted(asked.answer.values)
    evidence.observed = observed.outcome
    evidence.api, evidence.namespace = cell.method.full_method, cell.namespace
    evidence.claims = token.evidence() if token else {"token": None}
    evidence.status, evidence.message, evidence.reason = (
        observed.status,
        observed.message,
        asked.answer.reason,
    )
    evidence.asked.append(asked)
    evidence.cell = {
        "token_shape": cell.shape.name,
        "api": cell.method.short,
        "namespace_column": cell.column,
        "namespace": cell.namespace,
        "expected": getattr(evidence.expected, "value", str(evidence.expected)),
        "observed": observed.outcome.value,
        "status": observed.status,
        "surface": "grpc",
    }
    check(evidence, "AUTHZ-MATRIX-001")


def _allowed(grid: GridRun, shape: str, columns: Iterable[str], model: bool) -> list[str]:
    found = []
    for m in sdk_methods():
        for column in columns:
            cell = BY_ID[f"{shape}On{m.name}-{column}"]
            if cell.id not in grid.observations:
                continue  # not called on this server (see test_cell's skip)
            outcome = grid.answer(cell).value if model else grid.observations[cell.id].outcome
            if outcome is Outcome.ALLOWED:
                found.append(f"{m.name}-{column}")
    return sorted(found)


def _summary(
    evidence: Evidence, grid: GridRun, shape: str, columns: Iterable[str]
) -> tuple[list[str], list[str]]:
    columns = list(columns)
    evidence.expected = _allowed(grid, shape, columns, model=True)
    evidence.observed = _allowed(grid, shape, columns, model=False)
    evidence.api = f"every method, token shape {shape}, columns {columns}"
    anonymous = _allowed(grid, "Anonymous", columns, model=False)
    evidence.extra["anonymous_allowed"] = anonymous
    return evidence.observed, anonymous


@pytest.mark.req("AUTHZ-MATRIX-002")
def test_worker_role_alone(grid: GridRun, evidence: Evidence) -> None:
    observed, anonymous = _summary(evidence, grid, "NamespaceWorker", ["Own"])
    evidence.finding_holds = observed == anonymous  # nothing beyond what needs no token at all
    check(evidence, "AUTHZ-MATRIX-002")


@pytest.mark.req("AUTHZ-MATRIX-003")
def test_legacy_system_admin(grid: GridRun, evidence: Evidence) -> None:
    observed, anonymous = _summary(evidence, grid, "LegacySystemAdmin", COLUMNS)
    evidence.finding_holds = observed == anonymous
    check(evidence, "AUTHZ-MATRIX-003")


def _cells(grid: GridRun, evidence: Evidence, ids: dict[str, str]) -> dict[str, Outcome]:
    evidence.expected = {k: grid.answer(BY_ID[c]).value for k, c in ids.items()}
    evidence.observed = {k: grid.observations[c].outcome for k, c in ids.items()}
    evidence.api = ", ".join(ids.values())
    return dict(evidence.observed)


@pytest.mark.req("AUTHZ-MATRIX-004")
def test_namespace_admin_on_cluster_reads(grid: GridRun, evidence: Evidence) -> None:
    observed = _cells(
        grid,
        evidence,
        {m: f"NamespaceAdminOn{m}-Own" for m in ("ListNamespaces", "GetClusterInfo")},
    )
    evidence.finding_holds = all(o is Outcome.DENIED for o in observed.values())
    check(evidence, "AUTHZ-MATRIX-004")


@pytest.mark.req("AUTHZ-MATRIX-005")
def test_namespace_admin_registers_own_name(grid: GridRun, evidence: Evidence) -> None:
    observed = _cells(grid, evidence, {c: f"NamespaceAdminOnRegisterNamespace-{c}" for c in COLUMNS})
    evidence.finding_holds = observed["Own"] is Outcome.ALLOWED
    check(evidence, "AUTHZ-MATRIX-005")


@pytest.mark.req("AUTHZ-MATRIX-006")
def test_permissions_for_one_namespace(grid: GridRun, evidence: Evidence) -> None:
    observed = _cells(
        grid,
        evidence,
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
    check(evidence, "AUTHZ-MATRIX-006")


def _listed_beyond_the_sdk(target: Target) -> list[tuple[str, str]]:
    """Methods the version's table lists that the SDK no longer has (removed or renamed since): the grid
    cannot call them by the SDK, so they are called raw."""
    known = {(m.service, m.name) for m in sdk_methods()}
    services = {m.service for m in sdk_methods()}  # AdminService and Nexus have suites of their own
    return sorted(
        (s, m) for s, ms in target.table.services.items() if s in services for m in ms if (s, m) not in known
    )


@dataclass(repr=False)  # short repr, as GridRun's
class RawCells:
    server: Target | None = None
    observed: dict[tuple[str, str, str], Observation] = field(
        default_factory=dict
    )  # (shape, service, method)
    tokens: dict[str, MintedToken | None] = field(default_factory=dict)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def raw_cells(target: Target, server_pool: ServerPool) -> RawCells:
    """Each listed method the SDK lacks x token shape, called raw with an empty request (namespace ""),
    on a server of its own (a release's handler may not survive an empty request)."""
    methods = _listed_beyond_the_sdk(target)
    if not methods or not server_pool.configurable:
        return RawCells()
    server = await server_pool.target(ServerSettings(purpose="methods the SDK lacks, called raw"))
    cells = RawCells(server, tokens=shape_tokens(server, GRID_SHAPES))
    async with server.grpc_channel() as channel:
        for shape in GRID_SHAPES:
            for service, method in methods:
                headers = server.headers(cells.tokens[shape.name])
                cells.observed[(shape.name, service, method)] = await probe_raw(
                    channel, full_method(service, method), b"", headers
                )
    return cells


@pytest.mark.req("AUTHZ-MATRIX-001")
def test_methods_the_sdk_lacks(target: Target, raw_cells: RawCells, evidence: Evidence) -> None:
    if not _listed_beyond_the_sdk(target):
        pytest.skip("every method this release lists is in the SDK: the grid calls them all")
    if raw_cells.server is None:
        pytest.skip("raw calls to methods the SDK lacks are made on the harness's own servers only")
    server = raw_cells.server
    evidence.expected, evidence.observed = {}, {}
    for (shape, service, method), observation in raw_cells.observed.items():
        question = CallQuestion(
            facts_of(server), server.credential(raw_cells.tokens[shape]),
            CallTarget(full_method(service, method), ""),
            Window.between(observation.started, observation.ended),
        )  # fmt: skip
        asked = Asked(question, question.answer(), observation.outcome)
        evidence.asked.append(asked)
        key = f"{shape} x {service.rsplit('.', 1)[-1]}/{method}"
        evidence.expected[key] = (
            asked.answer.value if asked.answer.determinate else sorted(asked.answer.values)
        )
        evidence.observed[key] = observation.outcome
    evidence.api, evidence.namespace = "methods the SDK lacks (empty request)", ""
    check(evidence, "AUTHZ-MATRIX-001")


@pytest.mark.req("AUTHZ-MATRIX-008")
def test_every_listed_method_is_probed(target: Target, raw_cells: RawCells, evidence: Evidence) -> None:
    probed = {(m.service, m.name) for m in sdk_methods()} | {(s, m) for _, s, m in raw_cells.observed}
    grid_services = {m.service for m in sdk_methods()}  # AdminService and Nexus have suites of their own
    listed = {(s, m) for s, methods in target.table.services.items() if s in grid_services for m in methods}
    evidence.expected, evidence.observed = [], sorted(f"{s}/{m}" for s, m in listed - probed)
    evidence.extra = {"sdk_only_methods": sorted(f"{s}/{m}" for s, m in probed - listed)}
    check(evidence, "AUTHZ-MATRIX-008")


# -- security properties, read from the same probes (never from the model) -----------------------------

# Cluster-wide changes a namespace admin must never make (SEC-P5), whatever the release's access classes.
CLUSTER_WIDE_CHANGES = {
    "AddOrUpdateRemoteCluster", "RemoveRemoteCluster", "CreateNexusEndpoint", "UpdateNexusEndpoint",
    "DeleteNexusEndpoint",
}  # fmt: skip
NAMESPACE_ADMINS = ("NamespaceAdmin", "NamespaceAllFour")


def _refusals(
    grid: GridRun, cells: Iterable[Cell], exempt: frozenset[str] = EXEMPT_METHODS
) -> tuple[list[str], int]:
    """Cells that were not refused: `Cell: OUTCOME STATUS message`, and how many cells were looked at."""
    violations, shown = [], 0
    for cell in cells:
        observed = grid.observations.get(cell.id)
        if observed is None or cell.method.full_method in exempt or observed.outcome is Outcome.ERROR:
            continue  # not probed here, exempt, or no answer (the conformance cell fails for that)
        shown += 1
        if observed.outcome not in REFUSED:
            violations.append(
                f"{cell.id}: {observed.outcome.value} {observed.status} {observed.message[:120]!r}"
            )
    return violations, shown


@pytest.mark.prop("SEC-P1", "grpc")
def test_anonymous_callers_get_nothing(grid: GridRun, evidence: Evidence) -> None:
    cells = [c for c in CELLS if c.shape.anonymous]
    violations, shown = _refusals(grid, cells)
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
    violations, shown = _refusals(grid, cells)
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
    violations, shown = _refusals(grid, cells)
    evidence.api = "remote clusters, Nexus endpoints, another namespace's registration"
    hold(evidence, "SEC-P5/grpc", violations, shown, "cluster-wide calls by namespace admins")
