"""Poll with a deadline instead of sleeping: the only way the harness waits for anything.

A deadline that passes while waiting for the server is the server's failure (ServerDidNotComply, an
AssertionError): the caller names what it waited for, and that text is the verdict's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from harness.errors import ServerDidNotComply

T = TypeVar("T")


class DeadlineExceeded(ServerDidNotComply, TimeoutError):
    pass


async def until_async(
    predicate: Callable[[], Awaitable[T | None]],
    *,
    deadline: float,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    end = time.monotonic() + deadline
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() >= end:
            raise DeadlineExceeded(f"the server did not reach this within {deadline:.1f}s: {what}")
        await asyncio.sleep(interval)


async def clock_reaches(
    instant: float, *, what: str = "time", clock: Callable[[], float] = time.time
) -> None:
    """Wait (without blocking the event loop) until `clock()` >= instant: for tests about time itself,
    such as a token's exp, where the clock is the very thing being waited for."""

    while clock() < instant:  # noqa: ASYNC110 (the clock itself is what is awaited; nothing signals it)
        await asyncio.sleep(min(0.02, max(0.0, instant - clock())))


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Stop a background task (a token refresher, a load generator) and wait until it has stopped."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
