"""One run's conformance.json from its workers' parts (pytest-xdist: harness/xdist_plugin.py).

Each worker runs whole test files with servers and a JWKS fixture of its own, records its cases, replays
its own model questions under the mutants (--mutants) and measures its own speed; the controller merges
the parts here, as if one process had run every test. A mutant counts as killed when any worker killed
it: workers replay their own questions and the merge takes the union.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.recorder import SCHEMA_VERSION, CaseRecord, Recorder
from harness.report.speed import merged_speed
from harness.requirements import load_catalogue
from harness.security.verdicts import security_summary
from harness.types import Verdict


def merge_reports(
    parts: Sequence[Mapping[str, Any]], wall_s: float | None = None, cpu_s: float | None = None
) -> dict[str, Any]:
    """One conformance.json from the workers' (all of one server version). metrics.speed is the whole
    run's (harness.report.speed), never one worker's: from `wall_s` and `cpu_s` where the controller
    measured them, else the longest worker's wall time and the sum of the workers' CPU."""
    versions = {json.dumps(v) for p in parts if (v := (p.get("server") or {}).get("version"))}
    if len(versions) > 1:
        raise ValueError(f"workers ran different server versions: {sorted(versions)}")
    tests = [t for p in parts for t in p.get("tests", [])]
    grid = [c for p in parts for c in p.get("grid", [])]
    # The recorder's own rules for the summary and the findings, over every worker's records.
    recorder = Recorder(catalogue=load_catalogue())
    recorder.records = [
        CaseRecord(t["nodeid"], t["requirement"], Verdict(t["verdict"]), float(t.get("duration_s") or 0.0),
                   t.get("evidence") or {}, t.get("message") or "", prop=t.get("property") or "",
                   path=t.get("path") or "")
        for t in tests
    ]  # fmt: skip
    metrics: dict[str, Any] = {}
    for p in parts:
        for key, value in (p.get("metrics") or {}).items():
            if isinstance(value, list) and isinstance(metrics.get(key), list):
                metrics[key] = metrics[key] + value
            elif isinstance(value, dict) and isinstance(metrics.get(key), dict):
                metrics[key] = {**value, **metrics[key]}  # per-class figures from each worker
            else:
                metrics.setdefault(key, value)
    # What one worker wrote and others did not (the grid's token shapes, a server fact one suite asked
    # for) is kept whichever worker wrote it.
    server: dict[str, Any] = {}
    coverage: dict[str, Any] = {}
    for p in parts:
        server.update({k: v for k, v in (p.get("server") or {}).items() if k not in server})
        coverage.update({k: v for k, v in (p.get("coverage") or {}).items() if k not in coverage})
    starts = sorted(p["run"]["started_at"] for p in parts)
    ends = sorted(p["run"]["finished_at"] for p in parts)
    duration = round(wall_s, 3) if wall_s is not None else max(p["run"]["duration_s"] for p in parts)
    if any("speed" in (p.get("metrics") or {}) for p in parts):
        metrics["speed"] = merged_speed(
            parts, wall_s=duration, file_wall_s=metrics.get("file_wall_s"), cpu_s=cpu_s
        )
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": parts[0].get("tool", {}),
        "run": {
            "started_at": starts[0],
            "finished_at": ends[-1],
            "duration_s": duration,
            "exit_status": max((p["run"].get("exit_status") or 0) for p in parts),
            "workers": [
                {"duration_s": p["run"]["duration_s"], "tests": len(p.get("tests", []))} for p in parts
            ],
        },
        "server": server,
        "metrics": metrics,
        "summary": recorder.summary(),
        "security": security_summary(
            [t for t in tests if t.get("property")],
            server.get("version"),
            cluster=server.get("backend") == "external",
        ),
        "findings": recorder.findings(),
        "coverage": coverage,
        "grid": grid,
        "tests": tests,
    }
    mutants = [p["mutants"] for p in parts if p.get("mutants")]
    if mutants:
        data["mutants"] = merge_mutants(mutants)
    return data


def mutant_line(mutants: Mapping[str, Any]) -> str:
    line = f"model mutants, all workers: {mutants['killed']}/{mutants['total']} killed"
    survived = mutants.get("survived") or []
    return f"{line}; SURVIVED (a hole in the suite): {', '.join(survived)}" if survived else line


def merge_mutants(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Killed in any worker is killed."""
    by_name: dict[str, dict[str, Any]] = {}
    for part in parts:
        for m in part["mutants"]:
            kept = by_name.setdefault(m["name"], {**m, "killed_by": []})
            kept["killed"] = kept["killed"] or m["killed"]
            kept["killed_by"] = (kept["killed_by"] + m["killed_by"])[:5]
    results = list(by_name.values())
    return {
        "total": len(results),
        "killed": sum(1 for m in results if m["killed"]),
        "survived": [m["name"] for m in results if not m["killed"]],
        "questions_replayed": sum(p.get("questions_replayed", 0) for p in parts),
        "replay_s": round(sum(p.get("replay_s", 0.0) for p in parts), 2),
        "mutants": results,
    }
