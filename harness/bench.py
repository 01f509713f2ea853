"""`nox -s bench`: speed, measured side by side in one run (never asserted inside a test).

- the grid (every method x token shape x namespace column, concurrent) against a bare concurrent loop of
  GetSystemInfo through the same connection and bound: goal grid >= 0.5 x bare;
- server start-to-ready against a bare start of the same binary (`--help`): reported, no goal;
- CPU per call of the bare loop (this process's own, time.process_time, and the server process's, from
  /proc) beside a conformance run's CPU-seconds per verified decision and its wall time over its critical
  path (metrics.speed of a conformance.json: `--conformance`, default reports/conformance.json where there
  is one): reported, no goal.

Exit status 1 when a goal is missed; the figures go to reports/bench.json. `--no-measure` measures
nothing: it sets the bare loop's CPU per call already in that file beside a (newer) conformance.json.
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from harness.cases.grid import all_cells, run_grid
from harness.jwks.fixture import JwksServer
from harness.probes.grpc import run_bounded
from harness.report.speed import process_cpu_s
from harness.server.config import ServerSettings, render
from harness.server.pool import RunOptions, ServerPool
from harness.server.process import ProcessBackend
from harness.server.provision import parse_requested, provision
from harness.server.target import Target
from harness.settings import DEFAULT_VERSION

GRID_GOAL = 0.5  # grid cells/s at least half the bare loop's calls/s


@dataclass(frozen=True)
class Loop:
    """One bare loop's figures: calls a second, and CPU-seconds per call of this process (the client:
    every thread of it, gRPC's included) and of the server process (None where /proc cannot say)."""

    calls_per_s: float
    cpu_s_per_call: float
    server_cpu_s_per_call: float | None


async def bare_loop(target: Target, calls: int, concurrency: int, server_pid: int | None = None) -> Loop:
    prober = await target.prober()
    service = prober.client.workflow_service

    def job() -> object:
        return prober.observe(service.get_system_info(GetSystemInfoRequest(), retry=False))

    server_before = process_cpu_s(server_pid) if server_pid is not None else None
    started, cpu = time.perf_counter(), time.process_time()
    await run_bounded([(i, job) for i in range(calls)], concurrency)  # type: ignore[misc]
    wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    server_after = process_cpu_s(server_pid) if server_pid is not None else None
    server_s = (
        server_after - server_before if server_before is not None and server_after is not None else None
    )
    return Loop(calls / wall, cpu_s / calls, server_s / calls if server_s is not None else None)


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
        servers = pool.started_servers()
        server_pid = servers[0].pid() if servers else None
        cells = all_cells()
        grid_rates, bare_rates, loops = [], [], []
        for i in range(rounds):  # alternate, so a busy moment hits both alike
            grid = await run_grid(target, cells, concurrency)
            grid_rates.append(grid.cells_per_s)
            loops.append(await bare_loop(target, len(cells), concurrency, server_pid))
            bare_rates.append(loops[-1].calls_per_s)
            print(
                f"round {i + 1}: grid {grid_rates[-1]:.0f} cells/s, bare {bare_rates[-1]:.0f} calls/s, "
                f"{loops[-1].cpu_s_per_call * 1e3:.3f} CPU-ms per call"
            )
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
    server_cpu = [c.server_cpu_s_per_call for c in loops if c.server_cpu_s_per_call is not None]
    return {
        "version": version,
        "concurrency": concurrency,
        "cells": len(cells),
        "grid_cells_per_s": [round(r, 1) for r in grid_rates],
        "bare_calls_per_s": [round(r, 1) for r in bare_rates],
        "grid_to_bare_ratio": round(ratio, 3),
        "grid_goal": GRID_GOAL,
        "cpu_s_per_call": round(statistics.median(c.cpu_s_per_call for c in loops), 7),
        "server_cpu_s_per_call": round(statistics.median(server_cpu), 7) if server_cpu else None,
        "start_to_ready_s": [round(s, 3) for s in starts],
        "bare_process_start_s": [round(s, 3) for s in bare],
        "goals_met": ratio >= GRID_GOAL,
    }


def _ratio(a: Any, b: Any) -> float | None:
    ok = isinstance(a, int | float) and isinstance(b, int | float) and b > 0
    return round(a / b, 2) if ok else None


