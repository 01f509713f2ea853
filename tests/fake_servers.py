"""A ServerPool on a fake backend, and servers that do nothing: for the pool's own tests (no binary)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.server.backend import RunningServer
from harness.server.config import RenderedConfig
from harness.server.pool import RunOptions, ServerPool, _table
from harness.server.provision import ProvisionedBinary
from harness.settings import DEFAULT_VERSION
from harness.types import ServerVersion

VERSION = ServerVersion.parse(DEFAULT_VERSION)


def idle_server(
    config: RenderedConfig, backend: str, stop: Callable[[], None] = lambda: None
) -> RunningServer:
    """A started server that answers nothing, at the config's frontend address."""
    return RunningServer(
        address=config.frontend_address,
        version=VERSION,
        backend=backend,
        start_seconds=0.0,
        logs=lambda: "",
        stop=stop,
        config=config,
    )


def pool_on(backend: Any, tmp_path: Path) -> ServerPool:
    """A pool whose servers the fake `backend` starts (its start(binary, config) is all it needs)."""
    pool = ServerPool(RunOptions(version=VERSION))
    pool._backend = backend
    pool.binary = ProvisionedBinary(VERSION, tmp_path / "server", "explicit")
    pool.table = _table(VERSION)
    return pool
