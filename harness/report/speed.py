"""Speed as ratios of one run (metrics.speed in conformance.json): the run's wall time against its
critical path, and its CPU-seconds per verified decision (`nox -s bench` sets these beside a bare gRPC
loop's CPU per call).

- critical path: the longest test file's own wall time in the same run (metrics.file_wall_s: setup, call
  and teardown of its tests, its fixtures' included). Files never split across workers, so no run of
  these files can take less wall time than that.
- CPU: resource.getrusage of the process that measures, itself (RUSAGE_SELF) and the children it has
  waited for (RUSAGE_CHILDREN). A pytest process counts the server processes it started and stopped (the
  process backend); a run in pytest-xdist workers adds each worker's figure to the controller's own.
  Not counted: a process nobody waited for, and a server run by someone else (a container's processes
  belong to the Docker engine; an external --target's to its cluster).
- a verified decision: one model question asked in a test whose answer was compared with what the server
  was observed to do (an `Asked` with an observation on a test's record: each grid cell, each call of a
  case, the rest). Fuzz examples are not counted (metrics.fuzz has their own rates).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.report.recorder import CaseRecord

# How metrics.speed.cpu_s was counted (its `cpu_counted`).
COUNTED_BY_RUNNER = (
    "getrusage in the xdist controller (itself) and in each worker (itself and every process it reaped)"
)
COUNTED_BY_PROCESS = "getrusage in the pytest process: itself and every process it reaped"
COUNTED_BY_WORKERS = "the sum of the workers' own cpu_s"


@dataclass(frozen=True)
class CpuClock:
    """CPU-seconds (user + system) of this process and of its reaped children, at one instant."""

    self_s: float
    children_s: float

    @classmethod
    def now(cls) -> CpuClock:
        me = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime)

    def since(self, start: CpuClock) -> float:
        """CPU-seconds used between `start` and this instant, by this process and by the children
        reaped in between (a child still running counts nothing yet)."""
        return (self.self_s - start.self_s) + (self.children_s - start.children_s)


def process_cpu_s(pid: int) -> float | None:
    """CPU-seconds (user + system) a running process has used so far, from /proc (None where it cannot
    be read: not Linux, or the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": field 3 (state) is fields[0]
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def verified_decisions(records: Iterable[CaseRecord]) -> int:
    return sum(1 for r in records for asked in r.asked if asked.observed is not None)


def critical_path(file_wall_s: Mapping[str, Any] | None) -> tuple[str, float] | None:
    """The file that took longest and its seconds (None without figures)."""
    walls = {str(name): float(s) for name, s in (file_wall_s or {}).items() if isinstance(s, int | float)}
    if not walls:
        return None
    name = max(walls, key=lambda n: (walls[n], n))
    return name, walls[name]


def _ratio(a: float | None, b: float | None, digits: int) -> float | None:
    return round(a / b, digits) if a is not None and b else None


def speed_block(
    *,
    wall_s: float,
    file_wall_s: Mapping[str, Any] | None,
    cpu_s: float | None,
    cpu_counted: str,
    decisions: int,
) -> dict[str, Any]:
    """metrics.speed of one run."""
    longest = critical_path(file_wall_s)
    path_s = longest[1] if longest else None
    return {
        "suite_wall_s": round(wall_s, 3),
        "critical_path_s": round(path_s, 3) if path_s is not None else None,
        "critical_path_file": longest[0] if longest else None,
        "wall_over_critical_path": _ratio(wall_s, path_s, 3),
        "cpu_s": round(cpu_s, 3) if cpu_s is not None else None,
        "cpu_counted": cpu_counted,
        "verified_decisions": decisions,
        "cpu_s_per_decision": _ratio(cpu_s, decisions, 7),
    }


def merged_speed(
    parts: Iterable[Mapping[str, Any]],
    *,
    wall_s: float,
    file_wall_s: Mapping[str, Any] | None,
    cpu_s: float | None = None,
) -> dict[str, Any]:
    """metrics.speed of a run in workers from their reports: decisions summed; CPU as the controller
    measured it (`cpu_s`), else the sum of the workers' own (None when a worker has none)."""
    blocks = [(p.get("metrics") or {}).get("speed") or {} for p in parts]
    decisions = sum(int(b.get("verified_decisions") or 0) for b in blocks)
    counted = COUNTED_BY_RUNNER
    if cpu_s is None:
        counted = COUNTED_BY_WORKERS
        worker_cpu = [c for b in blocks if isinstance(c := b.get("cpu_s"), int | float)]
        if blocks and len(worker_cpu) == len(blocks):
            cpu_s = float(sum(worker_cpu))
    return speed_block(
        wall_s=wall_s, file_wall_s=file_wall_s, cpu_s=cpu_s, cpu_counted=counted, decisions=decisions
    )


def _figure(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def speed_line(speed: Mapping[str, Any]) -> str:
    """One line, e.g. "speed: wall 95 s = 2.4x the critical path (test_expiry.py 39 s); 0.021 CPU-s per
    verified decision (210 CPU-s, 9,981 decisions)"."""
    line = f"speed: wall {_figure(float(speed['suite_wall_s']))} s"
    if speed.get("wall_over_critical_path") is not None:
        line += (
            f" = {speed['wall_over_critical_path']:.1f}x the critical path "
            f"({speed['critical_path_file']} {_figure(float(speed['critical_path_s']))} s)"
        )
    per = speed.get("cpu_s_per_decision")
    if per is not None:
        line += (
            f"; {per:.3g} CPU-s per verified decision "
            f"({_figure(float(speed['cpu_s']))} CPU-s, {speed['verified_decisions']:,} decisions)"
        )
    elif speed.get("cpu_s") is not None:
        line += f"; {_figure(float(speed['cpu_s']))} CPU-s, no verified decision"
    return line
