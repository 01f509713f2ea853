"""The version matrix: several runs' conformance.json (each names its server version) merged into one
matrix.json and a page: per version and requirement a grade, per version the grid counted by access class
and token shape, and for each pair of adjacent versions the decisions that changed (the gate's diff).

    merged = merge_runs(load_runs(find_reports([Path("runs")])))
    write_matrix([Path("runs")], Path("matrix"))   # matrix.json, index.html, gate-<a>-to-<b>.html

The CLI (`temporal-authz matrix-merge`) and `nox -s matrix` are thin wrappers around these functions."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.report.diff_view import ABSENT, APPEARED, KINDS, build_diff_view
from harness.report.gate import as_snapshot, write_diff_html
from harness.report.grades import Grade, grade_of, is_conformant
from harness.report.grid_view import (
    ACCESS_LABELS,
    LETTERS,
    NOT_IN_TABLE,
    access_by_method,
    cell_key,
    expected_outcomes,
    shape_claims,
)
from harness.report.report_view import titles_of
from harness.types import ServerVersion, VersionError

MATRIX_VERSION = "1.0"
REPORT_NAME = "conformance.json"
# A requirement's grade on a version: the worst of its tests', except that a skipped test does not hide
# a passing one (SKIP only where every test skipped).
REQUIREMENT_GRADE_ORDER = (
    Grade.FAIL,
    Grade.HARNESS_ERROR,
    Grade.KNOWN,
    Grade.FINDING,
    Grade.PASS,
    Grade.SKIP,
)
ACCESS_ORDER = (*ACCESS_LABELS, NOT_IN_TABLE)
GRID_REQUIREMENT = "AUTHZ-MATRIX-001"  # the grid's cells are this requirement's decisions
TIMING_NAME = (
    "timing.json"  # beside a matrix run's conformance.json: how long provisioning and the suite took
)
CHANGES_LISTED = 200  # per pair and kind in matrix.json; the pair's own gate page lists every one


class MatrixError(ValueError):
    """Reports that cannot be merged: unreadable, without a server version, or two of one version."""


@dataclass(frozen=True)
class Run:
    version: str
    source: Path
    report: Mapping[str, Any]


def find_reports(inputs: Sequence[Path]) -> list[Path]:
    """Each input is a conformance.json, or a directory searched for them (a CI job's downloaded
    artifacts: one directory per job). A report in a directory below another report's (a sharded run's
    shards/N/) is part of that one and is not read again."""
    found: list[Path] = []
    for path in inputs:
        if path.is_dir():
            reports = sorted(path.rglob(REPORT_NAME))
            holders = {r.parent for r in reports}
            found.extend(r for r in reports if not holders.intersection(r.parent.parents))
        elif path.is_file():
            found.append(path)
        else:
            raise MatrixError(f"{path}: no such file or directory")
    if not found:
        raise MatrixError(f"no {REPORT_NAME} in {', '.join(map(str, inputs))}")
    return found


def _version_order(version: str) -> tuple[int, ...]:
    try:
        return ServerVersion.parse(version).parts
    except VersionError:
        return (1 << 30,)  # not a release (a --target's reported version, say): last


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """The reports, oldest version first."""
    runs: dict[str, Run] = {}
    for path in paths:
        try:
            report = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise MatrixError(f"{path}: cannot read: {exc}") from exc
        version = (report.get("server") or {}).get("version") if isinstance(report, dict) else None
        if not version:
            raise MatrixError(f"{path}: names no server version (server.version)")
        if version in runs:
            raise MatrixError(f"two reports of {version}: {runs[version].source} and {path}")
        runs[version] = Run(str(version), path, report)
    return sorted(runs.values(), key=lambda r: (_version_order(r.version), r.version))


def requirement_grade(counts: Mapping[str, int]) -> str:
    for grade in REQUIREMENT_GRADE_ORDER:
        if counts.get(grade.value):
            return grade.value
    return Grade.SKIP.value


def _requirements(runs: Sequence[Run]) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, Counter[str]]] = {}
    titles: dict[str, str] = {}
    for run in runs:
        titles.update(titles_of(run.report))
        for test in run.report.get("tests") or []:
            grade = grade_of(str(test.get("verdict")), test.get("evidence"))
            rid = str(test.get("requirement", ""))
            counts.setdefault(rid, {}).setdefault(run.version, Counter())[grade.value] += 1
    history = _history(runs)
    return [
        {
            "id": rid,
            "title": titles.get(rid, ""),
            **history.get(rid, {"introduced_in": None, "changed_in": []}),
            "versions": {
                version: {"grade": requirement_grade(c), "counts": dict(c)}
                for version, c in by_version.items()
            },
        }
        for rid, by_version in sorted(counts.items())
    ]


def _decisions(run: Run) -> dict[str, dict[str, Any]]:
    """Per requirement, its decisions on this run (test observations and grid cells), as the gate keys
    them; a skipped test decided nothing."""
    snap = as_snapshot(run.report)
    by_req: dict[str, dict[str, Any]] = {}
    for test in run.report.get("tests") or []:
        key = str(test.get("nodeid"))
        if test.get("verdict") == "SKIP" or key not in snap["tests"]:
            continue
        by_req.setdefault(str(test.get("requirement")), {})[key] = snap["tests"][key]
    # A cell belongs to its test's requirement (AUTHZ-HTTP-001, AUTHZ-ADMIN-001, ...), else to the grid's.
    requirement_of = {str(t.get("nodeid")): str(t.get("requirement")) for t in run.report.get("tests") or []}
    for cell in run.report.get("grid") or []:
        key = cell_key(cell)
        if key in snap["grid"]:
            rid = requirement_of.get(str(cell.get("test")), GRID_REQUIREMENT)
            by_req.setdefault(rid, {})[f"grid:{key}"] = snap["grid"][key]
    return by_req


def _history(runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """introduced_in: the first version (of these runs) where the requirement decided anything; changed_in:
    each version where a decision it shares with the version before it came out differently. Derived
    from the runs alone, never written by hand; the oldest run's introduced_in means "in or before"."""
    history: dict[str, dict[str, Any]] = {}
    previous: dict[str, dict[str, Any]] = {}
    for run in runs:
        current = _decisions(run)
        for rid, decisions in current.items():
            entry = history.setdefault(rid, {"introduced_in": run.version, "changed_in": []})
            before = previous.get(rid, {})
            changed = sorted(k for k in decisions.keys() & before.keys() if decisions[k] != before[k])
            if changed:
                entry["changed_in"].append(
                    {"version": run.version, "decisions": len(changed), "first": changed[0]}
                )
        previous = current
    return history


