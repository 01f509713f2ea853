"""The suites in pytest-xdist workers: the scheduler, the merge of the workers' reports, the exit status,
and small generated suites run with `-n 2` (no server needed; the workers are real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import run_suites, xdist_plugin
from harness.report import speed
from harness.report.merge import merge_mutants, merge_reports, mutant_line
from harness.xdist_plugin import Controller, exit_status
from harness.xdist_schedule import LongestFirstScheduling, durations

pytest_plugins = ["pytester"]


# -- the scheduler: whole files, longest first -------------------------------------------------------------


class FakeNode:
    """A worker as the scheduler sees it: the test indices it was sent, and whether it was shut down."""

    def __init__(self, name: str) -> None:
        self.name = name

        class Gateway:
            id = name

        self.gateway = Gateway()
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return self.name


def _scheduler(pytester: pytest.Pytester, seconds: dict[str, float], workers: int) -> LongestFirstScheduling:
    config = pytester.parseconfig(f"--tx={workers}*popen", "--dist=loadfile")
    return LongestFirstScheduling(config, seconds=seconds)


COLLECTION = [
    "suites/test_a.py::t1",  # 5 s
    "suites/test_b.py::t1",  # 60 s
    "suites/test_b.py::t2",
    "suites/test_b.py::t3",
    "suites/test_c.py::t1",  # 30 s
    "suites/test_c.py::t2",
    "suites/test_c.py::t3",
    "suites/test_d.py::t1",  # 50 s
    "suites/test_d.py::t2",
    "suites/test_d.py::t3",
]
SECONDS = {"test_a.py": 5, "test_b.py": 60, "test_c.py": 30, "test_d.py": 50}


def _files(node: FakeNode) -> list[str]:
    files: list[str] = []
    for i in node.sent:
        name = COLLECTION[i].split("::")[0].rsplit("/", 1)[1]
        if name not in files:
            files.append(name)
    return files


def test_the_longest_files_go_first_and_a_file_stays_whole(pytester: pytest.Pytester) -> None:
    sched = _scheduler(pytester, SECONDS, workers=2)
    one, two = FakeNode("gw0"), FakeNode("gw1")
    for node in (one, two):
        sched.add_node(node)
        sched.add_node_collection(node, COLLECTION)
    sched.schedule()
    # Not the collection's order (a, b, c, d): b (60 s) and d (50 s) first, each whole to one worker.
    assert (_files(one), _files(two)) == (["test_b.py"], ["test_d.py"])
    assert sorted(one.sent) == [1, 2, 3] and sorted(two.sent) == [7, 8, 9]
    # A worker gets its next file when it starts the last test it holds (it waits for the one after it),
    # not earlier: the heaviest left (c, 30 s) goes to the worker that got there first.
    sched.mark_test_complete(two, 7)
    assert _files(two) == ["test_d.py"]
    sched.mark_test_complete(two, 8)
    assert _files(two) == ["test_d.py", "test_c.py"]
    sched.mark_test_complete(one, 1)
    sched.mark_test_complete(one, 2)
    assert _files(one) == ["test_b.py", "test_a.py"]
    assert not sched.workqueue


def test_without_a_previous_report_the_known_times_deal(pytester: pytest.Pytester) -> None:
    collection = [f"suites/{name}::t" for name in ("test_smoke.py", "test_tokens.py", "test_expiry.py")]
    sched = _scheduler(pytester, {}, workers=1)
    node = FakeNode("gw0")
    sched.add_node(node)
    sched.add_node_collection(node, collection)
    sched.schedule()
    assert node.sent[0] == 2  # test_expiry.py: the longest the last measured run knew of


def test_the_last_runs_file_times_are_read(tmp_path: Path) -> None:
    report = tmp_path / "conformance.json"
    read = durations  # (the name of what is read is not a timed assertion: tests/test_layers.py)
    seconds = read(report)
    assert seconds == {}
    report.write_text(json.dumps({"metrics": {"file_wall_s": {"test_x.py": 12.5}}, "tests": []}))
    seconds = read(report)
    assert seconds == {"test_x.py": 12.5}
    older = {"tests": [{"nodeid": "suites/test_y.py::a", "duration_s": 2}, {"nodeid": "suites/test_y.py::b"}]}
    report.write_text(json.dumps(older))
    seconds = read(report)
    assert seconds == {"test_y.py": 2.0}


# -- the command line ----------------------------------------------------------------------------------------


def test_the_run_command_takes_workers_reports_and_a_selection(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text("{}")
    line = run_suites.command(
        ["--shards", "2", "--", "-k", "x", "suites/test_smoke.py", "--fuzz-case", str(case)],
        reports=tmp_path / "a",
    )
    assert line[line.index("-n") + 1] == "2"
    assert f"--junitxml={tmp_path / 'a' / 'junit.xml'}" in line
    assert str(run_suites.SUITES / "test_smoke.py") in line and str(run_suites.SUITES) not in line[:-3]
    assert line[-2:] == ["--reports-dir", str(tmp_path / "a")]
    assert ["--fuzz-case", str(case)] == line[line.index("--fuzz-case") : line.index("--fuzz-case") + 2]
    # -n after the double dash, the last --reports-dir wins, and no selection means every suite.
    line = run_suites.command(["-n1", "--reports-dir", str(tmp_path / "b")], reports=tmp_path / "a")
    assert line[line.index("-n") + 1] == "1" and line[-1] == str(tmp_path / "b")
    assert str(run_suites.SUITES) in line
    with pytest.raises(ValueError, match="at least one worker"):
        run_suites.command(["-n", "0"])


# -- the merge ------------------------------------------------------------------------------------------------


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


def test_merge_recomputes_the_summary_and_findings_over_every_worker() -> None:
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
    # One worker alone would say "confirmed": the merge sees the other worker's harness error.
    (status,) = [f["status"] for f in merged["findings"] if f["requirement"] == finding]
    assert status == "not confirmed"
    assert merged["coverage"] == {"token_shapes": {"s": 1}}
    assert len(merged["run"]["workers"]) == 2


def test_merge_refuses_workers_of_different_versions() -> None:
    other = _part([])
    other["server"] = {"version": "v1.31.1"}
    with pytest.raises(ValueError, match="different server versions"):
        merge_reports([_part([]), other])


def _mutant(name: str, killed: bool) -> dict[str, Any]:
    return {"name": name, "killed": killed, "killed_by": ["t"] if killed else []}


def test_a_mutant_killed_in_any_worker_is_killed() -> None:
    merged = merge_mutants(
        [
            {
                "mutants": [_mutant("a", True), _mutant("b", False), _mutant("c", False)],
                "questions_replayed": 3,
            },
            {
                "mutants": [_mutant("a", False), _mutant("b", True), _mutant("c", False)],
                "questions_replayed": 4,
            },
        ]
    )
    assert (merged["total"], merged["killed"], merged["survived"]) == (3, 2, ["c"])
    assert merged["questions_replayed"] == 7
    assert mutant_line(merged) == "model mutants, all workers: 2/3 killed; SURVIVED (a hole in the suite): c"
    assert mutant_line({**merged, "killed": 3, "survived": []}) == "model mutants, all workers: 3/3 killed"


def _timed_part(files: dict[str, float], decisions: int, cpu: float | None) -> dict[str, Any]:
    """A worker's report with the figures its plugin records (harness.report.speed)."""
    part = _part([_record(f"suites/{f}::t", "AUTHZ-SMOKE-001", "PASS") for f in files])
    part["metrics"] = {
        "file_wall_s": files,
        "speed": {"suite_wall_s": 50.0, "verified_decisions": decisions, "cpu_s": cpu},
    }
    return part


