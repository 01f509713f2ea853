"""A disagreement as a person reads it: the minimal input, the call, expected vs observed with the
model's reason and the server's answer, and the command that replays exactly that example against a
fresh server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.cases.evidence import Mismatch
from harness.fuzz.examples import Example
from harness.fuzz.exercised import Exercised
from harness.fuzz.strategies.token_bytes import well_formed

REPLAY = "python -m pytest suites/test_fuzz_regressions.py -p no:cacheprovider -q --backend process --fuzz-case {path}"


class Disagreement(Mismatch):
    """The server and the model decided a fuzzed example differently (FAIL, like any mismatch)."""


_KINDS: dict[str, type[Disagreement]] = {}


def kind_of(done: Exercised) -> type[Disagreement]:
    """One exception type per symptom (the first call that differs, and how): hypothesis keeps and
    shrinks each distinct failure on its own, so one disagreement does not hide another."""
    token, label = done.differences()[0]
    run = done.runs[token]
    symptom = (
        f"{done.example.fuzz_class}:{token}:{label}:{run.expected[label].value}:{run.observed[label].value}"
    )
    if symptom not in _KINDS:
        _KINDS[symptom] = type(f"Disagreement[{symptom}]", (Disagreement,), {})
    return _KINDS[symptom]


def case_path(reports: Path, example: Example) -> Path:
    return reports / "fuzz" / example.file_name


def replay_command(path: Path) -> str:
    return REPLAY.format(path=path)


def describe(done: Exercised, path: Path) -> str:
    example = done.example
    lines = [
        f"fuzz {example.fuzz_class}: the server and the model disagree",
        "minimal input: " + json.dumps(example.input, ensure_ascii=True, sort_keys=True),
    ]
    if example.fuzz_class == "token-bytes":
        lines.append("changed from a well-formed token: " + "; ".join(changes(example.input)))
    for token, label in done.differences():
        run = done.runs[token]
        answer = run.answers[label]
        question = run.asked[list(run.answers).index(label)].question
        lines += [
            f"call: {label} ({getattr(question, 'call', '')}) with {token} "
            f"{json.dumps(run.token.evidence() if run.token else None, default=str, ensure_ascii=True)[:600]}",
            f"  expected {answer.value.value}: {answer.reason}",
            f"  observed {run.observed[label].value}: server answered {run.observed.observations[label].answer()}",
        ]
    for key, value in done.context.items():
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=True, default=str)[:800]}")
    lines.append(f"all calls: {_grid(done)}")
    lines.append(f"replay on a fresh server: {replay_command(path)}")
    return "\n".join(lines)


def changes(spec: Mapping[str, Any]) -> list[str]:
    """What a token-bytes input changes in the well-formed token it started from (for people)."""
    base = well_formed()
    found = []
    for part, value in spec.items():
        if isinstance(value, Mapping) and isinstance(base.get(part), Mapping):
            found += [f"{part}.{k}={v!r}" for k, v in value.items() if base[part].get(k) != v]
        elif base.get(part) != value:
            found.append(f"{part}={value!r}")
    return found or ["nothing"]


def _grid(done: Exercised) -> str:
    return "; ".join(
        f"{token}/{label}: expected {run.expected[label].value} observed {outcome.value}"
        for token, run in done.runs.items()
        for label, outcome in run.observed.outcomes.items()
    )


def disagreement(done: Exercised, reports: Path, write: bool, path: Path | None = None) -> Disagreement:
    """The failure to raise for a disagreeing example; `write`: keep its case file (the minimal one)
    under reports/fuzz/; `path`: the case file it came from (a regression case replayed)."""
    path = path or case_path(reports, done.example)
    if write:
        found = {
            f"{token}/{label}": {
                "expected": done.runs[token].expected[label].value,
                "observed": done.runs[token].observed[label].value,
            }
            for token, label in done.differences()
        }
        Example(done.example.fuzz_class, done.example.input, done.example.calls, extra=found).write(
            path.parent
        )
    return kind_of(done)(describe(done, path))
