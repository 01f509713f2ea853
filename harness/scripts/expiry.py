"""Expiring worker tokens (AUTHZ-EXPIRY-001/002): a worker that runs past its token's exp, and fresh
tokens for a client that refreshes. The server's own log counts the refusals: the frontend logs
"Authorization error" for every token the claim mapper refuses (an expired one included)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client

from fixtures.workflows import HelloWorkflow
from harness.cases.runner import Steps
from harness.cases.workers import refusable_worker
from harness.server.target import Target
from harness.wait import clock_reaches, until_async

REFUSED = "Authorization error"


def refusals(server: Target) -> int:
    """Tokens the server has refused so far (its log)."""
    return server.logs().count(REFUSED)


def fresh_tokens(server: Target, permissions: Sequence[str], sub: str, lifetime: float) -> Callable[[], str]:
    """A token provider: each call mints a token that lives `lifetime` seconds."""
    return lambda: server.mint(list(permissions), sub=sub, exp_in=lifetime).token


async def work_past_exp(
    server: Target, starter: Client, steps: Steps, permissions: Sequence[str], lifetime: float
) -> tuple[str | None, list[Any]]:
    """A worker whose token lives `lifetime` s runs a workflow before exp; after exp one more is started
    and its history read once the server has refused the worker. (None, []) when the first workflow was
    not done before exp."""
    token = server.mint(list(permissions), sub="expiring-worker", exp_in=lifetime + 1)
    expires_at = float(token.claims["exp"])
    worker_client = await server.client(token)
    tq = f"expiry-{uuid.uuid4().hex[:6]}"
    async with refusable_worker(worker_client, tq) as running:
        before = await result_before(starter, tq, expires_at)
        if before is None:
            return None, []
        await clock_reaches(expires_at, what="the worker token's exp")
        await steps.probe("worker-token-after-exp", token)
        refused_at_start = refusals(server)
        handle = await starter.start_workflow(
            HelloWorkflow.run, "after", id=f"a-{uuid.uuid4()}", task_queue=tq
        )

        async def refused_again() -> bool:
            after_start = refusals(server) - refused_at_start
            # The SDK may stop a worker whose poll is refused (then one refusal is all there will be).
            return after_start >= 2 or (after_start >= 1 and not running.is_running)

        # The worker keeps polling with its expired token: wait until the server has refused it twice after
        # the workflow was started (the server's own log), or refused it once and the SDK stopped the
        # worker for it, then look at the workflow's history.
        await until_async(
            refused_again, deadline=60, interval=0.2, what="the worker's polls refused after exp"
        )
        history = [e async for e in handle.fetch_history_events()]
        await handle.terminate("expiry test")
    return before, history


async def result_before(starter: Client, tq: str, expires_at: float) -> str | None:
    """The "before" workflow's result, or None when it was not done before the worker's token expired
    (a busy machine can take longer than a short token lives to start the worker: seen live, the test then
    waited forever for a workflow no worker could run)."""
    workflow_id = f"b-{uuid.uuid4()}"
    try:
        result: str = await asyncio.wait_for(
            starter.execute_workflow(HelloWorkflow.run, "before", id=workflow_id, task_queue=tq),
            timeout=max(0.0, expires_at - time.time()),
        )
        return result
    except TimeoutError:
        await starter.get_workflow_handle(workflow_id).terminate("not done before the token's exp")
        return None
