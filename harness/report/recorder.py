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
from typing import Any

from harness.requirements import Requirement
from harness.types import Verdict

SCHEMA_VERSION = "1.0"


@dataclass
class CaseRecord:
    nodeid: str
    requirement: str
    verdict: Verdict
    duration_s: float
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    cell: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nodeid": self.nodeid,
            "requirement": self.requirement,
            "verdict": self.verdict.value,
            "duration_s": round(self.duration_s, 4),
        }
        if self.evidence:
            data["evidence"] = self.evidence
        if self.message:
            data["message"] = self.message[:4000]
        return data


@dataclass
class Recorder:
    catalogue: Mapping[str, Requirement]
    started_at: float = field(default_factory=time.time)
    server: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    records: list[CaseRecord] = field(default_factory=list)

    def add(self, record: CaseRecord) -> None:
        self.records.append(record)

    def metric(self, name: str, value: Any) -> None:
        self.metrics[name] = value

    def add_metric_sample(self, name: str, value: float) -> None:
        self.metrics.setdefault(name, []).append(round(value, 4))

    # -- views -------------------------------------------------------------------------------
    def grid(self) -> list[dict[str, Any]]:
        cells = []
        for r in self.records:
            if r.cell is not None:
                cells.append({**r.cell, "verdict": r.verdict.value})
        return cells

    def findings(self) -> list[dict[str, Any]]:
        """Requirements that contradict a public doc, with the tests that showed how the server behaves."""
        by_req: dict[str, list[CaseRecord]] = {}
        for r in self.records:
            by_req.setdefault(r.requirement, []).append(r)
        found = []
        for rid, records in sorted(by_req.items()):
            req = self.catalogue.get(rid)
            if req is None or not req.is_finding:
                continue
            verdicts = Counter(r.verdict.value for r in records)
            confirmed = verdicts.get("PASS", 0) > 0 and verdicts.get("FAIL", 0) == 0
            found.append(
                {
                    "requirement": rid,
                    "title": req.title,
                    "doc": req.doc,
                    "doc_claim": req.doc_claim,
                    "server_behaviour": req.title,
                    "status": "confirmed" if confirmed else "not confirmed in this run",
                    "evidence": [r.nodeid for r in records][:10],
                    "verdicts": dict(verdicts),
                }
            )
        return found

    def summary(self) -> dict[str, Any]:
        verdicts = Counter(r.verdict.value for r in self.records)
        by_area: dict[str, Counter[str]] = {}
        for r in self.records:
            area = r.requirement.split("-")[1] if r.requirement.count("-") >= 2 else "UNTAGGED"
            by_area.setdefault(area, Counter())[r.verdict.value] += 1
        return {
            "total": len(self.records),
            **{v.value: verdicts.get(v.value, 0) for v in Verdict},
            "by_area": {area: dict(c) for area, c in sorted(by_area.items())},
            "requirements_exercised": len({r.requirement for r in self.records}),
        }

    def to_json(self, exit_status: int | None = None) -> dict[str, Any]:
        finished = time.time()
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "temporal-authz-conformance", "python": platform.python_version()},
            "run": {
                "started_at": _iso(self.started_at),
                "finished_at": _iso(finished),
                "duration_s": round(finished - self.started_at, 3),
                "exit_status": exit_status,
            },
            "server": self.server,
            "metrics": self.metrics,
            "summary": self.summary(),
            "findings": self.findings(),
            "coverage": self.coverage,
            "grid": self.grid(),
            "tests": [r.as_dict() for r in self.records],
        }

    def write(self, path: Path, exit_status: int | None = None) -> dict[str, Any]:
        data = self.to_json(exit_status)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")
        return data


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
