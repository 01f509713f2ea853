"""Upgrade gate: run the conformance suites on a version (or your cluster with --target) and diff every
decision (grid cells and per-test observations) against a baseline; the changes are printed and written
as a page (--html; default gate.html beside the run's conformance.json and report.html).

--baseline takes a file (a snapshot or a whole conformance.json) or a version: the packaged
fixtures/baselines/<version>.json where there is one, else the suites are run on that version first
(into <reports-dir>/baseline-<version>/): the version your cluster runs now, against the one a pull
request moves it to. Without --baseline: the packaged baseline of the version that ran.
--report diffs an existing conformance.json without running anything.

Every option this command does not know passes on to pytest and the plugin (see `conformance`), e.g.
  temporal-authz gate --temporal-version v1.32.2 --baseline v1.31.2 --backend process
  temporal-authz gate --report new/conformance.json --baseline old/conformance.json --html gate.html
Exit status: 0 no decision changed, 1 decisions changed (as `nox -s gate`), 2 no baseline or an
unreadable report, 3 the server does not enforce authorization, 4 bad input; a suite with failing tests
still gates on its decisions (report.html says what failed)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.conformance.command import add_suite_arguments

_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")
SUITE_RAN = (0, 1)  # pytest: all passed, or some tests failed; the decisions were recorded either way


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="PATH|VERSION",
        help="a baseline file or a server version (default: the packaged baseline of the version run)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="diff this conformance.json instead of running the suites (no pytest options then)",
    )
    parser.add_argument(
        "--html", type=Path, default=None, help="the changes as a page (default: gate.html beside the report)"
    )
    add_suite_arguments(parser)


def is_version(text: str) -> bool:
    return bool(_VERSION.match(text.strip()))


def targets_a_cluster(pytest_args: Sequence[str]) -> bool:
    from harness.settings import ENV

    return ENV.target is not None or any(a == "--target" or a.startswith("--target=") for a in pytest_args)


def run(args: argparse.Namespace) -> int:
    from harness.conformance.pytest_run import pytest_command, run_pytest
    from harness.report.gate import diff_files, packaged_baseline, packaged_baseline_versions

    if args.report is not None:
        if args.pytest_args:
            return _usage(f"--report runs nothing: {' '.join(args.pytest_args)} would be ignored")
        report = args.report
    else:
        status = run_pytest(pytest_command(args.pytest_args, reports_dir=args.reports_dir, suites=args.suite))
        if status not in SUITE_RAN:
            print(f"gate: the suites did not run to the end (exit status {status}): no diff", file=sys.stderr)
            return status
        report = args.reports_dir / "conformance.json"
    baseline: Path | None = None
    if args.baseline is not None and not is_version(args.baseline):
        baseline = Path(args.baseline)
    elif args.baseline is not None:
        version = args.baseline if args.baseline.startswith("v") else f"v{args.baseline}"
        baseline = packaged_baseline(version)
        if not baseline.exists():
            if args.report is not None or targets_a_cluster(args.pytest_args):
                return _usage(
                    f"no packaged baseline for {version} (packaged: "
                    f"{', '.join(packaged_baseline_versions()) or 'none'}), and running {version} needs a "
                    f"server of its own: give --baseline PATH (a conformance.json of {version})"
                )
            baseline_dir = args.reports_dir / f"baseline-{version}"
            print(f"gate: no packaged baseline for {version}: running the suites on it into {baseline_dir}")
            command = pytest_command(
                [*args.pytest_args, "--temporal-version", version],
                reports_dir=baseline_dir,
                suites=args.suite,
            )
            status = run_pytest(command)
            if status not in SUITE_RAN:
                print(
                    f"gate: the baseline run on {version} did not finish (exit status {status})",
                    file=sys.stderr,
                )
                return status
            baseline = baseline_dir / "conformance.json"
    return diff_files(report, baseline, args.html or report.with_name("gate.html"))


def _usage(message: str) -> int:
    print(f"gate: {message}", file=sys.stderr)
    return 2
