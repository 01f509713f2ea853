"""The shard planner and the merge of shard reports (offline: reports written by hand)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import shards
from harness.shards import SUITES, durations, merge, merge_mutants, merge_reports, plan, split_selection


def _files(*names: str) -> list[Path]:
    return [SUITES / n for n in names]


def test_plan_deals_longest_first_to_the_least_loaded_shard() -> None:
    seconds = {"a.py": 60, "b.py": 50, "c.py": 30, "d.py": 25, "e.py": 5}
    dealt = plan(_files(*seconds), 2, seconds)
    loads = sorted(sum(seconds[f.name] for f in group) for group in dealt)
    assert loads == [85, 85]  # a | b, c (80) | d to a (85) | e to b (85)
    assert sorted(f.name for group in dealt for f in group) == sorted(seconds)


def test_plan_never_makes_more_shards_than_files_and_keeps_a_file_whole() -> None:
    dealt = plan(_files("x.py", "y.py"), 5, {})
    assert len(dealt) == 2 and all(len(g) == 1 for g in dealt)


def test_selection_keeps_suite_files_and_node_ids_and_leaves_option_values_alone(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text("{}")
    chosen, rest = split_selection(
        [
            "-k",
            "test_smoke",
            "suites/test_smoke.py",
            f"{SUITES}/test_expiry.py::test_x",
            "--fuzz-case",
            str(case),
        ]
    )
    assert chosen == {
        SUITES / "test_smoke.py": [],
        SUITES / "test_expiry.py": [f"{SUITES}/test_expiry.py::test_x"],
    }
    assert rest == ["-k", "test_smoke", "--fuzz-case", str(case)]
    every, _ = split_selection(["suites"])
    assert set(every) == set(SUITES.glob("test_*.py"))


def _record(nodeid: str, requirement: str, verdict: str, **evidence: Any) -> dict[str, Any]:
    return {
        "nodeid": nodeid,
        "requirement": requirement,
        "verdict": verdict,
        "duration_s": 1.0,
        "evidence": evidence,
    }


def _part(
    tests: list[dict[str, Any]], *, coverage: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "schema_version": "1.2",
        "tool": {"name": "temporal-authz-conformance"},
        "run": {
            "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:01:00Z",
            "duration_s": 60.0,
        },
        "server": {"version": "v1.32.2"},
        "metrics": {},
        "coverage": coverage or {},
        "grid": [],
        "tests": tests,
        **extra,
    }


def test_merge_recomputes_the_summary_and_findings_over_every_shard() -> None:
    finding = "AUTHZ-NS-001"
    one = _part([_record("suites/a.py::t1", finding, "PASS", finding_holds=True)])
    two = _part([_record("suites/b.py::t2", finding, "HARNESS_ERROR")], coverage={"token_shapes": {"s": 1}})
    one["metrics"] = {"fuzz": {"claims": {"examples": 1}}, "grid_cells": 4}
    two["metrics"] = {"fuzz": {"jwks": {"examples": 2}}}
    merged = merge_reports([one, two], wall_s=61.5)
    assert merged["metrics"] == {
        "fuzz": {"claims": {"examples": 1}, "jwks": {"examples": 2}},
        "grid_cells": 4,
    }
    assert merged["summary"]["total"] == 2
    assert merged["summary"]["PASS"] == 1 and merged["summary"]["HARNESS_ERROR"] == 1
    # One shard alone would say "confirmed": the merge sees the other shard's harness error.
    (status,) = [f["status"] for f in merged["findings"] if f["requirement"] == finding]
    assert status == "not confirmed"
    assert merged["coverage"] == {"token_shapes": {"s": 1}}
    assert len(merged["run"]["shards"]) == 2


def test_merge_refuses_shards_of_different_versions() -> None:
    other = _part([])
    other["server"] = {"version": "v1.31.1"}
    with pytest.raises(ValueError, match="different server versions"):
        merge_reports([_part([]), other])


def test_a_mutant_killed_in_any_shard_is_killed() -> None:
    def mutant(name: str, killed: bool) -> dict[str, Any]:
        return {"name": name, "killed": killed, "killed_by": ["t"] if killed else []}

    merged = merge_mutants(
        [
            {"mutants": [mutant("a", True), mutant("b", False), mutant("c", False)], "questions_replayed": 3},
            {"mutants": [mutant("a", False), mutant("b", True), mutant("c", False)], "questions_replayed": 4},
        ]
    )
    assert (merged["total"], merged["killed"], merged["survived"]) == (3, 2, ["c"])
    assert merged["questions_replayed"] == 7
    assert shards.mutant_line(merged) == (
        "model mutants, all shards: 2/3 killed; SURVIVED (a hole in the suite): c"
    )
    assert (
        shards.mutant_line({**merged, "killed": 3, "survived": []}) == "model mutants, all shards: 3/3 killed"
    )


def test_exit_status_reads_like_one_pytest_run() -> None:
    assert shards._exit_status([0, 0], {}) == 0
    assert shards._exit_status([0, 1], {}) == 1
    assert shards._exit_status([0, 5], {}) == 0
    assert shards._exit_status([5, 5], {}) == 5
    assert shards._exit_status([0, 0], {"mutants": {"survived": ["m"]}}) == 1
    assert shards._exit_status([1, 2], {}) == 2


def test_merge_writes_one_report_junit_and_page(tmp_path: Path) -> None:
    dirs = []
    for i, verdict in enumerate(("PASS", "FAIL")):
        d = tmp_path / "shards" / str(i + 1)
        (d / "logs").mkdir(parents=True)
        (d / "logs" / "server.log").write_text(f"log {i}")
        (d / "conformance.json").write_text(
            json.dumps(_part([_record(f"suites/t{i}.py::t", "AUTHZ-SMOKE-001", verdict)]))
        )
        (d / "junit.xml").write_text(
            f'<testsuites><testsuite name="pytest" tests="1"><testcase name="t{i}"/></testsuite></testsuites>'
        )
        dirs.append(d)
    data = merge(dirs, tmp_path)
    assert data["summary"]["FAIL"] == 1
    assert json.loads((tmp_path / "conformance.json").read_text())["summary"]["total"] == 2
    assert len(ET.parse(tmp_path / "junit.xml").getroot().findall("testsuite")) == 2
    assert (tmp_path / "report.html").is_file()
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["1-server.log", "2-server.log"]


def test_durations_are_each_files_wall_time_when_the_report_has_them(tmp_path: Path) -> None:
    """A grid file spends its time in a fixture: its tests' call durations would deal it as if it were
    short (three grid files once landed in one shard)."""
    report = tmp_path / "conformance.json"
    tests = [{"nodeid": "suites/test_matrix.py::test_cell[a]", "duration_s": 0.001}]
    report.write_text(json.dumps({"tests": tests, "metrics": {"file_wall_s": {"test_matrix.py": 41.5}}}))
    # Parsed from a written file, not measured: the figures are the input's.
    weights = durations(report)
    assert weights == {"test_matrix.py": 41.5}
    report.write_text(json.dumps({"tests": tests * 3, "metrics": {}}))
    weights = durations(report)
    assert weights == {"test_matrix.py": 0.003}


def test_a_release_that_cannot_be_built_is_one_error_before_any_shard_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.server import provision as provisioning

    asked: list[str] = []

    def refuse(version: object, *args: object, **kwargs: object) -> object:
        asked.append(str(version))
        raise provisioning.ProvisionError("v1.31.5 cannot be built here: nearest v1.31.2")

    monkeypatch.setattr(provisioning, "provision", refuse)
    status = shards.run(4, tmp_path, ["--temporal-version", "v1.31.5", "--backend", "process"])
    err = capsys.readouterr().err
    assert status == 4 and asked == ["v1.31.5"]
    assert err.count("cannot be built here") == 1 and not (tmp_path / "shards").exists()
    # Nothing to provision for an external cluster or a binary given by path.
    assert shards.provision_first(["--target", "127.0.0.1:7233"]) is None
    assert shards.provision_first(["--temporal-binary=/opt/server", "--temporal-version", "v1.31.5"]) is None
    assert asked == ["v1.31.5"]
