"""The tenancy state machine (harness.security.machine) run as suites/test_security_machine.py runs it: a
Tenancy on a server's scene, and the machine's budgeted batches against it, counted in the run's figures."""

from __future__ import annotations

from typing import Any

from hypothesis.stateful import run_state_machine_as_test

from harness.cases.evidence import Evidence
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.runner import FuzzRun, failures_in
from harness.security.machine import MACHINE_STEPS, Tenancy, TenancyMachine
from harness.security.scene import open_scene
from harness.server.target import Target


def tenancy_on(server: Target, run: FuzzRun, **kwargs: Any) -> Tenancy:
    """A driver on a fresh scene of `server` (callbacks tried where its internal-frontend HTTP port is on)."""
    scene = BACKGROUND.run(open_scene(server))
    return Tenancy(
        scene,
        run.reports,
        callbacks=server.settings.internal_http,
        release=str(server.version),
        **kwargs,
    )


def run_tenancy_machine(run: FuzzRun, server: Target, evidence: Evidence) -> None:
    """The machine's batches (the run's budget for class tenancy) against `server`; a violation raises."""
    stats = run.start("tenancy")

    def driver() -> Tenancy:
        stats.examples += 1
        run.tick(stats)
        return tenancy_on(server, run, on_step=step)

    def step() -> None:
        stats.steps += 1

    TenancyMachine.driver = staticmethod(driver)
    try:
        for batch in run.batches("tenancy", stats, stateful_step_count=MACHINE_STEPS):
            run_state_machine_as_test(TenancyMachine, settings=batch)
    except Exception as exc:
        stats.disagreements += failures_in(exc)
        raise
    finally:
        run.finish(stats)
        evidence.extra["fuzz"] = stats.as_dict()
