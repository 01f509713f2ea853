"""A run's integrity, with real processes: what the reports say is this run's and nothing else's, the exit
status says how the run ended, and a signal stops everything the run started.

- A shard report of another run is refused by the merge (unit), and a real run whose shard dies without
  a report, over a previous run's reports, fails with the shard's own status and shows none of them.
- `--reports-dir DIR` after `--` is the merged run's reports directory.
- Ctrl-C and SIGTERM to `python -m harness.shards`, and to nox running it, leave no shard, server,
  server directory or container.
- A crash in the merge is the runner's exit status 3 (never 1), and `nox -s gate` exits 2 without a diff.
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
from harness.server.choose import docker_answers
from harness.shards import SUITES, StaleShardReport, merge
from tests.runs import ROOT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find what a run left")

RUNNER = [sys.executable, "-m", "harness.shards"]
NOX = [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--no-venv"]
# Long files (tens of seconds), so a run is surely still going when the signal comes.
LONG_FILES = ["suites/test_expiry.py", "suites/test_http.py"]
READY = "ready: server"
STALE = "stale_pass_of_a_previous_run"

START_DEADLINE_S = 120.0  # until the servers of a run are up (a cold machine, two shared cores)
STOP_DEADLINE_S = 200.0  # the runner gives shards 120 s to stop, nox gives the runner 150 s
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
        """Cleanup after a failed test: the group (its shards stop themselves: they die with it)."""
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
    AUTHZ_RUN_TAG=tag (the runner, nox) or tag+"sN" (shards, servers), or their command line a marker
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
    for run_tag in [tag, *(f"{tag}s{i}" for i in range(1, 5))]:
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


def ready_in_every_shard(shards: int) -> Callable[[list[str]], bool]:
    def seen(lines: list[str]) -> bool:
        ready = {line.split("]", 1)[0] for line in lines if line.startswith("[shard") and READY in line}
        return len(ready) >= shards

    return seen


def shard_of(output: str, file_name: str) -> int:
    match = re.search(rf"^\[authz\] shard (\d+): .*\b{re.escape(file_name)}", output, re.MULTILINE)
    assert match, f"no shard was dealt {file_name}:\n{output[-3000:]}"
    return int(match.group(1))


def printed_test_counts(output: str) -> list[int]:
    """Each shard's own pytest summary ("[shard 2] 5 passed, 1 skipped in 4.76s"), as numbers of tests."""
    counts = []
    for line in re.findall(r"^\[shard \d+\] (\d+ \w+(?:, \d+ \w+)*) in [\d.]+s$", output, re.MULTILINE):
        numbers = re.findall(r"(\d+) (?:passed|failed|skipped|errors?|xfailed|xpassed)\b", line)
        counts.append(sum(int(n) for n in numbers))
    return counts


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


def write_previous_run(reports: Path, shards: int) -> None:
    """What a previous run (tag "previous") left in a reports directory: its merged reports and each
    shard's."""
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "conformance.json").write_text(json.dumps(stale_report("previous")))
    (reports / "junit.xml").write_text(f'<testsuites><testsuite name="{STALE}" tests="3"/></testsuites>')
    (reports / "report.html").write_text(f"<html>{STALE}</html>")
    for i in range(1, shards + 1):
        shard = reports / "shards" / str(i)
        shard.mkdir(parents=True)
        (shard / "conformance.json").write_text(json.dumps(stale_report(f"previouss{i}")))
        (shard / "junit.xml").write_text(f'<testsuite name="{STALE}" tests="3"/>')


PROBE_DIES = '''"""Throwaway (tests/test_run_integrity.py): the shard that runs this dies without writing a report."""

import os
import signal

import pytest


@pytest.mark.req("AUTHZ-GUARD-001")
def test_this_shard_dies_without_a_report() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
'''


@contextlib.contextmanager
def probe_suite(body: str) -> Iterator[Path]:
    """A throwaway suite file in suites/ (a shard runs only files there) for one run: other runs of
    suites/ may meet it meanwhile, so it is removed (and its bytecode) as soon as the run is over."""
    path = SUITES / f"test_zz_integrity_probe_{uuid.uuid4().hex[:12]}.py"
    path.write_text(body)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        for cached in (SUITES / "__pycache__").glob(f"{path.stem}.*"):
            cached.unlink(missing_ok=True)