def _grid(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per access class and token shape; per version the cells' outcomes counted by letter (A, D,
    -, E) and the mismatches with the model."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        access = access_by_method(run.version)
        shapes = (run.report.get("coverage") or {}).get("token_shapes")
        shapes = shapes if isinstance(shapes, dict) else {}
        for cell in run.report.get("grid") or []:
            klass = access[str(cell["api"])][0] if str(cell["api"]) in access else NOT_IN_TABLE
            shape = str(cell["token_shape"])
            row = rows.setdefault(
                (klass, shape),
                {"access": klass, "shape": shape, "claims": shape_claims(shapes.get(shape)), "versions": {}},
            )
            tally = row["versions"].setdefault(run.version, {"A": 0, "D": 0, "-": 0, "E": 0, "mismatches": 0})
            observed = str(cell.get("observed"))
            tally[LETTERS.get(observed, "E")] += 1
            tally["mismatches"] += observed not in expected_outcomes(cell.get("expected")) or (
                grade_of(str(cell.get("verdict"))) is Grade.FAIL
            )

    def order(key: tuple[str, str]) -> tuple[int, str]:
        klass, shape = key
        return (ACCESS_ORDER.index(klass) if klass in ACCESS_ORDER else len(ACCESS_ORDER), shape)

    return [rows[key] for key in sorted(rows, key=order)]


def pair_page(older: str, newer: str) -> str:
    return f"gate-{older}-to-{newer}.html"


def _changes(older: Run, newer: Run) -> dict[str, Any]:
    """What the gate reports between two adjacent versions: decisions one by one, methods that appeared
    or went absent one line per method."""
    view = build_diff_view(as_snapshot(older.report), as_snapshot(newer.report))
    by_kind: dict[str, Any] = {}
    for kind in KINDS:
        changes = view.of(kind)
        if not changes:
            continue
        entry: dict[str, Any] = {"title": kind.title, "count": len(changes)}
        grid_by_method = kind.by_method and any(c.section == "grid" for c in changes)
        entry["methods"] = [
            {"api": m.api, "surface": m.surface, "cells": m.cells, "before": m.before, "after": m.after}
            for m in (view.by_method(kind) if grid_by_method else [])
        ]
        listed = [c for c in changes if not (grid_by_method and c.section == "grid")]
        entry["changes"] = [
            {"section": c.section, "key": c.key, "part": c.part, "before": c.before, "after": c.after}
            for c in listed[:CHANGES_LISTED]
        ]
        entry["not_listed"] = max(0, len(listed) - CHANGES_LISTED)
        by_kind[kind.key] = entry
    return {
        "from": older.version,
        "to": newer.version,
        "decisions_changed": view.decisions_changed,
        "appeared_or_absent": len(view.of(APPEARED)) + len(view.of(ABSENT)),
        "verdict_line": view.verdict_line,
        "page": pair_page(older.version, newer.version),
        "kinds": by_kind,
    }


