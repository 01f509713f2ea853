"""The grid: every WorkflowService/OperatorService method x token shape x namespace, server vs model."""

from __future__ import annotations

import pytest
import pytest_asyncio

from harness.grid import Cell, GridRun, all_cells, bare_loop, expected_for, run_grid
from harness.probes import sdk_methods
from harness.report.recorder import Recorder
from harness.target import Target
from harness.types import Outcome
from harness.verdict import Evidence, check

pytestmark = pytest.mark.asyncio(loop_scope="session")

CELLS = all_cells()
BY_ID = {c.id: c for c in CELLS}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def grid(target: Target, recorder: Recorder, request: pytest.FixtureRequest) -> GridRun:
    """Probe every cell once, concurrently; then measure the bare loop in the same run."""
    concurrency = request.config.getoption("--probe-concurrency")
    run = await run_grid(target, CELLS, concurrency)
    run.bare_calls_per_s, run.bare_wall_s = await bare_loop(target, len(CELLS), concurrency)
    recorder.metric("grid_cells", len(run.observations))
    recorder.metric("grid_wall_s", round(run.wall_s, 3))
    recorder.metric("grid_cells_per_s", round(run.cells_per_s, 1))
    recorder.metric("bare_get_system_info_calls_per_s", round(run.bare_calls_per_s, 1))
    recorder.metric("bare_wall_s", round(run.bare_wall_s, 3))
    recorder.metric("probe_concurrency", concurrency)
    recorder.coverage["api_methods_probed"] = len({c.method.full_method for c in CELLS})
    recorder.coverage["token_shapes"] = len({c.shape.name for c in CELLS})
    return run


def _fill(evidence: Evidence, target: Target, run: GridRun, cell: Cell) -> None:
    expected, expectation = expected_for(target, run, cell)
    observed = run.observations[cell.id]
    token = run.tokens[cell.shape.name]
    evidence.expected, evidence.observed = expected, observed.outcome
    evidence.api, evidence.namespace = cell.method.full_method, cell.namespace
    evidence.claims = token.evidence() if token else {"token": None}
    evidence.status, evidence.message = observed.status, observed.message
    evidence.reason = expectation.reason if expectation else "method absent from this server's API table"
    evidence.cell = {
        "token_shape": cell.shape.name,
        "api": f"{cell.method.service.rsplit('.', 1)[-1]}/{cell.method.name}",
        "namespace_column": cell.column,
        "namespace": cell.namespace,
        "expected": expected.value,
        "observed": observed.outcome.value,
        "status": observed.status,
    }


@pytest.mark.req("AUTHZ-MATRIX-001")
@pytest.mark.parametrize("cell_id", [c.id for c in CELLS])
async def test_cell(cell_id: str, grid: GridRun, target: Target, evidence: Evidence) -> None:
    _fill(evidence, target, grid, BY_ID[cell_id])
    check(evidence, "AUTHZ-MATRIX-001")


def _observed(grid: GridRun, shape: str, method: str, column: str = "Own") -> Outcome:
    return grid.observations[f"{shape}On{method}-{column}"].outcome


EXEMPT = {"GetSystemInfo"}


@pytest.mark.req("AUTHZ-MATRIX-002")
async def test_worker_role_alone_grants_nothing(grid: GridRun, evidence: Evidence) -> None:
    allowed = sorted(
        m.name for m in sdk_methods() if _observed(grid, "NamespaceWorker", m.name) is Outcome.ALLOWED
    )
    evidence.expected, evidence.observed = sorted(EXEMPT), allowed
    evidence.api = "every method, token {ns}:worker"
    check(evidence, "AUTHZ-MATRIX-002")
    assert _observed(grid, "NamespaceWorker", "PollWorkflowTaskQueue") is Outcome.DENIED


@pytest.mark.req("AUTHZ-MATRIX-003")
async def test_legacy_system_admin_grants_nothing_cluster_wide(
    grid: GridRun, target: Target, evidence: Evidence
) -> None:
    allowed = sorted(
        f"{m.name}-{col}"
        for m in sdk_methods()
        for col in ("Own", "Other")
        if _observed(grid, "LegacySystemAdmin", m.name, col) is Outcome.ALLOWED
    )
    expected = sorted(f"{m}-{col}" for m in EXEMPT for col in ("Own", "Other"))
    evidence.expected, evidence.observed = expected, allowed
    evidence.api = "every method, token system:admin"
    check(evidence, "AUTHZ-MATRIX-003")


@pytest.mark.req("AUTHZ-MATRIX-004")
@pytest.mark.parametrize("method", ["ListNamespaces", "GetClusterInfo"])
async def test_namespace_admin_cannot_call_cluster_reads(
    grid: GridRun, evidence: Evidence, method: str
) -> None:
    evidence.expected, evidence.observed = Outcome.DENIED, _observed(grid, "NamespaceAdmin", method)
    evidence.api = method
    check(evidence, "AUTHZ-MATRIX-004")


@pytest.mark.req("AUTHZ-MATRIX-005")
async def test_namespace_admin_can_register_own_namespace_name(grid: GridRun, evidence: Evidence) -> None:
    evidence.expected = {"Own": Outcome.ALLOWED, "Other": Outcome.DENIED}
    evidence.observed = {
        c: _observed(grid, "NamespaceAdmin", "RegisterNamespace", c) for c in ("Own", "Other")
    }
    evidence.api = "RegisterNamespace (request fails validation after authorization)"
    check(evidence, "AUTHZ-MATRIX-005")


@pytest.mark.req("AUTHZ-MATRIX-006")
async def test_permissions_for_one_namespace_are_ored(grid: GridRun, evidence: Evidence) -> None:
    evidence.expected = {"write,read": Outcome.ALLOWED, "read,write": Outcome.ALLOWED, "read": Outcome.DENIED}
    evidence.observed = {
        "write,read": _observed(grid, "NamespaceWriteThenRead", "StartWorkflowExecution"),
        "read,write": _observed(grid, "NamespaceReaderWriter", "StartWorkflowExecution"),
        "read": _observed(grid, "NamespaceReader", "StartWorkflowExecution"),
    }
    evidence.api = "StartWorkflowExecution"
    check(evidence, "AUTHZ-MATRIX-006")


@pytest.mark.req("AUTHZ-MATRIX-007")
async def test_grid_runs_at_least_half_the_bare_rate(grid: GridRun, evidence: Evidence) -> None:
    evidence.expected = f">= {0.5 * grid.bare_calls_per_s:.0f} cells/s (half the bare loop)"
    evidence.observed = f"{grid.cells_per_s:.0f} cells/s"
    evidence.extra = {
        "grid_cells": len(grid.observations),
        "grid_wall_s": round(grid.wall_s, 3),
        "bare_calls_per_s": round(grid.bare_calls_per_s, 1),
    }
    assert grid.cells_per_s >= 0.5 * grid.bare_calls_per_s, evidence.render()


@pytest.mark.req("AUTHZ-MATRIX-008")
async def test_every_listed_method_is_probed(target: Target, evidence: Evidence) -> None:
    probed = {(m.service, m.name) for m in sdk_methods()}
    listed = {(s, m) for s, methods in target.table.services.items() for m in methods}
    evidence.expected, evidence.observed = [], sorted(f"{s}/{m}" for s, m in listed - probed)
    evidence.extra = {"sdk_only_methods": sorted(f"{s}/{m}" for s, m in probed - listed)}
    check(evidence, "AUTHZ-MATRIX-008")
