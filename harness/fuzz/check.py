"""The property every fuzz class checks: an example's decisions on the live server equal the model's.
Runs the example on the fuzzer's loop; a disagreement raises (hypothesis then shrinks it), and the
minimal example, replayed last, is written as a case file with its replay command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.fuzz.examples import Example
from harness.fuzz.exercise import Exercised, exercise
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
