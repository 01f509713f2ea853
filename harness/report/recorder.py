"""Collects per-test verdicts and evidence during a run and writes reports/conformance.json."""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.atomic import write_text_atomic
from harness.report.tool_versions import installed
from harness.requirements import Requirement
from harness.security.verdicts import security_summary
from harness.types import Verdict

if TYPE_CHECKING:
    from harness.cases.ask import Asked

SCHEMA_VERSION = "1.2"


@dataclass
class CaseRecord:
    nodeid: str
    requirement: str
    verdict: Verdict
    duration_s: float
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    cell: dict[str, Any] | None = None
    asked: list[Asked] = field(default_factory=list, repr=False)  # for the mutant replay only
    # A security property test (fixtures/properties.yaml): its verdict is the property's on this path,
    # counted in the security verdict and never in conformance's.
    prop: str = ""
    path: str = ""

    @property
    def finding_holds(self) -> bool | None:
        value = self.evidence.get("finding_holds")
        return value if isinstance(value, bool) else None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nodeid": self.nodeid,
            "requirement": self.requirement,
            "verdict": self.verdict.value,
            "duration_s": round(self.duration_s, 4),
        }
        if self.prop:
            data["property"], data["path"] = self.prop, self.path
        if self.evidence:
            data["evidence"] = self.evidence
        if self.message:
            data["message"] = self.message[:4000]
        return data


def finding_of(req: Requirement, records: list[CaseRecord]) -> dict[str, Any]:
    """A finding is a statement about this server version, derived from this run's observations.

    confirmed: every test of the requirement passed and each observed what the finding states.
    not confirmed: a test did not pass, or did not observe the finding's subject (the reasons listed).
    refuted: every test passed and each observed the opposite: on this version the doc is right."""
    verdicts = Counter(r.verdict.value for r in records)
    why = [f"{r.nodeid}: {r.verdict.value}" for r in records if r.verdict is not Verdict.PASS]
    holds = [r.finding_holds for r in records if r.finding_holds is not None]
    if why:
        status = "not confirmed"
    elif not holds:
        status = "not confirmed"
        why = ["no test of this run observed what the finding is about"]
    elif all(holds):
        status = "confirmed"
    elif not any(holds):
        status = "refuted"
        why = ["every test observed what the doc says: no finding on this version"]
    else:
        status = "not confirmed"
        why = [
            f"{r.nodeid}: finding {'held' if r.finding_holds else 'did not hold'}"
            for r in records
            if r.finding_holds is not None
        ]
    return {
        "requirement": req.id,
        "title": req.title,
        "finding": req.finding,
        "doc": req.doc,
        "doc_claim": req.doc_claim,
        "status": status,
        "why": why[:20],
        "evidence": [r.nodeid for r in records][:10],
        "verdicts": dict(verdicts),
    }


@dataclass
class Recorder:
    catalogue: Mapping[str, Requirement]
    started_at: float = field(default_factory=time.time)
    run_tag: str = ""  # AUTHZ_RUN_TAG of the process that ran: a merge refuses a report of another run
    server: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    mutants: dict[str, Any] = field(default_factory=dict)
    records: list[CaseRecord] = field(default_factory=list)

    def add(self, record: CaseRecord) -> None:
        self.records.append(record)

    def metric(self, name: str, value: Any) -> None:
        self.metrics[name] = value

    def add_metric_sample(self, name: str, value: float) -> None:
        self.metrics.setdefault(name, []).append(round(value, 4))

    # -- views -------------------------------------------------------------------------------
    def grid(self) -> list[dict[str, Any]]:
        """The grid's cells, each naming the test that holds its evidence (report.html links them)."""
        return [
            {**r.cell, "verdict": r.verdict.value, "test": r.nodeid}
            for r in self.records
            if r.cell is not None
        ]

    @property
    def conformance_records(self) -> list[CaseRecord]:
        return [r for r in self.records if not r.prop]

    def findings(self) -> list[dict[str, Any]]:
        by_req: dict[str, list[CaseRecord]] = {}
        for r in self.conformance_records:
            by_req.setdefault(r.requirement, []).append(r)
        found = []
        for rid, records in sorted(by_req.items()):
            req = self.catalogue.get(rid)
            if req is not None and req.is_finding:
                found.append(finding_of(req, records))
        return found

    def summary(self) -> dict[str, Any]:
        """Conformance's counts: the property tests are the security verdict's (security())."""
        records = self.conformance_records
        verdicts = Counter(r.verdict.value for r in records)
        by_area: dict[str, Counter[str]] = {}
        for r in records:
            area = r.requirement.split("-")[1] if r.requirement.count("-") >= 2 else "UNTAGGED"
            by_area.setdefault(area, Counter())[r.verdict.value] += 1
        return {
            "total": len(records),
            **{v.value: verdicts.get(v.value, 0) for v in Verdict},
            "by_area": {area: dict(c) for area, c in sorted(by_area.items())},
            "requirements_exercised": len({r.requirement for r in records}),
        }

    def security(self) -> dict[str, Any]:
        return security_summary(
            [r.as_dict() for r in self.records if r.prop],
            self.server.get("version"),
            cluster=self.server.get("backend") == "external",
        )

    def to_json(self, exit_status: int | None = None) -> dict[str, Any]:
        finished = time.time()
        data = {
            "schema_version": SCHEMA_VERSION,
            "tool": {
                "name": "temporal-authz-conformance",
                "python": platform.python_version(),
                "versions": installed(),  # the packages a verdict depends on (constraints.txt pins them)
            },
            "run": {
                "started_at": _iso(self.started_at),
                "finished_at": _iso(finished),
                "duration_s": round(finished - self.started_at, 3),
                "exit_status": exit_status,
                "tag": self.run_tag,
            },
            "server": self.server,
            "metrics": self.metrics,
            "summary": self.summary(),
            "security": self.security(),
            "findings": self.findings(),
            "coverage": self.coverage,
            "grid": self.grid(),
            "tests": [r.as_dict() for r in self.records],
        }
        if self.mutants:
            data["mutants"] = self.mutants
        return data

    def write(self, path: Path, exit_status: int | None = None) -> dict[str, Any]:
        data = self.to_json(exit_status)
        write_text_atomic(path, json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")
        return data


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
