"""The server's Prometheus metrics and authorization: which refusals are counted, and where.

A server with global.metrics.prometheus on (OpenTelemetry: counters are read at scrape time) is scraped
before and after one call; the differences in the authorization metrics (labelled with the call's
namespace, frontend only) and in service_requests for the call's operation are compared with the
model's. The cases run one at a time on a server of their own, so no other call moves these series.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.cases.ask import Asked, MetricsQuestion, Window
from harness.cases.evidence import Evidence, check
from harness.cases.recipes import token
from harness.cases.runner import facts_of
from harness.model import metrics
from harness.probes.grpc import wf
from harness.scripts.metrics import scrape
from harness.server.config import ServerSettings
from harness.server.target import OTHER_NAMESPACE, SUITE_NAMESPACE, SUITE_NAMESPACES, Target
from harness.tokens.forge import tampered_payload
from harness.tokens.mint import MintedToken
from harness.types import CallTarget

pytestmark = pytest.mark.asyncio(loop_scope="session")

A = SUITE_NAMESPACE
METRICS = ServerSettings(metrics=True)
API = wf("DescribeNamespace")

TOKENS: dict[str, Callable[[Target], MintedToken | None]] = {
    "reader-of-the-namespace": token(f"{A}:read", sub="reader"),
    "reader-of-another-namespace": token(f"{OTHER_NAMESPACE}:read", sub="outsider"),
    "no-token": lambda s: None,
    "bad-signature": lambda s: tampered_payload(s.mint([f"{A}:read"], sub="forger"), {"sub": "forged"}),
    "expired": token(f"{A}:read", sub="late", exp_in=-300, iat_in=-600),
}
# Which of the interceptor's refusals a reader of the docs would expect to see counted.
MAPPER_REFUSALS = {"bad-signature", "expired"}


@pytest.mark.req("AUTHZ-METRICS-001")
@pytest.mark.needs_own_server
@pytest.mark.parametrize("caller", sorted(TOKENS))
async def test_what_one_call_adds_to_the_metrics(server_for: Any, evidence: Evidence, caller: str) -> None:
    server = await server_for(METRICS)
    token = TOKENS[caller](server)
    label = metrics.namespace_label(A, frozenset(SUITE_NAMESPACES))
    prober = await server.prober()
    before = await scrape(server, label, API.name)
    answer = await prober.probe(API, A, server.metadata(token))
    after = await scrape(server, label, API.name)
    observed = tuple(sorted((m, int(after[m] - before[m])) for m in metrics.COUNTED))

    question = MetricsQuestion(
        facts_of(server), server.credential(token), CallTarget(API.full_method, A),
        Window.between(answer.started, answer.ended),
    )  # fmt: skip
    asked = Asked(question, question.answer(), observed)
    evidence.asked.append(asked)
    evidence.expected, evidence.observed = dict(asked.answer.value), dict(observed)
    evidence.api, evidence.namespace, evidence.reason = API.name, A, asked.answer.reason
    evidence.claims = token.evidence() if token else None
    evidence.status, evidence.message = answer.status, answer.message
    evidence.extra = {"namespace label": label, "call": answer.outcome.value}
    if caller in MAPPER_REFUSALS:
        # The finding: a refused token is counted nowhere (no metric tells a forgery or an expired token).
        evidence.finding_holds = not any(delta for _, delta in observed)
    check(evidence)
