"""A steady stream of real workflows during a test (rotation, expiry), counted so nothing is lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle

from harness.wait import cancel_and_wait


@dataclass(frozen=True)
class Started:
    name: str
    handle: WorkflowHandle[Any, Any]
    at: float  # wall clock when the start was acknowledged


@dataclass
class WorkflowStream:
    """Starts one workflow every `every` seconds until stopped; then waits for every result."""

    client: Client
    start: Callable[[Client, str], Awaitable[WorkflowHandle[Any, Any]]]
    every: float = 0.2
    started: list[Started] = field(default_factory=list)
    start_errors: list[str] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            name = f"w{len(self.started) + len(self.start_errors)}-{uuid.uuid4().hex[:6]}"
            try:
                handle = await self.start(self.client, name)
                self.started.append(Started(name, handle, time.time()))
            except Exception as exc:  # a start refused: counted, never hidden
                self.start_errors.append(f"{name}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(self.every)  # the load's pace, not synchronisation

    def begin(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def results(self, deadline: float) -> dict[str, Any]:
        """Waits for every started workflow; returns name -> result or the error text. A workflow that
        does not finish in `deadline` is the server's failure (TimeoutError)."""

        async def one(handle: WorkflowHandle[Any, Any]) -> Any:
            try:
                return await handle.result()
            except Exception as exc:
                return f"ERROR: {exc}"

        values = await asyncio.wait_for(asyncio.gather(*(one(s.handle) for s in self.started)), deadline)
        return {s.name: value for s, value in zip(self.started, values, strict=True)}

    def count(self, results: dict[str, Any], expected: Callable[[str], Any]) -> dict[str, int]:
        completed = sum(1 for name, value in results.items() if value == expected(name))
        return {
            "started": len(self.started),
            "completed": completed,
            "lost": len(self.started) - completed,
            "start_errors": len(self.start_errors),
        }

    def completed_after(self, instant: float, results: dict[str, Any], expected: Callable[[str], Any]) -> int:
        """Workflows started after `instant` (wall clock) that completed as expected."""
        return sum(1 for s in self.started if s.at > instant and results.get(s.name) == expected(s.name))
