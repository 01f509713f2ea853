"""A hand-driven workflow task: poll one task and answer it with chosen commands.

The Python SDK cannot emit cross-namespace commands (its external handles and child workflows stay in the
workflow's namespace), so the cross-namespace suite answers the workflow task itself through the raw API,
exactly as any SDK's worker would on the wire.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta

from temporalio.api.command.v1 import (
    Command,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
)
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.service import ServiceClient

from harness.probes.grpc import Observation, Prober


def json_payload(value: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{value}"'.encode())


async def start_raw(
    client: ServiceClient, namespace: str, workflow_type: str, task_queue: str, metadata: Mapping[str, str]
) -> str:
    workflow_id = f"raw-{workflow_type}-{uuid.uuid4().hex[:8]}"
    await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=namespace,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name=workflow_type),
            task_queue=TaskQueue(name=task_queue),
            request_id=str(uuid.uuid4()),
        ),
        metadata=dict(metadata),
        retry=False,
    )
    return workflow_id


async def poll_task_token(
    client: ServiceClient, namespace: str, task_queue: str, metadata: Mapping[str, str]
) -> bytes:
    response = await client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(
            namespace=namespace, task_queue=TaskQueue(name=task_queue), identity="authz-raw-worker"
        ),
        metadata=dict(metadata),
        retry=False,
        timeout=timedelta(seconds=30),
    )
    if not response.task_token:
        raise TimeoutError(f"no workflow task on {namespace}/{task_queue}")
    return response.task_token


def signal_external(namespace: str, workflow_id: str, signal: str, value: str) -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        signal_external_workflow_execution_command_attributes=SignalExternalWorkflowExecutionCommandAttributes(
            namespace=namespace,
            execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name=signal,
            input=Payloads(payloads=[json_payload(value)]),
        ),
    )


def start_child(namespace: str, workflow_id: str, workflow_type: str, task_queue: str) -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        start_child_workflow_execution_command_attributes=StartChildWorkflowExecutionCommandAttributes(
            namespace=namespace,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name=workflow_type),
            task_queue=TaskQueue(name=task_queue),
        ),
    )


def cancel_external(namespace: str, workflow_id: str) -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
        request_cancel_external_workflow_execution_command_attributes=RequestCancelExternalWorkflowExecutionCommandAttributes(
            namespace=namespace, workflow_id=workflow_id, reason="cross-namespace probe"
        ),
    )


async def respond(
    prober: Prober,
    namespace: str,
    task_token: bytes,
    commands: Sequence[Command],
    metadata: Mapping[str, str],
) -> Observation:
    request = RespondWorkflowTaskCompletedRequest(
        namespace=namespace, task_token=task_token, commands=list(commands), identity="authz-raw-worker"
    )
    return await prober.observe(
        prober.client.workflow_service.respond_workflow_task_completed(
            request, metadata=dict(metadata), retry=False
        )
    )
