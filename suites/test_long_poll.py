"""Long polls outlive their token: authorization runs once, when a call starts.

A worker starts PollWorkflowTaskQueue with a token that expires a few seconds later. Once the poll is
seen waiting (matching lists the poller) and the token has expired, a workflow is started on the queue:
the waiting poll hands the task over. Answering it with the same token is then refused (expired).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueRequest

from harness.cases.ask import Asked, CallQuestion, LongPollQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.raw_worker import respond, start_raw
from harness.cases.runner import facts_of
from harness.errors import HarnessError
from harness.scripts.long_poll import poll_waiting
from harness.server.target import SUITE_NAMESPACE, Target
from harness.types import CallTarget, Outcome
from harness.wait import clock_reaches

pytestmark = pytest.mark.asyncio(loop_scope="session")

A = SUITE_NAMESPACE
LIFETIME = 10  # seconds the worker's token lives: the poll must be seen waiting well before that
WS = "/temporal.api.workflowservice.v1.WorkflowService/"
IDENTITY = "authz-long-poll"


@pytest.mark.req("AUTHZ-EXPIRY-003")
async def test_a_long_poll_delivers_after_its_token_expired(target: Target, evidence: Evidence) -> None:
    server: Target = target
    client = await server.service_client()
    prober = await server.prober()
    admin = server.metadata(server.admin_token())
    queue = f"long-poll-{uuid.uuid4().hex[:6]}"
    worker = server.mint([f"{A}:read", f"{A}:write"], sub="long-poll-worker", exp_in=LIFETIME)
    expires = float(worker.claims["exp"])

    poll_started = time.monotonic()
    poll = asyncio.create_task(
        client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=A, task_queue=TaskQueue(name=queue), identity=IDENTITY),
            metadata=server.metadata(worker),
            retry=False,
            timeout=timedelta(seconds=LIFETIME + 60),
        )
    )
    try:
        await poll_waiting(client, A, queue, IDENTITY, admin, poll, deadline=30)
        poll_seen = time.monotonic()
        if time.time() >= expires:
            raise HarnessError(
                "the poll was not seen waiting before its token expired: the machine was too slow"
            )
        await clock_reaches(expires + 1, what="the worker's token to expire")
        await start_raw(client, A, "LongPollVictim", queue, admin)
        delivered = await poll
    finally:
        poll.cancel()
    delivered_at = time.time()
    answer = await respond(prober, A, delivered.task_token, [], server.metadata(worker))

    facts = facts_of(server)
    credential = server.credential(worker)
    poll_question = LongPollQuestion(
        CallQuestion(
            facts,
            credential,
            CallTarget(WS + "PollWorkflowTaskQueue", A),
            Window.between(poll_started, poll_seen),
        )
    )
    respond_question = CallQuestion(
        facts,
        credential,
        CallTarget(WS + "RespondWorkflowTaskCompleted", A),
        Window.between(answer.started, answer.ended),
    )
    got_task = bool(delivered.task_token)
    seen = (Outcome.ALLOWED if got_task else Outcome.DENIED, got_task and delivered_at > expires)
    poll_asked = Asked(poll_question, poll_question.answer(), seen)
    respond_asked = Asked(respond_question, respond_question.answer(), answer.outcome)
    evidence.asked += [poll_asked, respond_asked]
    (authorized, delivers), answered = poll_asked.answer.value, respond_asked.answer.value
    evidence.expected = {
        "poll authorized when it started": authorized,
        "task delivered after the token expired": delivers,
        "answer with the same token": answered,
    }
    evidence.observed = {
        "poll authorized when it started": seen[0],
        "task delivered after the token expired": seen[1],
        "answer with the same token": answer.outcome,
    }
    evidence.api, evidence.namespace = "PollWorkflowTaskQueue, RespondWorkflowTaskCompleted", A
    evidence.reason = f"{poll_asked.answer.reason}; then: {respond_asked.answer.reason}"
    evidence.claims = worker.evidence()
    evidence.status, evidence.message = answer.status, answer.message
    evidence.extra = {"delivered seconds after exp": round(delivered_at - expires, 2)}
    evidence.finding_holds = seen[1]
    check(evidence)
