"""Servers of their own whose key sources a test breaks or edits (JWKS faults, hostile key sets, file
sources), and what the server's log says of its refreshes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.target import Target
from harness.wait import until_async

REFRESH_ERROR = "error while refreshing token keys"


@contextlib.asynccontextmanager
async def server_trusting(
    server_pool: ServerPool, sources: Any, interval: float, **settings: Any
) -> AsyncIterator[Target]:
    """A server of its own (unguarded: these tests break its keys on purpose) whose key sources are
    `sources` (a JwksServer, or a list of key sources), refreshed every `interval` seconds unless the
    settings say otherwise, without the server's system workers (these tests only probe calls)."""
    settings.setdefault("refresh_interval", f"{interval:g}s")
    settings.setdefault("system_workers", False)
    async with server_pool.dedicated(ServerSettings(**settings), sources, guarded=False) as server:
        yield server


async def failed_refreshes(server: Target, count: int, deadline: float) -> None:
    """Wait for `count` more failed refreshes: attempts that never reached a fixture show only in the
    server's log."""
    baseline = server.logs().count(REFRESH_ERROR)

    async def seen() -> bool:
        return server.logs().count(REFRESH_ERROR) >= baseline + count

    await until_async(seen, deadline=deadline, interval=0.1, what=f"{count} failed key refreshes in the log")
