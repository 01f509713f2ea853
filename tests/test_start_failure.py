"""The process backend's start that fails: one ServerStartError naming the binary, its exit code and its last
log lines, and nothing left running (harness.server.backend.ready_or_stopped, with a stand-in binary)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from harness.server import process
from harness.server.backend import ServerStartError
from harness.server.config import ServerSettings, render
from harness.server.process import ProcessBackend
from harness.server.provision import ProvisionedBinary
from harness.types import ServerVersion

VERSION = ServerVersion.parse("v1.24.2")


def test_a_server_that_exits_while_starting_is_one_error_with_its_log(tmp_path: Path) -> None:
    binary = tmp_path / "temporal-server"
    binary.write_text('#!/bin/sh\necho "unable to start: boom ($1)"\nexit 3\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    config = render(tmp_path / "config", ["http://127.0.0.1:1/jwks.json"], ServerSettings(), VERSION)
    backend = ProcessBackend(ready_deadline=60)
    with pytest.raises(ServerStartError) as raised:
        asyncio.run(backend.start(ProvisionedBinary(VERSION, binary, "explicit"), config))
    message = str(raised.value)
    assert message.startswith(f"temporal-server {VERSION} ({binary}, exit code 3) did not become ready: ")
    assert "the server exited while starting" in message
    assert "unable to start: boom (--root)" in message  # the last log lines, with 1.24's command line
    assert not process._live  # stopped: nothing left for the exit handler
