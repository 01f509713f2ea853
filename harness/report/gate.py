"""The upgrade gate: diff one run's decisions against a baseline of another version's.

    python -m harness.report.gate snapshot reports/conformance.json > fixtures/baselines/v1.32.2.json
    python -m harness.report.gate diff reports/conformance.json --baseline fixtures/baselines/v1.32.2.json

A baseline holds decisions only (grid cells and per-test observations), so it is small and reviewable.
Exit status of `diff`: 0 no change, 1 decisions changed (each printed), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

BASELINES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "baselines"
# Tests whose observation is a measurement or a random sample, not a decision: compared by verdict only.
MEASUREMENTS = {"AUTHZ-FUZZ-001"}


def snapshot(report: dict[str, Any]) -> dict[str, Any]:
    cells = {
        f"{c['token_shape']} x {c['api']} x {c['namespace_column']}": c["observed"]
        for c in report.get("grid", [])
    }
    tests = {t["nodeid"]: _observed(t) for t in report.get("tests", []) if "test_cell[" not in t["nodeid"]}
    return {
        "server_version": report.get("server", {}).get("version"),
        "schema_version": report.get("schema_version"),
        "grid": dict(sorted(cells.items())),
        "tests": dict(sorted(tests.items())),
    }


def _observed(test: dict[str, Any]) -> Any:
    if test["requirement"] in MEASUREMENTS:
        return test["verdict"]
    evidence = test.get("evidence", {})
    return evidence.get("observed", test["verdict"])


def diff(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    changes = []
    for section in ("grid", "tests"):
        old, new = baseline.get(section, {}), current.get(section, {})
        for key in sorted(set(old) | set(new)):
            if key not in new:
                changes.append(f"{section}: {key}: {json.dumps(old[key])} -> (not run)")
            elif key not in old:
                changes.append(f"{section}: {key}: (new) -> {json.dumps(new[key])}")
            elif old[key] != new[key]:
                changes.append(f"{section}: {key}: {json.dumps(old[key])} -> {json.dumps(new[key])}")
    return changes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.gate")
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="print the decisions of a conformance.json as a baseline")
    snap.add_argument("report", type=Path)
    dif = sub.add_parser("diff", help="compare a conformance.json with a baseline")
    dif.add_argument("report", type=Path)
    dif.add_argument("--baseline", type=Path, default=None, help="default: fixtures/baselines/<version>.json")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"gate: cannot read {args.report}: {exc}", file=sys.stderr)
        return 2
    current = snapshot(report)
    if args.command == "snapshot":
        print(json.dumps(current, indent=1))
        return 0
    baseline_path = args.baseline or BASELINES / f"{current['server_version']}.json"
    if not baseline_path.exists():
        print(f"gate: no baseline at {baseline_path}; create one with `snapshot`", file=sys.stderr)
        return 2
    baseline = json.loads(baseline_path.read_text())
    changes = diff(baseline, current)
    # Methods a version lacks show as ABSENT: list authorization changes first, they are what bites.
    presence = [c for c in changes if '"ABSENT"' in c or "(new)" in c or "(not run)" in c]
    decisions = [c for c in changes if c not in presence]
    print(
        f"gate: {current['server_version']} vs baseline {baseline.get('server_version')} ({baseline_path}): "
        f"{len(decisions)} authorization decision(s) changed, {len(presence)} cell(s) appeared or disappeared "
        f"(methods added or removed)"
    )
    for line in decisions + presence:
        print("  " + line)
    return 1 if changes else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
