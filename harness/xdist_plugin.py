"""The suites in pytest-xdist workers, as one run: the controller's side and what each worker sends it.

`pytest -n N` (harness.run_suites: nox's suite sessions, the gate and the matrix) starts N workers; each
runs whole test files (harness.xdist_schedule) with servers and a JWKS fixture of its own. Here:

- before any worker starts, the controller has the server binary provisioned once (a release that cannot
  be built is one error, exit status 4) and clears the previous run's reports from the reports directory;
- each worker sends its conformance.json (its records, mutant replay, speed figures) in
  `config.workeroutput` at its session's end, and saves server logs of a failure under reports/logs/ with
  its id in the name; its progress lines go to the terminal through its stderr;
- the controller merges the parts (harness.report.merge) and writes conformance.json and report.html once;
  pytest's own junit.xml gets every test's report from xdist, and the run's verdicts as properties;
- a signal to the controller (Ctrl-C, SIGTERM) reaches every worker once, and the controller waits for
  them to stop their servers before it exits. Workers run in sessions of their own, so a terminal's Ctrl-C
  does not interrupt them twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _pytest import junitxml

from harness.atomic import write_text_atomic
from harness.report.grades import passed_share, shows_evidence
from harness.report.html import write_html
from harness.report.merge import merge_reports, mutant_line
from harness.report.speed import CpuClock, speed_line
from harness.report.verdict_lines import two_verdicts, verdict_properties
from harness.settings import ENV
from harness.xdist_schedule import LongestFirstScheduling, durations

WORKER_REPORT = "authz_report"  # the key of a worker's conformance.json (JSON text) in its workeroutput
# Files of a run in its reports directory: removed before a run starts, so what is there after it is this
# run's or nothing (a killed run leaves no stale report to be read as its own).
RUN_OUTPUTS = ("conformance.json", "junit.xml", "report.html", "gate.html")
STOP_GRACE_S = 120.0  # how long a worker has to stop its servers after a signal before it is killed
SERIOUS = (3, 4)  # a worker's FATAL guard (3) or bad input (4): the run stops and says so


@dataclass
class Controller:
    """What the controller knows of the run's workers."""

    reports: Path
    seconds: dict[str, float] = field(default_factory=dict)  # each file's wall time in the last run
    started: tuple[float, CpuClock] = field(default_factory=lambda: (time.monotonic(), CpuClock.now()))
    parts: list[dict[str, Any]] = field(default_factory=list)  # the workers' conformance.json
    statuses: dict[str, int] = field(default_factory=dict)  # worker id: its session's exit status
    lost: list[str] = field(default_factory=list)  # workers that went down without a report
    processes: dict[str, Any] = field(default_factory=dict)  # worker id: its subprocess.Popen
    nodes: dict[str, Any] = field(default_factory=dict)  # worker id: xdist's WorkerController
    stopping: bool = False  # a signal came: every worker was told to stop
    merged: dict[str, Any] | None = None


CONTROLLER = pytest.StashKey[Controller]()


def worker_id(config: pytest.Config) -> str:
    """This process's xdist worker id ("gw0"), or "" in the controller or a run without workers."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else ""


def is_controller(config: pytest.Config) -> bool:
    """This process deals the tests to xdist workers (`-n N`, N >= 1) and runs none itself."""
    return (
        not worker_id(config)
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
        and not config.getoption("collectonly", False)
    )


def send_to_controller(config: pytest.Config, data: dict[str, Any]) -> None:
    """A worker's conformance.json, for the controller's merge (JSON: execnet carries only plain data)."""
    config.workeroutput[WORKER_REPORT] = json.dumps(data, default=str)  # type: ignore[attr-defined]


def worker_progress(config: pytest.Config, text: str) -> None:
    """A progress line from a worker: its stderr is the controller's (its stdout carries xdist's
    messages), with pytest's capturing suspended so the line is not kept for a test's report."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    suspend = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with suspend:
        sys.stderr.write(f"[{worker_id(config)}] {text}\n")
        sys.stderr.flush()


