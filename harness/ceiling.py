"""A ceiling on each conformance test's run time: every wait on the server has a deadline of its own, so a
test that runs past the ceiling is waiting on something without one (a harness defect). It is cancelled,
so its servers and workers are stopped, and recorded as a HARNESS_ERROR instead of holding the run forever
(seen once: a worker whose 3 s token expired before its first poll left the test waiting for a workflow
no worker could run)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")

CEILING_S = 600.0  # the longest test takes about 20 s on a quiet machine


class CeilingExceeded(HarnessError):
    """A test ran past its ceiling and was cancelled."""


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
