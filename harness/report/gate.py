"""The upgrade gate: diff one run's decisions against a baseline of another version's.

    python -m harness.report.gate snapshot reports/conformance.json > fixtures/baselines/v1.32.2.json
    python -m harness.report.gate diff reports/conformance.json --baseline fixtures/baselines/v1.32.2.json
    python -m harness.report.gate diff reports/conformance.json --baseline old/conformance.json --html gate.html

A baseline holds decisions only (grid cells and per-test observations), so it is small and reviewable; a
whole conformance.json serves as one too. `--html` also writes the changes as a page (regressions, newly
allowed, appeared, absent): only what changed.
Exit status of `diff`: 0 no change, 1 decisions changed (each printed), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.errors import HarnessConfigError
from harness.report import tool_versions
from harness.report.diff_view import KINDS, build_diff_view
from harness.report.grid_view import cell_key
from harness.report.html import asset, environment
from harness.report.security_diff import SecurityChange, security_changes, security_snapshot

__all__ = ["SecurityChange", "security_changes", "security_snapshot"]

BASELINES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "baselines"
# Tests whose observation is a measurement or a random sample, not a decision: compared by verdict only.
MEASUREMENTS = {"AUTHZ-FUZZ-001"}


# What differs between any two runs and says nothing about the server: loopback ports (picked free per
# run) and the harness's per-server directory names, in door labels ("frontend grpcPort :44765
# (authz-server-...)") and in gRPC error texts ("ipv4:127.0.0.1:51005"). Every comparison strips them from
# both sides, so a gate lists decisions, not ports.
VOLATILE = (
    (re.compile(r"\b127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r" :\d+ \("), " :<port> ("),
    (re.compile(r"authz-server-[A-Za-z0-9_-]+"), "authz-server"),
)


def stable(value: Any) -> Any:
    """`value` without ports and server directory names; keys that become equal keep every value."""
    if isinstance(value, str):
        for pattern, replacement in VOLATILE:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [stable(v) for v in value]
    if isinstance(value, dict):
        groups: dict[str, list[Any]] = {}
        for key, item in value.items():
            groups.setdefault(stable(key), []).append(stable(item))
        return {
            key: items[0] if all(i == items[0] for i in items) else sorted({json.dumps(i) for i in items})
            for key, items in groups.items()
        }
    return value


GRID_TESTS = ("::test_cell[", "::test_http_cell[", "::test_admin_cell[")  # one test per grid cell


def snapshot(report: dict[str, Any]) -> dict[str, Any]:
    cells = {cell_key(c): c["observed"] for c in report.get("grid", [])}
    # A grid cell's test is compared once, as its cell (the HTTP and AdminService cells were listed twice);
    # a cell skipped where the surface is missing (HTTP before 1.22) is no test observation either.
    tests = {
        t["nodeid"]: stable(_observed(t))
        for t in report.get("tests", [])
        if not any(name in t["nodeid"] for name in GRID_TESTS) and not t.get("property")
    }
    snap: dict[str, Any] = {
        "server_version": report.get("server", {}).get("version"),
        "schema_version": report.get("schema_version"),
        "grid": dict(sorted(cells.items())),
        "tests": dict(sorted(tests.items())),
    }
    if report.get("security"):
        snap["security"] = security_snapshot(report["security"])
    if versions := tool_versions.recorded(report):
        snap["tool_versions"] = versions  # which versions made the decisions (the gate warns on a change)
    return snap


def as_snapshot(data: Mapping[str, Any]) -> dict[str, Any]:
    """A baseline file as it is, or the decisions of a whole conformance.json (its tests are a list)."""
    if isinstance(data.get("tests"), list):
        return snapshot(dict(data))
    return {**data, "tests": stable(dict(data.get("tests") or {}))}  # a baseline written before stable()


def render_diff_html(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    baseline_label: str = "baseline",
    current_label: str = "this run",
    report_href: str | None = None,
) -> str:
    """The diff of two runs as one offline page, in report.html's style. Either side may be a snapshot or
    a whole conformance.json; a whole current report adds the token shapes' claims and, with report_href
    (its report.html, relative to the page), a link from each change to the test's evidence."""
    current_report = current if isinstance(current.get("tests"), list) else None
    view = build_diff_view(as_snapshot(baseline), as_snapshot(current), current_report, report_href)
    return (
        environment()
        .get_template("gate_diff.html.j2")
        .render(
            d=view,
            kinds=KINDS,
            css=asset("report.css"),
            baseline_label=baseline_label,
            current_label=current_label,
        )
    )


