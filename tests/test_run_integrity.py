"""A run's integrity, with real processes: what the reports say is this run's and nothing else's, the exit
status says how the run ended, and a signal stops everything the run started.

- A real run whose worker dies without a report, over a previous run's reports, is interrupted (exit
  status 2), says so, and shows none of the previous run's reports.
- `--reports-dir DIR` after `--` is the merged run's reports directory.
- Ctrl-C and SIGTERM to `python -m harness.run_suites` (pytest's xdist controller), and to nox running
  it, leave no worker, server, server directory or container.
- A crash in the merge is exit status 3 (never 1), and `nox -s gate` exits 2 without a diff.
- A run that only skipped is not conformant: "nothing shown", exit status 5.

The runner and nox run as a user runs them (`nox --no-venv`: the interpreter running these tests); the
servers on the process backend, or in containers where a Docker engine answers. Every wait polls the
run's output or /proc with a deadline; nothing here compares a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.report.gate import not_this_run
from harness.report.grades import shows_evidence
from harness.report.recorder import SCHEMA_VERSION
from harness.report.verdict_lines import conformance_answer
from harness.run_suites import SUITES
from harness.server.choose import docker_answers
from tests.runs import ROOT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find what a run left")

RUNNER = [sys.executable, "-m", "harness.run_suites"]
NOX = [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--no-venv"]
# Long files (tens of seconds), so a run is surely still going when the signal comes.
LONG_FILES = ["suites/test_expiry.py", "suites/test_http.py"]
READY = "ready: server"
STALE = "stale_pass_of_a_previous_run"

START_DEADLINE_S = 120.0  # until the servers of a run are up (a cold machine, two shared cores)
STOP_DEADLINE_S = 200.0  # the controller gives workers 120 s to stop, nox gives the controller 150 s
RUN_DEADLINE_S = 300.0  # a whole small run

BACKENDS = [
    "process",
    pytest.param(
        "container",
        marks=pytest.mark.skipif(
            not docker_answers(), reason="no Docker engine answers (CI starts one; start dockerd to run)"
        ),
    ),
]


# --- running a command as a user would, and reading what it left ------------------------------------


class Live:
    """A command in a session of its own (a process group, as a terminal runs a job), its output (stdout
    and stderr) collected line by line as it comes."""

    def __init__(self, command: Sequence[str], tag: str, extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "AUTHZ_RUN_TAG": tag, **(extra_env or {})}
        env.pop("AUTHZ_TARGET", None)
        self.proc = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, seen: Callable[[list[str]], bool], what: str, deadline: float) -> None:
        """Until the output shows `what` (a pytest failure when the run ends first or the deadline passes)."""
        end = time.monotonic() + deadline
        with self._changed:
            while not seen(self.lines):
                if self.ended:
                    pytest.fail(f"the run ended before {what}:\n" + "\n".join(self.lines[-40:]))
                left = end - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {what} within {deadline:.0f} s:\n" + "\n".join(self.lines[-40:]))
                self._changed.wait(left)

    def exit_status(self, deadline: float = RUN_DEADLINE_S) -> int:
        """The command's exit status, once it has exited (its output may still be coming)."""
        try:
            return self.proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run did not end within {deadline:.0f} s:\n{self.output[-4000:]}")

    def finish(self, deadline: float = RUN_DEADLINE_S) -> int:
        code = self.exit_status(deadline)
        self._reader.join(timeout=30)  # the rest of the output (the pipe closes with its last writer)
        return code

    def kill(self) -> None:
        """Cleanup after a failed test: the group (its workers stop themselves: they die with it)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@contextlib.contextmanager
def live(command: Sequence[str], tag: str, extra_env: dict[str, str] | None = None) -> Iterator[Live]:
    run = Live(command, tag, extra_env)
    try:
        yield run
    finally:
        run.kill()


def processes_of(tag: str, *markers: str) -> list[str]:
    """Live processes (zombies are not) a run tagged `tag` started: their environment carries
    AUTHZ_RUN_TAG=tag (nox, the controller, the workers and their servers), or their command line a marker
    (the run's reports directory, its server directories)."""
    prefix = f"AUTHZ_RUN_TAG={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue  # gone meanwhile
        if state in ("Z", "X"):
            continue
        if any(e.startswith(prefix) for e in environ) or any(m in command for m in markers):
            found.append(f"{entry.name}: {command[:300]}")
    return found


def containers_of(tag: str) -> list[str]:
    if not docker_answers():
        return []
    from harness.server.container import leftover_containers

    found = []
    for run_tag in [tag, *(f"{tag}gw{i}" for i in range(8))]:
        found += [f"container {c.short_id} ({run_tag})" for c in leftover_containers(run_tag)]
    return found


def server_dirs_of(tag: str) -> list[str]:
    return sorted(str(p) for p in Path(tempfile.gettempdir()).glob(f"authz-server-{tag}*"))


def left_by(tag: str, reports: Path) -> list[str]:
    """Everything a run with this tag started and did not stop: processes, containers, server dirs."""
    return (
        processes_of(tag, str(reports), f"authz-server-{tag}")
        + containers_of(tag)
        + [f"server directory {d}" for d in server_dirs_of(tag)]
    )


def ready_in_every_worker(workers: int) -> Callable[[list[str]], bool]:
    def seen(lines: list[str]) -> bool:
        ready = {line.split("]", 1)[0] for line in lines if line.startswith("[gw") and READY in line}
        return len(ready) >= workers

    return seen


def printed_test_count(output: str) -> int:
    """pytest's own summary ("5 passed, 1 skipped in 4.76s"), as a number of tests."""
    (line,) = re.findall(r"^=*\s*(\d+ \w+(?:, \d+ \w+)*) in [\d.]+s", output, re.MULTILINE)
    numbers = re.findall(r"(\d+) (?:passed|failed|skipped|errors?|xfailed|xpassed)\b", line)
    return sum(int(n) for n in numbers)


def stale_report(tag: str) -> dict[str, Any]:
    """A previous run's report: three PASSes no run of today's suites could have made."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "temporal-authz-conformance"},
        "run": {
            "started_at": "2020-01-01T00:00:00Z",
            "finished_at": "2020-01-01T00:01:00Z",
            "duration_s": 60.0,
            "tag": tag,
            "complete": True,
        },
        "server": {"version": "v1.32.2"},
        "metrics": {},
        "coverage": {},
        "grid": [],
        "tests": [
            {
                "nodeid": f"suites/test_smoke.py::test_{STALE}_{i}",
                "requirement": "AUTHZ-GUARD-001",
                "verdict": "PASS",
                "duration_s": 1.0,
                "evidence": {},
            }
            for i in range(3)
        ],
    }


def write_previous_run(reports: Path) -> None:
    """What a previous run (tag "previous") left in a reports directory."""
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "conformance.json").write_text(json.dumps(stale_report("previous")))
    (reports / "junit.xml").write_text(f'<testsuites><testsuite name="{STALE}" tests="3"/></testsuites>')
    (reports / "report.html").write_text(f"<html>{STALE}</html>")


PROBE_DIES = '''"""Throwaway (tests/test_run_integrity.py): the worker that runs this dies without sending a report."""

import os
import signal

import pytest


@pytest.mark.req("AUTHZ-GUARD-001")
def test_this_worker_dies_without_a_report() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
'''


@contextlib.contextmanager
def probe_suite(body: str) -> Iterator[Path]:
    """A throwaway suite file in suites/ (the suite runs take only files there) for one run: other runs of
    suites/ may meet it meanwhile, so it is removed (and its bytecode) as soon as the run is over."""
    path = SUITES / f"test_zz_integrity_probe_{uuid.uuid4().hex[:12]}.py"
    path.write_text(body)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        for cached in (SUITES / "__pycache__").glob(f"{path.stem}.*"):
            cached.unlink(missing_ok=True)


# --- 1. a worker that dies ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_that_dies_fails_the_run_and_a_previous_runs_reports_are_not_shown(tmp_path: Path) -> None:
    """Proves: over a reports directory a previous run left, a run whose worker is SIGKILLed before it
    sends its report exits 2 (interrupted: that worker's tests are not in the report) and says the worker
    went down without one; its reports are this run's (its tag, marked incomplete) and none of the
    previous run's PASSes appear in conformance.json, junit.xml or report.html."""
    reports = tmp_path / "reports"
    write_previous_run(reports)
    tag = uuid.uuid4().hex[:10]
    try:
        with probe_suite(PROBE_DIES) as probe:
            command = [*RUNNER, "-n", "2", "--reports-dir", str(reports), "--"]
            command += ["suites/test_smoke.py", f"suites/{probe.name}", "--backend", "process"]
            with live(command, tag, {"PYTHONDONTWRITEBYTECODE": "1"}) as run:
                code = run.finish()
                output = run.output
    finally:
        for d in server_dirs_of(tag):  # a server the killed worker started dies with it, not its directory
            shutil.rmtree(d, ignore_errors=True)

    assert code == 2, output[-3000:]
    assert re.search(r"worker gw\d went down without a report: this run is incomplete", output), output[
        -3000:
    ]
    merged = json.loads((reports / "conformance.json").read_text())
    assert merged["run"]["tag"] == tag, "the reports directory holds another run's conformance.json"
    assert merged["run"]["complete"] is False
    assert "incomplete" in not_this_run(merged, tag)
    nodeids = [t["nodeid"] for t in merged["tests"]]
    assert nodeids and all(n.startswith("suites/test_smoke.py::") for n in nodeids), nodeids
    for name in ("conformance.json", "junit.xml", "report.html"):
        assert STALE not in (reports / name).read_text(), f"{name} shows a previous run's tests"


# --- 2. --reports-dir after -- ---------------------------------------------------------------------------


@pytest.mark.slow
def test_reports_dir_after_the_double_dash_is_where_the_merged_run_goes(tmp_path: Path) -> None:
    """Proves: `python -m harness.run_suites --reports-dir A -- ... --reports-dir DIR` writes this run's
    merged reports to DIR (its tag; as many tests as pytest printed, in conformance.json and junit.xml),
    and leaves A as it was (a previous report there is neither read as this run's nor removed)."""
    first, chosen = tmp_path / "A", tmp_path / "DIR"
    first.mkdir()
    (first / "conformance.json").write_text(json.dumps(stale_report("previous")))
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    tag = uuid.uuid4().hex[:10]
    command = [*RUNNER, "-n", "2", "--reports-dir", str(first), "--", "suites/test_smoke.py"]
    command += ["suites/test_workflows.py", "--backend", "process", "--reports-dir", str(chosen)]
    with live(command, tag) as run:
        code = run.finish()
        output = run.output

    assert code == 0, output[-3000:]
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before, "the run wrote to or cleared A"
    merged = json.loads((chosen / "conformance.json").read_text())
    assert merged["run"]["tag"] == tag and merged["run"]["complete"] is True
    assert len(merged["run"]["workers"]) == 2
    printed = printed_test_count(output)
    assert len(merged["tests"]) == printed == merged["summary"]["total"]
    assert f"total={printed}," in output
    junit = ET.parse(chosen / "junit.xml").getroot()
    assert sum(int(s.get("tests") or 0) for s in junit.iter("testsuite")) == printed


# --- 3. a signal stops everything ------------------------------------------------------------------------


def _started_and_signalled(
    run: Live, tag: str, reports: Path, send: Callable[[], None]
) -> tuple[int, list[str]]:
    """Wait until both workers' servers are up, check the run has workers and servers to stop (or the test
    would prove nothing), send the signal, wait for the command to exit, and look at once at what its
    run left: the command waits for what it stops (the controller for its workers, they for their
    servers)."""
    run.wait_for(ready_in_every_worker(2), "server ready in both workers", START_DEADLINE_S)
    running = left_by(tag, reports)
    assert any("-m pytest" in p for p in running), running
    assert any(f"authz-server-{tag}" in p or p.startswith("container ") for p in running), running
    send()
    code = run.exit_status(STOP_DEADLINE_S)
    left = left_by(tag, reports)
    run.finish()
    return code, left


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-to-its-process-group", "sigterm-to-the-controller"],
)
def test_a_signal_to_the_run_stops_every_worker_and_server(
    tmp_path: Path, sig: signal.Signals, to_group: bool, backend: str
) -> None:
    """Proves: Ctrl-C (SIGINT to the run's process group, as a terminal sends it) and SIGTERM (to pytest's
    controller alone, as CI or `kill` send it) while the workers run make the controller stop every
    worker and, through them, every server (process, directory, container) before it exits, with
    status 2."""
    reports = tmp_path / "reports"
    tag = uuid.uuid4().hex[:10]
    command = [
        *RUNNER,
        "-n",
        "2",
        "--reports-dir",
        str(reports),
        "--",
        *LONG_FILES,
        "--backend",
        backend,
    ]
    with live(command, tag) as run:

        def send() -> None:
            (os.killpg if to_group else os.kill)(run.proc.pid, sig)

        code, left = _started_and_signalled(run, tag, reports, send)
        output = run.output

    assert left == [], f"left running after the runner exited: {left}"
    assert code == 2, output[-3000:]
    assert "[authz] stopping 2 worker(s) and their servers" in output
    assert "KeyboardInterrupt" in output and "Traceback" not in output, output[-3000:]
    assert " worker(s) in " not in output, "the run finished before the signal: it proved nothing"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm-to-nox", "ctrl-c-to-nox-and-its-runner"],
)
def test_a_signal_to_nox_stops_the_run_its_workers_and_servers(
    tmp_path: Path, sig: signal.Signals, to_group: bool
) -> None:
    """Proves: `nox -s conformance` given SIGTERM (to nox alone: CI cancelling a job) takes Ctrl-C's path
    (nox says the session was interrupted, rather than dying of the signal), and a Ctrl-C at a terminal
    (SIGINT to nox and the controller, one process group) lets the controller stop its workers in order:
    no controller, worker, server or server directory is left, and nothing breaks (no traceback)."""
    reports = tmp_path / "reports"
    tag = uuid.uuid4().hex[:10]
    command = [*NOX, "-s", "conformance", "--", *LONG_FILES, "-n", "2", "--backend", "process"]
    command += ["--reports-dir", str(reports)]
    with live(command, tag) as run:

        def send() -> None:
            (os.killpg if to_group else os.kill)(run.proc.pid, sig)

        code, left = _started_and_signalled(run, tag, reports, send)
        output = run.output

    assert left == [], f"left running after nox exited: {left}"
    assert code >= 0, f"nox died of signal {-code} instead of stopping the run: {output[-3000:]}"
    assert code not in (0, 1), output[-3000:]
    assert "Session conformance interrupted" in output, output[-3000:]
    assert "[authz] stopping 2 worker(s) and their servers" in output
    assert "Traceback" not in output, output[-4000:]


