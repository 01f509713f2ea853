"""The authorization grid: token shapes x API methods x namespace columns, probed concurrently."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from harness.model import Expectation
from harness.probes import ApiMethod, Observation, run_bounded, sdk_methods
from harness.target import MATRIX_NAMESPACE, OTHER_NAMESPACE, Target, bearer, credential_of
from harness.token_shapes import GRID_SHAPES, TokenShape
from harness.tokens import MintedToken
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


def all_cells(shapes: Sequence[TokenShape] = GRID_SHAPES) -> list[Cell]:
    methods = sdk_methods()
    return [Cell(s, m, c) for s in shapes for m in methods for c in COLUMNS]


@dataclass
class GridRun:
    tokens: dict[str, MintedToken | None]
    observations: dict[str, Observation]
    probed_at: float
    wall_s: float
    bare_calls_per_s: float = 0.0
    bare_wall_s: float = 0.0
    concurrency: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def cells_per_s(self) -> float:
        return len(self.observations) / self.wall_s if self.wall_s else 0.0


def expected_for(target: Target, run: GridRun, cell: Cell) -> tuple[Outcome, Expectation | None]:
    """ABSENT where the server's API table lacks the method; else the model's decision."""
    if cell.method.name not in target.table.services.get(cell.method.service, {}):
        return Outcome.ABSENT, None
    token = run.tokens[cell.shape.name]
    expectation = target.expect(
        credential_of(token), CallTarget(cell.method.full_method, cell.namespace), now=run.probed_at
    )
    return (Outcome.ALLOWED if expectation.decision.value == "ALLOW" else Outcome.DENIED), expectation


async def run_grid(target: Target, cells: Sequence[Cell], concurrency: int) -> GridRun:
    tokens: dict[str, MintedToken | None] = {}
    for cell in cells:
        if cell.shape.name not in tokens:
            tokens[cell.shape.name] = (
                None
                if cell.shape.anonymous
                else target.mint(cell.shape.claim(MATRIX_NAMESPACE), sub=f"grid-{cell.shape.name}")
            )
    prober = await target.prober()
    jobs = [
        (
            cell.id,
            (lambda c=cell: prober.probe(c.method, c.namespace, bearer(tokens[c.shape.name]))),
        )
        for cell in cells
    ]
    probed_at = time.time()
    started = time.perf_counter()
    observations = await run_bounded(jobs, concurrency)
    wall = time.perf_counter() - started
    return GridRun(tokens, observations, probed_at, wall, concurrency=concurrency)


async def bare_loop(target: Target, calls: int, concurrency: int) -> tuple[float, float]:
    """The ceiling: the same number of cheap exempt calls through the same connection and bound."""
    prober = await target.prober()
    service = prober.client.workflow_service

    def job() -> Awaitable[Observation]:
        return prober.observe(service.get_system_info(GetSystemInfoRequest(), retry=False))

    started = time.perf_counter()
    await run_bounded([(i, job) for i in range(calls)], concurrency)
    wall = time.perf_counter() - started
    return calls / wall, wall
