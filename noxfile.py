"""Entry points. `nox -s conformance` is the main job; `nox -s tests` is what CI runs.

Forward pytest options after `--`, e.g. `nox -s conformance -- --temporal-version v1.31.2 -k MATRIX`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

PYTHON = "3.11"
REPORTS = "reports"
FUZZ_SUITES = [f"suites/test_fuzz{part}.py" for part in ("", "_config", "_rotation", "_regressions")]
FUZZ_SUITES += ["suites/test_security_machine.py"]  # the tenancy class: a state machine looking for SEC-P2
LINTED = ["harness", "tests", "suites", "fixtures", "noxfile.py", "conftest.py"]


def _install(session: nox.Session, dev: bool = False) -> None:
    # constraints.txt: the versions the verdicts were made with (temporalio's protos, grpc's error texts).
    if session.venv_backend == "none":  # --no-venv: the packages of the Python running nox, as they are
        return
    session.install("-c", "constraints.txt", "-e", ".[dev]" if dev else ".")


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# SIGTERM (CI cancelling a job, `timeout`) takes Ctrl-C's path: the running command is interrupted and
# given time to stop its workers, servers and containers, instead of nox dying and orphaning them.
signal.signal(signal.SIGTERM, _terminate_as_interrupt)


def _python(session: nox.Session, *args: str, env: dict[str, str] | None = None) -> int:
    """`python ARGS` in the session's virtualenv; returns its exit status. nox would turn every failing
    command into its own status 1, and ours differ (1 a test failed or a decision changed, 2 interrupted
    or nothing compared, 3 FATAL or internal error, 4 bad input, 5 nothing shown)."""
    session.log("python " + " ".join(args))
    venv = session.venv_backend != "none"  # --no-venv: the Python running nox
    command = [os.path.join(str(session.bin), "python") if venv else sys.executable, *args]
    proc = subprocess.Popen(command, env={**os.environ, **(env or {})})
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # The child is in our process group and got the same Ctrl-C; give it time to stop what it started.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=150)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise


def _exit_on_failure(status: int) -> None:
    if status != 0:
        raise SystemExit(status)  # nox lets SystemExit through: the status reaches the caller unchanged


def _suites(
    session: nox.Session, *args: str, reports: str = REPORTS, env: dict[str, str] | None = None
) -> int:
    """The suites in pytest-xdist workers (harness/run_suites.py; `-- -n N` workers, `-n 1` one worker
    process; `--shards N` is the same), their reports merged by the controller into one set, as one run
    would write them. Returns pytest's exit status."""
    return _python(session, "-m", "harness.run_suites", "--reports-dir", reports, *args, env=env)


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", *LINTED)
    session.run("mypy")


