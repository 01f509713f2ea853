"""Hypothesis within a budget, with a progress line and figures per class.

CI profile (no minutes given): derandomized, a fixed number of examples per class, no database: the
same examples every run, small enough that the whole fuzz share of the suites stays under a minute.
Long runs (`--fuzz-minutes N`): the minutes are shared among the selected classes; each runs batches of
examples (sized from the rate so far) until its share is spent, with a persistent example database
under the cache root, so a disagreement found once is tried first next time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.errors import InvalidArgument

from harness.fuzz.classes import CLASSES
from harness.settings import ENV

# Examples per class in the CI profile (regex: strings over CI_REGEXES patterns; rotation: state
# machine runs of up to ROTATION_STEPS steps).
CI_EXAMPLES = {
    "claims": 120,
    "token-bytes": 150,
    "names": 120,
    "regex": 100,
    "jwks": 20,
    "rotation": 6,
    "tenancy": 3,
}
CI_REGEXES = 4
# Classes whose steps take seconds each (a server's own workflows, B read after every step): in the CI
# profile a failure is reported as found, not shrunk (shrinking a state machine replays it dozens of times:
# minutes per violation on an affected release). `nox -s fuzz` shrinks, and writes the case file.
NO_SHRINK_IN_CI = frozenset({"tenancy"})
PROGRESS_EVERY = 10.0  # seconds between progress lines
DATABASE = ENV.cache_root / "hypothesis"


@dataclass(frozen=True)
class Budget:
    minutes: float | None = None  # None: the CI profile
    classes: tuple[str, ...] = tuple(CLASSES)

    @property
    def ci(self) -> bool:
        return self.minutes is None

    def selects(self, name: str) -> bool:
        return name in self.classes

    def seconds_for(self, name: str) -> float:
        """A long run's share of time for one class (the CI profile counts examples instead)."""
        return (self.minutes or 0.0) * 60.0 / max(1, len(self.classes))

    def regex_count(self) -> int:
        """How many patterns a run draws (one server each): one per 40 s of the class's share."""
        return CI_REGEXES if self.ci else max(CI_REGEXES, min(30, int(self.seconds_for("regex") // 40)))


@dataclass
class ClassStats:
    name: str
    examples: int = 0
    seconds: float = 0.0
    disagreements: int = 0
    steps: int = 0  # state machine classes: steps taken (an example is a run of steps)
    notes: list[str] = field(default_factory=list)
    symptoms: set[str] = field(default_factory=set)  # kinds of disagreement seen so far (while shrinking too)

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        found = max(self.disagreements, len(self.symptoms))
        return (
            f"fuzz {self.name}: {self.examples} examples, {self.rate:.1f} examples/s, "
            f"{found} disagreement{'s' if found != 1 else ''} so far"
        )

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "examples": self.examples,
            "seconds": round(self.seconds, 2),
            "examples_per_s": round(self.rate, 2),
            "disagreements": self.disagreements,
        }
        if self.steps:
            data["steps"] = self.steps
        if self.notes:
            data["notes"] = self.notes
        return data


@dataclass
class FuzzRun:
    """One session's fuzzing: its budget, where case files go, progress, and the figures per class."""

    budget: Budget
    reports: Path
    progress: Callable[[str], None] = print
    on_metric: Callable[[str, Any], None] = lambda name, value: None
    stats: dict[str, ClassStats] = field(default_factory=dict)
    _started: dict[str, float] = field(default_factory=dict)
    _last_line: float = 0.0

    def start(self, name: str) -> ClassStats:
        stats = self.stats.setdefault(name, ClassStats(name))
        self._started[name] = time.monotonic()
        self._last_line = time.monotonic()
        profile = "CI profile" if self.budget.ci else f"{self.budget.seconds_for(name):.0f} s"
        self.progress(f"fuzz {name}: {CLASSES[name].drives} ({profile})")
        return stats

    def tick(self, stats: ClassStats) -> None:
        now = time.monotonic()
        stats.seconds = now - self._started[stats.name]
        if now - self._last_line >= PROGRESS_EVERY:
            self._last_line = now
            self.progress(stats.line())

    def finish(self, stats: ClassStats) -> None:
        stats.seconds = time.monotonic() - self._started[stats.name]
        self.progress(stats.line().replace(" so far", ""))
        self.on_metric("fuzz", {name: s.as_dict() for name, s in self.stats.items()})

    def settings_for(self, name: str, examples: int, **extra: Any) -> settings:
        common: dict[str, Any] = {
            "deadline": None,
            "suppress_health_check": list(HealthCheck),
            "print_blob": True,
            **extra,
        }
        if self.budget.ci:
            phases = [p for p in Phase if p is not Phase.explain]
            if name in NO_SHRINK_IN_CI:
                phases.remove(Phase.shrink)
            return settings(max_examples=examples, derandomize=True, database=None, phases=phases, **common)
        return settings(max_examples=examples, database=database(), **common)

    def batches(self, name: str, stats: ClassStats, **extra: Any) -> Iterator[settings]:
        """Settings for each batch of a class's run: one in the CI profile; in a long run, batches until
        the class's share of time is spent."""
        if self.budget.ci:
            yield self.settings_for(name, CI_EXAMPLES[name], **extra)
            return
        end = time.monotonic() + self.budget.seconds_for(name)
        size = 10
        while time.monotonic() < end:
            started, before = time.monotonic(), stats.examples
            yield self.settings_for(name, size, **extra)
            rate = (stats.examples - before) / max(0.1, time.monotonic() - started)
            size = max(5, min(5000, int(rate * min(60.0, end - time.monotonic()))))


def database() -> ExampleDatabase:
    DATABASE.mkdir(parents=True, exist_ok=True)
    return DirectoryBasedExampleDatabase(DATABASE)


def final_replay() -> bool:
    """Whether hypothesis is replaying the minimal failing example (its last run, the one reported)."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:
        return False


def failures_in(exc: BaseException) -> int:
    if isinstance(exc, BaseExceptionGroup):
        return sum(failures_in(e) for e in exc.exceptions)
    return 1


def run_property(
    run: FuzzRun, name: str, strategy: st.SearchStrategy[Any], body: Callable[[Any], None]
) -> None:
    """Run `body` on examples of `strategy` within the class's budget; hypothesis shrinks a failure and
    raises it (after replaying the minimal example, which the body writes as a case file)."""
    stats = run.start(name)

    def example(value: Any) -> None:
        stats.examples += 1
        run.tick(stats)
        try:
            body(value)
        except AssertionError as exc:
            stats.symptoms.add(type(exc).__name__)
            raise

    # Each class its own key in the example database (the function's source is shared).
    example._hypothesis_internal_add_digest = f"temporal-authz fuzz {name}".encode()  # type: ignore[attr-defined]
    try:
        for batch in run.batches(name, stats):
            batch(given(strategy)(example))()
    except Exception as exc:
        stats.disagreements += failures_in(exc)
        raise
    finally:
        run.finish(stats)
