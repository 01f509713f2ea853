"""SEC-P2 searched for, not listed: a hypothesis state machine plays a tenant of namespace A mixing every
path into namespace B (harness/security/machine.py), with B read after every step; and every case it has
shrunk to (fixtures/security/cases/) replayed. `nox -s fuzz -- --class tenancy` runs it for a budget; the
suites run the CI profile (a few short runs, derandomized)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from harness.cases.evidence import Evidence
from harness.fuzz.runner import FuzzRun
from harness.fuzz.servers import on_loop
from harness.security.attempts import CALLBACK_ALLOWLIST
from harness.security.machine import load_case
from harness.security.machine_run import run_tenancy_machine, tenancy_on
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import Target

CASES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "security" / "cases"
CASES = sorted(CASES_DIR.glob("*.json"))
# The production Nexus config (internal-frontend with an HTTP port, callbacks to one allowed domain, a fresh
# host per callback: harness.security.attempts), so the machine can try callbacks too; cross-namespace
# commands at the release's default.
MACHINE_SERVER = ServerSettings(
    internal_http=True,
    internode_tls=False,
    dynamic_config={
        "component.callbacks.allowedAddresses": CALLBACK_ALLOWLIST,
        "callback.allowedAddresses": CALLBACK_ALLOWLIST,
    },
    purpose="the tenancy state machine: internal-frontend HTTP port, callbacks allowed to one domain",
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def machine_target(server_pool: ServerPool, target: Target) -> Target:
    return await server_pool.target(MACHINE_SERVER) if server_pool.configurable else target


@pytest.mark.prop("SEC-P2", "stateful")
def test_tenancy_state_machine(fuzz_run: FuzzRun, machine_target: Target, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("tenancy"):
        pytest.skip("fuzz class tenancy not selected (--fuzz-class)")
    evidence.api, evidence.namespace = "the tenancy state machine", "authz-sec-tenant -> authz-sec-victim"
    run_tenancy_machine(fuzz_run, on_loop(machine_target), evidence)
    evidence.expected = evidence.observed = {"violations": 0}


@pytest.mark.prop("SEC-P2", "stateful")
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_committed_case_replays(
    case: Path, fuzz_run: FuzzRun, machine_target: Target, evidence: Evidence
) -> None:
    """A case the machine shrank to on a release where it found a violation: on a release without that
    weakness it replays clean; on one with it, it fails again, naming the path and its advisory."""
    stored = load_case(case)
    tenancy = tenancy_on(on_loop(machine_target), fuzz_run, source=case)
    evidence.api, evidence.extra["case"] = (
        f"replay of {case.name}",
        {k: stored[k] for k in ("release", "path", "steps")},
    )
    tenancy.replay(stored["steps"])
    evidence.expected = evidence.observed = {"violations": 0}
