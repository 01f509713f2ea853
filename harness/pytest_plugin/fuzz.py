"""Fuzzing: the session's budget (fuzz_run), the servers the fuzz classes drive (fuzz_servers), and the
hypothesis profiles of @given tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from harness.fuzz.classes import selected
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.runner import Budget, FuzzRun
from harness.fuzz.servers import FuzzServers
from harness.pytest_plugin.progress import Progress
from harness.report.recorder import Recorder
from harness.server.pool import ServerPool
from harness.server.target import Target

# Hypothesis profiles for @given tests that use them: "default" for every run (CI gets hypothesis's own
# derandomized "ci" profile when CI is set), "long" on request. The fuzz suites set their own budgets
# (harness.fuzz.runner: --fuzz-minutes).
hypothesis_settings.register_profile("default", max_examples=40)
hypothesis_settings.register_profile("long", max_examples=1000)


@pytest.fixture(scope="session")
def fuzz_run(request: pytest.FixtureRequest, recorder: Recorder) -> FuzzRun:
    """The session's fuzzing budget (CI profile, or --fuzz-minutes), progress and per-class figures."""
    config = request.config
    classes = tuple(c.name for c in selected(config.getoption("--fuzz-class") or ""))
    return FuzzRun(
        Budget(config.getoption("--fuzz-minutes"), classes),
        Path(config.getoption("--reports-dir")),
        progress=Progress(config),
        on_metric=recorder.metric,
    )


@pytest.fixture(scope="module")
def fuzz_servers(server_pool: ServerPool, target: Target) -> Iterator[FuzzServers]:
    """The servers the fuzz classes drive from the fuzzer's own event loop (started on first use, stopped
    after the module: each fuzz module drives classes of its own)."""
    servers = FuzzServers(server_pool, target)
    yield servers
    BACKGROUND.run(servers.close())