# --- 4. a crash in the merge ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_crash_in_the_merge_is_status_3_and_the_gate_exits_2_without_a_diff(tmp_path: Path) -> None:
    """Proves: when the merge breaks (here: report.html cannot be written, a directory of that name made
    while the workers run), the run exits 3 ("the merge broke", never 1, which a gate reads as "tests
    failed, compare"), and `nox -s gate` says the suites did not finish, exits 2, prints no diff and
    writes no gate page."""
    reports = tmp_path / "reports"
    tag = uuid.uuid4().hex[:10]
    command = [*NOX, "-s", "gate", "--", "suites/test_smoke.py", "--backend", "process"]
    command += ["--reports-dir", str(reports)]
    with live(command, tag) as run:
        # A worker's line: the previous reports were cleared before it started; the merge comes later.
        run.wait_for(lambda lines: any(x.startswith("[gw") for x in lines), "a worker", RUN_DEADLINE_S)
        (reports / "report.html").mkdir(parents=True)
        code = run.finish()
        output = run.output

    assert ", in _merge" in output, f"the run did not break in the merge: {output[-3000:]}"
    assert "the merge of the workers' reports broke (exit status 3)" in output, output[-3000:]
    assert "gate: the suites did not finish (exit status 3)" in output, output[-3000:]
    assert code == 2, output[-3000:]
    assert "authorization decision(s) changed" not in output
    assert not (reports / "gate.html").exists()