def test_merge_sets_the_whole_runs_speed_against_its_critical_path() -> None:
    """The run's wall time and CPU are the controller's; the critical path is the longest file of any
    worker; decisions add up. Each worker's own speed block is not the run's."""
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
    alone = merge_reports([one, two], wall_s=95.0)["metrics"]["speed"]
    assert (alone["cpu_s"], alone["cpu_counted"]) == (150.0, speed.COUNTED_BY_WORKERS)
    partial = merge_reports([one, _timed_part({}, 5, None)], wall_s=95.0)["metrics"]["speed"]
    assert partial["cpu_s"] is None


# -- what the controller hears from its workers, and the run's exit status ---------------------------------


class DownNode:
    """A worker as pytest_testnodedown sees it."""

    def __init__(self, config: Any, name: str, output: dict[str, Any] | None) -> None:
        self.config = config

        class Gateway:
            id = name

        self.gateway = Gateway()
        if output is not None:
            self.workeroutput = output


def test_the_controller_keeps_each_workers_report_and_status(tmp_path: Path) -> None:
    state = Controller(reports=tmp_path)

    class Config:
        stash = {xdist_plugin.CONTROLLER: state}

    report = _part([_record("suites/a.py::t", "AUTHZ-SMOKE-001", "PASS")], mutants={"mutants": []})
    xdist_plugin.pytest_testnodedown(
        DownNode(Config, "gw0", {"exitstatus": 0, xdist_plugin.WORKER_REPORT: json.dumps(report)}), None
    )
    xdist_plugin.pytest_testnodedown(DownNode(Config, "gw1", None), "worker crashed")
    assert state.parts == [report] and state.statuses == {"gw0": 0} and state.lost == ["gw1"]
    assert exit_status(0, state, merge_reports(state.parts)) == 2  # a worker's tests are not in the report


