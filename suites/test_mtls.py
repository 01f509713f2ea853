"""mTLS with JWT: a frontend with requireClientAuth (certificates made at run time by the harness).

MTLS-001: the handshake refuses a caller without a certificate, or with one from a CA the server does
not trust, before any header is read (gRPC and HTTP). MTLS-002: a trusted certificate grants nothing by
itself: with no token every call but the exempt ones is denied, a certificate whose subject says
temporal-system included; with a token, the token decides (gRPC and the HTTP API alike).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio.service import ConnectConfig, ServiceClient

from harness.cases.ask import Asked, CallQuestion, HandshakeQuestion, HttpCallQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.recipes import token
from harness.cases.runner import facts_of
from harness.errors import HarnessError
from harness.model import transport
from harness.model.decide import Credential
from harness.model.features import Feature
from harness.probes.grpc import ApiMethod, Prober, wf
from harness.probes.http import classify_http
from harness.probes.tls import grpc_handshake, http_handshake
from harness.scripts.mtls import material, mtls_server
from harness.server.target import SUITE_NAMESPACE, Target, http_tls
from harness.server.tls import SERVER_NAME
from harness.tokens.mint import MintedToken
from harness.types import CallTarget, Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

A = SUITE_NAMESPACE
CALLS: tuple[tuple[ApiMethod, str], ...] = (
    (wf("GetSystemInfo"), ""),  # exempt
    (wf("DescribeNamespace"), A),  # read in A
    (wf("SignalWorkflowExecution"), A),  # write in A
    (wf("ListNamespaces"), ""),  # cluster read: the system scope only
)
TOKENS: dict[str, Callable[[Target], MintedToken | None]] = {
    "no-token": lambda s: None,
    "reader-of-A": token(f"{A}:read", sub="reader"),
    "system-admin": lambda s: s.admin_token(),
}
# How each certificate is presented: (name in FrontendTls, what the model is told of it).
CERTIFICATES = {
    "none": (None, None),
    "foreign-ca": ("foreign", transport.UNTRUSTED),
    "trusted": ("harness", transport.TRUSTED),
}


@pytest.mark.req("AUTHZ-MTLS-001")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("certificate", sorted(CERTIFICATES))
async def test_the_handshake_over_grpc(server_for: Any, evidence: Evidence, certificate: str) -> None:
    server, tls = await mtls_server(server_for)
    name, shown = CERTIFICATES[certificate]
    cert, key = material(tls, name)
    observed = await grpc_handshake(server.address, tls.ca.read_bytes(), SERVER_NAME, cert, key)
    control = await grpc_handshake(
        server.address, tls.ca.read_bytes(), SERVER_NAME, *material(tls, "harness")
    )
    if control.outcome is not Outcome.ALLOWED:
        raise HarnessError(f"the harness's own certificate was not taken either: {control.answer()}")
    question = HandshakeQuestion(facts_of(server), shown)
    asked = Asked(question, question.answer(), observed.outcome)
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = asked.answer.value, observed.outcome
    evidence.api, evidence.namespace, evidence.reason = "GetSystemInfo", "", asked.answer.reason
    evidence.status, evidence.message = observed.status, observed.message
    evidence.extra = {"client certificate": certificate}
    check(evidence)


@pytest.mark.req("AUTHZ-MTLS-001")
@pytest.mark.needs_own_server
@pytest.mark.since(Feature.HTTP_API)
@pytest.mark.parametrize("certificate", sorted(CERTIFICATES))
async def test_the_handshake_over_http(server_for: Any, evidence: Evidence, certificate: str) -> None:
    server, tls = await mtls_server(server_for)
    name, shown = CERTIFICATES[certificate]
    address = server.running.http_address
    context = http_tls(tls.client_config(name))
    observed, _ = await http_handshake(f"https://{address}", context, "/api/v1/system-info", {})
    question = HandshakeQuestion(facts_of(server), shown)
    asked = Asked(question, question.answer(), observed.outcome)
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = asked.answer.value, observed.outcome
    evidence.api, evidence.surface, evidence.reason = "GetSystemInfo", "http", asked.answer.reason
    evidence.status, evidence.message = observed.status, observed.message
    evidence.extra = {"client certificate": certificate}
    check(evidence)


@pytest.mark.req("AUTHZ-MTLS-002")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("token_name", sorted(TOKENS))
@pytest.mark.parametrize("subject", ["harness", "temporal-system"])
async def test_a_certificate_grants_nothing(
    server_for: Any, evidence: Evidence, subject: str, token_name: str
) -> None:
    server, tls = await mtls_server(server_for)
    token = TOKENS[token_name](server)
    client = await ServiceClient.connect(
        ConnectConfig(target_host=server.address, lazy=True, tls=tls.client_config(subject))
    )
    prober = Prober(client)
    base = server.credential(token)
    credential = Credential(base.headers, base.signed_by, server.client_subject(subject))
    facts = facts_of(server)
    expected, observed = {}, {}
    for method, namespace in CALLS:
        answer = await prober.probe(method, namespace, server.metadata(token))
        question = CallQuestion(
            facts,
            credential,
            CallTarget(method.full_method, namespace),
            Window.between(answer.started, answer.ended),
        )
        asked = Asked(question, question.answer(), answer.outcome)
        evidence.asked.append(asked)
        expected[method.name] = (
            asked.answer.value if asked.answer.determinate else sorted(asked.answer.values)
        )
        observed[method.name] = answer.outcome
    evidence.expected, evidence.observed = expected, observed
    evidence.api = ", ".join(m.name for m, _ in CALLS)
    evidence.namespace, evidence.reason = A, evidence.asked[1].answer.reason
    evidence.claims = token.evidence() if token else None
    evidence.extra = {"client certificate subject": credential.tls_subject}
    if subject == "temporal-system" and token is None:
        evidence.finding_holds = all(
            o is not Outcome.ALLOWED for m, o in observed.items() if m != "GetSystemInfo"
        )
    check(evidence)


@pytest.mark.req("AUTHZ-MTLS-002")
@pytest.mark.needs_own_server
@pytest.mark.since(Feature.HTTP_API)
@pytest.mark.parametrize("token_name", ["no-token", "reader-of-A"])
async def test_a_certificate_grants_nothing_over_http(
    server_for: Any, evidence: Evidence, token_name: str
) -> None:
    server, tls = await mtls_server(server_for)
    token = TOKENS[token_name](server)
    headers = dict(server.headers(token))
    observed, response = await http_handshake(
        f"https://{server.running.http_address}",
        http_tls(tls.client_config("temporal-system")),
        f"/api/v1/namespaces/{A}",
        headers,
    )
    outcome = observed.outcome
    if response is not None:
        try:
            payload = response.json()
        except ValueError:
            payload = {"message": response.text[:200]}
        outcome = classify_http(response.status_code, payload)
    question = HttpCallQuestion(
        facts_of(server),
        tuple(headers.items()),
        token.signed_by if token else None,
        CallTarget("/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace", A),
        Window.between(observed.started, observed.ended),
        tls_subject=server.client_subject("temporal-system"),
    )
    asked = Asked(question, question.answer(), outcome)
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = asked.answer.value, outcome
    evidence.api, evidence.surface, evidence.namespace = "DescribeNamespace", "http", A
    evidence.reason, evidence.claims = asked.answer.reason, token.evidence() if token else None
    evidence.status = observed.status
    evidence.message = response.text[:200] if response is not None else observed.message
    evidence.extra = {"client certificate subject": server.client_subject("temporal-system")}
    check(evidence)
