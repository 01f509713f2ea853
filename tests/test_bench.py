"""harness.bench's side-by-side speed figures, from fakes: no server is started (the live bare loop is
`nox -s bench`). No assertion on how fast anything ran."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import bench
from harness.report.speed import COUNTED_BY_RUNNER

SPEED = {
    "suite_wall_s": 95.0,
    "critical_path_s": 39.4,
    "critical_path_file": "test_expiry.py",
    "wall_over_critical_path": 2.411,
    "cpu_s": 210.0,
    "cpu_counted": COUNTED_BY_RUNNER,
    "verified_decisions": 10000,
    "cpu_s_per_decision": 0.021,
}


def _conformance(backend: str = "process", **speed: Any) -> dict[str, Any]:
    return {"server": {"version": "v1.32.2", "backend": backend}, "metrics": {"speed": {**SPEED, **speed}}}


def test_the_ratio_of_cpu_per_decision_to_cpu_per_bare_call() -> None:
    figures = {"cpu_s_per_call": 0.0003, "server_cpu_s_per_call": 0.0002}
    compared = bench.side_by_side(figures, _conformance(), "reports/conformance.json")
    ratios = (compared["decision_over_call_cpu"], compared["decision_over_call_cpu_with_server"])
    assert ratios == (70.0, 42.0)
    assert compared["wall_over_critical_path"] == 2.411 and compared["critical_path_file"] == "test_expiry.py"
    # The process backend's servers are in the run's CPU: like for like is client and server per call.
    assert compared["like_for_like"] == "decision_over_call_cpu_with_server"
    # A container's processes are not the run's children: the client's figure alone compares.
    container = bench.side_by_side(figures, _conformance("container"), "x.json")
    assert container["like_for_like"] == "decision_over_call_cpu"
    # Where /proc could not say what the server used, only the client's ratio.
    unknown = bench.side_by_side(
        {"cpu_s_per_call": 0.0003, "server_cpu_s_per_call": None}, _conformance(), "x"
    )
    assert unknown["decision_over_call_cpu_with_server"] is None
    assert unknown["like_for_like"] == "decision_over_call_cpu"


def test_a_report_without_speed_is_said_so() -> None:
    compared = bench.side_by_side({"cpu_s_per_call": 0.0003}, {"server": {}, "metrics": {}}, "old.json")
    assert compared["decision_over_call_cpu"] is None
    assert bench.speed_lines(compared) == [
        "old.json: no metrics.speed (a run before it was recorded): nothing to compare"
    ]


def test_no_measure_sets_earlier_figures_beside_a_conformance_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "bench.json", tmp_path / "conformance.json"
    out.write_text(
        json.dumps(
            {
                "grid_to_bare_ratio": 0.62,
                "goals_met": True,
                "cpu_s_per_call": 0.0003,
                "server_cpu_s_per_call": 0.0002,
            }
        )
    )
    report.write_text(json.dumps(_conformance()))
    assert bench.main(["--no-measure", "--out", str(out), "--conformance", str(report)]) == 0
    written = json.loads(out.read_text())
    assert written["conformance_speed"]["decision_over_call_cpu"] == 70.0
    assert written["cpu_s_per_call"] == 0.0003  # the measured figures kept as they were
    printed = capsys.readouterr().out
    assert f"{report} (v1.32.2): wall / critical path = 2.411 (95.0 s vs test_expiry.py 39.4 s)" in printed
    assert "CPU per verified decision / CPU per bare call = 70.0 (0.021 vs 0.0003 CPU-s" in printed
    assert "with the server's CPU per call: 42.0" in printed


def test_the_bare_loop_counts_its_cpu_per_call_and_the_servers() -> None:
    """A fake server in this process: the loop's own CPU (time.process_time) and the server's (/proc,
    here this process's pid) per call."""
    calls = []

    async def get_system_info(request: object, retry: bool) -> None:
        calls.append(request)
        sum(range(1000))  # some CPU per call

    async def observe(call: Any) -> Any:
        return await call

    prober = SimpleNamespace(
        client=SimpleNamespace(workflow_service=SimpleNamespace(get_system_info=get_system_info)),
        observe=observe,
    )

    class FakeTarget:
        async def prober(self) -> Any:
            return prober

    loop = asyncio.run(bench.bare_loop(FakeTarget(), 200, 8, server_pid=os.getpid()))  # type: ignore[arg-type]
    assert len(calls) == 200
    assert loop.cpu_s_per_call > 0
    assert loop.server_cpu_s_per_call is not None and loop.server_cpu_s_per_call >= 0
