"""The gate between two versions: committed baselines where there are, runs where not (a fake runner
here), one readable line per changed decision, exit status 1 on any change."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness import gate_between
from harness.report.gate import snapshot
from harness.settings import ENV
from tests.report_data import rich_report


def _on(version: str, denied: bool = False) -> dict[str, Any]:
    report = rich_report()
    report["server"]["version"] = version
    if denied:
        cell = next(c for c in report["grid"] if c["observed"] == "ALLOWED")
        cell["observed"] = "DENIED"
    return report


class FakeRunner:
    """Writes each version's report as this run's (stamped with its tag), or as `tag` says."""

    def __init__(self, reports: dict[str, dict[str, Any]], status: int = 0, tag: str | None = None) -> None:
        self.reports, self.status, self.ran = reports, status, list[str]()
        self.tag = ENV.run_tag if tag is None else tag

    def __call__(self, version: str, where: Path, pytest_args: Sequence[str]) -> int:
        self.ran.append(version)
        where.mkdir(parents=True, exist_ok=True)
        report = {**self.reports[version], "run": {**self.reports[version]["run"], "tag": self.tag}}
        (where / "conformance.json").write_text(json.dumps(report))
        return self.status


@pytest.fixture
def baselines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "baselines"
    folder.mkdir()
    (folder / "v1.32.2.json").write_text(json.dumps(snapshot(_on("v1.32.2", denied=True))))
    monkeypatch.setattr(gate_between, "packaged_baseline", lambda v: folder / f"{v}.json")
    return folder


def test_a_changed_decision_is_one_readable_line_and_exit_1(
    tmp_path: Path, baselines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = FakeRunner({"v1.31.1": _on("v1.31.1")})
    status = gate_between.between("v1.31.1", "v1.32.2", tmp_path / "gate", runner=runner)
    out = capsys.readouterr().out
    assert status == 1 and runner.ran == ["v1.31.1"]  # the committed baseline of 1.32.2 is used
    assert "1 authorization decision(s) changed" in out
    assert "(WorkflowService), token " in out and "namespace: ALLOWED -> DENIED" in out
    assert (tmp_path / "gate" / "gate-v1.31.1-to-v1.32.2.html").exists()


def test_the_same_version_gates_clean(tmp_path: Path, baselines: Path) -> None:
    assert gate_between.between("v1.32.2", "v1.32.2", tmp_path, runner=FakeRunner({})) == 0


def test_live_runs_both_sides_and_a_broken_run_is_no_verdict(tmp_path: Path, baselines: Path) -> None:
    runner = FakeRunner({"v1.32.2": _on("v1.32.2"), "v1.31.1": _on("v1.31.1")})
    assert gate_between.between("v1.31.1", "v1.32.2", tmp_path, live=True, runner=runner) == 0
    assert runner.ran == ["v1.31.1", "v1.32.2"]
    broken = FakeRunner({"v1.31.1": _on("v1.31.1")}, status=3)
    assert gate_between.between("v1.31.1", "v1.32.2", tmp_path, runner=broken) == 2


def test_a_bad_version_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        gate_between.main(["--from", "latest", "--to", "v1.32.2"])
    assert exit_.value.code == 2 and "pass --temporal-version like" in capsys.readouterr().err


def test_a_report_another_run_wrote_is_never_compared(
    tmp_path: Path, baselines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that left the previous run's report in place (killed, or a shard crashed) is not a side."""
    stale = FakeRunner({"v1.31.1": _on("v1.31.1")}, tag="an-earlier-run")
    assert gate_between.between("v1.31.1", "v1.32.2", tmp_path, runner=stale) == 2
    assert "written by run 'an-earlier-run'" in capsys.readouterr().err


def test_runs_on_different_temporalio_versions_are_compared_with_a_one_line_warning(
    tmp_path: Path, baselines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The decisions are still compared; the line says a change may be the tool's, not the server's."""
    older, newer = _on("v1.31.1"), _on("v1.32.2")
    older["tool"]["versions"]["temporalio"], newer["tool"]["versions"]["temporalio"] = "1.35.0", "1.36.0"
    runner = FakeRunner({"v1.31.1": older, "v1.32.2": newer})
    assert gate_between.between("v1.31.1", "v1.32.2", tmp_path, live=True, runner=runner) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "WARNING" in line] == [
        "gate: WARNING: the runs used different temporalio (1.35.0 vs 1.36.0): a difference may be the "
        "tool's, not the server's"
    ]
    same = FakeRunner({"v1.31.1": _on("v1.31.1"), "v1.32.2": _on("v1.32.2")})
    assert gate_between.between("v1.31.1", "v1.32.2", tmp_path, live=True, runner=same) == 0
    assert "WARNING" not in capsys.readouterr().out  # the same versions: no warning
