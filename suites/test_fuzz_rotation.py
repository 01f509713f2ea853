"""Key rotation as a state machine against a server of its own: publish, retire, rotate and re-key keys,
serve faults, take the key source down, wait for a refresh, and call with known and unknown keys. Every
call's decision must equal the key-provider model's, fed with what the key source served and when.
First, runs of the same steps against the release's own key provider (the fast oracle: its
updateKeys, round by round), each disagreement replayed on the server of its own."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from harness.cases.evidence import Evidence
from harness.fuzz.fast_phase import run_fast
from harness.fuzz.fast_rotation import rotation, rotation_judge, rotation_runs
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.rotation import ROTATION_STEPS, Rotation, RotationMachine
from harness.fuzz.runner import FuzzRun, failures_in
from harness.fuzz.servers import FuzzServers

pytestmark = pytest.mark.needs_own_server


@pytest.mark.req("AUTHZ-FUZZ-006")
def test_rotation(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("rotation"):
        pytest.skip("fuzz class rotation not selected (--fuzz-class)")
    own = BACKGROUND.run(fuzz_servers.own_key_source("rotation"))
    judge = rotation_judge(own, fuzz_run.reports)
    found = run_fast(fuzz_run, "rotation", rotation_runs(), fuzz_servers.default_target, judge,
                     recipes={"rotation": rotation})  # fmt: skip
    stats = fuzz_run.start("rotation")

    def driver() -> Rotation:
        stats.examples += 1
        fuzz_run.tick(stats)
        return Rotation(own, fuzz_run.reports, on_step=step)

    def step() -> None:
        stats.steps += 1

    RotationMachine.driver = staticmethod(driver)  # type: ignore[assignment]
    try:
        for batch in fuzz_run.batches("rotation", stats, stateful_step_count=ROTATION_STEPS):
            run_state_machine_as_test(RotationMachine, settings=batch)
    except Exception as exc:
        stats.disagreements += failures_in(exc)
        if found:
            found.add_note(f"fuzz rotation: the live phase disagreed too: {str(exc).splitlines()[0]}")
            raise found from None
        raise
    finally:
        fuzz_run.finish(stats)
        evidence.extra["fuzz"] = stats.as_dict()
    if found:
        raise found
