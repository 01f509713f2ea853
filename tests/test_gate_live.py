"""The upgrade gate against live servers of an older release and the pinned one: the grid suite runs on
each (in xdist workers, as `nox -s gate -- --from ... --to ... --live` runs them), and the gate must name the
access change of 1.32 (ValidateWorkerDeploymentVersionComputeConfig: ReadOnly -> Write, so a reader loses
it) and exit 1; each cell of the pinned server's live grid must hold its committed baseline's decision.

v1.31.5 (the last 1.31 release) cannot be built here (a dependency the module proxy refuses), so the older
side is v1.31.2, the newest 1.31 release that builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import gate_between
from harness.report.gate import changes, packaged_baseline, snapshot
from harness.settings import DEFAULT_VERSION

OLDER = "v1.31.2"
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
    # The committed baseline holds the whole conformance run's grid (every suite's cells); this run is the
    # grid suite only, so each of its cells must be in the baseline with the same decision.
    committed = json.loads(packaged_baseline(DEFAULT_VERSION).read_text())["grid"]
    live = snapshot(pinned)["grid"]
    assert len(live) > 4000, f"the grid suite ran only {len(live)} cells"
    assert set(live) <= set(committed), sorted(set(live) - set(committed))[:20]
    same_cells = {key: committed[key] for key in live}
    assert changes({"grid": same_cells}, {"grid": live}) == []
