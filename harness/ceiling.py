"""Ceilings on what the harness waits for. Each conformance test has one: every wait on the server has a
deadline of its own, so a test that runs past the ceiling is waiting on something without one (a harness
defect). It is cancelled, so its servers and workers are stopped, and recorded as a HARNESS_ERROR instead of
holding the run forever (seen once: a worker whose 3 s token expired before its first poll left the test
waiting for a workflow no worker could run).

Waits outside a test (session and module fixtures, the server pool's provisioning, calls to the Docker
engine) have ceilings too: `within` and `in_thread` end them with a HarnessError naming what hung and how
long it was waited for, so a hung dependency ends the run's affected tests as HARNESS_ERROR, never holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")

CEILING_S = 600.0  # the longest test takes about 20 s on a quiet machine
# A grid fixture (test_matrix, test_admin, test_http): about 5-35 s here, each call with its own 15 s deadline.
GRID_DEADLINE_S = 300.0


class CeilingExceeded(HarnessError):
    """A test ran past its ceiling and was cancelled."""


class WaitExceeded(HarnessError):
    """A wait of the harness's own (a fixture's, a Docker call's) passed its deadline and was given up."""


def bounded(test: Callable[..., Awaitable[T]], seconds: float) -> Callable[..., Awaitable[T]]:
    """`test` cancelled after `seconds`; a TimeoutError the test raises itself passes through unchanged."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> T:
        scope = asyncio.timeout(seconds)
        try:
            async with scope:
                return await test(*args, **kwargs)
        except TimeoutError:
            if scope.expired():
                raise CeilingExceeded(
                    f"the test ran past its ceiling of {seconds:g} s and was cancelled: a wait without a "
                    "deadline (a harness defect, not a verdict on the server)"
                ) from None
            raise

    return run


async def within(seconds: float, awaitable: Awaitable[T], what: str) -> T:
    """`awaitable`, cancelled after `seconds` with WaitExceeded("<what> within <seconds> s"): `what` names
    what hung, e.g. "the gRPC grid did not finish". A TimeoutError of its own passes through unchanged."""
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await awaitable
    except TimeoutError:
        if scope.expired():
            raise WaitExceeded(f"{what} within {seconds:g} s") from None
        raise


async def in_thread(seconds: float, function: Callable[[], T], what: str) -> T:
    """`function()` (a blocking call) in a thread of its own, waited for at most `seconds` (then
    WaitExceeded, as `within`). A call that hangs cannot be stopped: its thread is a daemon, left behind
    without holding the interpreter's exit (asyncio.to_thread's pool would join it at exit, forever)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # given up on (cancelled) meanwhile: nothing to tell
            outcome()

    def call() -> None:
        try:
            value = function()
        except BaseException as exc:  # handed to the waiter, raised there
            error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(settle, lambda: future.set_exception(error))
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, lambda: future.set_result(value))

    threading.Thread(target=call, name=f"bounded: {what}", daemon=True).start()
    return await within(seconds, future, what)
