"""The authorization grid as a person reads it: methods grouped by the access the API table gives them,
one column group per probe namespace, one column per token shape headed by the claims it carries."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.api_tables import ApiTableMissing, load_table
from harness.report.grades import Grade, grade_of

LETTERS = {"ALLOWED": "A", "DENIED": "D", "ABSENT": "-", "ERROR": "E"}
_OUTCOME = re.compile(r"ALLOWED|DENIED|ABSENT|ERROR")

# Access classes in the order a reader meets them: least privilege first; methods outside the table last.
ACCESS_LABELS = {
    "read_only": "Read-only methods (need a reader role)",
    "write": "Write methods (need a writer role)",
    "admin": "Admin methods (need an admin role)",
    "unknown": "Methods the API table marks as of unknown access",
}
NOT_IN_TABLE = "not-in-table"

# One grid cell in the page's evidence data: a list, so 5,000 cells stay small.
CELL_FIELDS = (
    "api",
    "token_shape",
    "namespace_column",
    "namespace",
    "expected",
    "observed",
    "status",
    "surface",
    "verdict",
    "grade",
    "test",
)


@dataclass(frozen=True)
class ShapeHeader:
    name: str
    claims: str  # what the token carries, e.g. "authz-matrix:read, authz-matrix:write" or "no token"
    note: str = ""
    short_claims: str = ""  # the same, compact: "authz-matrix: read, write"


@dataclass(frozen=True)
class CellView:
    index: int  # into the page's cell data
    letter: str
    observed: str
    grade: Grade
    mismatch: bool

    @property
    def css(self) -> str:
        letter_class = {"A": "o-a", "D": "o-d", "-": "o-x", "E": "o-e"}.get(self.letter, "o-x")
        return f"c {letter_class} {self.grade.css}{' mm' if self.mismatch else ''}"


@dataclass
class GridRow:
    api: str
    surface: str
    scope: str
    cells: list[CellView | None] = field(default_factory=list)  # column-major: column, then shape

    @property
    def service(self) -> str:
        return self.api.rpartition("/")[0]

    @property
    def method(self) -> str:
        return self.api.rpartition("/")[2]

    @property
    def mismatches(self) -> int:
        return sum(1 for c in self.cells if c is not None and c.mismatch)


@dataclass
class AccessGroup:
    access: str
    label: str
    rows: list[GridRow]


@dataclass
class GridView:
    columns: list[tuple[str, str]]  # (namespace column, the namespace it probed)
    shapes: list[ShapeHeader]
    groups: list[AccessGroup]
    surfaces: list[str]
    cells: list[list[Any]]  # CELL_FIELDS per cell
    mismatches: int

    @property
    def empty(self) -> bool:
        return not self.cells


def expected_outcomes(expected: Any) -> list[str]:
    """The outcomes the model allows: 'DENIED', or several where the keys were moving ("['ALLOWED',
    'DENIED']" as the cell records it)."""
    if isinstance(expected, list):
        return [str(e) for e in expected]
    found = _OUTCOME.findall(str(expected))
    return found or [str(expected)]


def readable_expected(expected: Any) -> str:
    return " or ".join(expected_outcomes(expected))


def shape_claims(shape: Mapping[str, Any] | None) -> str:
    if shape is None:
        return ""
    if shape.get("anonymous"):
        return "no token"
    permissions = shape.get("permissions")
    if permissions is None:
        return "no permissions claim"
    if not permissions:
        return "permissions: [] (empty)"
    return ", ".join(str(p) for p in permissions)


def compact_claims(permissions: Sequence[Any]) -> str:
    """authz-matrix:read, authz-matrix:write -> 'authz-matrix: read, write' (order kept), for a narrow
    column header; the evidence panel shows the claims in full."""
    groups: list[tuple[str, list[str]]] = []
    for entry in permissions:
        text = str(entry)
        namespace, colon, role = text.partition(":")
        if not colon:
            groups.append((text, []))
        elif groups and groups[-1][0] == namespace and groups[-1][1]:
            groups[-1][1].append(role)
        else:
            groups.append((namespace, [role]))
    return "; ".join(f"{ns}: {', '.join(roles)}" if roles else ns for ns, roles in groups)


def access_by_method(version: str | None) -> dict[str, tuple[str, str]]:
    """'WorkflowService/StartWorkflowExecution' -> (access, scope), from fixtures/api/<version>.json."""
    if not version:
        return {}
    try:
        table = load_table(version)
    except (ApiTableMissing, OSError, ValueError, KeyError):
        return {}
    return {
        f"{service.rpartition('.')[2]}/{method}": (rule.access.value, rule.scope.value)
        for service, methods in table.services.items()
        for method, rule in methods.items()
    }


def _access_label(access: str, version: str) -> str:
    if access == NOT_IN_TABLE:
        return f"Methods not in the API table for {version}"
    return ACCESS_LABELS.get(access, f"Methods of access {access}")


