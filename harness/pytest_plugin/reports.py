"""The run's reports: conformance.json and report.html (or, in a pytest-xdist worker, its share sent to the
controller), both verdicts as junit.xml properties, metrics.speed and each file's wall time, the mutant
replay, and the terminal summary."""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from _pytest import junitxml

from harness.pytest_plugin.keys import POOL, RECORDER, STARTED
from harness.pytest_plugin.logs import save_logs
from harness.pytest_plugin.progress import Progress
from harness.report.grades import MIN_PASSED_SHARE, passed_share, shows_evidence
from harness.report.html import write_html
from harness.report.mutants import replay
from harness.report.recorder import Recorder
from harness.report.speed import COUNTED_BY_PROCESS, CpuClock, speed_block, speed_line, verified_decisions
from harness.report.verdict_lines import two_verdicts, verdict_properties
from harness.server.pool import ServerPool
from harness.types import Verdict
from harness.xdist_plugin import send_to_controller, worker_id


@pytest.fixture(scope="session")
def recorder(request: pytest.FixtureRequest) -> Recorder:
    return request.config.stash[RECORDER]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Each test file's wall time (setup, call and teardown, its fixtures' included) in the metric
    file_wall_s: how harness.xdist_schedule deals files to workers next time."""
    started = time.monotonic()
    try:
        return (yield)
    finally:
        recorder = item.config.stash.get(RECORDER, None)
        if recorder is not None:
            walls = recorder.metrics.setdefault("file_wall_s", {})
            walls[item.path.name] = round(walls.get(item.path.name, 0.0) + time.monotonic() - started, 3)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pool = session.config.stash.get(POOL, None)
    _junit_verdicts(session)
    try:
        _write_reports(session, exitstatus, pool)
    finally:
        if pool is not None:
            pool.remove_directories()  # what a failure needed from them is in reports/logs by now


def _junit_verdicts(session: pytest.Session) -> None:
    """Both verdicts as junit.xml <testsuite> properties (written by pytest's junitxml after this hook)."""
    recorder = session.config.stash.get(RECORDER, None)
    xml = session.config.stash.get(junitxml.xml_key, None)
    if recorder is None or xml is None or not recorder.records:
        return
    for name, value in verdict_properties(recorder.summary(), recorder.security()).items():
        xml.add_global_property(name, value)


def _write_reports(session: pytest.Session, exitstatus: int, pool: ServerPool | None) -> None:
    recorder = session.config.stash.get(RECORDER, None)
    if recorder is None or not recorder.records:
        return
    worker = worker_id(session.config)
    if session.config.getoption("--mutants"):
        progress = Progress(session.config)
        progress("mutants: replaying this run's model questions under every mutant")
        recorder.mutants = replay(recorder.records, progress=progress)
        progress(f"mutants: {recorder.mutants['killed']}/{recorder.mutants['total']} killed")
        # In a worker the merge decides: another worker may kill what this one did not.
        if recorder.mutants["survived"] and session.exitstatus == 0 and not worker:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # A run that showed too little is not called conformant, and does not exit 0 (a worker's share is
    # judged by the merge: one worker may hold only skips).
    if session.exitstatus == 0 and not worker and not shows_evidence(recorder.summary()):
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
    reports = Path(session.config.getoption("--reports-dir"))
    failed = any(r.verdict in (Verdict.FAIL, Verdict.HARNESS_ERROR) for r in recorder.records)
    if failed and pool is not None:
        save_logs(session.config, pool, reason="failed-run")
    _record_speed(session.config, recorder)
    if worker:  # the controller merges the workers' reports and writes the run's, once
        send_to_controller(session.config, recorder.to_json(exit_status=int(session.exitstatus)))
        return
    data = recorder.write(reports / "conformance.json", exit_status=int(session.exitstatus))
    write_html(data, reports / "report.html")


def _record_speed(config: pytest.Config, recorder: Recorder) -> None:
    """metrics.speed (harness.report.speed) from configure to now: every test and fixture, the servers
    this process started and stopped (the process backend), and a mutant replay."""
    started = config.stash.get(STARTED, None)
    if started is None:
        return
    began, cpu = started
    recorder.metric(
        "speed",
        speed_block(
            wall_s=time.monotonic() - began,
            file_wall_s=recorder.metrics.get("file_wall_s"),
            cpu_s=CpuClock.now().since(cpu),
            cpu_counted=COUNTED_BY_PROCESS,
            decisions=verified_decisions(recorder.records),
        ),
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    recorder = config.stash.get(RECORDER, None)
    if recorder is None or not recorder.records:
        return
    summary = recorder.summary()
    reports = config.getoption("--reports-dir")
    terminalreporter.write_sep("=", "temporal-authz conformance")
    server = recorder.server
    terminalreporter.write_line(
        f"server {server.get('version')} on {server.get('backend')} backend (era {server.get('era')}); "
        f"verdicts: " + ", ".join(f"{v.value}={summary[v.value]}" for v in Verdict)
    )
    for line in two_verdicts(summary, recorder.security(), str(server.get("version"))):
        terminalreporter.write_line(line, red=line.startswith(("VULNERABLE", "Security: 1", "Security: 2")))
    for name, figures in (recorder.metrics.get("fuzz") or {}).items():
        terminalreporter.write_line(
            f"fuzz {name}: {figures['examples']} examples in {figures['seconds']:.0f}s, "
            f"{figures['examples_per_s']:.1f} examples/s, {figures['disagreements']} disagreement(s)"
        )
    for finding in recorder.findings():
        if finding["status"] == "confirmed":
            terminalreporter.write_line(f"FINDING {finding['requirement']}: {finding['finding']}")
        elif finding["status"] == "not confirmed":
            terminalreporter.write_line(
                f"finding {finding['requirement']} not confirmed: {'; '.join(finding['why'][:3])}"
            )
    for record in recorder.records:
        for door, verdict in (record.evidence.get("extra", {}).get("open_doors") or {}).items():
            terminalreporter.write_sep("!", f"OPEN DOOR {door}: {verdict}", red=True, bold=True)
    if not shows_evidence(summary):
        terminalreporter.write_sep(
            "!",
            f"NOTHING SHOWN: {passed_share(summary):.0%} of {summary['total']} tests passed; a run is called "
            f"conformant when at least {MIN_PASSED_SHARE:.0%} pass (exit status 5)",
            red=True,
        )
    if speed := recorder.metrics.get("speed"):
        terminalreporter.write_line(speed_line(speed))
    if recorder.mutants:
        m = recorder.mutants
        line = f"model mutants: {m['killed']}/{m['total']} killed"
        if m["survived"]:
            line += f"; SURVIVED (a hole in the suite): {', '.join(m['survived'])}"
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"reports: {reports}/conformance.json, {reports}/report.html")
