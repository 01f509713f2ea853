"""Between test modules the pool stops every pooled server but the default config's, without holding the
run (in the background), and a config asked for again gets a fresh server."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path

from harness.server.backend import RunningServer
from harness.server.config import RenderedConfig, ServerSettings
from harness.server.pool import ServerPool
from harness.server.provision import ProvisionedBinary
from tests.fake_servers import idle_server, pool_on

VARIANT = ServerSettings(refresh_interval="7s")


@dataclass
class CountingBackend:
    """Starts servers that do nothing and records which were stopped (a stop waits for `release`, but
    not for servers listed in `quick`)."""

    name: str = "process"
    stopped: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    quick: set[str] = field(default_factory=set)

    async def start(self, binary: ProvisionedBinary, config: RenderedConfig) -> RunningServer:
        address = config.frontend_address

        def stop() -> None:
            if address not in self.quick:
                self.release.wait(10)
            self.stopped.append(address)

        return idle_server(config, self.name, stop)


def _targets(pool: ServerPool) -> tuple[str, str, str]:
    """Start the default config's server, a variant's (both guarded: the guard is skipped here) and an
    unguarded one; return their addresses."""

    async def start() -> tuple[str, str, str]:
        default = await pool._start(pool.options.default_settings(), [], guard_it=False)
        pool._targets[pool.options.default_settings().key()] = default
        variant = await pool._start(VARIANT, [], guard_it=False)
        pool._targets[VARIANT.key()] = variant
        unguarded = await pool._start(VARIANT, [], guard_it=False)
        pool._unguarded[VARIANT.key()] = unguarded
        return default.address, variant.address, unguarded.address

    return asyncio.run(start())


def test_retire_stops_all_but_the_default_config_without_waiting(tmp_path: Path) -> None:
    backend = CountingBackend()
    pool = pool_on(backend, tmp_path)
    default, variant, unguarded = _targets(pool)
    assert pool.retire() == 2  # returns before any stop has finished (each waits for `release`)
    assert backend.stopped == []
    assert [s.address for s in pool.running_servers()] == [default]
    backend.release.set()
    pool.settle_stops()
    assert sorted(backend.stopped) == sorted([variant, unguarded])
    assert list(pool._targets) == [pool.options.default_settings().key()] and not pool._unguarded
    pool.remove_directories(all_of_them=True)


def test_a_retired_config_gets_a_fresh_server(tmp_path: Path) -> None:
    backend = CountingBackend()
    backend.release.set()
    pool = pool_on(backend, tmp_path)
    _, variant, _ = _targets(pool)
    pool.retire()
    pool.settle_stops()
    again = asyncio.run(pool._start(VARIANT, [], guard_it=False))
    assert again.address != variant and again.running in pool.running_servers()
    pool.remove_directories(all_of_them=True)


def test_close_waits_for_background_stops(tmp_path: Path) -> None:
    backend = CountingBackend()
    pool = pool_on(backend, tmp_path)
    default, variant, unguarded = _targets(pool)
    backend.quick.add(default)
    pool.retire()
    threading.Timer(0.2, backend.release.set).start()
    asyncio.run(pool.close())  # stops the default server at once, then waits for the retired two
    assert sorted(backend.stopped) == sorted([default, variant, unguarded])
    pool.remove_directories(all_of_them=True)
