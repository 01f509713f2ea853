"""SEC-P6 and SEC-P7: a reader of namespace A changes no state with real requests (whatever access class
the server's own table gives the method), and no namespace caller runs a command on a server host
(CVE-2026-120091: the Kubernetes compute provider's kubeconfig exec plugin). Read from what happened:
A's state before and after, a marker file the command would write."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payload, WorkflowExecution, WorkflowType
from temporalio.api.compute.v1 import (
    ComputeConfigScalingGroup,
    ComputeConfigScalingGroupUpdate,
    ComputeProvider,
)
from temporalio.api.enums.v1 import IndexedValueType
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
    ValidateWorkerDeploymentVersionComputeConfigRequest,
)

from harness.cases.evidence import Evidence
from harness.model.apis import rule_for
from harness.probes.grpc import ApiMethod, Observation, minimal_request, sdk_methods
from harness.security.checks import hold
from harness.security.scene import Scene, open_scene
from harness.security.state import changes, read_state
from harness.server.config import ServerSettings
from harness.server.target import Target
from harness.types import WORKFLOW_SERVICE, Access, Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scene(target: Target) -> Scene:
    return await open_scene(target)


Attempt = Callable[[Scene, dict[str, str], dict[str, str]], Awaitable[Any]]


def _writes() -> dict[str, Attempt]:
    """Real requests with valid arguments: what each would change in A if a reader were let through.
    `ids` holds the workflow and schedule the admin prepared."""
    ws = lambda s: s.client.workflow_service  # noqa: E731
    new = lambda: f"sec-reader-{uuid.uuid4().hex[:8]}"  # noqa: E731
    start = lambda s, wid: StartWorkflowExecutionRequest(  # noqa: E731
        namespace=s.a, workflow_id=wid, workflow_type=WorkflowType(name="SecReader"),
        task_queue=TaskQueue(name="sec-reader"), request_id=str(uuid.uuid4()),
    )  # fmt: skip
    execution = lambda ids: WorkflowExecution(workflow_id=ids["workflow"])  # noqa: E731
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
                                           wait_policy=WaitPolicy(lifecycle_stage=1)),
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


async def _prepared(scene: Scene) -> dict[str, str]:
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


@pytest.mark.prop("SEC-P6", "writes")
async def test_a_reader_changes_nothing(scene: Scene, evidence: Evidence) -> None:
    ids = await _prepared(scene)
    reader = scene.tenant("read", sub="reader-of-a")
    metadata = scene.metadata(reader)
    before = await read_state(scene.server, scene.a, [ids["workflow"]])
    answers: dict[str, Observation] = {}
    for name, attempt in _writes().items():
        answers[name] = await scene.prober.observe(attempt(scene, metadata, ids))
    after = await read_state(scene.server, scene.a, [ids["workflow"]])
    violations = [f"{name}: carried out ({o.status})" for name, o in answers.items() if o.status == "OK"]
    violations += changes(before, after)
    evidence.api, evidence.namespace, evidence.claims = ", ".join(answers), scene.a, reader.evidence()
    evidence.extra["answers"] = {
        n: f"{o.outcome.value} {o.status} {o.message[:80]}" for n, o in answers.items()
    }
    hold(evidence, "SEC-P6/writes", violations, len(answers), "state-changing requests by a reader of A")


@pytest.mark.prop("SEC-P6", "reads")
async def test_read_only_calls_change_nothing(scene: Scene, target: Target, evidence: Evidence) -> None:
    """Every call the server's own API table classifies read-only, with a reader of A: A must not change."""
    if not target.table.services:
        pytest.skip("this release has no API table (access classes come with 1.22)")
    read_only = [
        m for m in sdk_methods()
        if m.service == WORKFLOW_SERVICE and rule_for(target.table, m.full_method).access is Access.READ_ONLY
    ]  # fmt: skip
    ids = await _prepared(scene)
    reader = scene.tenant("read", sub="reader-of-a")
    before = await read_state(scene.server, scene.a, [ids["workflow"]])
    answers = {
        m.name: await scene.prober.probe(m, scene.a, scene.metadata(reader), _read_request(m, scene, ids))
        for m in read_only
    }
    after = await read_state(scene.server, scene.a, [ids["workflow"]])
    violations = changes(before, after)
    evidence.api, evidence.namespace, evidence.claims = (
        f"{len(read_only)} read-only methods",
        scene.a,
        reader.evidence(),
    )
    evidence.extra["answers"] = {n: f"{o.outcome.value} {o.status}" for n, o in answers.items()}
    hold(evidence, "SEC-P6/reads", violations, len(read_only), "read-only calls by a reader of A")


def _read_request(method: ApiMethod, scene: Scene, ids: dict[str, str]) -> Any:
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


# -- SEC-P7: commands on a server host (CVE-2026-120091) ------------------------------------------------

# 1.32.0-1.32.1 build the Kubernetes provider but enable it only when listed; 1.31 enables every provider.
K8S_PROVIDER = ServerSettings(
    dynamic_config={"workercontroller.compute_providers.enabled": ["k8s"]},
    purpose="the Kubernetes compute provider enabled",
)


def _kubeconfig(marker: Path) -> str:
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


@pytest.mark.prop("SEC-P7", "compute-provider")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("role", ["read", "write"])
async def test_no_caller_runs_a_command_on_the_worker_host(
    role: str, server_for: Any, evidence: Evidence
) -> None:
    server = await server_for(K8S_PROVIDER)
    if server.running.backend != "process":
        pytest.skip(
            "the marker file is read on the server's host: process backend only (the official image has no shell)"
        )
    scene = await open_scene(server)
    caller = scene.tenant(role, sub=f"{role}er-of-a")
    with tempfile.TemporaryDirectory(prefix="authz-p7-") as directory:
        marker = Path(directory) / "ran"
        details = {"namespace": "sec", "deployment": "sec", "kubeconfig": _kubeconfig(marker)}
        group = ComputeConfigScalingGroupUpdate(
            scaling_group=ComputeConfigScalingGroup(
                provider=ComputeProvider(
                    type="k8s",
                    details=Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(details).encode()),
                )
            )
        )
        answer = await scene.prober.observe(
            scene.client.workflow_service.validate_worker_deployment_version_compute_config(
                ValidateWorkerDeploymentVersionComputeConfigRequest(
                    namespace=scene.a, identity="sec", compute_config_scaling_groups={"sec": group}
                ),
                metadata=scene.metadata(caller),
                retry=False,
                timeout=timedelta(seconds=15),
            )
        )
        if answer.outcome is Outcome.ABSENT:
            pytest.skip(
                "this release has no compute providers (ValidateWorkerDeploymentVersionComputeConfig)"
            )
        ran = marker.exists()
    evidence.api, evidence.namespace, evidence.claims = (
        "ValidateWorkerDeploymentVersionComputeConfig [k8s]",
        scene.a,
        caller.evidence(),
    )
    evidence.status, evidence.message = answer.status, answer.message[:300]
    violations = (
        [f"a {role}er of {scene.a!r} ran a command on the worker host (the marker was written)"]
        if ran
        else []
    )
    hold(evidence, "SEC-P7/compute-provider", violations, 1, f"compute config validated by a {role}er")