# --- 1. a stale shard report is refused ---------------------------------------------------------------


def test_the_merge_refuses_a_shard_report_another_run_wrote(tmp_path: Path) -> None:
    """Proves: the merge takes only reports stamped with this run's shard tags; one of another run (or of
    no run: an older harness's) is refused and nothing is written; a merge of this run's reports carries
    its tag, and is marked incomplete when a shard wrote none (the gate refuses both)."""
    dirs = [tmp_path / "shards" / str(i) for i in (1, 2)]
    for d in dirs:
        d.mkdir(parents=True)
    out = tmp_path / "merged"
    (dirs[0] / "conformance.json").write_text(json.dumps(stale_report("thiss1")))
    for other in ("previouss2", None):
        report = stale_report("x")
        report["run"]["tag"] = other
        (dirs[1] / "conformance.json").write_text(json.dumps(report))
        with pytest.raises(StaleShardReport, match="refused"):
            merge(dirs, out, tags=["thiss1", "thiss2"], run_tag="this")
        assert not (out / "conformance.json").exists()

    (dirs[1] / "conformance.json").write_text(json.dumps(stale_report("thiss2")))
    whole = merge(dirs, out, tags=["thiss1", "thiss2"], run_tag="this")
    assert whole["run"]["tag"] == "this" and whole["run"]["complete"] is True
    assert not_this_run(whole, "this") == ""
    assert "not by this run" in not_this_run(whole, "another")

    (dirs[1] / "conformance.json").unlink()
    part = merge(dirs, out, tags=["thiss1", "thiss2"], run_tag="this")
    assert part["run"]["complete"] is False
    assert "incomplete" in not_this_run(part, "this")


@pytest.mark.slow
def test_a_shard_that_dies_fails_the_run_and_a_previous_runs_reports_are_not_shown(tmp_path: Path) -> None:
    """Proves: over a reports directory a previous run left (its merged reports and each shard's), a run
    whose shard is SIGKILLed before writing a report exits 128+9 and says that shard wrote no report;
    its merged reports are this run's (its tag, marked incomplete) and none of the previous run's PASSes
    appear in conformance.json, junit.xml or report.html."""
    reports = tmp_path / "reports"
    write_previous_run(reports, shards=2)
    tag = uuid.uuid4().hex[:10]
    try:
        with probe_suite(PROBE_DIES) as probe:
            command = [*RUNNER, "--shards", "2", "--reports-dir", str(reports), "--"]
            command += ["suites/test_smoke.py", f"suites/{probe.name}", "--backend", "process"]
            with live(command, tag, {"PYTHONDONTWRITEBYTECODE": "1"}) as run:
                code = run.finish()
                output = run.output
        dead = shard_of(output, probe.name)
    finally:
        for d in server_dirs_of(tag):  # a server the killed shard started dies with it, not its directory
            shutil.rmtree(d, ignore_errors=True)

    assert code == 128 + signal.SIGKILL, output[-3000:]
    assert f"shard {dead} wrote no report" in output, output[-3000:]
    assert not (reports / "shards" / str(dead) / "conformance.json").exists()
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
    """Proves: `python -m harness.shards --reports-dir A -- ... --reports-dir DIR` writes this run's merged
    reports to DIR (its tag; as many tests as the shards printed), each shard's under DIR/shards/N,
    and leaves A as it was (a previous report there is neither read as this run's nor removed)."""
    first, chosen = tmp_path / "A", tmp_path / "DIR"
    first.mkdir()
    (first / "conformance.json").write_text(json.dumps(stale_report("previous")))
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    tag = uuid.uuid4().hex[:10]
    command = [*RUNNER, "--shards", "2", "--reports-dir", str(first), "--", "suites/test_smoke.py"]
    command += ["suites/test_workflows.py", "--backend", "process", "--reports-dir", str(chosen)]
    with live(command, tag) as run:
        code = run.finish()
        output = run.output

    assert code == 0, output[-3000:]
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before, "the run wrote to or cleared A"
    merged = json.loads((chosen / "conformance.json").read_text())
    assert merged["run"]["tag"] == tag
    printed = printed_test_counts(output)
    assert len(printed) == 2, output[-3000:]
    assert len(merged["tests"]) == sum(printed) == merged["summary"]["total"]
    assert f"total={sum(printed)}," in output
    junit = ET.parse(chosen / "junit.xml").getroot()
    assert sum(int(s.get("tests") or 0) for s in junit.iter("testsuite")) == sum(printed)
    for i in (1, 2):
        shard = json.loads((chosen / "shards" / str(i) / "conformance.json").read_text())
        assert shard["run"]["tag"] == f"{tag}s{i}"


