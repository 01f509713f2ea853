"""What report.html shows, computed from conformance.json (the dict Recorder.to_json() returns)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.report.formatting import anchor_ids, metric_rows, plain, seconds
from harness.report.grades import (
    DISPLAY_ORDER,
    MIN_PASSED_SHARE,
    Grade,
    grade_of,
    is_conformant,
    passed_share,
    shows_evidence,
)
from harness.report.grid_view import CELL_FIELDS, GridView, build_grid
from harness.report.verdict_lines import conformance_line
from harness.requirements import CatalogueError, load_catalogue
from harness.security.catalogue import load_properties

_WHAT_FAILED_SHOWN = 4


@dataclass(frozen=True)
class TestRow:
    index: int
    anchor: str
    nodeid: str
    requirement: str
    verdict: str
    grade: Grade
    duration: str
    surface: str
    grid_shape: str = ""  # the token shape of the grid cell whose evidence this test holds ("": none)
    path: str = ""  # a security test: its property path ("SEC-P2/batch"); "" for a conformance test

    @property
    def name(self) -> str:
        return self.nodeid.rpartition("::")[2]

    @property
    def module(self) -> str:
        return self.nodeid.partition("::")[0]

    @property
    def in_grid(self) -> bool:
        return bool(self.grid_shape)


@dataclass(frozen=True)
class PathView:
    id: str
    title: str
    status: str
    tests: list[TestRow]


@dataclass(frozen=True)
class AdvisoryView:
    id: str
    names: str
    title: str
    status: str
    line: str
    fix: str
    url: str
    cases: list[tuple[str, str]]


@dataclass(frozen=True)
class SecurityView:
    verdict: str
    line: str
    vulnerable: list[str]
    properties: list[tuple[str, str, str, list[PathView]]]  # id, title, status, paths
    advisories: list[AdvisoryView]

    @property
    def ok(self) -> bool:
        return self.verdict == "holds"


def _security(data: Mapping[str, Any], rows: list[TestRow]) -> SecurityView:
    security = data.get("security")
    if not security:
        return SecurityView(
            "not shown", "Security: not judged (this report predates security verdicts)", [], [], []
        )
    by_path: dict[str, list[TestRow]] = {}
    for r in rows:
        if r.path:
            by_path.setdefault(r.path, []).append(r)
    try:
        titles = {p.id: p.title for prop in load_properties().values() for p in prop.paths.values()}
    except (CatalogueError, OSError):
        titles = {}
    properties = [
        (
            pid,
            str(prop.get("title", "")),
            str(prop.get("status", "")),
            [
                PathView(f"{pid}/{name}", titles.get(f"{pid}/{name}", ""), str(path.get("status", "")),
                         by_path.get(f"{pid}/{name}", []))
                for name, path in (prop.get("paths") or {}).items()
            ],
        )
        for pid, prop in (security.get("properties") or {}).items()
    ]  # fmt: skip
    advisories = [
        AdvisoryView(
            aid, str(row.get("names", aid)), str(row.get("title", "")), str(row.get("status", "")),
            str(row.get("line", "")), str(row.get("fix", "")), str(row.get("url", "")),
            [(str(c), str(st)) for c, st in (row.get("cases") or {}).items()],
        )
        for aid, row in (security.get("advisories") or {}).items()
    ]  # fmt: skip
    return SecurityView(
        verdict=str(security.get("verdict", "")),
        line=str(security.get("line", "")),
        vulnerable=[a.line for a in advisories if a.status == "VULNERABLE"],
        properties=properties,
        advisories=advisories,
    )


@dataclass(frozen=True)
class FindingView:
    requirement: str
    title: str
    doc: str
    doc_claim: str
    finding: str
    status: str
    why: list[str]
    tests: list[TestRow]
    verdicts: str


@dataclass(frozen=True)
class FailureView:
    test: TestRow
    title: str
    expected: str
    observed: str
    message: str


@dataclass(frozen=True)
class Killer:
    requirement: str
    test: TestRow | None
    nodeid: str
    observed: str
    mutant_expects: str


@dataclass(frozen=True)
class MutantRow:
    name: str
    area: str
    description: str
    killed: bool
    killed_by: list[Killer]


@dataclass(frozen=True)
class MutantsView:
    total: int
    killed: int
    survived: list[str]
    questions_replayed: str
    replay: str
    rows: list[MutantRow]


@dataclass(frozen=True)
class RequirementRow:
    id: str
    title: str
    tests: int
    grades: list[tuple[Grade, int]]


@dataclass
class ReportView:
    title: str
    server: list[tuple[str, str]]
    run: list[tuple[str, str]]
    conformant: bool
    verdict_line: str
    headline_verdict: str  # "Conformant to v1.32.2's rules: yes." (the security verdict follows it)
    security: SecurityView
    findings_confirmed: int
    total: int
    grades: list[tuple[Grade, int]]
    failures: list[FailureView]
    findings: list[FindingView]
    grid: GridView
    metrics: list[tuple[str, str]]
    coverage: list[tuple[str, str]]
    mutants: MutantsView | None
    requirements: list[RequirementRow]
    tests: list[TestRow]
    evidence: dict[str, Any] = field(repr=False)

    @property
    def surfaces(self) -> list[str]:
        return sorted({t.surface for t in self.tests if t.surface} | set(self.grid.surfaces))

    @property
    def headline(self) -> list[tuple[str, str]]:
        """The facts under the title: the server's version, era and backend."""
        wanted = ("version", "era", "backend")
        return [(label, value) for label, value in self.server if label in wanted]

    @property
    def grid_tests(self) -> int:
        return sum(1 for t in self.tests if t.in_grid)


