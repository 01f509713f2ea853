"""Key rotation as a state machine against a server of its own: publish, retire, rotate and re-key keys,
serve faults, take the key source down, wait for a refresh, and call with known and unknown keys. Every
call's decision must equal the key-provider model's, fed with what the key source served and when.
First, runs of the same steps against the release's own key provider (the fast oracle: its
updateKeys, round by round), each disagreement replayed on the server of its own."""

from __future__ import annotations

import pytest

from harness.cases.evidence import Evidence
from harness.fuzz.phases import fuzz_rotation
from harness.fuzz.runner import FuzzRun
from harness.fuzz.servers import FuzzServers

pytestmark = pytest.mark.needs_own_server


@pytest.mark.req("AUTHZ-FUZZ-006")
def test_rotation(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("rotation"):
        pytest.skip("fuzz class rotation not selected (--fuzz-class)")
    fuzz_rotation(fuzz_run, fuzz_servers, evidence)