def test_exit_status_reads_like_one_pytest_run(tmp_path: Path) -> None:
    shown = {"summary": {"total": 10, "PASS": 10, "FAIL": 0, "KNOWN": 0, "SKIP": 0, "HARNESS_ERROR": 0}}
    nothing = {"summary": {"total": 10, "PASS": 0, "FAIL": 0, "KNOWN": 0, "SKIP": 10, "HARNESS_ERROR": 0}}

    def status(code: int, merged: dict[str, Any] | None, **workers: int) -> int:
        return exit_status(code, Controller(reports=tmp_path, statuses=dict(workers)), merged)

    assert status(0, shown, gw0=0, gw1=0) == 0
    assert status(1, shown, gw0=1, gw1=0) == 1
    assert status(0, {**shown, "mutants": {"survived": ["m"]}}) == 1  # survived in every worker
    assert status(0, nothing) == 5  # nothing shown is not conformant
    assert status(5, None) == 5  # nothing collected
    assert status(2, shown, gw0=4, gw1=0) == 4  # a worker's bad input stopped the run (xdist: 2)
    assert status(2, shown, gw0=3, gw1=4) == 4
    assert status(2, shown, gw0=0) == 2


# -- small suites in real workers --------------------------------------------------------------------------

SUITE_A = """
import pytest
from harness.cases.evidence import check
from harness.pytest_plugin import Progress

@pytest.mark.req("AUTHZ-GUARD-001")
def test_ok(evidence, request):
    Progress(request.config)("progress from a worker")
    evidence.expected, evidence.observed = "DENIED", "DENIED"
    check(evidence, "AUTHZ-GUARD-001")

@pytest.mark.req("AUTHZ-HEALTH-003")
@pytest.mark.xfail(reason="known deviation", strict=True)
def test_known(evidence):
    assert False
"""

