"""Key rotation against the release's own key provider: the rotation class's steps (harness.fuzz.rotation)
played over refresh rounds the oracle program serves, its provider refreshed with its own updateKeys.

Rounds are explicit here: `settled()` puts a refresh after every change to what the key source serves
while it answers (the live server refreshes on its own every 50 ms, so a live run without them is decided
by when its timer fired; with them, both the fast run and its live replay are determinate). An outage is
a refused connection; the `slow` fault serves the keys (late, which no round here waits for).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from harness.fuzz.examples import Example
from harness.fuzz.exercise import GRANT
from harness.fuzz.fast_check import LiveJudge
from harness.fuzz.rotation import FAULTS, Rotation, key_named
from harness.fuzz.servers import OwnKeySource
from harness.fuzz.twin import Compared, Twin, prefixed, ring_text
from harness.fuzz.twin_classes import Deferred, bearer, granted
from harness.model.claims import KeyRing
from harness.oracle.questions import REFUSED, KeySources, Served
from harness.tokens.keys import SigningKey

CHANGES = frozenset({"publish", "retire", "rotate", "serve_fault", "clear_fault", "recover"})
KEY_NAMES = tuple(f"k{i}" for i in range(1, 6))
RUN_STEPS = 12


def settled(steps: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The steps with a refresh after each change to what is served while the source answers."""
    out: list[list[Any]] = []
    down = False
    for step in steps:
        out.append(list(step))
        name = step[0]
        down = True if name == "outage" else False if name == "recover" else down
        if name in CHANGES and not down:
            out.append(["refresh"])
    return out


@dataclass
class Source:
    """What the key source serves (as harness.jwks.fixture.JwksServer would) and the rounds so far."""

    keys: dict[str, SigningKey] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)
    served: list[SigningKey] = field(default_factory=list)
    fault: str = ""
    down: bool = False
    rounds: list[Served] = field(default_factory=list)

    def publish(self, key: SigningKey) -> None:
        self.served = [k for k in self.served if not (k.kid == key.kid and k.kty == key.kty)] + [key]

    def retire(self, key: SigningKey) -> None:
        self.served = [k for k in self.served if (k.kid, k.kty) != (key.kid, key.kty)]

    def answer(self) -> Served:
        if self.down:
            return REFUSED
        document = json.dumps({"keys": [k.public_jwk() for k in self.served]}).encode()
        fault = FAULTS.get(self.fault)
        if fault is None:
            return Served(document)
        return Served(fault.body if fault.body is not None else document, fault.status)

    def step(self, name: str, *args: Any) -> None:
        if name == "begin":
            self.keys, self.generations = {"k0": key_named("k0", "RSA")}, {"k0": 0}
            self.served, self.fault, self.down = [self.keys["k0"]], "", False
            self.rounds.append(self.answer())
        elif name == "new_key":
            self.generations[args[0]] = 0
            self.keys[args[0]] = key_named(args[0], args[1])
        elif name == "rekey":
            old = self.keys[args[0]]
            self.generations[args[0]] = self.generations.get(args[0], 0) + 1
            self.keys[args[0]] = key_named(old.kid, old.kty, self.generations[args[0]])
        elif name == "publish":
            self.publish(self.keys[args[0]])
        elif name == "retire":
            self.retire(self.keys[args[0]])
        elif name == "rotate":
            self.publish(self.keys[args[0]])
            if args[0] != args[1]:
                self.retire(self.keys[args[1]])
        elif name in ("serve_fault", "clear_fault"):
            self.fault = args[0] if args else ""
        elif name in ("outage", "recover"):
            self.down = name == "outage"
        elif name == "refresh":
            self.rounds.append(self.answer())


