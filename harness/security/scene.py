"""Two tenants on one server: namespace A, whose tenant attempts, and namespace B, which must not change.

A and B are namespaces the harness registers for the security suites (on a cluster it does not own too:
they are its own). Victim workflows in B are started by an admin and left waiting (no worker), their first
workflow task completed so a reset has somewhere to go; nothing in B moves unless someone acts on it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from google.protobuf import duration_pb2
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.service import RPCError, ServiceClient

from harness.errors import HarnessError
from harness.probes.grpc import Prober
from harness.security.state import NamespaceState, changes, read_state
from harness.server.setup import ensure_namespaces
from harness.server.target import Target
from harness.tokens.mint import MintedToken
from harness.wait import until_async

TENANT_NAMESPACE = "authz-sec-tenant"  # A: the tenant's own
VICTIM_NAMESPACE = "authz-sec-victim"  # B: where nothing may change
SETTLE_S = 30.0  # B stops moving within a second after any request here; 30 s is for a loaded machine
# A victim's workflow task, once started by a poll, is not timed out during a test.
TASK_TIMEOUT = duration_pb2.Duration(seconds=300)


@dataclass
class Scene:
    server: Target
    client: ServiceClient
    prober: Prober
    a: str = TENANT_NAMESPACE
    b: str = VICTIM_NAMESPACE
    victims: list[str] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return self.server.metadata(self.server.admin_token())

    def tenant(self, *roles: str, sub: str = "tenant-of-a") -> MintedToken:
        """A token with these roles in A only (default: read and write)."""
        return self.server.mint([f"{self.a}:{r}" for r in roles or ("read", "write")], sub=sub)

    def metadata(self, token: MintedToken | None) -> dict[str, str]:
        return self.server.metadata(token)

    async def namespace_id(self, namespace: str) -> str:
        described = await self.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), metadata=self.admin, retry=False
        )
        return described.namespace_info.id

    async def start(
        self,
        namespace: str,
        workflow_type: str,
        task_queue: str,
        metadata: dict[str, str],
        workflow_id: str | None = None,
    ) -> str:
        workflow_id = workflow_id or f"sec-{workflow_type}-{uuid.uuid4().hex[:8]}"
        await self.client.workflow_service.start_workflow_execution(
            StartWorkflowExecutionRequest(
                namespace=namespace,
                workflow_id=workflow_id,
                workflow_type=WorkflowType(name=workflow_type),
                task_queue=TaskQueue(name=task_queue),
                workflow_task_timeout=TASK_TIMEOUT,
                request_id=str(uuid.uuid4()),
            ),
            metadata=metadata,
            retry=False,
        )
        return workflow_id

    async def complete_first_task(self, namespace: str, task_queue: str, metadata: dict[str, str]) -> None:
        """Answer one workflow task with no command (the workflow then waits for ever)."""
        polled = await self.client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=namespace, task_queue=TaskQueue(name=task_queue)),
            metadata=metadata,
            retry=False,
        )
        if not polled.task_token:
            raise HarnessError(f"no workflow task on {namespace}/{task_queue} to complete")
        await self.client.workflow_service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(namespace=namespace, task_token=polled.task_token),
            metadata=metadata,
            retry=False,
        )

    async def victim(self, workflow_id: str | None = None) -> str:
        """A workflow in B, started by an admin, its first workflow task completed, then waiting."""
        queue = f"sec-victim-{uuid.uuid4().hex[:8]}"
        victim = await self.start(self.b, "SecVictim", queue, self.admin, workflow_id)
        await self.complete_first_task(self.b, queue, self.admin)
        self.victims.append(victim)
        return victim

    async def read_b(self, known: Iterable[str] = ()) -> NamespaceState:
        """B as it stands once it stops moving: read until two reads agree (a deletion, a reset or a
        signal a request set off lands a moment after the answer; the next read must not see it late)."""
        reads: list[NamespaceState] = []

        async def settled() -> NamespaceState | None:
            reads.append(await read_state(self.server, self.b, [*self.victims, *known]))
            return reads[-1] if len(reads) > 1 and not changes(reads[-2], reads[-1]) else None

        found: NamespaceState = await until_async(
            settled, deadline=SETTLE_S, interval=0.3, what=f"{self.b} to settle"
        )
        return found

    async def changed_in_b(self, before: NamespaceState, known: Iterable[str] = ()) -> list[str]:
        return changes(before, await self.read_b(known))

    async def terminate(self, namespace: str, workflow_ids: Sequence[str]) -> None:
        """Clean up what a test started (a workflow already closed or gone is fine)."""
        for workflow_id in workflow_ids:
            with contextlib.suppress(RPCError):
                await self.client.workflow_service.terminate_workflow_execution(
                    TerminateWorkflowExecutionRequest(
                        namespace=namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id)
                    ),
                    metadata=self.admin,
                    retry=False,
                )


async def open_scene(server: Target) -> Scene:
    await ensure_namespaces(server, [TENANT_NAMESPACE, VICTIM_NAMESPACE])
    return Scene(server, await server.service_client(), await server.prober())
