"""A class's fast oracle phase: its examples asked of the model and of the release's own functions
(harness.fuzz.fast_check), in batches, within the phase's budget; the live server judges each
disagreement.

Returns the failure instead of raising it, so the class's live phase runs whatever the fast one found;
the suite raises both at the end.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import strategies as st

from harness.fuzz.derive import CI_PER_DRAWN, PARTS, PER_DRAWN, SEED_MAX, Parts, Seen, recombined
from harness.fuzz.examples import Example
from harness.fuzz.fast_check import FastChecker, LiveJudge, guarded_body
from harness.fuzz.guard import GUARD
from harness.fuzz.oracles import twin_for
from harness.fuzz.runner import ORACLE, ClassStats, FuzzRun, run_property
from harness.fuzz.twin_classes import Recipe
from harness.server.target import Target

# Examples per drawn batch: one hypothesis test case carries a list of up to GROUPS lists of up to BATCH
# examples each (about 20 on average: hypothesis draws a list's length with an average of a few, so a flat
# list of 64 would still hold about 6), all their questions to the oracle program in one write
# (hypothesis's own cost per test case, and a round trip each, dominate otherwise); a failing batch shrinks
# to one list of the one example that fails.
BATCH = 8
GROUPS = 8


def batches_of(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """Batches of examples of `strategy` (at least one)."""
    groups = st.lists(st.lists(strategy, min_size=1, max_size=BATCH), min_size=1, max_size=GROUPS)
    return groups.map(lambda drawn: [value for group in drawn for value in group])


def drawn_with_seeds(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[list[Any], int]]:
    """Batches of examples of `strategy`, each with the seed its derived inputs are chosen by."""
    return st.tuples(batches_of(strategy), st.integers(0, SEED_MAX))


class Asked:
    """The inputs a test case asks (harness.fuzz.derive): its drawn ones and those derived from them,
    less repeats and inputs answered alike earlier in the phase; worked out once per test case (counted,
    then asked)."""

    def __init__(self, parts: Parts | None, per_drawn: int = PER_DRAWN) -> None:
        self.parts, self.per_drawn = parts, per_drawn
        self.seen = Seen()
        self._last: tuple[Any, list[Any]] | None = None

    def of(self, value: tuple[list[Any], int]) -> list[Any]:
        if self._last is not None and self._last[0] is value:
            return self._last[1]
        drawn, seed = value
        derived = recombined(drawn, self.parts, seed, self.per_drawn) if self.parts is not None else []
        inputs = self.seen.new([*drawn, *derived])
        self._last = (value, inputs)
        return inputs


# The cycle collector's thresholds while a fast phase runs (gen0 allocations, gen1 and gen2 passes): each
# example makes thousands of short-lived objects, and every gen2 pass walked the whole process's heap
# (hypothesis's, the servers' clients') again. Measured once, side by side: claims 1,633 -> 1,882 examples/s.
PHASE_GC_THRESHOLDS = (50_000, 20, 100)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """What exists before the phase is left out of collections (gc.freeze), and collections are rarer,
    until the phase ends (then as before)."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*PHASE_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def run_fast(
    run: FuzzRun,
    name: str,
    strategy: st.SearchStrategy[Any],
    target: Target,
    judge: LiveJudge | None,
    recipes: Mapping[str, Recipe] | None = None,
    parts: Mapping[str, Parts] = PARTS,
) -> Exception | None:
    """The oracle phase of class `name` against `target`'s release (its facts: version, API table,
    config); None when nothing disagreed (or there is no oracle here: the reason goes to the figures).
    `parts`: the classes whose inputs are recombined into more (harness.fuzz.derive)."""
    stats = run.stats.setdefault(name, ClassStats(name))
    twin = twin_for(target, run.progress, build=not run.budget.ci)
    if isinstance(twin, str):
        stats.notes.append(twin)
        run.progress(f"fuzz {name}: {twin}; live phase only")
        return None
    stats.oracle_release = str(target.version)
    check = FastChecker(twin, run.reports, judge)
    if recipes is not None:
        check.recipes = dict(recipes)
    body = guarded_body(check)
    GUARD.slowest = 0.0
    asked = Asked(parts.get(name), CI_PER_DRAWN if run.budget.ci else PER_DRAWN)

    def ask(value: tuple[list[Any], int]) -> None:
        inputs = asked.of(value)
        body([Example(name, v) for v in inputs])
        asked.seen.answered(inputs)  # only once every one was answered alike

    try:
        with fewer_collections():
            run_property(
                run,
                name,
                drawn_with_seeds(strategy),
                ask,
                phase=ORACLE,
                count=lambda value: len(asked.of(value)),
            )
    except Exception as exc:
        return exc
    finally:
        stats.model_slowest_s = max(stats.model_slowest_s, GUARD.slowest)
    return None