# --- 5. all skipped is not conformant --------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_that_only_skipped_shows_nothing_and_exits_5(tmp_path: Path) -> None:
    """Proves: a real run whose every test skipped (the rotation fuzz file with another fuzz class chosen)
    is not conformant: exit status 5, NOTHING SHOWN on the console, and the reports say nothing shown
    (junit.xml's conformance property, report.html's verdict; conformance.json's summary reads so)."""
    reports = tmp_path / "reports"
    tag = uuid.uuid4().hex[:10]
    command = [*RUNNER, "-n", "1", "--reports-dir", str(reports), "--", "suites/test_fuzz_rotation.py"]
    command += ["--fuzz-class", "claims", "--backend", "process"]
    with live(command, tag) as run:
        code = run.finish()
        output = run.output

    data = json.loads((reports / "conformance.json").read_text())
    summary = data["summary"]
    assert data["run"]["tag"] == tag
    assert summary["total"] >= 1 and summary["SKIP"] == summary["total"], summary
    assert {t["verdict"] for t in data["tests"]} == {"SKIP"}
    assert code == 5, output[-3000:]
    assert "[authz] NOTHING SHOWN" in output
    assert not shows_evidence(summary) and conformance_answer(summary).startswith("nothing shown")
    junit = ET.parse(reports / "junit.xml").getroot()
    verdicts = {p.get("value", "") for p in junit.iter("property") if p.get("name") == "conformance"}
    assert verdicts and all(v.startswith("nothing shown") for v in verdicts), verdicts
    page = (reports / "report.html").read_text()
    assert "Nothing shown" in page and "rules: yes" not in page