def rotation(example: Example, twin: Twin, now: int) -> Deferred:
    """Each call of the (settled) run: the sample's outcomes and the keys held, model against oracle."""
    source = Source()
    model: dict[str, str] = {}
    pending: list[
        tuple[int, Callable[[], tuple[dict[str, str], Any]], Callable[[], tuple[KeyRing, str]]]
    ] = []
    for step in settled(example.input["steps"]):
        name, *args = step
        if name != "call":
            source.step(name, *args)
            continue
        index = len(pending)
        key = source.keys.get(args[0]) or key_named("stranger", "RSA")
        token = granted(key, "rotation", now)
        sources = KeySources.one(*source.rounds)
        pending.append((index, twin.oracle_outcomes(bearer(token), sources, now), twin.oracle_ring(sources)))
        ring = twin.model_ring([], source.rounds)
        model |= prefixed(f"call{index}", twin.model_outcomes(bearer(token), token.signed_by, ring, now))
        model[f"call{index}/keys"] = ring_text(ring)

    def compared() -> Compared:
        oracle: dict[str, str] = {}
        for index, outcomes, held in pending:
            oracle |= prefixed(f"call{index}", outcomes()[0])
            oracle[f"call{index}/keys"] = ring_text(held()[0])
        return Compared(
            model, oracle, {"rounds": [r.status if r.body is not None else "refused" for r in source.rounds]}
        )

    return compared


# -- the steps, drawn ------------------------------------------------------------------------------


@functools.cache
def _one_of(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of `names` (built once per set of known keys: building it in every draw was a quarter of the
    class's oracle phase)."""
    return st.sampled_from(names)


@functools.cache
def _called(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(_one_of(names), st.just("stranger"))


@functools.cache
def _step_counts(steps: int) -> st.SearchStrategy[int]:
    return st.integers(1, steps)


@st.composite
def rotation_runs(draw: st.DrawFn, steps: int = RUN_STEPS) -> dict[str, Any]:
    """A run of the rotation machine's steps (its rules and preconditions), already settled()."""
    run: list[list[Any]] = [["begin"]]
    known: tuple[str, ...] = ("k0",)
    down = False
    for _ in range(draw(_step_counts(steps))):
        rule = draw(RULES)
        if rule == "new_key":
            name = draw(_one_of(KEY_NAMES))
            run.append(["new_key", name, draw(KTYS)])
            known = tuple(dict.fromkeys([*known, name]))
        elif rule in ("rekey", "publish", "retire"):
            run.append([rule, draw(_one_of(known))])
        elif rule == "rotate":
            run.append(["rotate", draw(_one_of(known)), draw(_one_of(known))])
        elif rule == "serve_fault":
            run.append(["serve_fault", draw(FAULT_NAMES)])
        elif rule == "clear_fault":
            run.append(["clear_fault"])
        elif rule == "outage" and not down:
            run.append(["outage"])
            down = True
        elif rule == "recover" and down:
            run.append(["recover"])
            down = False
        elif rule == "refresh" and not down:
            run.append(["refresh"])
        elif rule == "call":
            run.append(["call", draw(_called(known))])
    run.append(["call", draw(_called(known))])
    return {"steps": settled(run)}


RULES = st.sampled_from(("call", "new_key", "publish", "retire", "rotate", "rekey", "serve_fault",
                         "clear_fault", "outage", "recover", "refresh", "call"))  # fmt: skip
KTYS = st.sampled_from(("RSA", "EC"))
FAULT_NAMES = st.sampled_from(tuple(sorted(FAULTS)))


# -- the live server as the judge --------------------------------------------------------------


class ObservedRotation(Rotation):
    """Rotation whose calls record what the live server did instead of judging it."""

    def __init__(self, own: OwnKeySource, reports: Path) -> None:
        super().__init__(own, reports)
        self.observed: dict[str, str] = {}
        self._calls = 0

    def call(self, name: str) -> Any:
        self.record("call", name)
        key = self.keys.get(name) or key_named("stranger", "RSA")
        token = self.own.target.mint(GRANT, key=key, sub="rotation")
        run = self.observe(token)
        for label, outcome in run.observed.outcomes.items():
            self.observed[f"call{self._calls}/{label}"] = outcome.value
        self._calls += 1


def rotation_judge(own: OwnKeySource, reports: Path) -> LiveJudge:
    def judge(example: Example) -> dict[str, str]:
        replay = ObservedRotation(own, reports)
        replay.replay(example.input["steps"])
        return replay.observed

    return judge
