"""What a reader of namespace A tries (SEC-P6) and what a caller sends to run a command on a server host
(SEC-P7): real requests with valid arguments, aimed at a workflow and a schedule an admin prepared in A."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import IndexedValueType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.namespace.v1 import UpdateNamespaceInfo
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, RemoveSearchAttributesRequest
from temporalio.api.schedule.v1 import Schedule, ScheduleAction, SchedulePatch, ScheduleSpec, ScheduleState
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, Request, WaitPolicy
from temporalio.api.workflow.v1 import NewWorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CreateScheduleRequest,
    DeleteScheduleRequest,
    DeleteWorkflowExecutionRequest,
    PatchScheduleRequest,
    RequestCancelWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartBatchOperationRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
    UpdateNamespaceRequest,
    UpdateWorkflowExecutionRequest,
)
from temporalio.service import WorkflowService

from harness.probes.grpc import ApiMethod, minimal_request
from harness.security.scene import Scene

Attempt = Callable[[Scene, dict[str, str], dict[str, str]], Awaitable[Any]]


def ws(scene: Scene) -> WorkflowService:
    return scene.client.workflow_service


def new() -> str:
    return f"sec-reader-{uuid.uuid4().hex[:8]}"


def start(scene: Scene, workflow_id: str) -> StartWorkflowExecutionRequest:
    return StartWorkflowExecutionRequest(
        namespace=scene.a, workflow_id=workflow_id, workflow_type=WorkflowType(name="SecReader"),
        task_queue=TaskQueue(name="sec-reader"), request_id=str(uuid.uuid4()),
    )  # fmt: skip


def execution(ids: dict[str, str]) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=ids["workflow"])


def writes() -> dict[str, Attempt]:
    """Real requests with valid arguments: what each would change in A if a reader were let through.
    `ids` holds the workflow and schedule the admin prepared."""
    return {
        "StartWorkflowExecution": lambda s, md, ids: ws(s).start_workflow_execution(start(s, new()), metadata=md, retry=False),
        "SignalWorkflowExecution": lambda s, md, ids: ws(s).signal_workflow_execution(
            SignalWorkflowExecutionRequest(namespace=s.a, workflow_execution=execution(ids), signal_name="sec"), metadata=md, retry=False),
        "SignalWithStartWorkflowExecution": lambda s, md, ids: ws(s).signal_with_start_workflow_execution(
            SignalWithStartWorkflowExecutionRequest(namespace=s.a, workflow_id=new(), workflow_type=WorkflowType(name="SecReader"),
                                                    task_queue=TaskQueue(name="sec-reader"), signal_name="sec", request_id=str(uuid.uuid4())),
            metadata=md, retry=False),
        "RequestCancelWorkflowExecution": lambda s, md, ids: ws(s).request_cancel_workflow_execution(
            RequestCancelWorkflowExecutionRequest(namespace=s.a, workflow_execution=execution(ids)), metadata=md, retry=False),
        "TerminateWorkflowExecution": lambda s, md, ids: ws(s).terminate_workflow_execution(
            TerminateWorkflowExecutionRequest(namespace=s.a, workflow_execution=execution(ids)), metadata=md, retry=False),
        "ResetWorkflowExecution": lambda s, md, ids: ws(s).reset_workflow_execution(
            ResetWorkflowExecutionRequest(namespace=s.a, workflow_execution=execution(ids), workflow_task_finish_event_id=4,
                                          request_id=str(uuid.uuid4())), metadata=md, retry=False),
        "DeleteWorkflowExecution": lambda s, md, ids: ws(s).delete_workflow_execution(
            DeleteWorkflowExecutionRequest(namespace=s.a, workflow_execution=execution(ids)), metadata=md, retry=False),
        "UpdateWorkflowExecution": lambda s, md, ids: ws(s).update_workflow_execution(
            UpdateWorkflowExecutionRequest(namespace=s.a, workflow_execution=execution(ids),
                                           request=Request(meta=Meta(update_id="sec"), input=Input(name="sec")),
                                           wait_policy=WaitPolicy(lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED)),
            metadata=md, retry=False, timeout=timedelta(seconds=3)),
        "CreateSchedule": lambda s, md, ids: ws(s).create_schedule(
            CreateScheduleRequest(namespace=s.a, schedule_id=new(), request_id=str(uuid.uuid4()),
                                  schedule=Schedule(spec=ScheduleSpec(), state=ScheduleState(paused=True), action=ScheduleAction(
                                      start_workflow=NewWorkflowExecutionInfo(workflow_id=new(), workflow_type=WorkflowType(name="SecReader"),
                                                                              task_queue=TaskQueue(name="sec-reader"))))),
            metadata=md, retry=False),
        "PatchSchedule": lambda s, md, ids: ws(s).patch_schedule(
            PatchScheduleRequest(namespace=s.a, schedule_id=ids["schedule"], patch=SchedulePatch(unpause="sec"),
                                 request_id=str(uuid.uuid4())), metadata=md, retry=False),
        "DeleteSchedule": lambda s, md, ids: ws(s).delete_schedule(
            DeleteScheduleRequest(namespace=s.a, schedule_id=ids["schedule"]), metadata=md, retry=False),
        "StartBatchOperation": lambda s, md, ids: ws(s).start_batch_operation(
            StartBatchOperationRequest(namespace=s.a, job_id=new(), reason="sec", executions=[execution(ids)],
                                       signal_operation=BatchOperationSignal(signal="sec")), metadata=md, retry=False),
        "UpdateNamespace": lambda s, md, ids: ws(s).update_namespace(
            UpdateNamespaceRequest(namespace=s.a, update_info=UpdateNamespaceInfo(description=f"changed by a reader {new()}")),
            metadata=md, retry=False),
        "AddSearchAttributes": lambda s, md, ids: s.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=s.a, search_attributes={"SecReaderAttribute": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}),
            metadata=md, retry=False),
        "RemoveSearchAttributes": lambda s, md, ids: s.client.operator_service.remove_search_attributes(
            RemoveSearchAttributesRequest(namespace=s.a, search_attributes=["CustomKeywordField"]), metadata=md, retry=False),
    }  # fmt: skip


async def prepared(scene: Scene) -> dict[str, str]:
    """A waiting workflow and a paused schedule in A, made by an admin: what the reader's writes aim at."""
    queue = f"sec-reader-{uuid.uuid4().hex[:6]}"
    workflow = await scene.start(scene.a, "SecReaderTarget", queue, scene.admin)
    await scene.complete_first_task(scene.a, queue, scene.admin)
    schedule = f"sec-reader-schedule-{uuid.uuid4().hex[:6]}"
    action = ScheduleAction(
        start_workflow=NewWorkflowExecutionInfo(
            workflow_id=f"sec-sched-{uuid.uuid4().hex[:6]}", workflow_type=WorkflowType(name="SecReader"),
            task_queue=TaskQueue(name="sec-reader"),
        )
    )  # fmt: skip
    await scene.client.workflow_service.create_schedule(
        CreateScheduleRequest(
            namespace=scene.a, schedule_id=schedule, request_id=str(uuid.uuid4()),
            schedule=Schedule(spec=ScheduleSpec(), action=action, state=ScheduleState(paused=True, notes="sec")),
        ),
        metadata=scene.admin,
        retry=False,
    )  # fmt: skip
    return {"workflow": workflow, "schedule": schedule}