SUITE_B = """
import pytest
from harness.cases.evidence import check

@pytest.mark.req("AUTHZ-HEALTH-001")
@pytest.mark.parametrize("n", range(3))
def test_pass(evidence, n):
    evidence.expected, evidence.observed = "ALLOWED", "ALLOWED"
    check(evidence, "AUTHZ-HEALTH-001")

@pytest.mark.req("AUTHZ-HEALTH-004")
def test_skip():
    pytest.skip("not applicable on this version")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    pytester.makepyfile(test_a=SUITE_A, test_b=SUITE_B)
    return pytester


def _run(suite: pytest.Pytester, *args: str) -> pytest.RunResult:
    # --target: nothing to provision for an external cluster (no test here asks for a server).
    return suite.runpytest_subprocess(
        "-n", "2", "--reports-dir", "out", "--junitxml=out/junit.xml", "-p", "no:cacheprovider",
        "--target", "127.0.0.1:1", *args,
    )  # fmt: skip


def test_two_workers_make_one_report(suite: pytest.Pytester) -> None:
    """Proves: with two workers (one file each) the controller writes one conformance.json with every
    worker's tests, one report.html, and a junit.xml with every test and the run's verdicts as
    properties; each worker's progress line reaches the terminal; no worker writes a report file."""
    result = _run(suite)
    assert result.ret == 0, result.outlines[-30:]
    out = suite.path / "out"
    data = json.loads((out / "conformance.json").read_text())
    assert {t["nodeid"].split("::")[0] for t in data["tests"]} == {"test_a.py", "test_b.py"}
    assert data["summary"]["total"] == 6 and data["summary"]["PASS"] == 4
    assert len(data["run"]["workers"]) == 2 and data["run"]["complete"] is True
    assert sorted(p.name for p in out.iterdir()) == ["conformance.json", "junit.xml", "report.html"]
    junit = ET.parse(out / "junit.xml").getroot()
    assert len(list(junit.iter("testcase"))) == 6
    properties = {p.get("name"): p.get("value") or "" for p in junit.iter("property")}
    assert properties["conformance"].startswith("yes") and properties["requirement"]
    assert [line for line in result.errlines if "] [authz" in line and "progress from a worker" in line]
    assert any(line.startswith("[authz] 2 worker(s) in ") for line in result.outlines)


def test_a_failure_in_one_worker_fails_the_run_and_nothing_shown_is_5(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_c="""
import pytest
from harness.cases.evidence import check

@pytest.mark.req("AUTHZ-HEALTH-002")
def test_mismatch(evidence):
    evidence.expected, evidence.observed = "ALLOWED", "DENIED"
    check(evidence, "AUTHZ-HEALTH-002")
"""
    )
    assert _run(suite).ret == 1
    assert json.loads((suite.path / "out" / "conformance.json").read_text())["summary"]["FAIL"] == 1
    skipped = _run(suite, "-k", "skip")
    assert skipped.ret == 5, skipped.outlines[-20:]
    assert any(line.startswith("[authz] NOTHING SHOWN") for line in skipped.outlines)


