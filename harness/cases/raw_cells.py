"""Methods a release's API table lists that the SDK no longer has (removed or renamed since): the grid
cannot call them by the SDK, so each is called raw, with an empty request (namespace ""), per token shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.cases.ask import Asked, CallQuestion, Window
from harness.cases.evidence import Evidence
from harness.cases.grid import expected_of, shape_tokens
from harness.cases.runner import facts_of
from harness.probes.grpc import Observation, sdk_methods
from harness.probes.grpc_raw import probe_raw
from harness.server.target import Target
from harness.tokens.mint import MintedToken
from harness.tokens.shapes import GRID_SHAPES
from harness.types import CallTarget, full_method


def grid_services() -> set[str]:
    """The services the grid covers (AdminService and Nexus have suites of their own)."""
    return {m.service for m in sdk_methods()}


def listed_beyond_the_sdk(target: Target) -> list[tuple[str, str]]:
    """(service, method) the target's table lists in the grid's services that the SDK lacks."""
    known = {(m.service, m.name) for m in sdk_methods()}
    services = grid_services()
    return sorted(
        (s, m) for s, ms in target.table.services.items() if s in services for m in ms if (s, m) not in known
    )


@dataclass(repr=False)  # short repr, as GridRun's
class RawCells:
    server: Target | None = None  # None: not called (none listed, or not the harness's own server)
    observed: dict[tuple[str, str, str], Observation] = field(
        default_factory=dict
    )  # (shape, service, method)
    tokens: dict[str, MintedToken | None] = field(default_factory=dict)


async def probe_raw_cells(server: Target) -> RawCells:
    """Each listed method the SDK lacks x token shape, called raw on `server`, one at a time."""
    cells = RawCells(server, tokens=shape_tokens(server, GRID_SHAPES))
    async with server.grpc_channel() as channel:
        for shape in GRID_SHAPES:
            for service, method in listed_beyond_the_sdk(server):
                headers = server.headers(cells.tokens[shape.name])
                cells.observed[(shape.name, service, method)] = await probe_raw(
                    channel, full_method(service, method), b"", headers
                )
    return cells


def raw_cells_evidence(evidence: Evidence, cells: RawCells) -> None:
    """Every raw cell, model vs server, as one test's evidence."""
    assert cells.server is not None
    server = cells.server
    evidence.expected, evidence.observed = {}, {}
    for (shape, service, method), observation in cells.observed.items():
        question = CallQuestion(
            facts_of(server), server.credential(cells.tokens[shape]),
            CallTarget(full_method(service, method), ""),
            Window.between(observation.started, observation.ended),
        )  # fmt: skip
        asked = Asked(question, question.answer(), observation.outcome)
        evidence.asked.append(asked)
        key = f"{shape} x {service.rsplit('.', 1)[-1]}/{method}"
        evidence.expected[key] = expected_of(asked.answer)
        evidence.observed[key] = observation.outcome
    evidence.api, evidence.namespace = "methods the SDK lacks (empty request)", ""
