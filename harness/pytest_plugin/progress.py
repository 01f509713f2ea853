"""Progress lines on the terminal (or, in a pytest-xdist worker, sent to the controller's)."""

from __future__ import annotations

import contextlib
import time

import pytest

from harness.xdist_plugin import worker_id, worker_progress


class Progress:
    """One line per phase on the terminal, even while pytest captures output (fixture setup)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        text = f"[authz {time.monotonic() - self.started:6.1f}s] {line}"
        if worker_id(self.config):  # a worker's terminal is nowhere: its stderr is the controller's
            worker_progress(self.config, text)
            return
        suspend = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
        with suspend:
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_line(text)
            else:
                print(text, flush=True)
