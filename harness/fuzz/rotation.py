"""Key rotation as a state machine: publish, retire, rotate and re-key keys, serve faults, take the key
source down, wait for a refresh, and call with any key the harness knows (published or not) or one it
never published. The key-provider model, fed the fixture's fetch log through the server's timeline,
says what the server holds at every call; every decision must match.

`Rotation` is the driver (plain steps, each recorded); `RotationMachine` lets hypothesis choose the
steps; a stored run (`{"steps": [...]}`) replays through the same driver on a fresh server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, precondition, rule

from harness.cases.runner import ATTEMPTS, CaseRun, observe
from harness.fuzz import calls as sample
from harness.fuzz.examples import Example
from harness.fuzz.exercise import GRANT
from harness.fuzz.exercised import Exercised
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.report import disagreement
from harness.fuzz.runner import final_replay
from harness.fuzz.servers import OwnKeySource
from harness.jwks.fixture import Fault
from harness.tokens.keys import SigningKey, ec_key, rsa_key
from harness.tokens.mint import MintedToken

STEP_TIMEOUT = 120.0
ROTATION_STEPS = 10  # steps per state machine run
FAULTS: dict[str, Fault] = {
    "http-500": Fault(status=500, body=b"internal error", name="http-500"),
    "invalid-json": Fault(body=b'{"keys": [', name="invalid-json"),
    "json-array": Fault(body=b"[]", name="json-array"),
    "empty-set": Fault(body=b'{"keys": []}', name="empty-set"),
    "empty-set-404": Fault(status=404, body=b'{"keys": []}', name="empty-set-404"),
    "unknown-kty": Fault(body=b'{"keys": [{"kty": "XYZ", "kid": "alien"}]}', name="unknown-kty"),
    "slow": Fault(delay=0.3, name="slow"),
}
_KEYS: dict[tuple[str, str, int], SigningKey] = {}  # keys are slow to make (RSA): reused across runs


def key_named(kid: str, kty: str, generation: int = 0) -> SigningKey:
    if (kid, kty, generation) not in _KEYS:
        _KEYS[(kid, kty, generation)] = ec_key(kid=kid) if kty == "EC" else rsa_key(kid=kid)
    return _KEYS[(kid, kty, generation)]


@dataclass
class Rotation:
    own: OwnKeySource
    reports: Path
    keys: dict[str, SigningKey] = field(default_factory=dict)  # by name ("k0", "k1", ...)
    generations: dict[str, int] = field(default_factory=dict)
    steps: list[list[Any]] = field(default_factory=list)
    fault: str = ""
    down: bool = False
    on_step: Callable[[], None] = lambda: None  # counts steps for the run's figures
    source: Path | None = None  # the case file a replayed run came from

    @property
    def jwks(self) -> Any:
        return self.own.jwks

    def record(self, *step: Any) -> None:
        self.steps.append(list(step))
        self.on_step()

    # -- steps --------------------------------------------------------------------------------
    def begin(self) -> str:
        """A clean key source with one published key, applied."""
        self.record("begin")
        self.jwks.resume_listening()
        self.jwks.set_fault(None)
        first = self._key("k0", "RSA")
        self.jwks.replace([first])
        BACKGROUND.run(self.own.settle(), timeout=STEP_TIMEOUT)
        return "k0"

    def new_key(self, name: str, kty: str) -> str:
        self.record("new_key", name, kty)
        self._key(name, kty)
        return name

    def rekey(self, name: str) -> None:
        """A new key under the same kid and type (the old one's signatures stop verifying once served)."""
        self.record("rekey", name)
        old = self.keys[name]
        self.generations[name] = self.generations.get(name, 0) + 1
        self.keys[name] = key_named(old.kid, old.kty, self.generations[name])

    def publish(self, name: str) -> None:
        self.record("publish", name)
        self.jwks.publish(self.keys[name])

    def retire(self, name: str) -> None:
        self.record("retire", name)
        self.jwks.retire(self.keys[name])

    def rotate(self, new: str, old: str) -> None:
        self.record("rotate", new, old)
        self.jwks.publish(self.keys[new])
        if old != new:
            self.jwks.retire(self.keys[old])

    def serve_fault(self, kind: str) -> None:
        self.record("serve_fault", kind)
        self.fault = kind
        self.jwks.set_fault(FAULTS[kind])

    def clear_fault(self) -> None:
        self.record("clear_fault")
        self.fault = ""
        self.jwks.set_fault(None)

    def outage(self) -> None:
        self.record("outage")
        self.down = True
        self.jwks.stop_listening()

    def recover(self) -> None:
        self.record("recover")
        self.down = False
        self.jwks.resume_listening()

    @property
    def can_refresh(self) -> bool:
        """A refresh can be waited for: the source answers (an outage shows in no fetch log)."""
        return not self.down

    def refresh(self) -> None:
        self.record("refresh")
        BACKGROUND.run(self.own.settle(), timeout=STEP_TIMEOUT)

    def call(self, name: str) -> Exercised | None:
        """Mint with a known key (or "stranger", never published) and check the sample's decisions.
        During an outage no fetch can settle which keys the server holds (a change made before the outage
        may or may not have been fetched): the calls are made once, and each decision must be one the
        model allows (None is returned: nothing to compare item by item)."""
        self.record("call", name)
        key = self.keys.get(name) or key_named("stranger", "RSA")
        target = self.own.target
        token = target.mint(GRANT, key=key, sub="rotation")
        run = self.observe(token)
        example = Example("rotation", {"steps": [list(s) for s in self.steps]})
        if not run.determinate:
            outside = {
                label: f"observed {run.observed.outcomes[label].value}, allowed {sorted(str(v) for v in a.values)}"
                for label, a in run.answers.items()
                if run.observed.outcomes[label] not in a.values
            }
            assert not outside, f"rotation during an outage: {outside} ({example.text()})"
            return None
        done = Exercised(example, target, {"token": run}, {"key_source_log": self.jwks.log_lines()[-8:]})
        if done.differences():
            raise disagreement(done, self.reports, write=final_replay(), path=self.source)
        return done

    def observe(self, token: MintedToken) -> CaseRun:
        """The sample's calls with `token`, on the server's keys settled (during an outage: made once, as
        nothing can settle them)."""
        attempts = 1 if self.down else ATTEMPTS
        return BACKGROUND.run(
            observe(self.own.target, sample.sample(), token, attempts=attempts), timeout=STEP_TIMEOUT
        )

    def end(self) -> None:
        """Leave the key source answering, without a fault (the next run begins from here)."""
        if self.down:
            self.jwks.resume_listening()
            self.down = False
        self.jwks.set_fault(None)

    def _key(self, name: str, kty: str) -> SigningKey:
        self.generations[name] = 0
        self.keys[name] = key_named(name, kty)
        return self.keys[name]

    # -- replay ---------------------------------------------------------------------------------
    def replay(self, steps: Sequence[Sequence[Any]]) -> None:
        """Run stored steps in order (a regression case); a call that disagrees raises."""
        try:
            for name, *args in steps:
                getattr(self, str(name))(*args)
        finally:
            self.end()


KEY_NAMES = st.sampled_from([f"k{i}" for i in range(1, 6)])


class RotationMachine(RuleBasedStateMachine):
    """Hypothesis chooses the steps; `driver` (set by harness.fuzz.phases) makes a Rotation on its server."""

    driver: ClassVar[Callable[[], Rotation]]
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.rotation = type(self).driver()

    @initialize(target=keys)
    def begin(self) -> str:
        return self.rotation.begin()

    @rule(target=keys, name=KEY_NAMES, kty=st.sampled_from(["RSA", "EC"]))
    def new_key(self, name: str, kty: str) -> str:
        return self.rotation.new_key(name, kty)

    @rule(key=keys)
    def rekey(self, key: str) -> None:
        self.rotation.rekey(key)

    @rule(key=keys)
    def publish(self, key: str) -> None:
        self.rotation.publish(key)

    @rule(key=keys)
    def retire(self, key: str) -> None:
        self.rotation.retire(key)

    @rule(new=keys, old=keys)
    def rotate(self, new: str, old: str) -> None:
        self.rotation.rotate(new, old)

    @rule(kind=st.sampled_from(sorted(FAULTS)))
    def serve_fault(self, kind: str) -> None:
        self.rotation.serve_fault(kind)

    @rule()
    def clear_fault(self) -> None:
        self.rotation.clear_fault()

    @precondition(lambda self: not self.rotation.down)
    @rule()
    def outage(self) -> None:
        self.rotation.outage()

    @precondition(lambda self: self.rotation.down)
    @rule()
    def recover(self) -> None:
        self.rotation.recover()

    @precondition(lambda self: self.rotation.can_refresh)
    @rule()
    def refresh(self) -> None:
        self.rotation.refresh()

    @rule(key=st.one_of(keys, st.just("stranger")))
    def call(self, key: str) -> None:
        self.rotation.call(key)

    def teardown(self) -> None:
        self.rotation.end()


def steps_text(steps: Sequence[Sequence[Any]]) -> str:
    return json.dumps([list(s) for s in steps])
