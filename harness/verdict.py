"""Compare what the model expects with what a probe observed, and say so readably when they differ."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.types import Decision, Outcome, Verdict


class Mismatch(AssertionError):
    """The server did not do what the requirement says. The message is the whole reproduction."""


@dataclass
class Evidence:
    """What a conformance test saw, for its failure message and the JSON report.

    Never holds a whole token or a key: `claims` is the decoded header + payload only.
    """

    expected: Any = None
    observed: Any = None
    api: str = ""
    namespace: str = ""
    claims: Mapping[str, Any] | None = None
    status: str = ""
    message: str = ""
    reason: str = ""  # the model's reason for its expectation
    extra: dict[str, Any] = field(default_factory=dict)
    cell: dict[str, Any] | None = None  # grid coordinates, for matrix tests

    def as_dict(self) -> dict[str, Any]:
        data = {
            "expected": _plain(self.expected),
            "observed": _plain(self.observed),
            "api": self.api,
            "namespace": self.namespace,
            "claims": _plain(self.claims),
            "status": self.status,
            "message": self.message,
            "reason": self.reason,
        }
        if self.extra:
            data["extra"] = _plain(self.extra)
        return {k: v for k, v in data.items() if v not in (None, "", {})}

    def render(self) -> str:
        lines = [
            f"expected : {_plain(self.expected)}",
            f"observed : {_plain(self.observed)}",
        ]
        if self.reason:
            lines.append(f"model    : {self.reason}")
        if self.api:
            lines.append(f"api      : {self.api}")
        lines.append(f"namespace: {self.namespace!r}")
        if self.status or self.message:
            lines.append(f"server   : {self.status} {self.message!r}")
        if self.claims is not None:
            lines.append("token    : " + json.dumps(_plain(self.claims), sort_keys=True, default=str))
        for key, value in self.extra.items():
            lines.append(f"{key:<9}: {json.dumps(_plain(value), default=str)}")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, Decision | Outcome | Verdict):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def expected_outcome(decision: Decision) -> Outcome:
    return Outcome.ALLOWED if decision is Decision.ALLOW else Outcome.DENIED


def check(evidence: Evidence, requirement: str = "") -> None:
    """Raise Mismatch with the full evidence when observed differs from expected."""
    __tracebackhide__ = True
    if _plain(evidence.expected) != _plain(evidence.observed):
        head = f"{requirement}: server and requirement disagree" if requirement else "mismatch"
        raise Mismatch(f"{head}\n{evidence.render()}")
