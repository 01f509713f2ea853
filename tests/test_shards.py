"""The shard planner and the merge of shard reports (offline: reports written by hand)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import shards
from harness.report import speed
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


def _timed_part(files: dict[str, float], decisions: int, cpu: float | None) -> dict[str, Any]:
    """A shard's report with the figures its plugin records (harness.report.speed)."""
    part = _part([_record(f"suites/{f}::t", "AUTHZ-SMOKE-001", "PASS") for f in files])
    part["metrics"] = {
        "file_wall_s": files,
        "speed": {"suite_wall_s": 50.0, "verified_decisions": decisions, "cpu_s": cpu},
    }
    return part


def test_merge_sets_the_whole_runs_speed_against_its_critical_path() -> None:
    """The run's wall time and CPU are the runner's; the critical path is the longest file of any shard;
    decisions add up. Each shard's own speed block is not the run's."""
    one = _timed_part({"test_expiry.py": 39.4, "test_tokens.py": 6.0}, decisions=300, cpu=70.0)
    two = _timed_part({"test_matrix.py": 18.0}, decisions=9700, cpu=80.0)
    merged = merge_reports([one, two], wall_s=95.0, cpu_s=210.0)
    expected = {
        "suite_wall_s": 95.0,
        "critical_path_s": 39.4,
        "critical_path_file": "test_expiry.py",
        "wall_over_critical_path": 2.411,
        "cpu_s": 210.0,
        "cpu_counted": speed.COUNTED_BY_RUNNER,
        "verified_decisions": 10000,
        "cpu_s_per_decision": 0.021,
    }
    assert merged["metrics"]["speed"] == expected
    files = set(merged["metrics"]["file_wall_s"])
    assert files == {"test_expiry.py", "test_tokens.py", "test_matrix.py"}
    # Without the runner's figure (a merge of reports alone): the shards' own CPU, summed, and said so.
    alone = merge_reports([one, two], wall_s=95.0)["metrics"]["speed"]
    assert (alone["cpu_s"], alone["cpu_counted"]) == (150.0, speed.COUNTED_BY_SHARDS)
    # A shard without a CPU figure: no sum that leaves it out.
    partial = merge_reports([one, _timed_part({}, 5, None)], wall_s=95.0)["metrics"]["speed"]
    assert partial["cpu_s"] is None


def test_merge_writes_the_runs_speed_and_the_runner_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner measures CPU after every shard was waited for, passes it to the merge, and ends its
    output with the speed line (fake shards: each writes a report, nothing is started)."""
    seen: dict[str, Any] = {}
    real_merge = shards.merge

    def fake_run(commands: list[list[str]], envs: list[dict[str, str]]) -> list[int]:
        for command, env in zip(commands, envs, strict=True):
            d = Path(command[command.index("--reports-dir") + 1])
            d.mkdir(parents=True, exist_ok=True)
            part = _timed_part({"test_smoke.py": 2.0}, decisions=40, cpu=1.0)
            part["run"]["tag"] = env["AUTHZ_RUN_TAG"]
            (d / "conformance.json").write_text(json.dumps(part))
        return [0] * len(commands)

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(shards, "provision_first", lambda args: None)
    monkeypatch.setattr(shards, "_run_until_done", fake_run)
    monkeypatch.setattr(shards, "merge", spy)
    shards.run(1, tmp_path, [str(SUITES / "test_smoke.py")])
    assert seen["cpu_s"] is not None
    written = json.loads((tmp_path / "conformance.json").read_text())["metrics"]["speed"]
    assert (written["critical_path_file"], written["verified_decisions"]) == ("test_smoke.py", 40)
    assert written["cpu_counted"] == speed.COUNTED_BY_RUNNER
    out = capsys.readouterr().out
    assert "[authz] speed: wall " in out and "the critical path (test_smoke.py 2.0 s)" in out
