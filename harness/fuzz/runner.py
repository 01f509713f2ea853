"""Hypothesis within a budget, with a progress line and figures per class.

Two phases per class where the class has a fast oracle (harness.fuzz.classes: `oracle`): examples asked
of the model and of the release's own functions (harness.fuzz.fast_check: hundreds a second), and, at a
lower rate, examples sent to the live server. Each phase has its figures (examples, seconds, rate); the
class's figures say how many times faster the oracle phase drew than the live one.

CI profile (no minutes given): derandomized, a fixed number of examples per class and phase, no
database: the same examples every run, small enough that the whole fuzz share of the suites stays under
a minute. Long runs (`--fuzz-minutes N`): the minutes are shared among the selected classes (and within a
class between its phases); each phase runs batches of examples (sized from the rate so far) until its
share is spent, with a persistent example database under the cache root, so a disagreement found once
is tried first next time.
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
from hypothesis.stateful import run_state_machine_as_test

from harness.fuzz.classes import CLASSES
from harness.fuzz.derive import Seen
from harness.settings import ENV

# Examples per class in the CI profile (regex: strings over CI_REGEXES patterns; rotation: state
# machine runs of up to ROTATION_STEPS steps).
CI_EXAMPLES = {
    "claims": 120,
    "token-bytes": 150,
    "names": 120,
    "regex": 100,
    "jwks": 20,
    "jwks-idp": 12,
    "allowed-hosts": 8,
    "audience": 16,
    "header-name": 16,
    "http-headers": 30,
    "key-source-uris": 12,
    "sizes": 12,
    "rotation": 6,
    "tenancy": 3,
}
# Test cases per class against the fast oracle in the CI profile (each a batch of examples, about 20 on
# average: fast_phase.batches_of; a second or two a class, about as many examples as 4x these in batches
# of 4 were).
CI_ORACLE_EXAMPLES = {
    "claims": 20,
    "token-bytes": 25,
    "names": 20,
    "regex": 15,
    "jwks": 10,
    "jwks-idp": 10,
    "allowed-hosts": 20,
    "audience": 20,
    "header-name": 15,
    "http-headers": 25,
    "key-source-uris": 15,
    "sizes": 3,
    "rotation": 5,
}
ORACLE_SHARE = 0.5  # of a long run's share for a class that has a fast oracle: its oracle phase
CI_REGEXES = 4
CI_CONFIG_VALUES = 2  # values per config class in the CI profile (a server each)
# Classes whose steps take seconds each (a server's own workflows, B read after every step): in the CI
# profile a failure is reported as found, not shrunk (shrinking a state machine replays it dozens of times:
# minutes per violation on an affected release). `nox -s fuzz` shrinks, and writes the case file.
NO_SHRINK_IN_CI = frozenset({"tenancy"})
PROGRESS_EVERY = 10.0  # seconds between progress lines
BATCH_S = 5.0  # a long run's batches are sized to take about this long (their phase's share bounds them)
DATABASE = ENV.cache_root / "hypothesis"
LIVE, ORACLE = "live", "oracle"


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

    def phase_seconds(self, name: str, phase: str) -> float:
        """A class's share for one phase: "oracle" (where the class has a fast oracle) or "live"."""
        share = self.seconds_for(name)
        if not CLASSES[name].oracle:
            return share if phase == LIVE else 0.0
        return share * (ORACLE_SHARE if phase == ORACLE else 1.0 - ORACLE_SHARE)

    def regex_count(self) -> int:
        """How many patterns a run draws (one server each): one per 40 s of the class's share."""
        return CI_REGEXES if self.ci else max(CI_REGEXES, min(30, int(self.seconds_for("regex") // 40)))

    def config_count(self, name: str) -> int:
        """How many config values a live phase draws (one server each): one per 30 s of its share."""
        return (
            CI_CONFIG_VALUES
            if self.ci
            else max(CI_CONFIG_VALUES, min(20, int(self.phase_seconds(name, LIVE) // 30)))
        )


@dataclass
class ClassStats:
    name: str
    examples: int = 0
    seconds: float = 0.0
    disagreements: int = 0
    steps: int = 0  # state machine classes: steps taken (an example is a run of steps)
    notes: list[str] = field(default_factory=list)
    symptoms: set[str] = field(default_factory=set)  # kinds of disagreement seen so far (while shrinking too)
    # The fast oracle phase (harness.fuzz.fast_check); `examples` and `seconds` above are the live phase's.
    oracle_examples: int = 0
    oracle_seconds: float = 0.0
    oracle_release: str = ""  # the release whose functions answered
    model_slowest_s: float = 0.0  # the longest the model took on one example (it is bounded: guard.py)
    phase: str = LIVE  # the phase running now (progress lines)
    cases: int = 0  # hypothesis test cases run (an oracle test case holds a batch of examples)
    live_cases: int = 0  # the live phase's test cases, repeated inputs included (`examples`: distinct ones)

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0

    @property
    def oracle_rate(self) -> float:
        return self.oracle_examples / self.oracle_seconds if self.oracle_seconds > 0 else 0.0

    @property
    def speedup(self) -> float | None:
        """How many times more examples a second the oracle phase drew than the live one."""
        return self.oracle_rate / self.rate if self.rate > 0 and self.oracle_examples else None

    def line(self) -> str:
        found = max(self.disagreements, len(self.symptoms))
        live = f"{self.examples} examples, {self.rate:.1f} examples/s"
        if self.oracle_examples:
            live = f"oracle {self.oracle_examples} examples, {self.oracle_rate:.1f} examples/s; live {live}"
            if self.speedup is not None:
                live += f" ({self.speedup:.0f}x)"
        return f"fuzz {self.name}: {live}, {found} disagreement{'s' if found != 1 else ''} so far"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "examples": self.examples,
            "seconds": round(self.seconds, 2),
            "examples_per_s": round(self.rate, 2),
            "disagreements": self.disagreements,
        }
        if self.live_cases:  # examples are distinct inputs; these, every input sent (repeats too)
            data["test_cases"] = self.live_cases
            data["test_cases_per_s"] = round(self.live_cases / self.seconds, 2) if self.seconds > 0 else 0.0
        if self.steps:
            data["steps"] = self.steps
        if self.oracle_examples:
            data["oracle"] = {
                "release": self.oracle_release,
                "examples": self.oracle_examples,
                "seconds": round(self.oracle_seconds, 2),
                "examples_per_s": round(self.oracle_rate, 2),
            }
            if self.speedup is not None:
                data["oracle_speedup"] = round(self.speedup, 1)
            data["model_slowest_s"] = round(self.model_slowest_s, 4)
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

    def start(self, name: str, phase: str = LIVE) -> ClassStats:
        stats = self.stats.setdefault(name, ClassStats(name))
        stats.phase = phase
        self._started[name] = time.monotonic() - (stats.oracle_seconds if phase == ORACLE else stats.seconds)
        self._last_line = time.monotonic()
        if self.budget.ci:
            profile = "CI profile"
        elif CLASSES[name].oracle:
            profile = f"{self.budget.phase_seconds(name, phase):.0f} s"
        else:
            profile = f"{self.budget.seconds_for(name):.0f} s"
        against = "the release's own functions (fast oracle)" if phase == ORACLE else "the live server"
        self.progress(f"fuzz {name}: {CLASSES[name].drives}; against {against} ({profile})")
        return stats

    def _clock(self, stats: ClassStats) -> None:
        elapsed = time.monotonic() - self._started[stats.name]
        if stats.phase == ORACLE:
            stats.oracle_seconds = elapsed
        else:
            stats.seconds = elapsed

    def tick(self, stats: ClassStats) -> None:
        self._clock(stats)
        now = time.monotonic()
        if now - self._last_line >= PROGRESS_EVERY:
            self._last_line = now
            self.progress(stats.line())

    def finish(self, stats: ClassStats) -> None:
        self._clock(stats)
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
        """Settings for each batch of a class's phase (stats.phase): one in the CI profile; in a long run,
        batches until the phase's share of time is spent."""
        oracle = stats.phase == ORACLE
        if self.budget.ci:
            yield self.settings_for(name, (CI_ORACLE_EXAMPLES if oracle else CI_EXAMPLES)[name], **extra)
            return
        end = time.monotonic() + self.budget.phase_seconds(name, stats.phase)
        size = 10
        while time.monotonic() < end:
            started, cases, examples = time.monotonic(), stats.cases, stats.examples
            yield self.settings_for(name, size, **extra)
            # Test cases where run_property counts them; a state machine's suite counts its runs only.
            done = (stats.cases - cases) or (stats.examples - examples)
            rate = done / max(0.1, time.monotonic() - started)
            # At most BATCH_S of work a batch: a rate measured on a small batch misjudges a large one.
            size = max(5, min(20000, int(rate * min(BATCH_S, end - time.monotonic()))))


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


def run_machine(
    run: FuzzRun,
    name: str,
    machine: Any,  # a RuleBasedStateMachine class with a `driver` slot (RotationMachine, TenancyMachine)
    make: Callable[[Callable[[], None]], Any],  # a fresh driver, given the step counter to call
    steps: int,
    figures: dict[str, Any],  # the test's evidence.extra: the class's figures go to its "fuzz"
) -> None:
    """A state machine's budgeted batches for class `name`, each run a fresh driver, runs and steps counted
    in the run's figures; a failing run (shrunk by hypothesis) raises."""
    stats = run.start(name)

    def driver() -> Any:
        stats.examples += 1
        run.tick(stats)
        return make(step)

    def step() -> None:
        stats.steps += 1

    machine.driver = staticmethod(driver)
    try:
        for batch in run.batches(name, stats, stateful_step_count=steps):
            run_state_machine_as_test(machine, settings=batch)
    except Exception as exc:
        stats.disagreements += failures_in(exc)
        raise
    finally:
        run.finish(stats)
        figures["fuzz"] = stats.as_dict()


def run_property(
    run: FuzzRun,
    name: str,
    strategy: st.SearchStrategy[Any],
    body: Callable[[Any], object],  # what it returns is not used
    phase: str = LIVE,
    count: Callable[[Any], int] | None = None,
) -> None:
    """Run `body` on examples of `strategy` within the budget of the class's phase; hypothesis shrinks a
    failure and raises it (after replaying the minimal example, which the body writes as a case file).
    `count`: how many distinct examples one drawn value holds (a batch of them, for the oracle phase);
    by default 1 for an input not drawn before in this phase, else 0 (sent again, not counted again)."""
    stats = run.start(name, phase)
    counted = count or Seen().first

    def example(value: Any) -> None:
        stats.cases += 1
        if phase == ORACLE:
            stats.oracle_examples += counted(value)
        else:
            stats.live_cases += 1
            stats.examples += counted(value)
        run.tick(stats)
        try:
            body(value)
        except AssertionError as exc:
            stats.symptoms.add(type(exc).__name__)
            raise

    # Each class its own key in the example database (the function's source is shared).
    key = f"temporal-authz fuzz {name}" + (" oracle" if phase == ORACLE else "")
    example._hypothesis_internal_add_digest = key.encode()  # type: ignore[attr-defined]
    # The oracle phase reports its simplest failure alone (its live verdict and case file with it); the
    # live phase, as before, every distinct one.
    extra = {"report_multiple_bugs": False} if phase == ORACLE else {}
    try:
        for batch in run.batches(name, stats, **extra):
            batch(given(strategy)(example))()
    except Exception as exc:
        stats.disagreements += failures_in(exc)
        raise
    finally:
        run.finish(stats)
