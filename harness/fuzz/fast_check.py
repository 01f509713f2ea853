"""The fast oracle's property: an example's answers from the model equal the release's own functions'.

A disagreement raises (hypothesis shrinks it against the oracle alone, hundreds of candidates a second);
the minimal example, replayed last, goes to the live server, which stays the judge: the report says, per
item that differs, what the model said, what the release's code said and what the live server did, and
whom the live server sided with. The minimal example is written as a case file (reports/fuzz/) that
suites/test_fuzz_regressions.py replays live.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.fuzz.examples import Example
from harness.fuzz.guard import ModelDefect
from harness.fuzz.report import Disagreement, case_path, replay_command
from harness.fuzz.runner import final_replay
from harness.fuzz.twin import Compared, Twin
from harness.fuzz.twin_classes import RECIPES, Recipe

# What the live server did with an example, item by item ("token/own-read" -> "ALLOWED"); items it cannot
# show are absent. Raises nothing on a disagreement: the judge only observes.
LiveJudge = Callable[[Example], Mapping[str, str]]

SIDES_WITH_ORACLE = "the live server did what the release's code did: a model defect"
SIDES_WITH_MODEL = "the live server did what the model said: the oracle program is wrong"
SIDES_WITH_NEITHER = "the live server did neither"
NOT_SHOWN = "not observable live (no call shows it)"
NOT_REPLAYED = "not replayed live (no live server in this run)"


class OracleDisagreement(Disagreement):
    """The model and the release's own functions answered a fuzzed example differently."""


_KINDS: dict[str, type[OracleDisagreement]] = {}


def kind_of(example: Example, compared: Compared) -> type[OracleDisagreement]:
    """One exception type per symptom (the first item that differs, and how), as report.kind_of."""
    item = compared.differences()[0]
    how = f"{compared.model.get(item)}:{compared.oracle.get(item)}"
    if item.endswith("keys") or len(how) > 40:  # key rings name fingerprints: the items, not their values
        how = "differ"
    symptom = f"{example.fuzz_class}:oracle:{item}:{how}"
    if symptom not in _KINDS:
        _KINDS[symptom] = type(f"OracleDisagreement[{symptom}]", (OracleDisagreement,), {})
    return _KINDS[symptom]


def verdict(model: str | None, oracle: str | None, live: str | None) -> str:
    if live is None:
        return NOT_SHOWN
    if live == oracle:
        return SIDES_WITH_ORACLE
    if live == model:
        return SIDES_WITH_MODEL
    return SIDES_WITH_NEITHER


@dataclass
class FastChecker:
    twin: Twin
    reports: Path
    judge: LiveJudge | None = None  # the live server's answers (None: none in this run)
    recipes: Mapping[str, Recipe] = field(default_factory=lambda: dict(RECIPES))

    def compare(self, example: Example) -> Compared:
        return self.recipes[example.fuzz_class](example, self.twin, int(time.time()))()

    def __call__(self, example: Example) -> Compared:
        return self.check_all([example])[0]

    def check_all(self, examples: Sequence[Example]) -> list[Compared]:
        """A batch: every example's questions in flight before the first answer is read; the first
        example that disagrees raises."""
        now = int(time.time())
        deferred = [self.recipes[e.fuzz_class](e, self.twin, now) for e in examples]
        results = [d() for d in deferred]
        for example, compared in zip(examples, results, strict=True):
            if compared.differences():
                raise self.disagreement(example, compared, write=final_replay())
        return results

    def disagreement(self, example: Example, compared: Compared, write: bool) -> OracleDisagreement:
        """The failure to raise; `write`: the minimal example (hypothesis's last replay): judge it live
        and keep its case file."""
        live: Mapping[str, str] | None = None
        failed = ""
        if write and self.judge is not None:
            try:
                live = self.judge(example)
            except Exception as exc:
                failed = f"the live replay failed: {type(exc).__name__}: {exc}"
        path = case_path(self.reports, example)
        found = found_items(compared, live)
        if write:
            Example(example.fuzz_class, example.input, example.calls, extra=found).write(path.parent)
        text = describe(example, compared, live, found, path, self.twin)
        return kind_of(example, compared)(text + (f"\n{failed}" if failed else ""))


def found_items(compared: Compared, live: Mapping[str, str] | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in compared.differences():
        model, oracle = compared.model.get(item), compared.oracle.get(item)
        entry: dict[str, Any] = {"model": model, "oracle": oracle}
        if live is not None:
            entry["live"] = live.get(item)
            entry["verdict"] = verdict(model, oracle, live.get(item))
        else:
            entry["verdict"] = NOT_REPLAYED
        found[item] = entry
    return found


def describe(
    example: Example,
    compared: Compared,
    live: Mapping[str, str] | None,
    found: Mapping[str, Any],
    path: Path,
    twin: Twin,
) -> str:
    lines = [
        f"fuzz {example.fuzz_class}: the model and the release's own functions ({twin.version}) disagree",
        "minimal input: " + json.dumps(example.input, ensure_ascii=True, sort_keys=True),
    ]
    for item, entry in found.items():
        said = f"  {item}: model {entry['model']}, release's code {entry['oracle']}"
        if "live" in entry:
            said += f", live server {entry['live']}"
        lines.append(said + f": {entry['verdict']}")
    for key, value in compared.detail.items():
        lines.append(f"release's code, {key}: {json.dumps(value, ensure_ascii=True, default=str)[:800]}")
    if live is None:
        lines.append("live server: " + NOT_REPLAYED)
    lines.append(f"replay on a fresh server: {replay_command(path)}")
    return "\n".join(lines)


def guarded_body(check: FastChecker) -> Callable[[Sequence[Example]], None]:
    """The property body over a batch of examples: a model defect (raised, or past its bound) is reported
    with the input that caused it (each example is asked alone once one of the batch is defective)."""

    def body(examples: Sequence[Example]) -> None:
        try:
            check.check_all(examples)
        except ModelDefect:
            for example in examples:
                try:
                    check(example)
                except ModelDefect as defect:
                    raise ModelDefect(
                        f"fuzz {example.fuzz_class}: {defect}\nminimal input: "
                        + json.dumps(example.input, ensure_ascii=True, sort_keys=True)
                    ) from None
            raise

    return body