def read_request(method: ApiMethod, scene: Scene, ids: dict[str, str]) -> Any:
    """The minimal request, aimed at the prepared workflow and schedule where the request names them."""
    request = minimal_request(method, scene.a)
    for field, value in (
        ("execution", WorkflowExecution(workflow_id=ids["workflow"])),
        ("workflow_execution", WorkflowExecution(workflow_id=ids["workflow"])),
    ):
        if (
            field in request.DESCRIPTOR.fields_by_name
            and request.DESCRIPTOR.fields_by_name[field].message_type is not None
        ):
            getattr(request, field).CopyFrom(value)
    if "schedule_id" in request.DESCRIPTOR.fields_by_name:
        request.schedule_id = ids["schedule"]  # type: ignore[attr-defined]
    return request


def kubeconfig(marker: Path) -> str:
    """One cluster that refuses connections, and a user whose exec credential plugin writes `marker`."""
    return json.dumps(
        {
            "apiVersion": "v1", "kind": "Config", "current-context": "sec",
            "clusters": [{"name": "sec", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
            "contexts": [{"name": "sec", "context": {"cluster": "sec", "user": "sec"}}],
            "users": [{"name": "sec", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh",
                "args": ["-c", f"echo ran > {marker}"], "interactiveMode": "Never",
            }}}],
        }
    )  # fmt: skip
