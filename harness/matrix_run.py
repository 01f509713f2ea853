"""The version matrix: the whole suite on each version (in pytest-xdist workers: harness.run_suites), then one matrix of them all.

    python -m harness.matrix_run [VERSION ...] [--reports-dir reports/matrix] [--write-baselines]
                                 [-- pytest options]

Each version is provisioned first (built with its own toolchain when not cached, a progress line every
10 s), then run into <reports-dir>/<version>/ with timing.json beside its conformance.json (provisioning
and suite seconds, cold when the binary was built); then <reports-dir>/matrix.json and index.html.
--write-baselines also writes fixtures/baselines/<version>.json from each run (the gate's baselines).
Exit status: 0 every version conformant, 1 some version not (or not run), 4 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from harness import run_suites
from harness.atomic import write_text_atomic
from harness.report.gate import packaged_baseline, snapshot
from harness.report.grades import is_conformant
from harness.report.matrix import TIMING_NAME, write_matrix
from harness.server.provision import ProvisionError, parse_requested, provision
from harness.server.releases import load_releases
from harness.types import ServerVersion

# The releases run when none is named: fixtures/releases.yaml's `matrix:` (why each is there is said there).
DEFAULT_VERSIONS = tuple(str(v) for v in load_releases().matrix)


def progress(message: str) -> None:
    print(f"[matrix] {message}", flush=True)


def run_version(version: ServerVersion, reports: Path, pytest_args: Sequence[str]) -> dict[str, object]:
    started = time.monotonic()
    progress(f"{version}: provision")
    binary = provision(version, progress=lambda m: progress(f"{version}: {m}"))
    provision_s = time.monotonic() - started
    where = reports / str(version)
    suite_started = time.monotonic()
    status = run_suites.run(where, [*pytest_args, "--temporal-version", str(version)])
    timing: dict[str, object] = {
        "provision_s": round(provision_s, 1),
        "binary_source": binary.source,
        "cold": binary.source == "built",
        "suite_wall_s": round(time.monotonic() - suite_started, 1),
        "total_s": round(time.monotonic() - started, 1),
        "exit_status": status,
    }
    where.mkdir(parents=True, exist_ok=True)
    write_text_atomic(where / TIMING_NAME, json.dumps(timing, indent=1) + "\n")
    progress(f"{version}: exit status {status} in {timing['total_s']}s")
    return timing


def write_baseline(version: ServerVersion, reports: Path) -> bool:
    """A baseline is what the gate trusts as a version's decisions: written only from a run with no FAIL
    and no HARNESS_ERROR (a run that broke records what broke, not what the server decides)."""
    report = reports / str(version) / "conformance.json"
    if not report.exists():
        progress(f"{version}: no report, no baseline written")
        return False
    data = json.loads(report.read_text())
    summary = data.get("summary") or {}
    broken = {k: summary.get(k, 0) for k in ("FAIL", "HARNESS_ERROR") if summary.get(k, 0)}
    if broken or not summary.get("total"):
        why = ", ".join(f"{k}={v}" for k, v in broken.items()) or "no tests"
        progress(f"{version}: baseline NOT written: the run has {why} (fix the run, then write it again)")
        return False
    baseline = packaged_baseline(str(version))
    write_text_atomic(baseline, json.dumps(snapshot(data), indent=1) + "\n")
    progress(f"{version}: baseline {baseline}")
    return True


def runs_in(reports: Path, versions: Sequence[ServerVersion]) -> list[Path]:
    """The versions' run directories under `reports` that hold a report."""
    return [reports / str(v) for v in versions if (reports / str(v) / "conformance.json").exists()]


def write_from_reports(versions: Sequence[ServerVersion], reports: Path, baselines: bool) -> int:
    """matrix.json and index.html (and, if asked, the baselines) from runs already made: after a change
    to the report's code, without running any suite again."""
    runs = runs_in(reports, versions)
    missing = [str(v) for v in versions if reports / str(v) not in runs]
    if not runs:
        progress(f"no runs in {reports} of {', '.join(str(v) for v in versions)}: run the matrix first")
        return 2
    if baselines:
        for version in versions:
            write_baseline(version, reports)
    for path in write_matrix(runs, reports):
        progress(f"wrote {path}")
    if missing:
        progress(f"not in {reports} (left out): {', '.join(missing)}")
    return 0


def split_arguments(argv: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(ours, pytest's): what follows `--` is for pytest (argparse would take it for versions)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.matrix_run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "versions", nargs="*", metavar="VERSION", help="default: " + " ".join(DEFAULT_VERSIONS)
    )
    parser.add_argument("--reports-dir", type=Path, default=Path("reports/matrix"))
    parser.add_argument(
        "--write-baselines", action="store_true", help="write fixtures/baselines/<version>.json"
    )
    parser.add_argument(
        "--from-reports",
        action="store_true",
        help="run nothing: write matrix.json and index.html from the runs already in --reports-dir",
    )
    ours, pytest_args = split_arguments(argv)
    args = parser.parse_args(ours)
    try:
        versions = sorted({parse_requested(v) for v in args.versions or DEFAULT_VERSIONS})
    except ProvisionError as exc:
        parser.error(str(exc))
    if args.from_reports:
        return write_from_reports(versions, args.reports_dir, args.write_baselines)
    started = time.monotonic()
    failed: list[str] = []
    vulnerable: dict[str, list[str]] = {}
    for i, version in enumerate(versions):
        progress(f"{i + 1}/{len(versions)}: {version}")
        try:
            timing = run_version(version, args.reports_dir, pytest_args)
        except ProvisionError as exc:
            progress(f"{version}: cannot be provisioned: {exc}")
            failed.append(str(version))
            continue
        conformant, advisories = _verdicts(args.reports_dir / str(version))
        if not conformant or timing["exit_status"] not in (0, 1):  # 1: a property violated
            failed.append(str(version))
        if advisories:
            vulnerable[str(version)] = advisories
        if args.write_baselines:
            write_baseline(version, args.reports_dir)
    runs = runs_in(args.reports_dir, versions)
    if runs:
        for path in write_matrix(runs, args.reports_dir):
            progress(f"wrote {path}")
    progress(
        f"{len(versions)} versions in {time.monotonic() - started:.0f}s; not conformant: {failed or 'none'}"
    )
    for name, found in vulnerable.items():
        progress(f"{name}: VULNERABLE to {', '.join(found)}")
    # A release with a published vulnerability is expected in a matrix: the security verdict is shown per
    # release (index.html) and does not make the matrix fail; a run that is not conformant, or broke, does.
    return 1 if failed else 0


def _verdicts(where: Path) -> tuple[bool, list[str]]:
    """A run's two verdicts, from its report: conformant, and the advisories it reproduced (no report: not
    conformant, nothing known of security)."""
    try:
        data = json.loads((where / "conformance.json").read_text())
    except (OSError, ValueError):
        return False, []
    advisories = [str(a) for a in (data.get("security") or {}).get("vulnerable_to") or []]
    return is_conformant(data.get("summary") or {}), advisories


if __name__ == "__main__":
    raise SystemExit(main())
