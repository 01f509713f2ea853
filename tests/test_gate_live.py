"""The upgrade gate against live servers of an older release and the pinned one: the grid suite runs on
each (in shards, as `nox -s gate -- --from ... --to ... --live` runs them), and the gate must name the
access change of 1.32 (ValidateWorkerDeploymentVersionComputeConfig: ReadOnly -> Write, so a reader loses
it) and exit 1; the pinned server's live grid against its committed baseline must show no change.

v1.31.5 (the last 1.31 release) cannot be built here (a dependency the module proxy refuses), so the older
side is v1.31.1, the newest 1.31 release that builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import gate_between
from harness.report.gate import changes, packaged_baseline, snapshot
from harness.settings import DEFAULT_VERSION

OLDER = "v1.31.1"
GRID = ["suites/test_matrix.py"]
CHANGED = (
    "ValidateWorkerDeploymentVersionComputeConfig (WorkflowService), token NamespaceReader, Own namespace"
)


def test_the_gate_names_the_change_between_two_live_servers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = gate_between.between(OLDER, DEFAULT_VERSION, tmp_path, GRID, live=True)
    out = capsys.readouterr().out
    assert status == 1, out[-3000:]
    assert f"{CHANGED}: ALLOWED -> DENIED" in out, out[-3000:]
    pinned = json.loads((tmp_path / DEFAULT_VERSION / "conformance.json").read_text())
    assert pinned["summary"]["FAIL"] == 0 and pinned["summary"]["HARNESS_ERROR"] == 0
    committed = json.loads(packaged_baseline(DEFAULT_VERSION).read_text())
    grid_only = {"grid": committed["grid"]}
    assert changes(grid_only, {"grid": snapshot(pinned)["grid"]}) == []
