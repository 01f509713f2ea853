"""A long poll seen waiting in matching (AUTHZ-EXPIRY-003): its poller listed on the task queue."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.service import RPCError, RPCStatusCode, ServiceClient

from harness.wait import until_async


async def poll_waiting(
    client: ServiceClient,
    namespace: str,
    queue: str,
    identity: str,
    admin: dict[str, str],
    poll: asyncio.Task[Any],
    deadline: float,
) -> None:
    """Wait until matching lists the poller `identity` on `queue` (or the poll ended: its result says how)."""

    async def waiting() -> bool:
        if poll.done():
            return True  # it failed or returned: the result says how
        try:
            described = await client.workflow_service.describe_task_queue(
                # The type said outright: releases before 1.23 answer an unspecified type with no pollers.
                DescribeTaskQueueRequest(
                    namespace=namespace,
                    task_queue=TaskQueue(name=queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                ),
                metadata=admin,
                retry=False,
            )
        except RPCError as exc:
            # The admin's look at the pollers is not what is tested: a cancelled look (seen once on
            # 1.30.3, "operation was canceled") is asked again until the deadline.
            if exc.status is RPCStatusCode.CANCELLED:
                return False
            raise
        return any(p.identity == identity for p in described.pollers)

    await until_async(waiting, deadline=deadline, interval=0.1, what="the long poll to wait in matching")