def merge_runs(runs: Sequence[Run]) -> dict[str, Any]:
    """matrix.json: the runs (oldest version first), requirement grades, the grid by access class, and
    the changes between each pair of adjacent versions."""
    if not runs:
        raise MatrixError("no runs to merge")
    return {
        "matrix_version": MATRIX_VERSION,
        "versions": [r.version for r in runs],
        "runs": [
            {
                "version": r.version,
                "source": str(r.source),
                "backend": (r.report.get("server") or {}).get("backend"),
                "era": (r.report.get("server") or {}).get("era"),
                "exit_status": (r.report.get("run") or {}).get("exit_status"),
                "conformant": is_conformant(r.report.get("summary") or {}),
                "security": _security_of(r.report),
                "summary": {k: v for k, v in (r.report.get("summary") or {}).items() if k != "by_area"},
                "timing": _timing(r),
            }
            for r in runs
        ],
        "timings": _timings(runs),
        "access_labels": {**ACCESS_LABELS, NOT_IN_TABLE: "Methods not in the version's API table"},
        "requirements": _requirements(runs),
        "security": _security_table(runs),
        "grid": _grid(runs),
        "changes": [_changes(older, newer) for older, newer in pairwise(runs)],
    }


def _security_of(report: Mapping[str, Any]) -> dict[str, Any]:
    """A run's security verdict as the matrix lists it (None-safe for reports before schema 1.2)."""
    security = report.get("security") or {}
    return {
        "verdict": security.get("verdict", "not judged"),
        "line": security.get("line", "Security: not judged (a report before security verdicts)"),
        "vulnerable_to": list(security.get("vulnerable_to") or []),
        "violated": list(security.get("violated") or []),
    }


def _security_table(runs: Sequence[Run]) -> dict[str, Any]:
    """Per property and per advisory, its status on each version: which properties hold, which
    advisories reproduce (found by running each version, not copied from the advisories)."""
    properties: dict[str, dict[str, str]] = {}
    advisories: dict[str, dict[str, Any]] = {}
    for run in runs:
        security = run.report.get("security") or {}
        for pid, prop in (security.get("properties") or {}).items():
            properties.setdefault(pid, {})[run.version] = prop.get("status", "")
        for aid, row in (security.get("advisories") or {}).items():
            entry = advisories.setdefault(aid, {"title": row.get("title", ""), "versions": {}})
            entry["versions"][run.version] = {"status": row.get("status", ""), "line": row.get("line", "")}
    return {"properties": properties, "advisories": advisories}


def _timing(run: Run) -> dict[str, Any]:
    """The suite's wall time from the report, and provisioning as the matrix runner measured it (a cold
    run built the binary; a warm one found it cached)."""
    timing: dict[str, Any] = {"suite_s": (run.report.get("run") or {}).get("duration_s")}
    with contextlib.suppress(OSError, ValueError):
        timing.update(json.loads((run.source.parent / TIMING_NAME).read_text()))
    return timing


def _timings(runs: Sequence[Run]) -> dict[str, Any]:
    timings = [_timing(r) for r in runs]
    suites = [float(t["suite_s"]) for t in timings if t.get("suite_s") is not None]
    warm = [float(t["suite_s"]) for t in timings if t.get("suite_s") is not None and not t.get("cold")]
    totals = [float(t["total_s"]) for t in timings if t.get("total_s") is not None]
    return {
        "suite_s_total": round(sum(suites), 1),
        "suite_s_max": round(max(suites), 1) if suites else None,
        "warm_suite_s_mean": round(sum(warm) / len(warm), 1) if warm else None,
        "matrix_s_total": round(sum(totals), 1) if totals else None,
        "cold_runs": sum(1 for t in timings if t.get("cold")),
    }


def write_matrix(inputs: Sequence[Path], out: Path) -> list[Path]:
    """Merge the reports found in inputs into out/: matrix.json, index.html and, per adjacent pair, the
    gate's full page. Returns the files written."""
    from harness.report.matrix_html import write_matrix_html

    runs = load_runs(find_reports(inputs))
    merged = merge_runs(runs)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "matrix.json"]
    write_text_atomic(written[0], json.dumps(merged, indent=1) + "\n")
    for older, newer in pairwise(runs):
        page = out / pair_page(older.version, newer.version)
        write_diff_html(
            older.report,
            newer.report,
            page,
            baseline_label=f"{older.version} ({older.source})",
            current_label=f"{newer.version} ({newer.source})",
        )
        written.append(page)
    written.append(write_matrix_html(merged, out / "index.html"))
    return written
