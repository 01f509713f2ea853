"""AdminService's grid on the public frontend: every unary method (listed from the server's own
descriptors in the pinned version's API table) x token shape, called raw with empty requests. Calls that
may bring a release down go last, one at a time, and stop once the server stops answering."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from temporalio.api.operatorservice.v1 import AddOrUpdateRemoteClusterRequest

from harness.api_tables import table_path
from harness.cases.ask import Asked, CallQuestion, Window
from harness.cases.calls import Call
from harness.cases.grid import Grid, shape_tokens
from harness.cases.runner import facts_of
from harness.cases.unprobed import not_probed
from harness.ceiling import GRID_DEADLINE_S, within
from harness.probes.grpc_raw import RawMethod, probe_raw
from harness.server.target import Target
from harness.settings import DEFAULT_VERSION
from harness.tokens.shapes import GRID_SHAPES, TokenShape
from harness.types import ADMIN_SERVICE, CallTarget, Outcome

# AddOrUpdateRemoteCluster with an empty address brings the whole server down (AUTHZ-ADMIN-002): give it
# an address that refuses connections instead. Same field number as the OperatorService request.
BODIES = {
    "AddOrUpdateRemoteCluster": AddOrUpdateRemoteClusterRequest(
        frontend_address="127.0.0.1:1"
    ).SerializeToString()
}
# Calls that bring some releases down: AddOrUpdateRemoteCluster (1.23-1.27: "missing port" even with the
# address above), GetDLQTasks with an empty request (1.27.3: a nil pointer in history's handler). Both are on
# harness/safety.py's list: never sent to a cluster the harness does not own.
LAST = {"AddOrUpdateRemoteCluster", "GetDLQTasks"}
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


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


METHODS = admin_methods()
BY_NAME = {m.name: m for m in METHODS}
CELLS = [(s, m) for s in GRID_SHAPES for m in METHODS]


def cell_key(shape: str, method: str) -> str:
    return f"{shape}On{method}"


def cell_call(method: RawMethod) -> Call:
    return Call("cell", method)


@dataclass(repr=False)
class AdminGrid(Grid):
    """The AdminService grid: cells keyed `<shape>On<method>`, all in the cluster column (namespace "")."""

    down_at: str = ""  # the cell after which the server stopped answering
    methods_probed: int = 0

    def ask(self, shape: str, method: RawMethod) -> Asked:
        return self.asked(cell_key(shape, method.name), shape, cell_call(method))

    def shapes_unrefused(self, shapes: list[TokenShape]) -> tuple[list[str], int]:
        """The cells of `shapes` the server did not refuse, and how many were looked at (SEC scans)."""
        return self.unrefused(cell_key(s.name, m.name) for s in shapes for m in METHODS)

    def allowed_first_last(self, cell: tuple[TokenShape, RawMethod]) -> tuple[bool, str]:
        """Sort key of the risky calls: those the model expects refused first (they never reach the
        handler that crashes). Asked for this moment, before the call is made."""
        shape, method = cell
        now = time.monotonic()
        token = self.tokens[shape.name]
        question = CallQuestion(
            facts_of(self.target), self.target.credential(token), CallTarget(method.full_method, ""),
            Window.between(now, now),
        )  # fmt: skip
        return Outcome.ALLOWED in question.answer().values, f"{shape.name}{method.name}"


async def probe_admin_grid(server: Target) -> AdminGrid:
    """Every cell `server` may be sent (on a cluster the harness does not own, the destructive methods are
    left out), each asked of the model with the window its probe ran in."""
    grid = AdminGrid(server, shape_tokens(server, GRID_SHAPES))
    cells = [(s, m) for s, m in CELLS if not not_probed(server, m.full_method, None)]
    gate = asyncio.Semaphore(16)
    async with server.grpc_channel() as channel:

        async def one(shape: str, method: RawMethod) -> None:
            async with gate:
                observation = await probe_raw(
                    channel, method.full_method, method.body, server.headers(grid.tokens[shape])
                )
            grid.observations[cell_key(shape, method.name)] = observation

        probing = asyncio.gather(*(one(s.name, m) for s, m in cells if m.name not in LAST))
        await within(GRID_DEADLINE_S, probing, "the AdminService grid did not finish")

        # Calls that may bring the server down go last, one at a time: once it is down, the rest of
        # them are not probed (the cell that brought it down fails; AUTHZ-ADMIN-002 says why).
        for s, m in sorted(((s, m) for s, m in cells if m.name in LAST), key=grid.allowed_first_last):
            if grid.down_at:
                continue
            await one(s.name, m)
            health = await probe_raw(channel, HEALTH_CHECK, b"", [], deadline=10)
            if Outcome.ERROR in (health.outcome, grid.observations[cell_key(s.name, m.name)].outcome):
                grid.down_at = cell_key(s.name, m.name)
    grid.methods_probed = len({m.name for _, m in cells})
    return grid
