"""Cross-namespace commands: a workflow in namespace A signals, starts a child in, or cancels a workflow in
namespace B.

Per version: since 1.29.2 the frontend re-authorizes such commands in B (as SignalWorkflowExecution,
StartWorkflowExecution, RequestCancelWorkflowExecution) when system.enableCrossNamespaceCommands is on
(off by default since 1.30.0); before, B was never checked. The workflow task is answered by hand
(harness.cases.raw_worker): the Python SDK cannot emit these commands. What became of the command is read
from the source workflow's own history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.api.command.v1 import Command
from temporalio.api.enums.v1 import EventType

from harness.cases.ask import Asked, CrossNamespaceQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.history import fate
from harness.cases.raw_worker import (
    cancel_external,
    poll_task_token,
    respond,
    signal_external,
    start_child,
    start_raw,
)
from harness.cases.runner import facts_of
from harness.server.config import ServerSettings
from harness.server.target import PEER_NAMESPACE, SUITE_NAMESPACE, Target
from harness.types import Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

A, B = SUITE_NAMESPACE, PEER_NAMESPACE
ENABLED = ServerSettings(dynamic_config={"system.enableCrossNamespaceCommands": True})
E = EventType


@dataclass(frozen=True)
class Kind:
    """One cross-namespace command: how to build it, the API it is re-authorized as, and the events that
    say it took effect or did not."""

    api: str
    build: Callable[[str], Command]  # the peer workflow id -> the command
    took_effect: frozenset[int]
    refused: frozenset[int]


COMMON_REFUSALS = {E.EVENT_TYPE_WORKFLOW_TASK_FAILED, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT}
KINDS = {
    "signal": Kind(
        "SignalWorkflowExecution",
        lambda peer: signal_external(B, peer, "sign", "from-A"),
        frozenset({E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED}),
        frozenset({E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, *COMMON_REFUSALS}),
    ),
    "start-child": Kind(
        "StartWorkflowExecution",
        lambda peer: start_child(B, f"child-{uuid.uuid4().hex[:8]}", "GuestbookWorkflow", f"xns-child-{uuid.uuid4().hex[:6]}"),
        frozenset({E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED}),
        frozenset({E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED, *COMMON_REFUSALS}),
    ),
    "cancel": Kind(
        "RequestCancelWorkflowExecution",
        lambda peer: cancel_external(B, peer),
        frozenset({E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED}),
        frozenset({E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, *COMMON_REFUSALS}),
    ),
}  # fmt: skip


@pytest.mark.req("AUTHZ-XNS-001")
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("enabled", [False, True], ids=["setting-default", "setting-on"])
@pytest.mark.parametrize("rights_on_b", [False, True], ids=["no-rights-in-B", "writer-in-B"])
async def test_command_into_another_namespace(
    server_for: Any, target: Target, evidence: Evidence, kind: str, enabled: bool, rights_on_b: bool
) -> None:
    command = KINDS[kind]
    server = await server_for(ENABLED if enabled else None)
    client = await server.service_client()
    prober = await server.prober()
    admin = server.metadata(server.admin_token())
    peer_id = await start_raw(client, B, "GuestbookWorkflow", f"xns-peer-{uuid.uuid4().hex[:6]}", admin)
    task_queue = f"xns-src-{uuid.uuid4().hex[:6]}"
    source_id = await start_raw(client, A, "XnsSource", task_queue, admin)
    perms = [f"{A}:read", f"{A}:write"] + ([f"{B}:write"] if rights_on_b else [])
    worker_token = server.mint(perms, sub="xns-worker")
    worker = server.metadata(worker_token)

    task_token = await poll_task_token(client, A, task_queue, worker)
    answer = await respond(prober, A, task_token, [command.build(peer_id)], worker)
    if answer.outcome is Outcome.ALLOWED:
        took_effect, history = await fate(server, A, source_id, command.took_effect, command.refused)
    else:
        took_effect, history = False, []  # the completion itself was refused: the command never ran

    question = CrossNamespaceQuestion(
        facts_of(server),
        server.credential(worker_token),
        A,
        B,
        command.api,
        True if enabled else None,
        Window.between(answer.started, answer.ended),
    )
    asked = Asked(question, question.answer(), (answer.outcome, took_effect))
    evidence.asked.append(asked)
    respond_expected, effect_expected = asked.answer.value
    evidence.expected = {"respond": respond_expected, "took_effect": effect_expected}
    evidence.observed = {"respond": answer.outcome, "took_effect": took_effect}
    evidence.claims, evidence.namespace = worker_token.evidence(), f"{A} -> {B}"
    evidence.api, evidence.reason = (
        f"RespondWorkflowTaskCompleted[{kind} as {command.api}]",
        asked.answer.reason,
    )
    evidence.status, evidence.message = answer.status, answer.message
    evidence.extra = {
        "enableCrossNamespaceCommands": enabled or server.rules.cross_namespace_commands_default,
        "source_history": history,
    }
    check(evidence)
