"""Run the conformance suites packaged with this command (as `nox -s conformance` runs them from a
checkout): a server of the version asked for (or your cluster with --target), every suite, reports in
--reports-dir (default ./reports): conformance.json, report.html, junit.xml.

Every option this command does not know passes on to pytest and the plugin, e.g.
  temporal-authz conformance --temporal-version v1.31.2 --backend process -k MATRIX
  temporal-authz conformance --target staging:7233 --external-signing-key key.pem --external-kid k1
`--pytest-help` lists them all. Exit status: pytest's (0 passed, 1 tests failed), 3 the server does not
enforce authorization, 4 bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.conformance.packaged import suite_names


def add_suite_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `conformance` and `gate` share."""
    parser.add_argument(
        "--suite",
        action="append",
        default=[],
        choices=suite_names(),
        metavar="NAME",
        help=f"run only this suite (repeatable): {', '.join(suite_names())}; default all",
    )
    parser.add_argument(
        "--reports-dir", type=Path, default=Path("reports"), help="where the reports go (default ./reports)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)
    parser.add_argument(
        "--pytest-help", action="store_true", help="list the options of pytest and the plugin, and exit"
    )


def run(args: argparse.Namespace) -> int:
    from harness.conformance.pytest_run import pytest_command, run_pytest, settings_args

    if args.pytest_help:
        import sys

        return run_pytest([sys.executable, "-m", "pytest", *settings_args(), "--help"])
    return run_pytest(pytest_command(args.pytest_args, reports_dir=args.reports_dir, suites=args.suite))
