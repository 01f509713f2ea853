"""Replay the run's model questions under every mutant: killed when an answer differs from what the
server was observed to do. Only questions from passing tests count (there the real model agreed)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from harness.mutants import MUTANTS, apply
from harness.report.recorder import CaseRecord
from harness.types import Verdict


def replay(
    records: Sequence[CaseRecord],
    names: Iterable[str] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    started = time.monotonic()
    by_req: dict[str, list[Any]] = {}
    for record in records:
        if record.verdict is not Verdict.PASS:
            continue
        for asked in record.asked:
            if asked.observed is None or not asked.answer.determinate:
                continue
            if asked.answer.value != asked.observed:
                continue
            by_req.setdefault(record.requirement, []).append((record.nodeid, asked))
    questions = sum(len(v) for v in by_req.values())
    results = []
    for name in names if names is not None else MUTANTS:
        killers: list[dict[str, str]] = []
        broke: str | None = None
        with apply(name) as mutant:
            for requirement, items in sorted(by_req.items()):
                for nodeid, asked in items:
                    try:
                        answer = asked.question.answer()
                    except Exception as exc:  # a broken mutant is reported, never the run's end
                        broke = broke or f"{nodeid}: {type(exc).__name__}: {exc}"[:300]
                        continue
                    if answer.determinate and answer.value != asked.observed:
                        killers.append(
                            {
                                "requirement": requirement,
                                "test": nodeid,
                                "observed": str(getattr(asked.observed, "value", asked.observed)),
                                "mutant_expects": str(getattr(answer.value, "value", answer.value)),
                            }
                        )
                        break
        results.append(
            {
                "name": name,
                "area": mutant.area,
                "description": mutant.description,
                "killed": bool(killers),
                "killed_by": killers[:5],
                **({"broke": broke} if broke else {}),
            }
        )
        said = f"killed by {killers[0]['requirement']}" if killers else "SURVIVED"
        progress(f"mutant {name}: {said}" + (f" (the mutant itself raised on {broke})" if broke else ""))
    killed = sum(1 for r in results if r["killed"])
    return {
        "total": len(results),
        "killed": killed,
        "survived": [r["name"] for r in results if not r["killed"]],
        "questions_replayed": questions,
        "replay_s": round(time.monotonic() - started, 2),
        "mutants": results,
    }