def test_a_release_that_cannot_be_built_stops_before_any_worker_starts(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proves: the controller provisions before xdist starts a worker; a release that cannot be built is
    one error and exit status 4, no worker starts, and the previous run's reports stay (nothing ran)."""
    from harness.server import provision as provisioning

    asked: list[str] = []

    def refuse(version: object, *args: object, **kwargs: object) -> object:
        asked.append(str(version))
        raise provisioning.ProvisionError("v1.31.5 cannot be built here: nearest v1.31.2")

    monkeypatch.setattr(provisioning, "provision", refuse)
    (suite.path / "out").mkdir()
    (suite.path / "out" / "conformance.json").write_text("{}")
    result = suite.runpytest_inprocess(
        "-n", "2", "--reports-dir", "out", "-p", "no:cacheprovider",
        "--temporal-version", "v1.31.5", "--backend", "process",
    )  # fmt: skip
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == 4 and asked == ["v1.31.5"], output
    assert output.count("cannot be built here") == 1, output
    assert "bringing up nodes" not in output and "[gw" not in output
    assert (suite.path / "out" / "conformance.json").read_text() == "{}"


SLOW_TEARDOWN = """
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

@pytest.fixture(scope="module")
def server():
    # A stand-in for a server: a child process the fixture's teardown stops (as the pool does).
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    Path(os.environ["PIDS_DIR"], f"{child.pid}.pid").write_text("")
    yield child
    time.sleep(2)  # a teardown that takes a while: the controller must wait for it
    child.terminate()
    child.wait()
    Path(os.environ["PIDS_DIR"], f"{child.pid}.stopped").write_text("")

@pytest.mark.req("AUTHZ-GUARD-001")
@pytest.mark.parametrize("n", range(2))
def test_waits(server, n):
    end = time.monotonic() + 300
    while time.monotonic() < end:
        time.sleep(0.2)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_to_the_controller_stops_every_worker_and_their_servers(
    pytester: pytest.Pytester, tmp_path: Path, sig: signal.Signals
) -> None:
    """Proves: Ctrl-C or SIGTERM to the controller alone reaches every worker once; each runs its
    fixtures' teardown to the end (a child process it started is stopped), the controller waits for that
    and exits 2, and no worker or child is left."""
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    pytester.makepyfile(test_one=SLOW_TEARDOWN, test_two=SLOW_TEARDOWN)
    pids = tmp_path / "pids"
    pids.mkdir()
    command = [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "--target", "127.0.0.1:1"]
    command += ["--reports-dir", str(tmp_path / "out")]
    env = {**os.environ, "PIDS_DIR": str(pids), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        command, cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(pids.glob("*.pid"))) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the workers' fixtures never started")
            time.sleep(0.1)  # polling for the files, bounded by the deadline
        workers = _children(proc.pid)
        assert len(workers) == 2
        proc.send_signal(sig)
        output = proc.communicate(timeout=200)[0].decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
    started = {p.stem for p in pids.glob("*.pid")}
    assert {p.stem for p in pids.glob("*.stopped")} == started, output[-3000:]
    assert proc.returncode == 2, output[-3000:]
    assert "[authz] stopping 2 worker(s) and their servers" in output
    assert [pid for pid in [*workers, *map(int, started)] if _alive(pid)] == []


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_the_harness_own_tests_in_workers_provision_nothing_and_clear_no_report() -> None:
    """`pytest -n 4 tests/...` is not a suite run: the controller does not provision a server or clear
    reports/ (the suites, or generated ones anywhere else, are)."""
    root = Path(__file__).resolve().parent.parent

    class Config:
        invocation_params = type("Params", (), {"dir": root})()
        args: list[str] = []

    Config.args = ["tests/test_xdist.py::test_x", str(root / "tests")]
    assert xdist_plugin.only_harness_tests(Config)  # type: ignore[arg-type]
    for args in (["suites"], ["tests/test_xdist.py", "suites/test_smoke.py"], ["/tmp/test_a.py"], []):
        Config.args = args
        assert not xdist_plugin.only_harness_tests(Config), args  # type: ignore[arg-type]


def test_a_workers_logs_of_a_failure_carry_its_id(tmp_path: Path) -> None:
    """Workers share the reports directory: each saves a failed run's server and JWKS logs under logs/
    with its id in the names (one process's names stay as they were)."""
    from harness.pytest_plugin.logs import save_logs

    class Server:
        backend, config = "process", None

        def save_logs(self, path: Path) -> Path:
            path.write_text("server log")
            return path

    class Pool:
        jwks = type("Jwks", (), {"log_lines": lambda self: ["GET /jwks.json 200"]})()

        def started_servers(self) -> list[Server]:
            return [Server()]

    def config(workerinput: dict[str, str] | None) -> Any:
        class Config:
            def getoption(self, name: str) -> str:
                return str(tmp_path / "reports")

        made = Config()
        if workerinput is not None:
            made.workerinput = workerinput  # type: ignore[attr-defined]
        return made

    save_logs(config({"workerid": "gw1"}), Pool(), reason="failed-run")  # type: ignore[arg-type]
    save_logs(config(None), Pool(), reason="failed-run")  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "reports" / "logs").iterdir()) == [
        "gw1-jwks-fetches.log",
        "gw1-server-0-process-failed-run.log",
        "jwks-fetches.log",
        "server-0-process-failed-run.log",
    ]