def side_by_side(bench: Mapping[str, Any], conformance: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A conformance run's metrics.speed beside the bare loop's CPU per call. `decision_over_call_cpu`
    sets the run's CPU per verified decision against the client's CPU per bare call;
    `..._with_server` against client and server together, which is like for like where the run counted
    its servers' CPU (the process backend: they are the xdist workers' children; a container's are not)."""
    speed = (conformance.get("metrics") or {}).get("speed") or {}
    per_decision = speed.get("cpu_s_per_decision")
    client = bench.get("cpu_s_per_call")
    server = bench.get("server_cpu_s_per_call")
    both = client + server if isinstance(client, int | float) and isinstance(server, int | float) else None
    backend = (conformance.get("server") or {}).get("backend")
    like = "decision_over_call_cpu_with_server" if backend == "process" and both else "decision_over_call_cpu"
    return {
        "report": source,
        "server_version": (conformance.get("server") or {}).get("version"),
        "backend": backend,
        "wall_over_critical_path": speed.get("wall_over_critical_path"),
        "suite_wall_s": speed.get("suite_wall_s"),
        "critical_path_file": speed.get("critical_path_file"),
        "critical_path_s": speed.get("critical_path_s"),
        "cpu_s_per_decision": per_decision,
        "cpu_counted": speed.get("cpu_counted"),
        "verified_decisions": speed.get("verified_decisions"),
        "cpu_s_per_call": client,
        "server_cpu_s_per_call": server,
        "decision_over_call_cpu": _ratio(per_decision, client),
        "decision_over_call_cpu_with_server": _ratio(per_decision, both),
        "like_for_like": like,
    }


def speed_lines(compared: Mapping[str, Any]) -> list[str]:
    """What bench prints of the side-by-side figures."""
    if compared.get("cpu_s_per_decision") is None and compared.get("wall_over_critical_path") is None:
        return [f"{compared['report']}: no metrics.speed (a run before it was recorded): nothing to compare"]
    lines = []
    if compared.get("wall_over_critical_path") is not None:
        lines.append(
            f"wall / critical path = {compared['wall_over_critical_path']} "
            f"({compared['suite_wall_s']} s vs {compared['critical_path_file']} {compared['critical_path_s']} s)"
        )
    client, server = compared.get("cpu_s_per_call"), compared.get("server_cpu_s_per_call")
    if compared.get("decision_over_call_cpu") is not None:
        lines.append(
            f"CPU per verified decision / CPU per bare call = {compared['decision_over_call_cpu']} "
            f"({compared['cpu_s_per_decision']} vs {client} CPU-s, the client's own)"
        )
    if compared.get("decision_over_call_cpu_with_server") is not None:
        lines.append(
            f"  with the server's CPU per call: {compared['decision_over_call_cpu_with_server']} "
            f"(vs {client} + {server} CPU-s); like for like on the {compared['backend']} backend: "
            f"{compared['like_for_like']}"
        )
    return [
        f"{compared['report']} (v{str(compared['server_version']).lstrip('v')}): {line}" for line in lines
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench")
    parser.add_argument("--temporal-version", default=DEFAULT_VERSION)
    parser.add_argument("--probe-concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("reports") / "bench.json")
    parser.add_argument(
        "--conformance",
        type=Path,
        default=None,
        help="a conformance.json whose metrics.speed to set beside the bare loop "
        "(default: reports/conformance.json where there is one)",
    )
    parser.add_argument(
        "--no-measure",
        action="store_true",
        help="start no server: take the bare loop's figures from --out, as an earlier bench wrote them",
    )
    args = parser.parse_args(argv)
    if args.no_measure:
        try:
            result = json.loads(args.out.read_text())
        except (OSError, ValueError) as exc:
            parser.error(f"--no-measure needs the figures of an earlier bench in {args.out}: {exc}")
    else:
        result = asyncio.run(measure(args.temporal_version, args.probe_concurrency, args.rounds))
    report = args.conformance or Path("reports") / "conformance.json"
    compared = None
    if args.conformance is not None or report.exists():
        try:
            compared = side_by_side(result, json.loads(report.read_text()), str(report))
        except (OSError, ValueError) as exc:
            parser.error(f"--conformance {report}: {exc}")
    result.pop("conformance_speed", None)
    if compared is not None:
        result["conformance_speed"] = compared
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(
        f"grid/bare = {result['grid_to_bare_ratio']} (goal >= {GRID_GOAL}): "
        f"{'met' if result['goals_met'] else 'MISSED'}; figures in {args.out}"
    )
    for line in speed_lines(compared) if compared is not None else []:
        print(line)
    return 0 if result["goals_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