def write_diff_html(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    path: Path,
    *,
    baseline_label: str = "baseline",
    current_label: str = "this run",
    report_html: Path | None = None,
) -> Path:
    """Write render_diff_html's page to path; report_html (the current run's report.html) is linked."""
    href = None
    if report_html is not None and report_html.exists():
        href = Path(os.path.relpath(report_html.resolve(), path.resolve().parent)).as_posix()
    write_text_atomic(
        path,
        render_diff_html(
            baseline, current, baseline_label=baseline_label, current_label=current_label, report_href=href
        ),
    )
    return path


def _observed(test: dict[str, Any]) -> Any:
    if test["requirement"] in MEASUREMENTS:
        return test["verdict"]
    evidence = test.get("evidence", {})
    return evidence.get("observed", test["verdict"])


NOT_RUN = "(not run)"
NEW = "(new)"
ABSENT_OUTCOME = "ABSENT"  # the version lacks the method


@dataclass(frozen=True)
class Change:
    """One decision that differs: a grid cell, or one call of a test's observation."""

    section: str  # "grid" or "tests"
    key: str
    part: str  # the call within a test's observation ("read", "write"), "" for a whole value
    before: Any
    after: Any

    @property
    def presence(self) -> bool:
        """A method or test that appeared or went away, not an authorization decision."""
        return any(v in (NOT_RUN, NEW, ABSENT_OUTCOME) for v in (self.before, self.after))

    def line(self) -> str:
        """`DescribeNamespace (WorkflowService), token NamespaceAdmin, Own namespace: ALLOWED -> DENIED`."""
        return f"{self.subject()}: {_text(self.before)} -> {_text(self.after)}"

    def subject(self) -> str:
        if self.section == "grid":
            shape, api, column, *surface = self.key.split(" x ")
            service, _, method = api.rpartition("/")
            on = f" over {surface[0]}" if surface else ""
            return f"{method} ({service}{on}), token {shape}, {column} namespace"
        return f"{self.key} [{self.part}]" if self.part else self.key


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def changes(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
    """Every decision that differs between two snapshots; a test's observation of several calls (a
    dict) is compared call by call."""
    found = []
    for section in ("grid", "tests"):
        old, new = baseline.get(section, {}), current.get(section, {})
        for key in sorted(set(old) | set(new)):
            before, after = old.get(key, NEW), new.get(key, NOT_RUN)
            if key not in new:
                found.append(Change(section, key, "", old[key], NOT_RUN))
            elif key not in old:
                found.append(Change(section, key, "", NEW, new[key]))
            elif isinstance(before, dict) and isinstance(after, dict):
                for part in sorted(set(before) | set(after)):
                    if before.get(part, NEW) != after.get(part, NOT_RUN):
                        found.append(
                            Change(section, key, part, before.get(part, NEW), after.get(part, NOT_RUN))
                        )
            elif before != after:
                found.append(Change(section, key, "", before, after))
    return found


def diff(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The changes as lines a person reads, authorization decisions first."""
    found = changes(baseline, current)
    return [c.line() for c in found if not c.presence] + [c.line() for c in found if c.presence]


def packaged_baseline(version: str) -> Path:
    """fixtures/baselines/<version>.json (it may not exist: see packaged_baseline_versions)."""
    return BASELINES / f"{version}.json"


def packaged_baseline_versions() -> list[str]:
    return sorted(p.stem for p in BASELINES.glob("v*.json"))


def read_json(path: Path) -> dict[str, Any] | None:
    """The file's JSON object, or None (the reason printed) when it cannot be read; HarnessConfigError
    when it holds JSON of another kind."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"gate: cannot read {path}: {exc}", file=sys.stderr)
        return None
    if not isinstance(data, dict):
        raise HarnessConfigError(f"{path} is {kind_of(data)}, not {REPORT} or {BASELINE}")
    return data


REPORT = "a run's conformance.json"
BASELINE = "a baseline (decisions only, as fixtures/baselines/ and `snapshot` write them)"


def kind_of(data: Any) -> str:
    """What a JSON document is, as a person names it: a run's report, a baseline, or another file."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__.replace('dict', 'object').replace('list', 'array')}"
    if isinstance(data.get("tests"), list):
        return REPORT
    if isinstance(data.get("tests"), dict) and isinstance(data.get("grid"), dict):
        return BASELINE
    known = (
        ("matrix_version", "a version matrix (matrix-merge's matrix.json)"),
        ("principals", "a profile or its report"),
        ("input", "a fuzz case"),
        ("keys", "a JWKS key set"),
    )
    for key, kind in known:
        if key in data:
            return kind
    return f"a JSON object with {', '.join(sorted(map(str, data))[:4]) or 'no members'}"


def require_kind(data: Any, path: Path, role: str, accepted: Sequence[str]) -> None:
    """HarnessConfigError (bad input) naming what the file is and what was expected."""
    kind = kind_of(data)
    if kind not in accepted:
        hint = (
            ": pass it as --baseline, and a run's conformance.json as the report" if kind == BASELINE else ""
        )
        raise HarnessConfigError(f"the {role} {path} is {kind}, not {' or '.join(accepted)}{hint}")


def not_this_run(report: Mapping[str, Any], run_tag: str) -> str:
    """Why a report is not the one a run just wrote ("" when it is): another run's tag, or a run whose
    workers did not all report."""
    run = report.get("run") or {}
    if run.get("tag") != run_tag:
        return f"it was written by run {run.get('tag')!r}, not by this run ({run_tag!r})"
    if run.get("complete") is False:
        return "its run is incomplete (a worker sent no report)"
    return ""


def diff_files(
    report_path: Path, baseline_path: Path | None = None, html: Path | None = None, run_tag: str = ""
) -> int:
    """Compare a conformance.json with a baseline (default: the packaged one of its version); print every
    change, and with html write them as a page. With run_tag, the report must be that run's (complete).
    Exit status: 0 no change, 1 changed, 2 an unreadable file or not this run's report; a file of the
    wrong kind (a baseline given as the report) is a HarnessConfigError (`temporal-authz gate`: exit 4)."""
    report = read_json(report_path)
    if report is None:
        return 2
    require_kind(report, report_path, "report", (REPORT,))
    if run_tag and (why := not_this_run(report, run_tag)):
        print(f"gate: {report_path} is refused: {why}; nothing was compared", file=sys.stderr)
        return 2
    current = snapshot(report)
    baseline_path = baseline_path or packaged_baseline(str(current["server_version"]))
    if not baseline_path.exists():
        print(
            f"gate: no baseline at {baseline_path}; create one with `snapshot` (packaged baselines: "
            f"{', '.join(packaged_baseline_versions()) or 'none'})",
            file=sys.stderr,
        )
        return 2
    baseline_data = read_json(baseline_path)
    if baseline_data is None:
        return 2
    require_kind(baseline_data, baseline_path, "baseline", (BASELINE, REPORT))
    baseline = as_snapshot(baseline_data)
    found = changes(baseline, current)
    if warning := tool_versions.warning(baseline_data, report):
        print(warning)
    if html is not None:
        write_diff_html(
            baseline,
            report,
            html,
            baseline_label=str(baseline_path),
            current_label=str(report_path),
            report_html=report_path.with_name("report.html"),
        )
    return print_changes(
        found,
        str(baseline.get("server_version")),
        str(current["server_version"]),
        html,
        security_changes(baseline, current),
    )


def print_changes(
    found: list[Change],
    older: str,
    newer: str,
    html: Path | None = None,
    security: Sequence[SecurityChange] = (),
) -> int:
    """Print each change: security first (advisories fixed or reproduced, properties newly violated),
    then authorization decisions (methods a version lacks are listed after: they are not what bites).
    Exit status 1 when anything changed, else 0."""
    decisions = [c for c in found if not c.presence]
    presence = [c for c in found if c.presence]
    if security:
        fixed = sum(1 for c in security if c.kind == "advisory" and c.before == "VULNERABLE")
        worse = sum(1 for c in security if c.worse)
        print(
            f"gate: {older} -> {newer}: security: {len(security)} change(s) "
            f"({fixed} advisory(ies) fixed, {worse} newly violated or vulnerable)"
        )
        for sec in security:
            print("  " + sec.line())
    print(
        f"gate: {older} -> {newer}: {len(decisions)} authorization decision(s) changed, "
        f"{len(presence)} cell(s) or test(s) appeared or disappeared (methods added or removed)"
    )
    for change in decisions + presence:
        print("  " + change.line())
    if html is not None:
        print(f"gate: the changes as a page: {html}")
    return 1 if found or security else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.gate")
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="print the decisions of a conformance.json as a baseline")
    snap.add_argument("report", type=Path)
    dif = sub.add_parser("diff", help="compare a conformance.json with a baseline")
    dif.add_argument("report", type=Path)
    dif.add_argument("--baseline", type=Path, default=None, help="default: fixtures/baselines/<version>.json")
    dif.add_argument("--html", type=Path, default=None, help="also write the changes as a page here")
    dif.add_argument(
        "--run-tag", default="", help="refuse a report that this run (AUTHZ_RUN_TAG) did not write"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "diff":
            return diff_files(args.report, args.baseline, args.html, args.run_tag)
        report = read_json(args.report)
        if report is None:
            return 2
        require_kind(report, args.report, "report", (REPORT,))
    except HarnessConfigError as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(snapshot(report), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