# -- both sides -----------------------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if worker_id(config):
        _detach_worker()
    elif is_controller(config):
        reports = Path(config.getoption("--reports-dir")).resolve()
        state = Controller(reports=reports)
        config.stash[CONTROLLER] = state
        # The workers' run tags are this run's with their id appended (harness.settings): the servers and
        # containers of each are its own, and a report's tag says which run wrote it.
        previous_tag = os.environ.get("AUTHZ_RUN_TAG")
        os.environ["AUTHZ_RUN_TAG"] = ENV.run_tag
        config.add_cleanup(lambda: _restore_env("AUTHZ_RUN_TAG", previous_tag))
        _forward_signals(config, state)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _detach_worker() -> None:
    """A worker: in a session of its own (a terminal's Ctrl-C reaches the controller, which stops each
    worker once, not twice: a second interrupt would cut its servers' teardown short), and SIGTERM when
    the controller dies, however it dies. Linux only for the latter; elsewhere a no-op."""
    with contextlib.suppress(OSError):
        os.setsid()
    with contextlib.suppress(Exception):
        import ctypes

        parent = os.getppid()
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the controller died before the request was made
            os.kill(os.getpid(), signal.SIGTERM)


def _forward_signals(config: pytest.Config, state: Controller) -> None:
    """The first Ctrl-C or SIGTERM to the controller: SIGTERM to every worker (each stops its servers:
    harness.pytest_plugin maps SIGTERM to Ctrl-C's path), then the controller's own KeyboardInterrupt.
    Later ones are ignored: the workers' teardown is bounded by STOP_GRACE_S."""

    def stop(signum: int, frame: object) -> None:
        if state.stopping:
            return
        state.stopping = True
        for proc in state.processes.values():
            with contextlib.suppress(ProcessLookupError, OSError):
                proc.send_signal(signal.SIGTERM)
        raise KeyboardInterrupt(f"signal {signum}: every worker was told to stop")

    for sig in (signal.SIGINT, signal.SIGTERM):
        config.add_cleanup(_restorer(sig, signal.signal(sig, stop)))


def _restorer(sig: signal.Signals, previous: Any) -> Callable[[], None]:
    def restore() -> None:
        signal.signal(sig, previous)

    return restore


# -- the controller -------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Before xdist starts a worker: the last run's file times, the server provisioned once, the previous
    run's reports cleared."""
    state = session.config.stash.get(CONTROLLER, None)
    if state is None:
        return
    state.seconds = durations(state.reports / "conformance.json")
    if not only_harness_tests(session.config):  # `pytest -n 4 tests`: no server, no report to clear
        refused = provision_first(session.config)
        if refused is not None:
            raise pytest.UsageError(f"temporal-authz: {refused}")  # exit status 4, one line on stderr
        clear_previous(state.reports)
    state.started = (time.monotonic(), CpuClock.now())


def only_harness_tests(config: pytest.Config) -> bool:
    """Every path the run was given lies in the checkout's tests/ (the harness's own tests, not suites)."""
    tests = Path(__file__).resolve().parent.parent / "tests"
    paths = [Path(config.invocation_params.dir, arg.split("::", 1)[0]).resolve() for arg in config.args]
    return bool(paths) and all(p == tests or tests in p.parents for p in paths)


def provision_first(config: pytest.Config) -> str | None:
    """Choose the backend and have what it runs once, before any worker starts (harness.server.choose): an
    image where one will do (nothing built), else the binary, built or found, and a container's image
    around it. A release that cannot be built, or `--backend container` where no Docker engine answers, is
    one error here, not one per worker, and a cold build is not raced by every worker. Returns the error,
    or None. Nothing to do for an external cluster; for a binary given by path, only the backend's check."""
    from harness.server.choose import prepare_run
    from harness.server.provision import ProvisionError, parse_requested

    if config.getoption("--target"):
        return None
    try:
        version = parse_requested(config.getoption("--temporal-version"))
    except ProvisionError as exc:
        return str(exc)
    binary = config.getoption("--temporal-binary")
    backend = config.getoption("--backend")

    def progress(message: str) -> None:
        print(f"[authz] {message}", flush=True)

    return prepare_run(version, backend, binary, progress, provision=not binary)


