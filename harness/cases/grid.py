"""The authorization grid: token shapes x API methods x namespace columns, probed concurrently."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.cases.ask import Answer, Asked, CallQuestion, Window
from harness.cases.runner import facts_of
from harness.probes.grpc import ApiMethod, Observation, run_bounded, sdk_methods
from harness.server.target import MATRIX_NAMESPACE, OTHER_NAMESPACE, Target
from harness.tokens.mint import MintedToken
from harness.tokens.shapes import GRID_SHAPES, TokenShape
from harness.types import CallTarget

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


@dataclass(repr=False)
class GridRun:
    target: Target
    tokens: dict[str, MintedToken | None]
    observations: dict[str, Observation]
    wall_s: float
    concurrency: int = 0
    _asked: dict[str, Asked] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Short on purpose: as the fixture's run ends, asyncio's Runner formats its task, result (this)
        # included, inside signal.getsignal(); a repr of thousands of observations took seconds.
        return f"GridRun({self.target.name}, {len(self.observations)} cells)"

    @property
    def cells_per_s(self) -> float:
        return len(self.observations) / self.wall_s if self.wall_s else 0.0

    def ask(self, cell: Cell) -> Asked:
        """The model's answer for a cell, asked once (with the window its probe ran in)."""
        if cell.id not in self._asked:
            observation = self.observations[cell.id]
            question = CallQuestion(
                facts_of(self.target),
                self.target.credential(self.tokens[cell.shape.name]),
                cell.target,
                Window.between(observation.started, observation.ended),
            )
            self._asked[cell.id] = Asked(question, question.answer(), observation.outcome)
        return self._asked[cell.id]

    def answer(self, cell: Cell) -> Answer:
        return self.ask(cell).answer


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
    return GridRun(target, tokens, observations, wall, concurrency=concurrency)


async def reprobe(run: GridRun, cells: Sequence[Cell], concurrency: int) -> None:
    """Probe again the cells whose answer was indeterminate (keys or clock moved during the probe)."""
    fresh = await run_grid(run.target, cells, concurrency, run.tokens)
    for cell in cells:
        run.observations[cell.id] = fresh.observations[cell.id]
        run._asked.pop(cell.id, None)
