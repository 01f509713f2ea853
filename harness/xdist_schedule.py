"""How pytest-xdist deals the suites' files to its workers: whole files (xdist's loadfile: a file's module
fixtures and servers stay in one worker), longest first, by each file's wall time in the last run.

Most of a run's time is waiting on the server (key refresh intervals, token expiry, quota refill, server
starts), not CPU: a free worker takes the longest file left, so the longest files start first and the
short ones fill in at the end (longest processing time first, dealt as workers free up).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xdist.scheduler import LoadFileScheduling
from xdist.workermanage import WorkerController

DEFAULT_SECONDS = 5.0  # a file the last run did not time
# Each file's wall time (fixtures included), measured on the pinned version with 4 workers on 2 cores
# (process backend): the first run without a previous report deals by these.
KNOWN_SECONDS = {
    "test_security_tenancy.py": 76, "test_http.py": 59, "test_expiry.py": 37, "test_hostile_keys.py": 34,
    "test_jwks_faults.py": 31, "test_matrix.py": 30, "test_security_machine.py": 26,
    "test_security_callbacks.py": 23, "test_fuzz_config.py": 21, "test_quota.py": 20,
    "test_security_reader.py": 20, "test_doors.py": 18, "test_rotation.py": 16, "test_fuzz_regressions.py": 16,
    "test_fuzz.py": 16, "test_nexus.py": 14, "test_long_poll.py": 10, "test_config_variants.py": 10,
    "test_config_edges.py": 9, "test_admin.py": 8, "test_scenarios.py": 8, "test_task_tokens.py": 6,
    "test_fuzz_rotation.py": 6, "test_tokens.py": 6, "test_metrics.py": 6, "test_cross_namespace.py": 4,
    "test_workflows.py": 4, "test_principals.py": 4, "test_mtls.py": 4,
}  # fmt: skip


def durations(report: Path) -> dict[str, float]:
    """Seconds per test file in a previous conformance.json (empty when there is none): each file's wall
    time, fixtures included (a grid file probes everything in a fixture and then compares in
    milliseconds per test); from an older report, the sum of its tests' call durations."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return {}
    walls = (data.get("metrics") or {}).get("file_wall_s")
    if isinstance(walls, dict) and walls:
        return {str(name): float(s) for name, s in walls.items()}
    seconds: dict[str, float] = {}
    for test in data.get("tests", []):
        name = Path(test["nodeid"].split("::")[0]).name
        seconds[name] = seconds.get(name, 0.0) + float(test.get("duration_s") or 0.0)
    return seconds


def weight(file: str, seconds: Mapping[str, float]) -> float:
    """A file's expected seconds (`file`: a path or a node ID's file part)."""
    name = Path(file.split("::", 1)[0]).name
    return seconds.get(name, KNOWN_SECONDS.get(name, DEFAULT_SECONDS))


class LongestFirstScheduling(LoadFileScheduling):  # type: ignore[misc]
    """xdist's loadfile scheduling with the longest file left handed out first, and a worker given its
    next file only when it starts the last test of the files it has. A worker holds its last test until it
    knows the one after it (teardown needs it), so it must be given something then; xdist's own rule
    (more work below 3 pending tests) would commit a second long file to a worker that is still busy
    with a long one while another worker may be free sooner."""

    def __init__(self, config: Any, log: Any = None, seconds: Mapping[str, float] | None = None) -> None:
        super().__init__(config, log)
        self.seconds = dict(seconds or {})

    def _assign_work_unit(self, node: WorkerController) -> None:
        # The heaviest file left goes first (max keeps the collection's order among equals).
        heaviest = max(self.workqueue, key=lambda scope: weight(scope, self.seconds))
        self.workqueue.move_to_end(heaviest, last=False)
        super()._assign_work_unit(node)

    def _reschedule(self, node: WorkerController) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        if self._pending_of(self.assigned_work[node]) > 1:
            return
        self._assign_work_unit(node)
