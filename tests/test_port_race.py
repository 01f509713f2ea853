"""A server start that loses a port to another process (picked free, bound by someone else first) is tried
again with fresh ports; any other start failure, and a race lost every time, still fails the start."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.jwks.timeline import DeadSource
from harness.server.backend import (
    PORT_RACE_ATTEMPTS,
    RunningServer,
    ServerStartError,
    lost_a_port_race,
)
from harness.server.config import RenderedConfig
from harness.server.pool import RunOptions, ServerPool
from harness.server.provision import ProvisionedBinary
from tests.fake_servers import VERSION, idle_server, pool_on

BIND = 'listen tcp 127.0.0.1:56863: bind: address already in use","service":"worker"'


@dataclass
class FlakyBackend:
    """Fails its first starts with the given log line, then answers with a server that does nothing."""

    failures: list[str]
    name: str = "process"
    configs: list[RenderedConfig] = field(default_factory=list)

    async def start(self, binary: ProvisionedBinary, config: RenderedConfig) -> RunningServer:
        self.configs.append(config)
        if self.failures:
            raise ServerStartError(f"did not become ready; last log lines:\n{self.failures.pop(0)}")
        return idle_server(config, self.name)


def _start(pool: ServerPool) -> RunningServer:
    settings = RunOptions(version=VERSION).default_settings()
    target = asyncio.run(pool._start(settings, [DeadSource("http://127.0.0.1:9/jwks")], guard_it=False))
    pool.remove_directories(all_of_them=True)
    return target.running


def test_a_lost_port_race_is_told_from_other_failures() -> None:
    assert lost_a_port_race(ServerStartError(BIND))
    assert not lost_a_port_race(ServerStartError("unknown field authorizer in config"))


def test_a_start_that_lost_a_port_is_tried_again_with_new_ports(tmp_path: Path) -> None:
    backend = FlakyBackend([BIND])
    running = _start(pool_on(backend, tmp_path))
    first, second = backend.configs
    assert first.config_file != second.config_file
    assert running.config is second


def test_any_other_start_failure_is_not_retried(tmp_path: Path) -> None:
    backend = FlakyBackend(["unknown field authorizer in config"])
    with pytest.raises(ServerStartError, match="unknown field"):
        _start(pool_on(backend, tmp_path))
    assert len(backend.configs) == 1


def test_a_race_lost_every_time_fails_the_start(tmp_path: Path) -> None:
    backend = FlakyBackend([BIND] * PORT_RACE_ATTEMPTS)
    with pytest.raises(ServerStartError, match="address already in use"):
        _start(pool_on(backend, tmp_path))
    assert len(backend.configs) == PORT_RACE_ATTEMPTS
