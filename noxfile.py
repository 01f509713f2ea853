"""Entry points. `nox -s conformance` is the main job; `nox -s tests` is what CI runs.

Forward pytest options after `--`, e.g. `nox -s conformance -- --temporal-version v1.31.2 -k MATRIX`.
"""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

PYTHON = "3.11"
REPORTS = "reports"


def _install(session: nox.Session, dev: bool = False) -> None:
    session.install("-e", ".[dev]" if dev else ".")


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Provision the pinned server (or --temporal-version), run suites/, write reports/."""
    _install(session)
    session.run(
        "pytest",
        "suites",
        f"--junitxml={REPORTS}/junit.xml",
        "-o",
        "junit_family=xunit2",
        "-p",
        "no:cacheprovider",
        "-q",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The harness's own tests, then the conformance suite on the default version and backend."""
    _install(session, dev=True)
    session.run("ruff", "check", "harness", "tests", "suites", "fixtures", "noxfile.py", "conftest.py")
    session.run("mypy")
    session.run("pytest", "tests", "-p", "no:cacheprovider", "-q", *session.posargs)
    session.run(
        "pytest",
        "suites",
        f"--junitxml={REPORTS}/junit.xml",
        "-o",
        "junit_family=xunit2",
        "-p",
        "no:cacheprovider",
        "-q",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy (strict on harness/)."""
    _install(session, dev=True)
    session.run("ruff", "check", "harness", "tests", "suites", "fixtures", "noxfile.py", "conftest.py")
    session.run("ruff", "format", "--check", "harness")
    session.run("mypy")


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Upgrade gate: run the suite on a version and diff its decisions against a baseline.

    nox -s gate -- --temporal-version v1.32.2 [--baseline fixtures/baselines/v1.32.2.json]
    """
    _install(session)
    args = list(session.posargs)
    baseline = None
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = args[i + 1]
        del args[i : i + 2]
    session.run(
        "pytest",
        "suites",
        f"--junitxml={REPORTS}/junit.xml",
        "-p",
        "no:cacheprovider",
        "-q",
        *args,
        success_codes=[0, 1],
    )
    gate_args = ["python", "-m", "harness.report.gate", "diff", f"{REPORTS}/conformance.json"]
    if baseline:
        gate_args += ["--baseline", baseline]
    session.run(*gate_args)


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Longer hypothesis runs of the claim fuzzer against the live server."""
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
