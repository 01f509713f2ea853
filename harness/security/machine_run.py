"""The tenancy state machine (harness.security.machine) run as suites/test_security_machine.py runs it: a
Tenancy on a server's scene, and the machine's budgeted batches against it, counted in the run's figures."""

from __future__ import annotations

from typing import Any

from harness.cases.evidence import Evidence
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.runner import FuzzRun, run_machine
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
    run_machine(run, "tenancy", TenancyMachine, lambda step: tenancy_on(server, run, on_step=step),
                MACHINE_STEPS, evidence.extra)  # fmt: skip
