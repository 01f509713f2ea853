"""Entry points. `nox -s conformance` is the main job; `nox -s tests` is what CI runs.

Forward pytest options after `--`, e.g. `nox -s conformance -- --temporal-version v1.31.2 -k MATRIX`.
"""

from __future__ import annotations

import subprocess
from typing import Any

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

PYTHON = "3.11"
REPORTS = "reports"
SUITES = ["pytest", "suites", f"--junitxml={REPORTS}/junit.xml", "-o", "junit_family=xunit2", "-p", "no:cacheprovider", "-q"]  # fmt: skip
LINTED = ["harness", "tests", "suites", "fixtures", "noxfile.py", "conftest.py"]


def _install(session: nox.Session, dev: bool = False) -> None:
    session.install("-e", ".[dev]" if dev else ".")


def _suites(session: nox.Session, *args: str, **kwargs: Any) -> None:
    session.run(*SUITES, *args, **kwargs)


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", *LINTED)
    session.run("mypy")


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Provision the pinned server (or --temporal-version), run suites/, write reports/."""
    _install(session)
    _suites(session, *session.posargs)


def _docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Lint, the harness's own tests, then the conformance suite on the default version and backend
    (reports/), and, where that backend was a container, once more on the process backend
    (reports/process/), so CI proves both."""
    _install(session, dev=True)
    _lint(session)
    session.run("pytest", "tests", "-p", "no:cacheprovider", "-q", *session.posargs)
    _suites(session, *session.posargs)
    if _docker_answers():
        process_reports = f"{REPORTS}/process"
        session.run(
            "pytest", "suites", f"--junitxml={process_reports}/junit.xml", "-p", "no:cacheprovider", "-q",
            "--backend", "process", "--reports-dir", process_reports, *session.posargs,
        )  # fmt: skip


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format) and mypy (strict on harness/)."""
    _install(session, dev=True)
    _lint(session)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Upgrade gate: run the suite on a version and diff its decisions against a baseline.

    nox -s gate -- --temporal-version v1.33.0 [--baseline fixtures/baselines/v1.32.2.json]
    """
    _install(session)
    args = list(session.posargs)
    baseline = None
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = args[i + 1]
        del args[i : i + 2]
    reports = args[args.index("--reports-dir") + 1] if "--reports-dir" in args else REPORTS
    _suites(session, *args, success_codes=[0, 1])
    gate_args = ["python", "-m", "harness.report.gate", "diff", f"{reports}/conformance.json"]
    if baseline:
        gate_args += ["--baseline", baseline]
    session.run(*gate_args)


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Longer hypothesis runs of the claim fuzzer against the live server (1,000 payloads)."""
    _install(session)
    session.run(
        "pytest",
        "suites/test_fuzz.py",
        "-p",
        "no:cacheprovider",
        "-q",
        "--hypothesis-profile=long",
        *session.posargs,
    )
