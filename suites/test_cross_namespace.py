"""Cross-namespace commands: a workflow in namespace A signals a workflow in namespace B.

Per version (facts doc section 1): since 1.30 the frontend re-authorizes such commands in B when
system.enableCrossNamespaceCommands is on (off by default since 1.30); before 1.30 B was never checked.
The workflow task is answered by hand (harness.raw_worker): the Python SDK cannot emit these commands.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.service import ServiceClient

from harness.model.authorizer import authorize_cross_namespace_command
from harness.raw_worker import poll_task_token, respond, signal_external, start_raw
from harness.server.config import ServerSettings
from harness.session import ServerPool
from harness.target import PEER_NAMESPACE, SUITE_NAMESPACE, Target, credential_of
from harness.types import WORKFLOW_SERVICE, CallTarget, Decision, Outcome
from harness.verdict import Evidence, check
from harness.wait import until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")

A, B = SUITE_NAMESPACE, PEER_NAMESPACE
ENABLED = ServerSettings(dynamic_config={"system.enableCrossNamespaceCommands": True})


async def signalled(client: ServiceClient, workflow_id: str, metadata: dict[str, str]) -> bool:
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=B, execution=WorkflowExecution(workflow_id=workflow_id)),
        metadata=metadata,
        retry=False,
    )
    return any(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in history.history.events
    )


@pytest.mark.req("AUTHZ-XNS-001")
@pytest.mark.parametrize("enabled", [False, True], ids=["setting-default", "setting-on"])
@pytest.mark.parametrize("rights_on_b", [False, True], ids=["no-rights-in-B", "writer-in-B"])
async def test_signal_into_another_namespace(
    server_pool: ServerPool, target: Target, evidence: Evidence, enabled: bool, rights_on_b: bool
) -> None:
    if enabled and server_pool.options.target:
        pytest.skip("turning system.enableCrossNamespaceCommands on needs a server of the harness's own")
    server = await server_pool.target(ENABLED) if enabled else target
    prober = await server.prober()
    client = prober.client
    admin = server.auth_metadata(server.admin_token())
    peer_id = await start_raw(client, B, "GuestbookWorkflow", f"xns-peer-{uuid.uuid4().hex[:6]}", admin)
    task_queue = f"xns-src-{uuid.uuid4().hex[:6]}"
    await start_raw(client, A, "XnsSource", task_queue, admin)
    perms = [f"{A}:read", f"{A}:write"] + ([f"{B}:write"] if rights_on_b else [])
    worker_token = server.mint(perms, sub="xns-worker")
    worker = server.auth_metadata(worker_token)

    task_token = await poll_task_token(client, A, task_queue, worker)
    answer = await respond(prober, A, task_token, [signal_external(B, peer_id, "sign", "from-A")], worker)

    async def delivered() -> bool:
        return await signalled(client, peer_id, admin)

    got_signal = False
    if answer.status == "OK":
        try:
            got_signal = await until_async(delivered, deadline=10, interval=0.1, what="signal in B")
        except TimeoutError:
            got_signal = False

    claims = server.expect(
        credential_of(worker_token), CallTarget(f"/{WORKFLOW_SERVICE}/RespondWorkflowTaskCompleted", A)
    ).claims
    decision, takes_effect, reason = authorize_cross_namespace_command(
        claims, B, "SignalWorkflowExecution", server.rules, server.table, enabled=True if enabled else None
    )
    evidence.expected = {
        "respond": Outcome.ALLOWED if decision is Decision.ALLOW else Outcome.DENIED,
        "signal_delivered": takes_effect,
    }
    evidence.observed = {"respond": answer.outcome, "signal_delivered": got_signal}
    evidence.claims, evidence.namespace = worker_token.evidence(), f"{A} -> {B}"
    evidence.api, evidence.reason = "RespondWorkflowTaskCompleted[SignalExternalWorkflowExecution]", reason
    evidence.status, evidence.message = answer.status, answer.message
    evidence.extra = {
        "enableCrossNamespaceCommands": enabled or server.rules.cross_namespace_commands_default
    }
    check(evidence, "AUTHZ-XNS-001")
