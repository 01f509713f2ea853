"""The upgrade gate between any two versions: each side's decisions from its committed baseline
(fixtures/baselines/<version>.json) or, where there is none or with --live, from a run of the suites on
that version (in pytest-xdist workers, into <reports-dir>/<version>/). Every changed decision is printed as one line
("ValidateWorkerDeploymentVersionComputeConfig (WorkflowService), token NamespaceReader, Own namespace:
ALLOWED -> DENIED"); the changes also go to <reports-dir>/gate-<from>-to-<to>.html.

    python -m harness.gate_between --from v1.31.1 --to v1.32.2 [--live] [-- pytest options]

Exit status: 0 no decision changed, 1 some changed, 2 a side could not be had (its run did not finish).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.report import tool_versions
from harness.report.gate import (
    as_snapshot,
    changes,
    not_this_run,
    packaged_baseline,
    print_changes,
    security_changes,
    write_diff_html,
)
from harness.server.provision import ProvisionError, parse_requested
from harness.settings import ENV

# Runs the suites on a version into a directory; returns pytest's exit status.
SuiteRunner = Callable[[str, Path, Sequence[str]], int]
SUITE_RAN = (0, 1)  # a failing test still recorded its decisions


def run_live(version: str, reports: Path, pytest_args: Sequence[str]) -> int:
    from harness import run_suites

    return run_suites.run(reports, [*pytest_args, "--temporal-version", version])


def side(
    version: str, reports: Path, pytest_args: Sequence[str], live: bool, runner: SuiteRunner
) -> tuple[dict[str, Any], str] | None:
    """A version's decisions (a whole report where it ran live) and where they came from."""
    committed = packaged_baseline(version)
    if committed.exists() and not live:
        return json.loads(committed.read_text()), str(committed)
    where = reports / version
    print(f"gate: running the suites on {version} into {where}", flush=True)
    status = runner(version, where, pytest_args)
    report = where / "conformance.json"
    if status not in SUITE_RAN or not report.exists():
        print(f"gate: the run on {version} did not finish (exit status {status})", file=sys.stderr)
        return None
    data = json.loads(report.read_text())
    if why := not_this_run(data, ENV.run_tag):
        print(f"gate: {report} is refused: {why}", file=sys.stderr)
        return None
    return data, str(report)


def between(
    older: str,
    newer: str,
    reports: Path,
    pytest_args: Sequence[str] = (),
    *,
    live: bool = False,
    runner: SuiteRunner = run_live,
) -> int:
    sides = []
    for version in (older, newer):
        got = side(version, reports, pytest_args, live, runner)
        if got is None:
            return 2
        sides.append(got)
    (before, before_from), (after, after_from) = sides
    print(f"gate: {older} from {before_from}; {newer} from {after_from}")
    page = write_diff_html(
        before,
        after,
        reports / f"gate-{older}-to-{newer}.html",
        baseline_label=f"{older} ({before_from})",
        current_label=f"{newer} ({after_from})",
    )
    old_snapshot, new_snapshot = as_snapshot(before), as_snapshot(after)
    found = changes(old_snapshot, new_snapshot)
    if warning := tool_versions.warning(before, after):
        print(warning)
    return print_changes(found, older, newer, page, security_changes(old_snapshot, new_snapshot))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.gate_between", description=__doc__)
    parser.add_argument("--from", dest="older", required=True, metavar="VERSION")
    parser.add_argument("--to", dest="newer", required=True, metavar="VERSION")
    parser.add_argument(
        "--live", action="store_true", help="run both versions even where a baseline is committed"
    )
    parser.add_argument("--reports-dir", type=Path, default=Path("reports/gate"))
    args, rest = parser.parse_known_args(argv)
    try:
        older, newer = (str(parse_requested(v)) for v in (args.older, args.newer))
    except ProvisionError as exc:
        parser.error(str(exc))
    return between(older, newer, args.reports_dir, [a for a in rest if a != "--"], live=args.live)


if __name__ == "__main__":
    raise SystemExit(main())
