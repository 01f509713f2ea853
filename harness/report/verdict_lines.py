"""A run's two verdicts in words, the same on the console, the page, junit.xml and conformance.json:
conformance (the server does what its release's rules say: the model) and security (properties that hold
on every release). A vulnerable release can be conformant; the words say both, never one for the other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.grades import is_conformant, passed_share, shows_evidence


def conformance_answer(summary: Mapping[str, Any]) -> str:
    total = int(summary.get("total") or 0)
    if total == 0:
        return "nothing shown (no conformance test ran)"
    fails, errors = int(summary.get("FAIL") or 0), int(summary.get("HARNESS_ERROR") or 0)
    if fails or errors:
        parts = [f"{fails:,} failed" if fails else "", f"{errors:,} harness errors" if errors else ""]
        return f"no ({', '.join(p for p in parts if p)} of {total:,} tests)"
    if not shows_evidence(dict(summary)):
        return f"nothing shown (only {passed_share(dict(summary)):.0%} of {total:,} tests passed)"
    return "yes" if is_conformant(dict(summary)) else "no"


def conformance_line(summary: Mapping[str, Any], version: str) -> str:
    return f"Conformant to {version}'s rules: {conformance_answer(summary)}."


def two_verdicts(summary: Mapping[str, Any], security: Mapping[str, Any], version: str) -> list[str]:
    """The headline ("Conformant to v1.31.1's rules: yes. Security: 1 property violated (CVE-2026-5724):
    SEC-P1"), then one line per advisory this run reproduced."""
    lines = [f"{conformance_line(summary, version)} {security.get('line', 'Security: not judged.')}"]
    for row in (security.get("advisories") or {}).values():
        if row.get("status") == "VULNERABLE":
            lines.append(str(row["line"]))
    return lines


def verdict_properties(summary: Mapping[str, Any], security: Mapping[str, Any]) -> dict[str, str]:
    """The verdicts as junit.xml testsuite properties."""
    return {
        "conformance": conformance_answer(summary),
        "security": str(security.get("verdict", "")),
        "security_line": str(security.get("line", "")),
        "vulnerable_to": ", ".join(security.get("vulnerable_to") or []) or "none reproduced",
    }