def titles_of(data: Mapping[str, Any]) -> dict[str, str]:
    """Requirement titles: the findings carry theirs; the rest come from the catalogue, if it loads."""
    try:
        titles = {rid: req.title for rid, req in load_catalogue().items()}
    except (CatalogueError, OSError):
        titles = {}
    titles.update(
        {f["requirement"]: f.get("title", "") for f in data.get("findings") or [] if f.get("title")}
    )
    return titles


def _readable(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_readable(v)}" for k, v in value.items())
    return plain(value)


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _verdict_line(conformant: bool, summary: Mapping[str, Any], findings: int, failed: list[TestRow]) -> str:
    confirmed = f"{_count(findings, 'finding')} confirmed"
    total = int(summary.get("total") or 0)
    if total == 0:
        return f"No test ran: nothing is shown conformant; {confirmed}."
    if not failed and not shows_evidence(dict(summary)):
        skipped = int(summary.get("SKIP") or 0)
        return (
            f"Nothing shown: only {passed_share(dict(summary)):.0%} of {total:,} tests passed ({skipped:,} "
            f"skipped); a run is called conformant when at least {MIN_PASSED_SHARE:.0%} pass; {confirmed}."
        )
    if conformant:
        skipped = int(summary.get("SKIP") or 0)
        known = int(summary.get("KNOWN") or 0)
        extra = "".join(
            [
                f", {skipped:,} skipped" if skipped else "",
                f", {_count(known, 'known deviation')}" if known else "",
            ]
        )
        return f"Conformant: {total:,} tests, none failed{extra}; {confirmed}."
    by_req = Counter(t.requirement for t in failed)
    named = [f"{rid} ({_count(n, 'test')})" for rid, n in by_req.most_common(_WHAT_FAILED_SHOWN)]
    if len(by_req) > _WHAT_FAILED_SHOWN:
        named.append(_count(len(by_req) - _WHAT_FAILED_SHOWN, "more requirement"))
    fails, errors = int(summary.get("FAIL") or 0), int(summary.get("HARNESS_ERROR") or 0)
    counts = [f"{fails:,} failed" if fails else "", _count(errors, "harness error") if errors else ""]
    return f"Not conformant: {', '.join(c for c in counts if c)} of {total:,} tests: {', '.join(named)}; {confirmed}."


def _mutants(data: Mapping[str, Any], rows_by_nodeid: Mapping[str, TestRow]) -> MutantsView | None:
    mutants = data.get("mutants")
    if not mutants:
        return None
    return MutantsView(
        total=int(mutants.get("total") or 0),
        killed=int(mutants.get("killed") or 0),
        survived=list(mutants.get("survived") or []),
        questions_replayed=plain(mutants.get("questions_replayed")),
        replay=seconds(float(mutants["replay_s"])) if "replay_s" in mutants else "-",
        rows=[
            MutantRow(
                name=str(m.get("name")),
                area=str(m.get("area", "")),
                description=str(m.get("description", "")),
                killed=bool(m.get("killed")),
                killed_by=[
                    Killer(
                        str(k.get("requirement", "")),
                        rows_by_nodeid.get(str(k.get("test"))),
                        str(k.get("test", "")),
                        str(k.get("observed", "")),
                        str(k.get("mutant_expects", "")),
                    )
                    for k in m.get("killed_by") or []
                ],
            )
            for m in mutants.get("mutants") or []
        ],
    )


def _tokens_once(
    tests: list[Mapping[str, Any]],
) -> tuple[list[tuple[dict[str, Any], int]], list[Any]]:
    """Each test's evidence without its decoded token, and the index of that token in one list of the run's
    distinct tokens: the grid's 5,000 cells carry some twenty tokens, and the page carries each once."""
    tokens: list[Any] = []
    index: dict[str, int] = {}
    shared = []
    for t in tests:
        evidence = dict(t.get("evidence") or {})
        token = -1
        if "claims" in evidence:
            claims = evidence.pop("claims")
            key = json.dumps(claims, sort_keys=True, default=str)
            token = index.setdefault(key, len(tokens))
            if token == len(tokens):
                tokens.append(claims)
        shared.append((evidence, token))
    return shared, tokens


