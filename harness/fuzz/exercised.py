"""One example's runs against a server: per token sent, what was observed and what the model expected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.cases.runner import CaseRun
from harness.fuzz.examples import Example
from harness.server.target import Target


@dataclass
class Exercised:
    """One example's runs: per token sent (most classes send one), what was observed and expected."""

    example: Example
    target: Target
    runs: dict[str, CaseRun] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)  # what else the report needs (the served bytes)

    def differences(self) -> list[tuple[str, str]]:
        """(token, call label) where the server and the model disagree."""
        return [
            (token, label)
            for token, run in self.runs.items()
            for label, outcome in run.observed.outcomes.items()
            if run.expected[label] is not outcome
        ]
