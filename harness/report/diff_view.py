"""The upgrade gate's diff as a page: only what changed between two runs' decisions, sorted by what bites
(an allowed call now denied; a denied call now allowed), then methods that appeared or went absent."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.report.formatting import anchor_ids
from harness.report.grid_view import cell_key, cell_tests, compact_claims, shape_claims
from harness.report.security_diff import security_changes

NOT_RUN = "(not run)"
NEW = "(new)"


@dataclass(frozen=True)
class Kind:
    key: str
    short: str
    title: str
    hint: str
    by_method: bool = False  # a method that comes or goes changes every cell of its row: one line per method


REGRESSION = Kind(
    "regression", "regressed", "Regressions: allowed before, denied now", "calls that worked now fail"
)
NEWLY_ALLOWED = Kind(
    "allowed",
    "newly allowed",
    "Newly allowed: denied before, allowed now",
    "review each: a token now does more than it did",
)
APPEARED = Kind("appeared", "appeared", "Appeared", "methods or tests the baseline did not have", True)
ABSENT = Kind(
    "absent", "absent", "Absent", "methods this server lacks now, or tests this run did not run", True
)
OTHER = Kind(
    "other", "other", "Other changed observations", "errors, statuses and per-test observations that moved"
)


@dataclass(frozen=True)
class MethodChange:
    """Every changed cell of one method, within one kind: '36 cells: DENIED x30, ALLOWED x6 -> ABSENT'."""

    api: str
    surface: str
    cells: int
    before: str
    after: str


KINDS = (REGRESSION, NEWLY_ALLOWED, APPEARED, ABSENT, OTHER)


@dataclass(frozen=True)
class Change:
    kind: Kind
    section: str  # "grid" or "tests"
    key: str
    before: str
    after: str
    shape: str = ""
    api: str = ""
    column: str = ""
    surface: str = ""
    part: str = ""  # the call within a test that observes several ("read", "admin", ...)


@dataclass(frozen=True)
class DiffView:
    current_version: str
    baseline_version: str
    changes: list[Change]
    shape_claims: dict[str, str]
    test_links: dict[str, str]
    security: list[str] = field(default_factory=list)  # advisories fixed or reproduced, paths newly violated

    def of(self, kind: Kind) -> list[Change]:
        return [c for c in self.changes if c.kind is kind]

    def by_method(self, kind: Kind) -> list[MethodChange]:
        apis: dict[tuple[str, str], list[Change]] = {}
        for c in self.of(kind):
            if c.section == "grid":
                apis.setdefault((c.api, c.surface), []).append(c)
        return [
            MethodChange(api, surface, len(cs), _tally(c.before for c in cs), _tally(c.after for c in cs))
            for (api, surface), cs in sorted(apis.items())
        ]

    @property
    def decisions_changed(self) -> int:
        return sum(1 for c in self.changes if c.kind in (REGRESSION, NEWLY_ALLOWED, OTHER))

    @property
    def verdict_line(self) -> str:
        if not self.changes:
            return f"No decision changed: {self.current_version} decides as {self.baseline_version} did."
        counts = ", ".join(f"{len(self.of(k))} {k.short}" for k in KINDS if self.of(k))
        return (
            f"{self.decisions_changed} decision(s) changed between {self.baseline_version} and "
            f"{self.current_version}, {len(self.of(APPEARED)) + len(self.of(ABSENT))} appeared or absent "
            f"({counts})."
        )


def _tally(values: Iterable[str]) -> str:
    counts = Counter(values)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{v} \u00d7{n}" for v, n in counts.most_common())


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _kind(before: Any, after: Any) -> Kind:
    if after == NOT_RUN or after == "ABSENT":
        return ABSENT
    if before == NEW or before == "ABSENT":
        return APPEARED
    if (before, after) == ("ALLOWED", "DENIED"):
        return REGRESSION
    if (before, after) == ("DENIED", "ALLOWED"):
        return NEWLY_ALLOWED
    return OTHER


def _changes_of(section: str, key: str, before: Any, after: Any) -> list[Change]:
    shape = api = column = surface = ""
    if section == "grid":
        shape, api, column, surface = [*key.split(" x ", 3), "", "", ""][:4]
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            Change(
                _kind(before.get(p, NEW), after.get(p, NOT_RUN)),
                section,
                key,
                _text(before.get(p, NEW)),
                _text(after.get(p, NOT_RUN)),
                shape,
                api,
                column,
                surface,
                part=str(p),
            )
            for p in sorted(set(before) | set(after))
            if before.get(p) != after.get(p)
        ]
    if isinstance(before, list) and isinstance(after, list):
        gone = [_text(v) for v in before if v not in after]
        came = [_text(v) for v in after if v not in before]
        return [
            Change(
                OTHER,
                section,
                key,
                "no longer: " + ", ".join(gone) if gone else "-",
                "now also: " + ", ".join(came) if came else "-",
            )
        ]
    return [
        Change(_kind(before, after), section, key, _text(before), _text(after), shape, api, column, surface)
    ]


def classify(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
    """Every difference between two snapshots (gate.snapshot), one Change per cell or per observed call."""
    changes: list[Change] = []
    for section in ("grid", "tests"):
        old, new = baseline.get(section) or {}, current.get(section) or {}
        for key in sorted(set(old) | set(new)):
            before, after = old.get(key, NEW), new.get(key, NOT_RUN)
            if before != after:
                changes.extend(_changes_of(section, key, before, after))
    return changes


def build_diff_view(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    current_report: Mapping[str, Any] | None = None,
    report_href: str | None = None,
) -> DiffView:
    """Snapshots in; the full report of the current run, where there is one, adds the token shapes' claims
    and links into its report.html (report_href) for the tests."""
    shapes = ((current_report or {}).get("coverage") or {}).get("token_shapes")
    claims = {}
    if isinstance(shapes, dict):
        for name, shape in shapes.items():
            permissions = shape.get("permissions")
            full = shape_claims(shape)
            claims[name] = compact_claims(permissions) if permissions and not shape.get("anonymous") else full
    links: dict[str, str] = {}
    if current_report is not None and report_href is not None:
        nodeids = [str(t["nodeid"]) for t in current_report.get("tests") or []]
        anchors = anchor_ids(nodeids)
        links = {n: f"{report_href}#{a}" for n, a in zip(nodeids, anchors, strict=True)}
        grid = list(current_report.get("grid") or [])
        for cell, t in zip(grid, cell_tests(grid, {n: i for i, n in enumerate(nodeids)}), strict=True):
            if t >= 0:
                links[cell_key(cell)] = f"{report_href}#{anchors[t]}"
    return DiffView(
        current_version=str(current.get("server_version") or "this run"),
        baseline_version=str(baseline.get("server_version") or "the baseline"),
        changes=classify(baseline, current),
        shape_claims=claims,
        test_links=links,
        security=[c.line() for c in security_changes(baseline, current)],
    )
