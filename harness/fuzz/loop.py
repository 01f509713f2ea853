"""An event loop in a thread of its own, for synchronous callers that drive the server.

Hypothesis runs each example, and each rule of a state machine, as a plain function call; the probes
are coroutines. Everything the fuzzer sends runs on this one loop (gRPC channels and SDK clients belong
to the loop that made them, so targets are copied onto it: `servers.on_loop`).
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="fuzz-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                atexit.register(self.stop)
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 300.0) -> T:
        """Run a coroutine on the loop and wait for its result (its exception is raised here)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not loop.is_running():
                loop.close()


BACKGROUND = LoopThread()