# --- 3. a signal stops everything ------------------------------------------------------------------------


def _started_and_signalled(
    run: Live, tag: str, reports: Path, send: Callable[[], None]
) -> tuple[int, list[str]]:
    """Wait until both shards' servers are up, check the run has shards and servers to stop (or the test
    would prove nothing), send the signal, wait for the command to exit, and look at once at what its
    run left: the command waits for what it stops (the runner for its shards, they for their servers)."""
    run.wait_for(ready_in_every_shard(2), "server ready in both shards", START_DEADLINE_S)
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
    ids=["ctrl-c-to-its-process-group", "sigterm-to-the-runner"],
)
def test_a_signal_to_the_runner_stops_every_shard_and_server(
    tmp_path: Path, sig: signal.Signals, to_group: bool, backend: str
) -> None:
    """Proves: Ctrl-C (SIGINT to the runner's process group, as a terminal sends it) and SIGTERM (to the
    runner alone, as CI or `kill` send it) while the shards run make the runner stop every shard and,
    through them, every server (process, directory, container) before it exits, with status 2."""
    reports = tmp_path / "reports"
    tag = uuid.uuid4().hex[:10]
    command = [
        *RUNNER,
        "--shards",
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
    assert "[authz] stopping 2 shard(s) and their servers" in output
    assert "[authz] interrupted" in output and "Traceback" not in output, output[-3000:]
    assert " shards in " not in output, "the run finished before the signal: it proved nothing"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm-to-nox", "ctrl-c-to-nox-and-its-runner"],
)
def test_a_signal_to_nox_stops_the_runner_its_shards_and_servers(
    tmp_path: Path, sig: signal.Signals, to_group: bool
) -> None:
    """Proves: `nox -s conformance` given SIGTERM (to nox alone: CI cancelling a job) takes Ctrl-C's path
    (nox says the session was interrupted, rather than dying of the signal), and a Ctrl-C at a terminal
    (SIGINT to nox and the runner, one process group) lets the runner stop its shards in order: no
    runner, shard, server or server directory is left, and the runner breaks nowhere (no traceback)."""
    reports = tmp_path / "reports"
    tag = uuid.uuid4().hex[:10]
    command = [*NOX, "-s", "conformance", "--", *LONG_FILES, "--shards", "2", "--backend", "process"]
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
    assert "[authz] stopping 2 shard(s) and their servers" in output
    assert "Traceback" not in output, output[-4000:]


# --- 4. a crash in the merge ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_crash_in_the_merge_is_status_3_and_the_gate_exits_2_without_a_diff(tmp_path: Path) -> None:
    """Proves: when the merge breaks (here: report.html cannot be written, a directory of that name made
    while the shard runs), the runner exits 3 ("the runner broke", never 1, which a gate reads as "tests
    failed, compare"), and `nox -s gate` says the suites did not finish, exits 2, prints no diff and
    writes no gate page."""
    reports = tmp_path / "reports"
    tag = uuid.uuid4().hex[:10]
    command = [*NOX, "-s", "gate", "--", "suites/test_smoke.py", "--backend", "process"]
    command += ["--reports-dir", str(reports)]
    with live(command, tag) as run:
        # After "shard 1:" the previous reports are cleared and the shard is running: the merge comes later.
        run.wait_for(
            lambda lines: any(x.startswith("[authz] shard 1:") for x in lines), "shard", RUN_DEADLINE_S
        )
        (reports / "report.html").mkdir(parents=True)
        code = run.finish()
        output = run.output

    assert ", in merge" in output, f"the run did not break in the merge: {output[-3000:]}"
    assert "the shard runner broke (exit status 3)" in output, output[-3000:]
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
    command = [*RUNNER, "--shards", "1", "--reports-dir", str(reports), "--", "suites/test_fuzz_rotation.py"]
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
