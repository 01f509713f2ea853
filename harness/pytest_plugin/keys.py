"""What the plugin's modules share through pytest's stashes: one key each, defined here only, so no module
of the plugin imports another for a key."""

from __future__ import annotations

import pytest

from harness.cases.evidence import Evidence
from harness.report.recorder import Recorder
from harness.report.speed import CpuClock
from harness.server.pool import ServerPool

RECORDER = pytest.StashKey[Recorder]()
STARTED = pytest.StashKey[tuple[float, CpuClock]]()  # monotonic and CPU at configure: metrics.speed
EVIDENCE = pytest.StashKey[Evidence]()  # an item's, filled in by the test, read by its report
# The session's pool, for hooks that run outside fixtures: in the session's own stash, not a module global
# (an in-process run after another, pytester's, would read the earlier session's pool: seen in CI).
POOL = pytest.StashKey[ServerPool]()
