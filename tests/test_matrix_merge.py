"""The version matrix merged from synthetic runs (tests/report_data.py) of three versions: requirement
grades per version, the grid by access class, the changes between adjacent versions, the files written
and the CLI's refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness.matrix_run import split_arguments
from harness.report.matrix import MatrixError, find_reports, load_runs, merge_runs, write_matrix
from tests.report_data import rich_report

START = "WorkflowService/StartWorkflowExecution"


def run_of(version: str, **cells: str) -> dict[str, Any]:
    """rich_report as run on `version`, with cells (shape=observed, on StartWorkflowExecution, Own) changed."""
    report = rich_report()
    report["server"]["version"] = version
    for cell in report["grid"]:
        if cell["api"] == START and cell["namespace_column"] == "Own" and cell["token_shape"] in cells:
            cell["observed"] = cells[cell["token_shape"]]
    return report


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    """One directory per CI job, as actions/download-artifact lays them out; given out of order."""
    reports = {
        "v1.32.2": run_of("v1.32.2", NamespaceReaderWriter="DENIED"),  # a regression after 1.31.2
        "v1.30.6": run_of("v1.30.6", NamespaceReaderWriter="ABSENT"),  # the method did not exist yet
        "v1.31.2": run_of("v1.31.2"),
    }
    reports["v1.30.6"]["tests"] = [
        t for t in reports["v1.30.6"]["tests"] if t["requirement"] != "AUTHZ-STREAM-002"
    ]  # a suite that version did not have
    for version, report in reports.items():
        path = tmp_path / "runs" / f"conformance-{version}" / "conformance.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(report))
    return tmp_path / "runs"


def test_runs_are_ordered_by_version(runs_dir: Path) -> None:
    runs = load_runs(find_reports([runs_dir]))
    assert [r.version for r in runs] == ["v1.30.6", "v1.31.2", "v1.32.2"]


def test_requirement_grades_per_version(runs_dir: Path) -> None:
    merged = merge_runs(load_runs(find_reports([runs_dir])))
    grades = {r["id"]: {v: c["grade"] for v, c in r["versions"].items()} for r in merged["requirements"]}
    assert grades["AUTHZ-MATRIX-002"] == dict.fromkeys(merged["versions"], "finding")
    assert grades["AUTHZ-CLAIMS-001"]["v1.31.2"] == "fail"  # one finding and one failure: the failure
    assert grades["AUTHZ-JWKS-001"]["v1.31.2"] == "harness error"
    assert "v1.30.6" not in grades["AUTHZ-STREAM-002"]  # not run there: no cell
    claims = next(r for r in merged["requirements"] if r["id"] == "AUTHZ-CLAIMS-001")
    assert claims["title"] and claims["versions"]["v1.32.2"]["counts"] == {"finding": 1, "fail": 1}


def test_grid_counted_by_access_class_and_shape(runs_dir: Path) -> None:
    merged = merge_runs(load_runs(find_reports([runs_dir])))
    rows = {(r["access"], r["shape"]): r for r in merged["grid"]}
    writer = rows[("write", "NamespaceReaderWriter")]
    assert writer["claims"] == "authz-matrix:read, authz-matrix:write"
    assert writer["versions"]["v1.31.2"] == {"A": 1, "D": 1, "-": 0, "E": 0, "mismatches": 0}
    assert writer["versions"]["v1.32.2"]["D"] == 2 and writer["versions"]["v1.32.2"]["mismatches"] == 1
    assert writer["versions"]["v1.30.6"]["-"] == 1
    assert merged["grid"][0]["access"] == "read_only"  # least privilege first


def test_changes_between_adjacent_versions_are_the_gates(runs_dir: Path) -> None:
    merged = merge_runs(load_runs(find_reports([runs_dir])))
    first, second = merged["changes"]
    assert (first["from"], first["to"], second["from"], second["to"]) == (
        "v1.30.6",
        "v1.31.2",
        "v1.31.2",
        "v1.32.2",
    )
    assert first["decisions_changed"] == 0 and first["appeared_or_absent"] == 2  # the cell, the suite
    assert first["kinds"]["appeared"]["methods"] == [
        {"api": START, "surface": "", "cells": 1, "before": "ABSENT", "after": "ALLOWED"}
    ]
    assert second["decisions_changed"] == 1
    (regression,) = second["kinds"]["regression"]["changes"]
    assert (regression["key"], regression["before"], regression["after"]) == (
        f"NamespaceReaderWriter x {START} x Own",
        "ALLOWED",
        "DENIED",
    )


def test_files_written(runs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "matrix"
    written = write_matrix([runs_dir], out)
    assert {p.name for p in written} == {
        "matrix.json",
        "index.html",
        "gate-v1.30.6-to-v1.31.2.html",
        "gate-v1.31.2-to-v1.32.2.html",
    }
    assert json.loads((out / "matrix.json").read_text())["versions"] == ["v1.30.6", "v1.31.2", "v1.32.2"]
    page = (out / "index.html").read_text()
    for text in (
        "v1.30.6",
        "AUTHZ-MATRIX-002",
        "Write methods",
        "gate-v1.31.2-to-v1.32.2.html",
        "1 mismatch",
    ):
        assert text in page
    assert "<script src" not in page and "<link" not in page  # offline: loads nothing


def test_a_single_file_is_an_input_too(runs_dir: Path, tmp_path: Path) -> None:
    one = runs_dir / "conformance-v1.31.2" / "conformance.json"
    merged = merge_runs(load_runs(find_reports([one])))
    assert merged["versions"] == ["v1.31.2"] and merged["changes"] == []


def test_a_sharded_runs_shard_reports_are_part_of_it(runs_dir: Path) -> None:
    """`nox -s matrix` writes <version>/conformance.json merged from <version>/shards/N/conformance.json:
    the matrix reads the merged one only (it once stopped at "two reports of v1.20.5")."""
    for n in (1, 2):
        shard = runs_dir / "conformance-v1.31.2" / "shards" / str(n) / "conformance.json"
        shard.parent.mkdir(parents=True)
        shard.write_text(json.dumps(run_of("v1.31.2")))
    found = find_reports([runs_dir])
    assert sorted(p.parent.name for p in found) == [
        f"conformance-{v}" for v in ("v1.30.6", "v1.31.2", "v1.32.2")
    ]
    assert [r.version for r in load_runs(found)] == ["v1.30.6", "v1.31.2", "v1.32.2"]


def test_reports_that_cannot_be_merged(runs_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(MatrixError, match=r"two reports of v1\.31\.2"):
        load_runs(find_reports([runs_dir, runs_dir / "conformance-v1.31.2" / "conformance.json"]))
    nameless = tmp_path / "nameless.json"
    nameless.write_text(json.dumps({"server": {}, "tests": []}))
    with pytest.raises(MatrixError, match="names no server version"):
        load_runs([nameless])
    with pytest.raises(MatrixError, match="no such file or directory"):
        find_reports([tmp_path / "missing"])


def test_cli(runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["matrix-merge", str(runs_dir), "--out", str(tmp_path / "m")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "m" / "index.html").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["matrix-merge", str(empty), "--out", str(tmp_path / "m2")]) == 4
    assert "no conformance.json" in capsys.readouterr().err


def test_each_requirement_knows_where_it_first_decided_and_where_it_changed(runs_dir: Path) -> None:
    merged = merge_runs(load_runs(find_reports([runs_dir])))
    history = {
        r["id"]: (r["introduced_in"], [c["version"] for c in r["changed_in"]]) for r in merged["requirements"]
    }
    # The grid's Start cell: ABSENT on 1.30.6, ALLOWED on 1.31.2, DENIED on 1.32.2.
    assert history["AUTHZ-MATRIX-001"] == ("v1.30.6", ["v1.31.2", "v1.32.2"])
    assert history["AUTHZ-STREAM-002"] == (None, [])  # skipped wherever it ran: it decided nothing
    assert history["AUTHZ-HTTP-001"] == ("v1.30.6", [])
    assert history["AUTHZ-MATRIX-002"][1] == []  # the same decisions on every version


def test_timings_come_from_each_run_and_the_runner(runs_dir: Path) -> None:
    (runs_dir / "conformance-v1.31.2" / "timing.json").write_text(
        json.dumps({"provision_s": 170.0, "cold": True, "total_s": 400.0})
    )
    (runs_dir / "conformance-v1.32.2" / "timing.json").write_text(
        json.dumps({"provision_s": 0.1, "cold": False, "total_s": 230.0})
    )
    merged = merge_runs(load_runs(find_reports([runs_dir])))
    by_version = {r["version"]: r["timing"] for r in merged["runs"]}
    assert by_version["v1.31.2"]["cold"] is True and by_version["v1.31.2"]["provision_s"] == 170.0
    suite = {v: t["suite_s"] for v, t in by_version.items()}
    assert all(isinstance(s, int | float) for s in suite.values())
    timings = merged["timings"]
    assert timings["cold_runs"] == 1 and timings["matrix_s_total"] == 630.0
    assert timings["suite_s_total"] == round(sum(suite.values()), 1)
    warm = [s for v, s in suite.items() if v != "v1.31.2"]
    assert timings["warm_suite_s_mean"] == round(sum(warm) / len(warm), 1)


def test_matrix_run_hands_what_follows_double_dash_to_pytest() -> None:
    """`nox -s matrix -- v1.24.2 -- --backend process` once failed: "not a server version: 'v--backend'"."""
    argv = ["v1.24.2", "--reports-dir", "m", "--", "--backend", "process", "-k", "MATRIX"]
    ours, theirs = split_arguments(argv)
    assert ours == ["v1.24.2", "--reports-dir", "m"]
    assert theirs == ["--backend", "process", "-k", "MATRIX"]
    ours, theirs = split_arguments(["v1.24.2"])
    assert ours == ["v1.24.2"] and theirs == []


def test_the_matrix_is_rewritten_from_runs_already_made_without_running_anything(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness import matrix_run

    reports = tmp_path / "matrix"
    for version in ("v1.31.2", "v1.32.2"):  # the layout matrix_run writes: <reports>/<version>/
        (reports / version).mkdir(parents=True)
        (reports / version / "conformance.json").write_text(
            (runs_dir / f"conformance-{version}" / "conformance.json").read_text()
        )
    argv = ["v1.30.6", "v1.31.2", "v1.32.2", "--reports-dir", str(reports), "--from-reports"]
    assert matrix_run.main(argv) == 0
    assert json.loads((reports / "matrix.json").read_text())["versions"] == ["v1.31.2", "v1.32.2"]
    assert (reports / "index.html").exists()
    assert "left out): v1.30.6" in capsys.readouterr().out
    assert matrix_run.main(["v1.30.6", "--reports-dir", str(tmp_path / "none"), "--from-reports"]) == 2
