"""What a conformance test saw, and the comparison that fails it readably when server and model differ."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.cases.ask import Asked
from harness.types import Decision, Outcome, Verdict


class Mismatch(AssertionError):
    """The server did not do what the requirement says. The message is the whole reproduction."""


@dataclass
class Evidence:
    """Filled by a test; printed on failure and kept in the JSON report.

    Never holds a whole token or a key: `claims` is the decoded header + payload only, and the
    presentation says how the token was carried, not its value."""

    expected: Any = None
    observed: Any = None
    api: str = ""
    surface: str = "grpc"
    namespace: str = ""
    claims: Mapping[str, Any] | None = None
    presentation: list[str] = field(default_factory=list)
    status: str = ""
    message: str = ""
    reason: str = ""  # the model's reason for its expectation
    extra: dict[str, Any] = field(default_factory=dict)
    cell: dict[str, Any] | None = None  # grid coordinates, for matrix tests
    # For a requirement that contradicts a public doc: did what this test observed show the finding?
    finding_holds: bool | None = None
    asked: list[Asked] = field(default_factory=list)  # model questions and observations (not serialised)
    requirement: str = ""  # the test's requirement (its @pytest.mark.req), what check() compares against

    def as_dict(self) -> dict[str, Any]:
        data = {
            "expected": plain(self.expected),
            "observed": plain(self.observed),
            "api": self.api,
            "surface": self.surface,
            "namespace": self.namespace,
            "claims": plain(self.claims),
            "presentation": self.presentation,
            "status": self.status,
            "message": self.message,
            "reason": self.reason,
        }
        if self.extra:
            data["extra"] = plain(self.extra)
        if self.finding_holds is not None:
            data["finding_holds"] = self.finding_holds
        return {k: v for k, v in data.items() if v not in (None, "", {}, [])}

    def render(self) -> str:
        lines = [
            f"expected : {plain(self.expected)}",
            f"observed : {plain(self.observed)}",
        ]
        if self.reason:
            lines.append(f"model    : {self.reason}")
        if self.api:
            lines.append(f"api      : {self.api}")
        lines.append(f"surface  : {self.surface}")
        lines.append(f"namespace: {self.namespace!r}")
        if self.status or self.message:
            lines.append(f"server   : {self.status} {self.message!r}")
        if self.claims is not None:
            lines.append("token    : " + json.dumps(plain(self.claims), sort_keys=True, default=str))
        if self.presentation:
            lines.append(f"carried  : {'; '.join(self.presentation)}")
        for key, value in self.extra.items():
            lines.append(f"{key:<9}: {json.dumps(plain(value), default=str)}")
        return "\n".join(lines)


def plain(value: Any) -> Any:
    if isinstance(value, Decision | Outcome | Verdict):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def check(evidence: Evidence, requirement: str = "") -> None:
    """Raise Mismatch with the full evidence when observed differs from expected. The requirement is the
    test's marker's unless named (a case names its own)."""
    __tracebackhide__ = True
    requirement = requirement or evidence.requirement
    if plain(evidence.expected) != plain(evidence.observed):
        head = f"{requirement}: server and requirement disagree" if requirement else "mismatch"
        raise Mismatch(f"{head}\n{evidence.render()}")
