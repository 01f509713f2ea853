"""Task tokens from another namespace: a writer in A holds a workflow task token of B (handed over,
leaked, or guessed) and completes it naming A, naming nothing, or naming B; with the namespace check of
task tokens on (the default) and off."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from harness.cases.ask import Asked, TaskTokenQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.history import fate
from harness.cases.raw_worker import poll_task_token, respond, start_raw
from harness.cases.runner import facts_of
from harness.server.config import ServerSettings
from harness.server.target import OTHER_NAMESPACE, SUITE_NAMESPACE

pytestmark = pytest.mark.asyncio(loop_scope="session")

A, B = SUITE_NAMESPACE, OTHER_NAMESPACE
NO_ENFORCEMENT = ServerSettings(dynamic_config={"frontend.enableTokenNamespaceEnforcement": False})


@pytest.mark.req("AUTHZ-TASK-001")
@pytest.mark.parametrize("enforcement", [True, False], ids=["enforcement-on", "enforcement-off"])
@pytest.mark.parametrize("named", ["A", "empty", "B"])
async def test_completion_with_a_task_token_from_b(
    server_for: Any, evidence: Evidence, enforcement: bool, named: str
) -> None:
    server = await server_for(None if enforcement else NO_ENFORCEMENT)
    client = await server.service_client()
    prober = await server.prober()
    admin = server.metadata(server.admin_token())
    queue = f"task-token-{uuid.uuid4().hex[:6]}"
    workflow_id = await start_raw(client, B, "TokenVictim", queue, admin)
    task_token = await poll_task_token(client, B, queue, admin)  # B's task, polled by an admin of B
    writer_of_a = server.mint([f"{A}:write"], sub="writer-of-a")
    request_namespace = {"A": A, "empty": "", "B": B}[named]
    answer = await respond(prober, request_namespace, task_token, [], server.metadata(writer_of_a))

    completed, _ = await fate(
        server, B, workflow_id, {EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED},
        refused_already=answer.status != "OK", what="the task's fate",
    )  # fmt: skip
    question = TaskTokenQuestion(
        facts_of(server), server.credential(writer_of_a), request_namespace, B, enforcement,
        Window.between(answer.started, answer.ended),
    )  # fmt: skip
    asked = Asked(question, question.answer(), (answer.outcome, completed))
    evidence.asked.append(asked)
    respond_expected, completed_expected = asked.answer.value
    evidence.expected = {"respond": respond_expected, "task of B completed": completed_expected}
    evidence.observed = {"respond": answer.outcome, "task of B completed": completed}
    evidence.claims, evidence.namespace = (
        writer_of_a.evidence(),
        f"request names {request_namespace!r}, task of {B!r}",
    )
    evidence.api, evidence.reason = "RespondWorkflowTaskCompleted", asked.answer.reason
    evidence.status, evidence.message = answer.status, answer.message
    if not enforcement and named == "A":
        evidence.finding_holds = completed
    check(evidence)
