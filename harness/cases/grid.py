"""The authorization grid: token shapes x API methods x namespace columns, probed concurrently."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.cases.ask import Answer, Asked, Window
from harness.cases.calls import Call
from harness.cases.evidence import Evidence
from harness.cases.runner import facts_of
from harness.cases.surfaces import Asking, surface_of
from harness.cases.unprobed import not_probed_minimal
from harness.ceiling import GRID_DEADLINE_S, within
from harness.model.features import Feature
from harness.probes.grpc import ApiMethod, Observation, run_bounded, sdk_methods
from harness.report.recorder import Recorder
from harness.security.checks import not_refused
from harness.server.target import MATRIX_NAMESPACE, OTHER_NAMESPACE, Target
from harness.tokens.mint import MintedToken
from harness.tokens.shapes import GRID_SHAPES, TokenShape
from harness.types import CallTarget, Outcome

COLUMNS = {"Own": MATRIX_NAMESPACE, "Other": OTHER_NAMESPACE}


@dataclass(frozen=True)
class Cell:
    shape: TokenShape
    method: ApiMethod
    column: str  # "Own": the namespace the token names; "Other": one it does not

    @property
    def id(self) -> str:
        return f"{self.shape.name}On{self.method.name}-{self.column}"

    @property
    def namespace(self) -> str:
        return COLUMNS[self.column] if self.method.has_namespace else ""

    @property
    def target(self) -> CallTarget:
        return CallTarget(self.method.full_method, self.namespace)


def all_cells(shapes: Sequence[TokenShape] = GRID_SHAPES) -> list[Cell]:
    methods = sdk_methods()
    return [Cell(s, m, c) for s in shapes for m in methods for c in COLUMNS]


@functools.cache
def _grid_cells() -> dict[str, Cell]:
    return {c.id: c for c in all_cells()}


def cell_named(cell_id: str) -> Cell:
    """The grid's cell `<shape>On<method>-<column>`."""
    return _grid_cells()[cell_id]


@dataclass(repr=False)
class Grid:
    """Token shapes x calls, each probed once: what the server answered per cell, and the model's answer
    for the cell asked once, through the call's Surface, with the window its probe ran in. The same for
    the gRPC, HTTP and AdminService grids; each probes its cells its own way (run_grid,
    http_grid.probe_http_grid, admin_grid.probe_admin_grid)."""

    target: Target
    tokens: dict[str, MintedToken | None]  # shape name -> its token (None: anonymous)
    observations: dict[str, Observation] = field(default_factory=dict)  # cell key -> the server's answer
    _asked: dict[str, Asked] = field(default_factory=dict, init=False)

    def __repr__(self) -> str:
        # Short on purpose: as the fixture's run ends, asyncio's Runner formats its task, result (this)
        # included, inside signal.getsignal(); a repr of thousands of observations took seconds.
        return f"{type(self).__name__}({self.target.name}, {len(self.observations)} cells)"

    def asked(self, key: str, shape: str, call: Call) -> Asked:
        """The model's answer for a cell, asked once: with the window its probe ran in, or for this
        moment where the cell was not probed (harness/safety.py)."""
        if key not in self._asked:
            observation = self.observations.get(key)
            window = (
                Window.between(observation.started, observation.ended)
                if observation
                else Window.open().closed()
            )
            token = self.tokens[shape]
            asking = Asking(
                facts_of(self.target), self.target.credential(token), self.target.headers(token), token
            )
            question = surface_of(call).question(asking, call, window)
            self._asked[key] = Asked(
                question, question.answer(), observation.outcome if observation else None
            )
        return self._asked[key]

    def unrefused(self, keys: Iterable[str], width: int = 100) -> tuple[list[str], int]:
        """Of these cells, those the server did not refuse, and how many were looked at (the SEC scans)."""
        return not_refused(((key, self.observations.get(key)) for key in keys), width)


@dataclass(repr=False)
class GridRun(Grid):
    """The gRPC grid (WorkflowService and OperatorService methods x shapes x namespace columns)."""

    wall_s: float = 0.0
    concurrency: int = 0

    @property
    def cells_per_s(self) -> float:
        return len(self.observations) / self.wall_s if self.wall_s else 0.0

    def ask(self, cell: Cell) -> Asked:
        return self.asked(cell.id, cell.shape.name, Call("cell", cell.method, cell.namespace))

    def answer(self, cell: Cell) -> Answer:
        return self.ask(cell).answer

    def allowed(self, shape: str, columns: Iterable[str], model: bool) -> list[str]:
        """`Method-Column` of the cells of `shape` the model (or the server) allowed; cells not probed
        on this server are left out."""
        found = []
        for m in sdk_methods():
            for column in columns:
                cell_id = f"{shape}On{m.name}-{column}"
                if cell_id not in self.observations:
                    continue
                cell = cell_named(cell_id)
                outcome = self.answer(cell).value if model else self.observations[cell_id].outcome
                if outcome is Outcome.ALLOWED:
                    found.append(f"{m.name}-{column}")
        return sorted(found)


def shape_tokens(target: Target, shapes: Sequence[TokenShape]) -> dict[str, MintedToken | None]:
    return {
        s.name: None if s.anonymous else target.mint(s.claim(MATRIX_NAMESPACE), sub=f"grid-{s.name}")
        for s in shapes
    }


