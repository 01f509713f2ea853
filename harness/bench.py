"""`nox -s bench`: speed, measured side by side in one run (never asserted inside a test).

- the grid (every method x token shape x namespace column, concurrent) against a bare concurrent loop of
  GetSystemInfo through the same connection and bound: goal grid >= 0.5 x bare;
- server start-to-ready against a bare start of the same binary (`--help`): reported, no goal.

Exit status 1 when a goal is missed; the figures go to reports/bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from harness.cases.grid import all_cells, run_grid
from harness.jwks.fixture import JwksServer
from harness.probes.grpc import run_bounded
from harness.server.config import ServerSettings, render
from harness.server.pool import RunOptions, ServerPool
from harness.server.process import ProcessBackend
from harness.server.provision import parse_requested, provision
from harness.server.target import Target
from harness.settings import DEFAULT_VERSION

GRID_GOAL = 0.5  # grid cells/s at least half the bare loop's calls/s


async def bare_loop(target: Target, calls: int, concurrency: int) -> float:
    prober = await target.prober()
    service = prober.client.workflow_service

    def job() -> object:
        return prober.observe(service.get_system_info(GetSystemInfoRequest(), retry=False))

    started = time.perf_counter()
    await run_bounded([(i, job) for i in range(calls)], concurrency)  # type: ignore[misc]
    return calls / (time.perf_counter() - started)


def bare_start(binary: Path, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(binary), "--help"], capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return times


async def measure(version: str, concurrency: int, rounds: int) -> dict[str, object]:
    pool = ServerPool(RunOptions(version=parse_requested(version), backend="process"), progress=print)
    await pool.open()
    try:
        target = await pool.target()
        cells = all_cells()
        grid_rates, bare_rates = [], []
        for i in range(rounds):  # alternate, so a busy moment hits both alike
            grid = await run_grid(target, cells, concurrency)
            grid_rates.append(grid.cells_per_s)
            bare_rates.append(await bare_loop(target, len(cells), concurrency))
            print(f"round {i + 1}: grid {grid_rates[-1]:.0f} cells/s, bare {bare_rates[-1]:.0f} calls/s")
        assert pool.binary is not None
        starts = []
        with JwksServer() as jwks:
            for _ in range(rounds):
                config = render(Path(tempfile.mkdtemp()), [jwks.url()], ServerSettings(), pool.binary.version)
                server = await ProcessBackend().start(provision(pool.binary.version), config)
                starts.append(server.start_seconds)
                server.stop()
        bare = bare_start(pool.binary.path, rounds)
    finally:
        await pool.close()
        pool.remove_directories(all_of_them=True)
    ratio = statistics.median(grid_rates) / statistics.median(bare_rates)
    return {
        "version": version,
        "concurrency": concurrency,
        "cells": len(cells),
        "grid_cells_per_s": [round(r, 1) for r in grid_rates],
        "bare_calls_per_s": [round(r, 1) for r in bare_rates],
        "grid_to_bare_ratio": round(ratio, 3),
        "grid_goal": GRID_GOAL,
        "start_to_ready_s": [round(s, 3) for s in starts],
        "bare_process_start_s": [round(s, 3) for s in bare],
        "goals_met": ratio >= GRID_GOAL,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench")
    parser.add_argument("--temporal-version", default=DEFAULT_VERSION)
    parser.add_argument("--probe-concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("reports") / "bench.json")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.temporal_version, args.probe_concurrency, args.rounds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(
        f"grid/bare = {result['grid_to_bare_ratio']} (goal >= {GRID_GOAL}): "
        f"{'met' if result['goals_met'] else 'MISSED'}; figures in {args.out}"
    )
    return 0 if result["goals_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