def shape_from_evidence(evidence: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A token shape as coverage.token_shapes describes one, read back from a cell test's decoded token
    (for reports written before the coverage described the shapes)."""
    decoded = (evidence or {}).get("claims")
    if not isinstance(decoded, dict):
        return None
    if "token" in decoded and decoded["token"] is None:
        return {"permissions": None, "anonymous": True, "note": ""}
    claims = decoded.get("claims")
    if not isinstance(claims, dict):
        return None
    permissions = claims.get("permissions")
    return {"permissions": permissions if isinstance(permissions, list) else None, "anonymous": False}


def _shape_headers(
    grid: Sequence[Mapping[str, Any]],
    coverage: Mapping[str, Any],
    evidence_of_cells: Sequence[Mapping[str, Any] | None],
) -> list[ShapeHeader]:
    described = coverage.get("token_shapes")
    described = dict(described) if isinstance(described, dict) else {}
    names = [n for n in described if any(c["token_shape"] == n for c in grid)]
    for cell, evidence in zip(grid, evidence_of_cells, strict=True):
        if cell["token_shape"] not in names:
            names.append(cell["token_shape"])
        if cell["token_shape"] not in described and (shape := shape_from_evidence(evidence)) is not None:
            described[cell["token_shape"]] = shape
    headers = []
    for name in names:
        shape = described.get(name)
        claims = shape_claims(shape) or name
        permissions = (shape or {}).get("permissions")
        short = compact_claims(permissions) if permissions and not (shape or {}).get("anonymous") else claims
        headers.append(ShapeHeader(name, claims, str((shape or {}).get("note") or ""), short))
    return headers


def _cell_param(cell: Mapping[str, Any]) -> str:
    """The test id a grid cell's test has had (suites/test_matrix.py::test_cell[<shape>On<method>-<column>]),
    for reports written before cells named their test."""
    return f"[{cell['token_shape']}On{str(cell['api']).rpartition('/')[2]}-{cell['namespace_column']}]"


def cell_key(cell: Mapping[str, Any]) -> str:
    """'<shape> x <api> x <column>' for a gRPC cell (as baselines have it); other surfaces add theirs."""
    key = f"{cell['token_shape']} x {cell['api']} x {cell['namespace_column']}"
    surface = cell.get("surface") or "grpc"
    return key if surface == "grpc" else f"{key} x {surface}"


def cell_tests(grid: Sequence[Mapping[str, Any]], test_index: Mapping[str, int]) -> list[int]:
    """Per grid cell, the index of the test that holds its evidence (-1: none): the cell names it, or
    (reports written before cells named their test) the matrix suite's test id says it."""
    by_param = {nodeid[nodeid.index("[") :]: i for nodeid, i in test_index.items() if "test_cell[" in nodeid}
    return [test_index.get(str(cell.get("test") or ""), by_param.get(_cell_param(cell), -1)) for cell in grid]


def build_grid(data: Mapping[str, Any], test_index: Mapping[str, int]) -> GridView:
    grid: list[Mapping[str, Any]] = list(data.get("grid") or [])
    tests: list[Mapping[str, Any]] = list(data.get("tests") or [])
    namespaces: dict[str, str] = {}  # namespace column -> the namespace it probed, in the run's order
    for cell in grid:
        namespaces.setdefault(cell["namespace_column"], str(cell.get("namespace") or ""))
    columns = list(namespaces.items())
    column_pos = {c: i for i, c in enumerate(namespaces)}
    tests_of_cells = cell_tests(grid, test_index)
    evidence_of_cells = [tests[t].get("evidence") if t >= 0 else None for t in tests_of_cells]
    shapes = _shape_headers(grid, data.get("coverage") or {}, evidence_of_cells)
    shape_pos = {s.name: i for i, s in enumerate(shapes)}
    access = access_by_method((data.get("server") or {}).get("version"))
    rows: dict[tuple[str, str], GridRow] = {}
    payload: list[list[Any]] = []
    mismatches = 0
    width = len(shapes)
    for cell, t, evidence in zip(grid, tests_of_cells, evidence_of_cells, strict=True):
        surface = str(cell.get("surface") or "grpc")
        api = str(cell["api"])
        row = rows.get((api, surface))
        if row is None:
            row = GridRow(api, surface, access.get(api, ("", ""))[1], [None] * (width * len(columns)))
            rows[(api, surface)] = row
        grade = grade_of(str(cell.get("verdict")), evidence)
        observed = str(cell.get("observed"))
        mismatch = observed not in expected_outcomes(cell.get("expected")) or grade is Grade.FAIL
        mismatches += mismatch
        view = CellView(len(payload), LETTERS.get(observed, "?"), observed, grade, mismatch)
        row.cells[column_pos[cell["namespace_column"]] * width + shape_pos[cell["token_shape"]]] = view
        payload.append(
            [
                api,
                cell["token_shape"],
                cell["namespace_column"],
                cell.get("namespace", ""),
                readable_expected(cell.get("expected")),
                observed,
                cell.get("status", ""),
                surface,
                cell.get("verdict"),
                grade.value,
                t,
            ]
        )
    groups: dict[str, list[GridRow]] = {}
    for (api, _), row in sorted(rows.items()):
        key = access[api][0] if api in access else NOT_IN_TABLE
        groups.setdefault(key, []).append(row)
    version = (data.get("server") or {}).get("version") or "this server"
    order = [*ACCESS_LABELS, NOT_IN_TABLE]
    return GridView(
        columns=columns,
        shapes=shapes,
        groups=[
            AccessGroup(key, _access_label(key, version), groups[key])
            for key in sorted(groups, key=lambda k: order.index(k) if k in order else len(order))
        ],
        surfaces=sorted({row.surface for row in rows.values()}),
        cells=payload,
        mismatches=mismatches,
    )
