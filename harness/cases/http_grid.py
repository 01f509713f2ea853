"""The HTTP API's grid: token shapes x routed methods x namespace columns, probed concurrently through the
frontend's grpc-gateway, each cell asked of the model with the headers it carried."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.cases.ask import Asked
from harness.cases.calls import Call
from harness.cases.grid import COLUMNS, Grid, shape_tokens
from harness.cases.unprobed import not_probed_minimal
from harness.ceiling import GRID_DEADLINE_S, within
from harness.probes.http import HttpRoute, probe_http, routes
from harness.security.checks import EXEMPT_METHODS
from harness.server.target import Target
from harness.tokens.shapes import GRID_SHAPES, TokenShape

ROUTES = routes()
BY_NAME = {r.name: r for r in ROUTES}
CELLS = [(s, r, c) for s in GRID_SHAPES for r in ROUTES for c in COLUMNS]


def cell_id(shape: str, route: HttpRoute, column: str) -> str:
    return f"{shape}On{route.name}-{column}"


def namespace_of(route: HttpRoute, column: str) -> str:
    return COLUMNS[column] if route.method.has_namespace else ""


def cell_call(route: HttpRoute, column: str) -> Call:
    return Call("cell", route, namespace_of(route, column))


@dataclass(repr=False)
class HttpGrid(Grid):
    """The HTTP grid: cells keyed `<shape>On<route>-<column>`."""

    def ask(self, shape: str, route: HttpRoute, column: str) -> Asked:
        return self.asked(cell_id(shape, route, column), shape, cell_call(route, column))

    def cells_unrefused(self, cells: list[tuple[TokenShape, HttpRoute, str]]) -> tuple[list[str], int]:
        """The cells the server did not refuse (exempt methods aside), and how many were looked at."""
        return self.unrefused(
            cell_id(s.name, r, c) for s, r, c in cells if r.method.full_method not in EXEMPT_METHODS
        )

    def not_probed(self, route: HttpRoute, column: str) -> str:
        """On a cluster the harness does not own: why a cell is not sent (harness/safety.py), else ""."""
        return not_probed_minimal(self.target, route.method, namespace_of(route, column))


async def probe_http_grid(
    target: Target, concurrency: int, cells: list[tuple[TokenShape, HttpRoute, str]] = CELLS
) -> HttpGrid:
    """Every cell `target` may be sent, at most `concurrency` at a time. The target serves the HTTP API."""
    grid = HttpGrid(target, shape_tokens(target, GRID_SHAPES))
    gate = asyncio.Semaphore(concurrency)
    async with target.http_client() as client:

        async def one(shape: str, route: HttpRoute, column: str) -> None:
            if grid.not_probed(route, column):
                return
            async with gate:
                grid.observations[cell_id(shape, route, column)] = await probe_http(
                    client, route, namespace_of(route, column), target.headers(grid.tokens[shape])
                )

        probing = asyncio.gather(*(one(s.name, r, c) for s, r, c in cells))
        await within(GRID_DEADLINE_S, probing, "the HTTP grid did not finish")
    return grid
