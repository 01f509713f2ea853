"""One example as data: its class, its input (JSON) and the calls it was decided on.

A disagreement the fuzzer finds is written as one of these (reports/fuzz/), and committed as a
regression case under fixtures/fuzz/, which suites/test_fuzz_regressions.py replays against a server.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.fuzz.calls import LABELS

REGRESSIONS = Path(__file__).resolve().parent.parent.parent / "fixtures" / "fuzz"


@dataclass(frozen=True)
class Example:
    fuzz_class: str
    input: Mapping[str, Any]
    calls: Sequence[str] = LABELS
    note: str = ""  # a regression case: what was found, and what was done (model fix or finding)
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. what the server and model said

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"class": self.fuzz_class, "input": self.input, "calls": list(self.calls)}
        if self.note:
            data["note"] = self.note
        if self.extra:
            data["found"] = self.extra
        return data

    def text(self) -> str:
        return json.dumps(self.as_json(), indent=2, ensure_ascii=True, sort_keys=False) + "\n"

    @property
    def digest(self) -> str:
        canonical = json.dumps([self.fuzz_class, self.input, list(self.calls)], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]

    @property
    def file_name(self) -> str:
        return f"{self.fuzz_class}-{self.digest}.json"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Example:
        return cls(
            fuzz_class=str(data["class"]),
            input=data["input"],
            calls=tuple(data.get("calls") or LABELS),
            note=str(data.get("note", "")),
            extra=data.get("found") or {},
        )

    @classmethod
    def load(cls, path: Path) -> Example:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a fuzz example ({exc})") from exc

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.file_name
        path.write_text(self.text())
        return path


def regression_files() -> list[Path]:
    return sorted(REGRESSIONS.glob("*.json"))
