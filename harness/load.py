"""A steady stream of real workflows during a test (rotation, expiry), counted so nothing is lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle

from harness.wait import cancel_and_wait


@dataclass
class WorkflowStream:
    """Starts one workflow every `every` seconds until stopped; then waits for every result."""

    client: Client
    start: Callable[[Client, str], Awaitable[WorkflowHandle[Any, Any]]]
    every: float = 0.2
    handles: list[tuple[str, WorkflowHandle[Any, Any]]] = field(default_factory=list)
    start_errors: list[str] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            name = f"w{len(self.handles) + len(self.start_errors)}-{uuid.uuid4().hex[:6]}"
            try:
                self.handles.append((name, await self.start(self.client, name)))
            except Exception as exc:  # a start refused: counted, never hidden
                self.start_errors.append(f"{name}: {exc}")
            await asyncio.sleep(self.every)  # the load's pace, not synchronisation

    def begin(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def results(self, deadline: float) -> dict[str, Any]:
        """Waits for every started workflow; returns name -> result or the error text."""

        async def one(handle: WorkflowHandle[Any, Any]) -> Any:
            try:
                return await handle.result()
            except Exception as exc:
                return f"ERROR: {exc}"

        values = await asyncio.wait_for(asyncio.gather(*(one(h) for _, h in self.handles)), deadline)
        return {name: value for (name, _), value in zip(self.handles, values, strict=True)}

    def count(self, results: dict[str, Any], expected: Callable[[str], Any]) -> dict[str, int]:
        completed = sum(1 for name, value in results.items() if value == expected(name))
        started = len(self.handles)
        return {
            "started": started,
            "completed": completed,
            "lost": started - completed,
            "start_errors": len(self.start_errors),
        }
