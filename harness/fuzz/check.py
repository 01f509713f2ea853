"""The property every fuzz class checks: an example's decisions on the live server equal the model's.
Runs the example on the fuzzer's loop; a disagreement raises (hypothesis then shrinks it), and the
minimal example, replayed last, is written as a case file with its replay command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.fuzz.examples import Example
from harness.fuzz.exercise import exercise
from harness.fuzz.exercised import Exercised
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.report import disagreement
from harness.fuzz.runner import final_replay
from harness.fuzz.servers import FuzzServers

EXAMPLE_TIMEOUT = 120.0  # seconds: far beyond any example (a refresh wait is 20 s at most)


@dataclass
class Checker:
    servers: FuzzServers
    reports: Path

    def observe(self, example: Example) -> Exercised:
        return BACKGROUND.run(exercise(example, self.servers), timeout=EXAMPLE_TIMEOUT)

    def __call__(self, example: Example) -> Exercised:
        done = self.observe(example)
        if done.differences():
            raise disagreement(done, self.reports, write=final_replay())
        return done


def live_items(done: Exercised) -> dict[str, str]:
    """What the live server did with an example, item by item as the fast oracle names them
    ("token/own-read" -> "ALLOWED")."""
    return {
        f"{token}/{label}": outcome.value
        for token, run in done.runs.items()
        for label, outcome in run.observed.outcomes.items()
    }


def live_judge(checker: Checker) -> Callable[[Example], dict[str, str]]:
    """The live server as the judge of a fast-oracle disagreement: the example replayed by its class's
    live recipe (harness.fuzz.exercise), every call observed."""
    return lambda example: live_items(checker.observe(example))