def _docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Provision the pinned server (or --temporal-version), run suites/, write reports/."""
    _install(session)
    _exit_on_failure(_suites(session, *session.posargs))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Lint, the harness's own tests, then the conformance suite on the default version and backend with
    every model mutant replayed (reports/), and, where that backend was a container, once more on the
    process backend (reports/process/), so CI proves both."""
    _install(session, dev=True)
    _lint(session)
    session.run("pytest", "tests", "-p", "no:cacheprovider", "-q", *session.posargs)
    _exit_on_failure(_suites(session, "--mutants", *session.posargs))
    if _docker_answers():
        _exit_on_failure(
            _suites(session, "--backend", "process", *session.posargs, reports=f"{REPORTS}/process")
        )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format) and mypy (strict on harness/)."""
    _install(session, dev=True)
    _lint(session)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session(python=PYTHON)
def mutants(session: nox.Session) -> None:
    """Run the suite once and replay its model questions under every model mutant: each must be killed
    (killed/total in reports/conformance.json). `-- --model-mutant NAME` runs one mutant live instead."""
    _install(session)
    args = list(session.posargs)
    _exit_on_failure(_suites(session, *([] if "--model-mutant" in args else ["--mutants"]), *args))


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Speed, measured side by side (grid vs a bare loop; start-to-ready vs a bare process start; the bare
    loop's CPU per call vs reports/conformance.json's CPU per verified decision, and that run's wall time
    over its critical path); exit status 1 below the grid goal. Not part of the tests: a verdict never
    depends on the machine's load. `-- --no-measure` compares a newer conformance.json with the last
    bench's figures without starting a server."""
    _install(session)
    _exit_on_failure(_python(session, "-m", "harness.bench", *session.posargs))


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Upgrade gate: run the suite on a version and diff its decisions against a baseline (printed, and
    as a page: reports/gate.html).

    nox -s gate -- --temporal-version v1.33.0 [--baseline fixtures/baselines/v1.32.2.json]
    nox -s gate -- --from v1.31.2 --to v1.32.2 [--live]   (exit status 1 when a decision changed)
    """
    _install(session)
    args = list(session.posargs)
    if "--from" in args or "--to" in args:
        # Between any two versions: committed baselines where there are, live runs where not.
        _exit_on_failure(_python(session, "-m", "harness.gate_between", *args))
        return
    baseline = None
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = args[i + 1]
        del args[i : i + 2]
    reports = REPORTS
    if "--reports-dir" in args:
        i = args.index("--reports-dir")
        reports = args[i + 1]
        del args[i : i + 2]
    # The gate compares this run's report or none: the run is tagged, and the diff refuses another tag.
    tag = f"gate{uuid.uuid4().hex[:8]}"
    status = _suites(session, *args, reports=reports, env={"AUTHZ_RUN_TAG": tag})
    if status not in (0, 1):  # 1: a test failed, but every decision was still recorded
        session.log(f"gate: the suites did not finish (exit status {status}): nothing was compared")
        raise SystemExit(2)
    gate_args = ["-m", "harness.report.gate", "diff", f"{reports}/conformance.json", "--run-tag", tag]
    gate_args += ["--html", f"{reports}/gate.html"]  # the changes as a page, beside report.html
    if baseline:
        gate_args += ["--baseline", baseline]
    _exit_on_failure(_python(session, *gate_args))


@nox.session(python=PYTHON)
def matrix(session: nox.Session) -> None:
    """The whole suite on each version (default: one release of every line 1.20-1.32 and the boundary
    releases; harness/matrix_run.py), then reports/matrix/matrix.json and index.html. Not part of CI.

    nox -s matrix -- [v1.24.2 v1.32.2 ...] [--write-baselines] [--from-reports] [-- pytest options]
    (--from-reports: rewrite matrix.json, index.html and baselines from the runs already made)
    """
    _install(session)
    _exit_on_failure(_python(session, "-m", "harness.matrix_run", *session.posargs))


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Differential fuzzing against live servers: `nox -s fuzz -- --minutes N [--class NAME[,NAME]]`
    shares N minutes among the input classes (harness/fuzz/classes.py), with a progress line and a
    persistent example database under the cache root; without --minutes, the CI profile. Per-class
    figures go to reports/conformance.json (metrics.fuzz); each disagreement's case file to reports/fuzz/."""
    _install(session)
    args = list(session.posargs)
    for option, pytest_option in (("--minutes", "--fuzz-minutes"), ("--class", "--fuzz-class")):
        if option in args:
            args[args.index(option)] = pytest_option
    _exit_on_failure(_python(session, "-m", "pytest", *FUZZ_SUITES, "-p", "no:cacheprovider", "-q", *args))


@nox.session(python=PYTHON)
def profile(session: nox.Session) -> None:
    """Check a token profile against a server of its config: `nox -s profile -- PATH [--target ...]`.
    Exit status 1 when the server differs from the profile's intent (reports/profile.json)."""
    _install(session)
    _exit_on_failure(_python(session, "-m", "harness.cli", "profile", *session.posargs))