async def run_grid(
    target: Target,
    cells: Sequence[Cell],
    concurrency: int,
    tokens: dict[str, MintedToken | None] | None = None,
) -> GridRun:
    if tokens is None:
        tokens = shape_tokens(target, list({c.shape.name: c.shape for c in cells}.values()))
    prober = await target.prober()
    headers = {name: target.headers(token) for name, token in tokens.items()}
    jobs = [
        (cell.id, (lambda c=cell: prober.probe(c.method, c.namespace, headers[c.shape.name])))
        for cell in cells
    ]
    started = time.perf_counter()
    observations = await run_bounded(jobs, concurrency)
    wall = time.perf_counter() - started
    return GridRun(target, tokens, observations, wall_s=wall, concurrency=concurrency)


async def reprobe(run: GridRun, cells: Sequence[Cell], concurrency: int) -> None:
    """Probe again the cells whose answer was indeterminate (keys or clock moved during the probe)."""
    fresh = await run_grid(run.target, cells, concurrency, run.tokens)
    for cell in cells:
        run.observations[cell.id] = fresh.observations[cell.id]
        run._asked.pop(cell.id, None)


def not_probed_because(target: Target, cell: Cell) -> str:
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


async def probe_grid(target: Target, cells: Sequence[Cell], concurrency: int) -> GridRun:
    """Probe every cell `target` may be sent once, concurrently; probe again any cell whose keys or clock
    moved meanwhile (up to three times)."""
    probed = [c for c in cells if not not_probed_because(target, c)]
    run = await within(GRID_DEADLINE_S, run_grid(target, probed, concurrency), "the gRPC grid did not finish")
    for _ in range(3):
        moving = [c for c in cells if c.id in run.observations and not run.answer(c).determinate]
        if not moving:
            break
        await target.keys.settle(30)
        await within(
            GRID_DEADLINE_S, reprobe(run, moving, concurrency), "the gRPC grid's reprobe did not finish"
        )
    return run


def record_grid(recorder: Recorder, run: GridRun, cells: Sequence[Cell]) -> None:
    """The grid's speed and coverage, in the run's report."""
    recorder.metric("grid_cells", len(run.observations))
    recorder.metric("grid_wall_s", round(run.wall_s, 3))
    recorder.metric("grid_cells_per_s", round(run.cells_per_s, 1))
    recorder.metric("probe_concurrency", run.concurrency)
    recorder.coverage["api_methods_probed"] = len({c.method.full_method for c in cells})
    recorder.coverage["token_shapes"] = {
        shape.name: {
            "permissions": shape.claim(MATRIX_NAMESPACE),
            "anonymous": shape.anonymous,
            "note": shape.note,
        }
        for shape in {c.shape.name: c.shape for c in cells}.values()
    }


def expected_of(answer: Answer) -> Any:
    """The model's answer as evidence expects it: one outcome, or the sorted outcomes it allows."""
    return answer.value if answer.determinate else sorted(v.value for v in answer.values)


def cell_evidence(
    evidence: Evidence,
    asked: Asked,
    observation: Observation,
    token: MintedToken | None,
    *,
    api: str,
    namespace: str,
    cell: dict[str, str],
) -> None:
    """One grid cell's evidence, whatever the surface: `cell` names its coordinates (token_shape, api,
    namespace_column, namespace, surface); the expected and observed outcomes are added to them."""
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = expected_of(asked.answer), observation.outcome
    evidence.api, evidence.namespace = api, namespace
    evidence.claims = token.evidence() if token else {"token": None}
    evidence.status, evidence.message = observation.status, observation.message
    evidence.reason = asked.answer.reason
    evidence.surface = cell.get("surface", evidence.surface)
    evidence.cell = {
        **{k: v for k, v in cell.items() if k != "surface"},
        "expected": getattr(evidence.expected, "value", str(evidence.expected)),
        "observed": observation.outcome.value,
        "status": observation.status,
        "surface": evidence.surface,
    }


def allowed_summary(
    evidence: Evidence, run: GridRun, shape: str, columns: Iterable[str]
) -> tuple[list[str], list[str]]:
    """What `shape` was allowed on `columns` (model vs server) as the evidence, and what an anonymous
    caller was allowed there (the server's): (observed, anonymous)."""
    columns = list(columns)
    evidence.expected = run.allowed(shape, columns, model=True)
    evidence.observed = run.allowed(shape, columns, model=False)
    evidence.api = f"every method, token shape {shape}, columns {columns}"
    anonymous = run.allowed("Anonymous", columns, model=False)
    evidence.extra["anonymous_allowed"] = anonymous
    return evidence.observed, anonymous


def compare_cells(evidence: Evidence, run: GridRun, ids: dict[str, str]) -> dict[str, Outcome]:
    """Named cells (name -> cell id), model vs server, as the evidence; the server's outcomes by name."""
    evidence.expected = {k: run.answer(cell_named(c)).value for k, c in ids.items()}
    evidence.observed = {k: run.observations[c].outcome for k, c in ids.items()}
    evidence.api = ", ".join(ids.values())
    return dict(evidence.observed)
