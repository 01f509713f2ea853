"""A Nexus handler worker answered by hand (PollNexusTaskQueue / RespondNexusTaskCompleted): it echoes
each start-operation request at once and keeps the headers it received, so a test can see what a
caller's request carried into the handler's namespace."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.api.common.v1 import Payload
from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget, Response, StartOperationResponse
from temporalio.api.operatorservice.v1 import CreateNexusEndpointRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import PollNexusTaskQueueRequest, RespondNexusTaskCompletedRequest
from temporalio.service import RPCError, ServiceClient

from harness.wait import cancel_and_wait

PROBE_HEADER = "authz-probe-id"  # marks a request so its arrival can be found


@dataclass
class NexusHandler:
    client: ServiceClient
    namespace: str
    task_queue: str
    metadata: Mapping[str, str]  # the handler's own token (write on its namespace)
    received: dict[str, dict[str, str]] = field(default_factory=dict)  # probe id -> headers received
    _task: asyncio.Task[None] | None = None

    async def _serve(self) -> None:
        while True:
            try:
                polled = await self.client.workflow_service.poll_nexus_task_queue(
                    PollNexusTaskQueueRequest(
                        namespace=self.namespace,
                        task_queue=TaskQueue(name=self.task_queue),
                        identity="authz-nexus-handler",
                    ),
                    metadata=dict(self.metadata),
                    retry=False,
                    timeout=timedelta(seconds=30),
                )
            except RPCError:
                await asyncio.sleep(0.2)  # a long poll that ended without a task: poll again
                continue
            if not polled.task_token:
                continue
            headers = dict(polled.request.header)
            self.received[headers.get(PROBE_HEADER, str(uuid.uuid4()))] = headers
            echo = polled.request.start_operation.payload
            with contextlib.suppress(RPCError):
                await self.client.workflow_service.respond_nexus_task_completed(
                    RespondNexusTaskCompletedRequest(
                        namespace=self.namespace,
                        identity="authz-nexus-handler",
                        task_token=polled.task_token,
                        response=Response(
                            start_operation=StartOperationResponse(
                                sync_success=StartOperationResponse.Sync(payload=echo or Payload())
                            )
                        ),
                    ),
                    metadata=dict(self.metadata),
                    retry=False,
                )

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)


async def create_endpoint(
    client: ServiceClient, name: str, namespace: str, task_queue: str, admin: Mapping[str, str]
) -> str:
    """An endpoint whose target is a worker task queue; returns its id."""
    created = await client.operator_service.create_nexus_endpoint(
        CreateNexusEndpointRequest(
            spec=EndpointSpec(
                name=name,
                target=EndpointTarget(
                    worker=EndpointTarget.Worker(namespace=namespace, task_queue=task_queue)
                ),
            )
        ),
        metadata=dict(admin),
        retry=False,
    )
    return str(created.endpoint.id)