def clear_previous(reports: Path) -> None:
    for name in RUN_OUTPUTS:
        with contextlib.suppress(FileNotFoundError):
            (reports / name).unlink()
    for directory in (reports / "logs", reports / "shards"):
        if directory.is_dir():
            for path in sorted(directory.rglob("*"), reverse=True):
                (path.rmdir if path.is_dir() else path.unlink)()
            directory.rmdir()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole files, longest first (harness.xdist_schedule), for xdist's `load` (`-n N` alone) and
    `loadfile`: a file's module fixtures and servers must never be split between workers."""
    state = config.stash.get(CONTROLLER, None)
    if state is None or config.getoption("dist") not in ("load", "loadfile"):
        return None
    return LongestFirstScheduling(config, log, state.seconds)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodeready(node: Any) -> None:
    state = node.config.stash.get(CONTROLLER, None)
    proc = getattr(getattr(node.gateway, "_io", None), "popen", None)  # execnet's popen gateway
    if state is not None and proc is not None:
        state.processes[node.gateway.id] = proc
        state.nodes[node.gateway.id] = node


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """A worker's report and exit status, as it finished (or that it went down without one)."""
    state = node.config.stash.get(CONTROLLER, None)
    if state is None:
        return
    output = getattr(node, "workeroutput", None) or {}
    name = node.gateway.id
    if "exitstatus" in output:
        state.statuses[name] = int(output["exitstatus"])
    if output.get(WORKER_REPORT):
        state.parts.append(json.loads(output[WORKER_REPORT]))
    elif error is not None:
        state.lost.append(name)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The controller: the workers' reports merged and written once (before pytest's junitxml writes
    junit.xml, so the run's verdicts are its properties); the run's exit status. After a signal: wait
    until every worker has stopped its servers (xdist would kill them 10 s after asking)."""
    state = session.config.stash.get(CONTROLLER, None)
    if state is None:
        stop_the_run_if_serious(session.config, exitstatus)
        return
    if state.stopping:
        _wait_for_workers(state)
        return
    try:
        state.merged = _merge(session, state)
    except Exception:
        traceback.print_exc()
        print("[authz] the merge of the workers' reports broke (exit status 3): no report of this run")
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        return
    session.exitstatus = exit_status(int(session.exitstatus), state)


def _wait_for_workers(state: Controller) -> None:
    """Until every worker has finished its session (its fixtures' teardown stopped its servers) or is
    gone; past the grace, what is left is killed. A worker that finished stays up until xdist ends it."""
    running = [name for name, node in state.nodes.items() if not _finished(node)]
    if running:
        print(f"\n[authz] stopping {len(running)} worker(s) and their servers", flush=True)
    deadline = time.monotonic() + STOP_GRACE_S
    while running and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the workers' state, bounded by the deadline
        running = [name for name in running if not _finished(state.nodes[name])]
    for name in running:
        with contextlib.suppress(OSError):
            state.processes[name].kill()


def _finished(node: Any) -> bool:
    """xdist marks a worker down when its session's end reached the controller, or its connection broke."""
    proc = getattr(getattr(node.gateway, "_io", None), "popen", None)
    return bool(getattr(node, "_down", False)) or (proc is not None and proc.poll() is not None)


def _merge(session: pytest.Session, state: Controller) -> dict[str, Any] | None:
    if not state.parts:
        return None
    began, cpu = state.started
    wall = time.monotonic() - began
    # The controller's own CPU and each worker's (itself and the servers it reaped: its speed block).
    own_cpu = CpuClock.now().self_s - cpu.self_s
    worker_cpu = [((p.get("metrics") or {}).get("speed") or {}).get("cpu_s") for p in state.parts]
    counted = [float(c) for c in worker_cpu if isinstance(c, int | float)]
    cpu_s = own_cpu + sum(counted) if len(counted) == len(worker_cpu) else None
    data = merge_reports(state.parts, wall_s=wall, cpu_s=cpu_s)
    data["run"]["tag"] = ENV.run_tag
    data["run"]["complete"] = not state.lost and not any(s in SERIOUS for s in state.statuses.values())
    data["run"]["exit_status"] = exit_status(int(session.exitstatus), state, data)
    state.reports.mkdir(parents=True, exist_ok=True)
    write_text_atomic(state.reports / "conformance.json", json.dumps(data, indent=1, default=str) + "\n")
    xml = session.config.stash.get(junitxml.xml_key, None)
    if xml is not None:
        for name, value in verdict_properties(data["summary"], data["security"]).items():
            xml.add_global_property(name, value)
    write_html(data, state.reports / "report.html")
    return data


def exit_status(status: int, state: Controller, merged: dict[str, Any] | None = None) -> int:
    """pytest's own meaning, over the whole run: 0 all passed, 1 some failed (or a mutant survived in
    every worker), 2 interrupted, 3 a worker's FATAL guard, 4 bad input, 5 nothing collected or nothing
    shown. A worker that went down without a report makes the run interrupted (2) at best: the tests it
    ran are not in the report, so they cannot pass."""
    merged = merged if merged is not None else state.merged
    serious = [s for s in state.statuses.values() if s in SERIOUS]
    if serious:
        return max(serious)
    if status in (3, 4):  # the controller's own (an internal error, bad input)
        return status
    if status == 2 or state.lost:
        return 2
    if merged is None:
        return status
    if status == 1 or (merged.get("mutants") or {}).get("survived"):
        return 1
    if not shows_evidence(merged.get("summary") or {}):
        return 5
    return status


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(CONTROLLER, None)
    if state is None:
        return
    write = terminalreporter.write_line
    for name in state.lost:
        write(f"[authz] worker {name} went down without a report: this run is incomplete", red=True)
    merged = state.merged
    if merged is None:
        return
    for line in _summary_lines(merged, len(state.parts)):
        write(line, red=line.startswith(("[authz] NOTHING SHOWN", "[authz] VULNERABLE")))
    write(f"reports: {state.reports / 'conformance.json'}, {state.reports / 'report.html'}")


def _summary_lines(merged: dict[str, Any], workers: int) -> Iterator[str]:
    summary = merged["summary"]
    counts = ", ".join(f"{k}={v}" for k, v in summary.items() if isinstance(v, int))
    yield f"[authz] {workers} worker(s) in {merged['run']['duration_s']:.1f}s: {counts}"
    version = str((merged.get("server") or {}).get("version"))
    for line in two_verdicts(summary, merged["security"], version):
        yield f"[authz] {line}"
    if not shows_evidence(summary):
        yield f"[authz] NOTHING SHOWN: {passed_share(summary):.0%} of the tests passed (exit status 5)"
    if speed := merged["metrics"].get("speed"):
        yield f"[authz] {speed_line(speed)}"
    if merged.get("mutants"):
        # A worker replays only its own questions; this is the verdict over all of them.
        yield f"[authz] {mutant_line(merged['mutants'])}"


# -- a worker -------------------------------------------------------------------------------------------


def stop_the_run_if_serious(config: pytest.Config, exitstatus: int) -> None:
    """A worker whose session ends with a FATAL guard (3) or bad input (4) asks xdist to stop the run (its
    shouldstop): the other workers finish the tests they hold and none starts another file."""
    output = getattr(config, "workeroutput", None)
    if output is not None and exitstatus in SERIOUS:
        output["shouldstop"] = (
            f"temporal-authz: worker {worker_id(config)} stopped with exit status {exitstatus}"
        )
