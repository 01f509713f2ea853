"""Searching for what nobody has reported: a hypothesis state machine plays a tenant with every right in
namespace A and none in namespace B, and mixes every path it has into B (a raw worker's commands, batches
by list and query, the batcher's own input, multi-operations, task tokens of B, calls by B's id, completion
callbacks) in random order. Its invariant is SEC-P2, read from B after every step: B as an admin read it
after the last step the admin took, unchanged.

`Tenancy` is the driver (plain steps, each recorded); `TenancyMachine` lets hypothesis choose them; a stored
run (`{"steps": [...]}`) replays through the same driver. The steps are harness.security.attempts, the same
the path-by-path suites run, so a shrunk case names paths a person knows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule

from harness.atomic import write_text_atomic
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.runner import final_replay
from harness.security import attempts
from harness.security.attempts import Attempted
from harness.security.checks import PropertyViolated, advisories_of
from harness.security.scene import Scene
from harness.security.state import NamespaceState, changes

STEP_TIMEOUT = 180.0
MACHINE_STEPS = 8  # steps per state machine run
# Which property path each step is, for the report of a violation (and the advisories it names).
PATHS = {
    "command": "SEC-P2/xns-{kind}",
    "batch": "SEC-P2/batch",
    "forged": "SEC-P2/batch-forged",
    "multi": "SEC-P2/multi-operation",
    "task_token": "SEC-P2/task-token",
    "by_id": "SEC-P2/by-id",
    "callback": "SEC-P2/callback-source",
}


@dataclass
class Tenancy:
    scene: Scene
    reports: Path
    steps: list[list[Any]] = field(default_factory=list)
    baseline: NamespaceState | None = None
    on_step: Callable[[], None] = lambda: None
    callbacks: bool = False  # the server routes callbacks to an allowed host (harness.security.attempts)
    source: Path | None = None  # the case file a replayed run came from
    release: str = ""

    def record(self, *step: Any) -> None:
        self.steps.append(list(step))
        self.on_step()

    def _run(self, coroutine: Any) -> Any:
        return BACKGROUND.run(coroutine, timeout=STEP_TIMEOUT)

    # -- the admin's steps: B changes, and the baseline with it ----------------------------------
    def victim(self) -> str:
        self.record("victim")
        victim: str = self._run(self.scene.victim())
        self.baseline = self._run(self.scene.read_b())
        return victim

    # -- the tenant's steps: B must not change ----------------------------------------------------
    def command(self, kind: str, victim: str) -> None:
        self.record("command", kind, victim)
        done = self._run(
            attempts.workflow_command(self.scene, kind, self._victim(victim), self.scene.tenant())
        )
        self._check("command", done, kind=kind)

    def batch(self, kind: str, by: str, victim: str) -> None:
        self.record("batch", kind, by, victim)
        done = self._run(attempts.batch(self.scene, kind, by, self._victim(victim), self.scene.tenant()))
        self._check("batch", done)

    def forged(self, kind: str, victim: str) -> None:
        self.record("forged", kind, victim)
        done = self._run(attempts.forged_batch(self.scene, kind, self._victim(victim), self.scene.tenant()))
        self._check("forged", done)

    def multi(self) -> None:
        self.record("multi")
        workflow_id = f"sec-multi-{hashlib.sha256(json.dumps(self.steps).encode()).hexdigest()[:8]}"
        done = self._run(attempts.multi_operation(self.scene, self.scene.tenant(), workflow_id))
        self._check("multi", done)

    def task_token(self, named: str) -> None:
        self.record("task_token", named)
        token = self._run(attempts.task_of_b(self.scene))
        holder = self.scene.victims[-1]
        self.baseline = self._run(self.scene.read_b())  # the admin's poll changed B
        done = self._run(attempts.complete_task_of_b(self.scene, named, token, self.scene.tenant()))
        self._check("task_token", done)
        # The admin ends the workflow whose task it polled: left started, the task times out on the server's
        # clock (scene.TASK_TIMEOUT or the server's cap) and B's history grows during a later step, nobody
        # having acted (seen on 1.32.2: a false SEC-P2 violation, B's timed-out tasks blamed on a callback).
        self._run(self.scene.terminate(self.scene.b, [holder]))
        self.baseline = self._run(self.scene.read_b())

    def by_id(self, role: str) -> None:
        self.record("by_id", role)
        done = self._run(attempts.by_id(self.scene, self.scene.tenant(role)))
        self._check("by_id", done)

    def callback(self, source: str, victim: str) -> None:
        self.record("callback", source, victim)
        done = self._run(
            attempts.callback(self.scene, self._victim(victim), self.scene.tenant(), source=source)
        )
        self._check("callback", done)

    def _victim(self, name: str) -> str:
        """A replayed case names victims by the order they were made ("victim-0"); a live run by id."""
        if name.startswith("victim-") and name[7:].isdigit():
            return self.scene.victims[int(name[7:])]
        return name

    def _check(self, step: str, done: Attempted, **labels: str) -> None:
        if self.baseline is None:
            self.baseline = self._run(self.scene.read_b())
        after = self._run(self.scene.read_b())
        violations = [*done.carried_out, *changes(self.baseline, after)]
        if not violations:
            return
        path = PATHS[step].format(**labels)
        named = advisories_of(path)
        case = self.write_case(path, violations)
        raise PropertyViolated(
            f"SEC-P2 VIOLATED by the state machine after {len(self.steps)} step(s); the last is path {path}"
            f"{f' (a case of {chr(44).join(named)})' if named else ' (no published advisory names it)'}:\n  "
            + "\n  ".join(violations[:20])
            + f"\nsteps: {json.dumps(self.replayable())}\nanswer: {done.describe()}\ncase file: {case}"
        )

    # -- cases ------------------------------------------------------------------------------------------
    def replayable(self) -> list[list[Any]]:
        """The steps with victims named by their order, so they replay on any server."""
        order = {v: f"victim-{i}" for i, v in enumerate(self.scene.victims)}
        return [[order.get(a, a) if isinstance(a, str) else a for a in step] for step in self.steps]

    def write_case(self, path: str, violations: Sequence[str]) -> Path | None:
        """The minimal failing run as a case file (hypothesis's final replay only), under reports/fuzz/."""
        if self.source is not None or not final_replay():
            return self.source
        steps = self.replayable()
        digest = hashlib.sha256(json.dumps(steps).encode()).hexdigest()[:10]
        out = self.reports / "fuzz" / f"tenancy-{digest}.json"
        case = {
            "class": "tenancy",
            "release": self.release,
            "path": path,
            "steps": steps,
            "violations": list(violations[:10]),
            "note": "Found by the tenancy state machine (harness/security/machine.py); replay with "
            "suites/test_security_machine.py (copy the file to fixtures/security/cases/).",
        }
        write_text_atomic(out, json.dumps(case, indent=2) + "\n")
        return out

    def replay(self, steps: Sequence[Sequence[Any]]) -> None:
        """Run stored steps in order (a committed case); a step that changes B raises."""
        for name, *args in steps:
            getattr(self, str(name))(*args)


VICTIM_KINDS = st.sampled_from(sorted(attempts.COMMANDS))


class TenancyMachine(RuleBasedStateMachine):
    """Hypothesis chooses the steps; `driver` (set by harness.security.machine_run) makes a Tenancy on its server."""

    driver: ClassVar[Callable[[], Tenancy]]
    victims = Bundle("victims")

    def __init__(self) -> None:
        super().__init__()
        self.tenancy = type(self).driver()

    @initialize(target=victims)
    def first_victim(self) -> str:
        return self.tenancy.victim()

    @rule(target=victims)
    def victim(self) -> str:
        return self.tenancy.victim()

    @rule(kind=VICTIM_KINDS, victim=victims)
    def command(self, kind: str, victim: str) -> None:
        self.tenancy.command(kind, victim)

    @rule(
        kind=st.sampled_from(sorted(attempts.BATCH_KINDS)),
        by=st.sampled_from(["list", "query"]),
        victim=victims,
    )
    def batch(self, kind: str, by: str, victim: str) -> None:
        self.tenancy.batch(kind, by, victim)

    @rule(kind=st.sampled_from(sorted(attempts.FORGED)), victim=victims)
    def forged(self, kind: str, victim: str) -> None:
        self.tenancy.forged(kind, victim)

    @rule()
    def multi(self) -> None:
        self.tenancy.multi()

    @rule(named=st.sampled_from(["A", "empty", "B"]))
    def task_token(self, named: str) -> None:
        self.tenancy.task_token(named)

    @rule(role=st.sampled_from(["read", "write", "admin"]))
    def by_id(self, role: str) -> None:
        self.tenancy.by_id(role)

    @rule(source=st.sampled_from(["x", "cluster-id"]), victim=victims)
    def callback(self, source: str, victim: str) -> None:
        if self.tenancy.callbacks:
            self.tenancy.callback(source, victim)


def load_case(path: Path) -> dict[str, Any]:
    case = json.loads(path.read_text())
    if case.get("class") != "tenancy" or not isinstance(case.get("steps"), list):
        raise ValueError(f"{path}: not a tenancy case (class tenancy, steps)")
    return dict(case)