def _coverage(coverage: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in coverage.items():
        shown = f"{len(value):,}" if isinstance(value, dict) else plain(value)
        rows.append((key.replace("_", " "), shown))
    return rows


def build_view(data: Mapping[str, Any]) -> ReportView:
    tests: list[Mapping[str, Any]] = list(data.get("tests") or [])
    anchors = anchor_ids(str(t["nodeid"]) for t in tests)
    grid = build_grid(data, {str(t["nodeid"]): i for i, t in enumerate(tests)})
    shape_at, test_at = CELL_FIELDS.index("token_shape"), CELL_FIELDS.index("test")
    grid_shapes = {cell[test_at]: str(cell[shape_at]) for cell in grid.cells if cell[test_at] >= 0}
    rows = [
        TestRow(
            index=i,
            anchor=anchors[i],
            nodeid=str(t["nodeid"]),
            requirement=str(t.get("requirement", "")),
            verdict=str(t.get("verdict", "")),
            grade=grade_of(str(t.get("verdict")), t.get("evidence")),
            duration=seconds(float(t.get("duration_s") or 0)),
            surface=str((t.get("evidence") or {}).get("surface") or ""),
            grid_shape=grid_shapes.get(i, ""),
            path=f"{t['property']}/{t.get('path', '')}" if t.get("property") else "",
        )
        for i, t in enumerate(tests)
    ]
    by_nodeid = {r.nodeid: r for r in rows}
    titles = titles_of(data)
    summary = data.get("summary") or {}
    grade_counts = Counter(r.grade for r in rows if not r.path)
    # Conformance's failures; a violated property is the security verdict's (its own section).
    failed = [r for r in rows if r.grade in (Grade.FAIL, Grade.HARNESS_ERROR) and not r.path]
    findings = list(data.get("findings") or [])
    confirmed = sum(1 for f in findings if f.get("status") == "confirmed")
    conformant = is_conformant(summary) and not failed
    requirements: dict[str, Counter[Grade]] = {}
    for r in rows:
        requirements.setdefault(r.requirement, Counter())[r.grade] += 1
    server = data.get("server") or {}
    run = data.get("run") or {}
    shared, tokens = _tokens_once(tests)
    return ReportView(
        title=f"Temporal authz conformance: {server.get('version') or 'unknown server'} "
        f"({server.get('backend') or 'unknown backend'})",
        server=[(k.replace("_", " "), plain(v) if v != {} else "none") for k, v in server.items()],
        run=[
            ("started", str(run.get("started_at", "-"))),
            ("finished", str(run.get("finished_at", "-"))),
            ("took", seconds(float(run.get("duration_s") or 0))),
            ("exit status", plain(run.get("exit_status"))),
            ("tool", plain((data.get("tool") or {}).get("name"))),
            ("python", plain((data.get("tool") or {}).get("python"))),
            ("schema", plain(data.get("schema_version"))),
        ],
        conformant=conformant,
        verdict_line=_verdict_line(conformant, summary, confirmed, failed),
        headline_verdict=conformance_line(summary, str(server.get("version") or "this server")),
        security=_security(data, rows),
        findings_confirmed=confirmed,
        total=sum(1 for r in rows if not r.path),
        grades=[(g, grade_counts[g]) for g in DISPLAY_ORDER if grade_counts[g] or g is Grade.PASS],
        failures=[
            FailureView(
                test=r,
                title=titles.get(r.requirement, ""),
                expected=_readable((tests[r.index].get("evidence") or {}).get("expected")),
                observed=_readable((tests[r.index].get("evidence") or {}).get("observed")),
                message=_first_line(str(tests[r.index].get("message") or "")),
            )
            for r in failed
        ],
        findings=[
            FindingView(
                requirement=str(f["requirement"]),
                title=str(f.get("title") or titles.get(f["requirement"], "")),
                doc=str(f.get("doc", "")),
                doc_claim=str(f.get("doc_claim", "")),
                finding=str(f.get("finding", "")),
                status=str(f.get("status", "")),
                why=[str(w) for w in f.get("why") or []],
                tests=[by_nodeid[n] for n in f.get("evidence") or [] if n in by_nodeid],
                verdicts=", ".join(f"{n} {v}" for v, n in (f.get("verdicts") or {}).items()),
            )
            for f in findings
        ],
        grid=grid,
        metrics=metric_rows(dict(data.get("metrics") or {})),
        coverage=_coverage(data.get("coverage") or {}),
        mutants=_mutants(data, by_nodeid),
        requirements=[
            RequirementRow(
                rid, titles.get(rid, ""), sum(c.values()), [(g, c[g]) for g in DISPLAY_ORDER if c[g]]
            )
            for rid, c in sorted(requirements.items())
        ],
        tests=rows,
        evidence={
            "tests": [
                {
                    "id": rows[i].anchor,
                    "nodeid": t["nodeid"],
                    "requirement": t.get("requirement"),
                    "verdict": t.get("verdict"),
                    "grade": rows[i].grade.value,
                    "duration": rows[i].duration,
                    "evidence": evidence,
                    "token": token,
                    "message": t.get("message") or "",
                }
                for i, (t, (evidence, token)) in enumerate(zip(tests, shared, strict=True))
            ],
            "tokens": tokens,
            "cellFields": list(CELL_FIELDS),
            "cells": grid.cells,
            "shapes": {s.name: {"claims": s.claims, "note": s.note} for s in grid.shapes},
            "titles": {rid: titles.get(rid, "") for rid in requirements},
        },
    )
