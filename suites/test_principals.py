"""Principal attribution (1.31+): with frontend.enablePrincipalPropagation on for namespace A only, the
events a call writes in A carry its caller (the token's `sub`); B's carry nobody; the server's own
workers (a schedule's start) are `temporal/internal`; and a caller's own temporal-principal-* headers
(gRPC metadata, or HTTP Grpc-Metadata-*) never name anyone, in either namespace.

Each case makes one call, then reads the event it wrote from history (with the harness's admin token)
and compares the event's principal with the model's.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from harness.cases.ask import Asked, PrincipalQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.history import first_event
from harness.cases.runner import facts_of
from harness.model.features import Feature
from harness.scripts.principals import CALLS, SPOOF
from harness.server.config import ServerSettings, constrained
from harness.server.target import PEER_NAMESPACE, SUITE_NAMESPACE
from harness.types import CallTarget

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.since(Feature.PRINCIPAL_ATTRIBUTION),
]

A, B = SUITE_NAMESPACE, PEER_NAMESPACE
PROPAGATION_IN_A = ServerSettings(
    dynamic_config={"frontend.enablePrincipalPropagation": constrained(True, namespace=A)}
)
WS = "/temporal.api.workflowservice.v1.WorkflowService/"
E = EventType


@pytest.mark.req("AUTHZ-PRINCIPAL-001")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("namespace", [A, B], ids=["propagation-on", "propagation-off"])
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_event_principal(server_for: Any, evidence: Evidence, namespace: str, call: str) -> None:
    server = await server_for(PROPAGATION_IN_A)
    made = await CALLS[call](server, namespace)
    event = await first_event(server, namespace, made.workflow_id, made.event_type)
    observed = (event.principal.type, event.principal.name) if event.HasField("principal") else ()

    question = PrincipalQuestion(
        facts_of(server),
        made.credential(server),
        CallTarget(WS + made.api, namespace),
        Window.between(made.started, made.ended),
    )
    asked = Asked(question, question.answer(), observed)
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = asked.answer.value, observed
    evidence.api, evidence.surface, evidence.namespace = made.api, made.surface, namespace
    evidence.reason = asked.answer.reason
    evidence.claims = (
        made.token.evidence() if made.token is not None else {"caller": "the server's scheduler"}
    )
    evidence.extra = {"event": E.Name(made.event_type), "workflow": made.workflow_id}
    if "spoofed" in call:
        evidence.extra["spoofed headers"] = SPOOF
    check(evidence)
