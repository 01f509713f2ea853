"""SEC-P1 and SEC-P3 beyond the grid, and the replication stream (CVE-2026-5724): a caller without a token,
a tenant, and tokens the claim mapper must refuse (each carrying system-admin claims, so an accepted one
could do anything) get nothing. Read from what the server answered, never from the model."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.operatorservice.v1 import ListClustersRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    StartWorkflowExecutionRequest,
    UpdateNamespaceRequest,
)

from harness.cases.evidence import Evidence
from harness.probes.grpc import Observation
from harness.probes.grpc_raw import probe_raw
from harness.probes.streams import STREAMS, probe_stream
from harness.security.checks import REFUSED, hold
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens import forge
from harness.tokens.keys import rsa_key
from harness.tokens.mint import MintedToken, TokenSpec, mint
from harness.types import ADMIN_SERVICE, Outcome, full_method

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPLICATION = next(s for s in STREAMS if s.name == "ReplicationStream")
A = SUITE_NAMESPACE
UNTRUSTED = rsa_key(kid="harness-rsa")  # the trusted key's kid, a key the server never saw


async def _stream(target: Target, token: MintedToken | None) -> Observation:
    credentials, options = target.channel_credentials()
    return await probe_stream(target.address, REPLICATION, target.headers(token), credentials, options)


def _opened(observed: Observation) -> list[str]:
    if observed.outcome in REFUSED:
        return []
    if observed.outcome is Outcome.ERROR:
        pytest.fail(f"the replication stream gave no answer: {observed.status} {observed.message!r}")
    return [f"opened past authorization: {observed.status} {observed.message[:160]!r}"]


@pytest.mark.prop("SEC-P1", "replication-stream")
async def test_anonymous_caller_opens_no_replication_stream(target: Target, evidence: Evidence) -> None:
    observed = await _stream(target, None)
    if observed.outcome is Outcome.ABSENT:
        pytest.skip("this release serves no replication stream on its frontend")
    evidence.api, evidence.surface, evidence.claims = REPLICATION.full_method, "stream", {"token": None}
    evidence.status, evidence.message = observed.status, observed.message
    hold(evidence, "SEC-P1/replication-stream", _opened(observed), 1, "anonymous stream opening")


@pytest.mark.prop("SEC-P2", "replication-stream")
async def test_tenant_opens_no_replication_stream(target: Target, evidence: Evidence) -> None:
    """A namespace admin of A is a tenant: the stream carries every replicated namespace's history."""
    token = target.mint([f"{A}:admin"], sub="tenant-of-a")
    observed = await _stream(target, token)
    if observed.outcome is Outcome.ABSENT:
        pytest.skip("this release serves no replication stream on its frontend")
    evidence.api, evidence.surface, evidence.claims = REPLICATION.full_method, "stream", token.evidence()
    evidence.status, evidence.message = observed.status, observed.message
    hold(evidence, "SEC-P2/replication-stream", _opened(observed), 1, "stream opening by a tenant")


def _admin_spec(target: Target, **times: Any) -> TokenSpec:
    return TokenSpec(
        permissions=[f"{target.system_scope}:admin"],
        claim_name=target.auth_config.permissions_claim_name,
        **times,
    )


# Tokens no release may read as their claims: each carries system-admin claims.
REFUSED_TOKENS: dict[str, Callable[[Target], MintedToken]] = {
    "expired": lambda t: mint(_admin_spec(t, exp_in=-120), t.key_of("RSA")),
    "not-yet-valid": lambda t: mint(_admin_spec(t, nbf_in=3600), t.key_of("RSA")),
    "untrusted-key-trusted-kid": lambda t: mint(_admin_spec(t), UNTRUSTED),
    "alg-none": lambda t: forge.alg_none(t.key_of("RSA"), _admin_spec(t)),
    "hs256-keyed-with-the-public-key": lambda t: forge.hs256_with_public_key(t.key_of("RSA"), _admin_spec(t)),
    "unknown-kid": lambda t: forge.with_kid(t.key_of("RSA"), _admin_spec(t), "no-such-kid"),
    "tampered-claims": lambda t: forge.tampered_payload(
        mint(TokenSpec(permissions=[f"{A}:read"]), t.key_of("RSA")),
        {"permissions": [f"{t.system_scope}:admin"]},
    ),
    "zero-ecdsa-signature": lambda t: forge.zero_ecdsa_signature(t.key_of("EC"), _admin_spec(t)),
}


async def _calls(target: Target, token: MintedToken) -> dict[str, Observation]:
    """A read, a write, a namespace-admin and a cluster-admin call, AdminService and the stream."""
    client, prober, metadata = await target.service_client(), await target.prober(), target.metadata(token)
    workflow_id = f"sec-refused-{uuid.uuid4().hex[:8]}"
    service = client.workflow_service
    calls = {
        "DescribeNamespace": service.describe_namespace(DescribeNamespaceRequest(namespace=A), metadata=metadata, retry=False),
        "StartWorkflowExecution": service.start_workflow_execution(
            StartWorkflowExecutionRequest(namespace=A, workflow_id=workflow_id, workflow_type=WorkflowType(name="SecRefused"),
                                          task_queue=TaskQueue(name="sec-refused"), request_id=str(uuid.uuid4())),
            metadata=metadata, retry=False,
        ),
        "UpdateNamespace": service.update_namespace(UpdateNamespaceRequest(namespace=A), metadata=metadata, retry=False),
        "ListClusters": client.operator_service.list_clusters(ListClustersRequest(), metadata=metadata, retry=False),
    }  # fmt: skip
    observed = {name: await prober.observe(call) for name, call in calls.items()}
    async with target.grpc_channel() as channel:
        describe_cluster = full_method(ADMIN_SERVICE, "DescribeCluster")
        observed["AdminService/DescribeCluster"] = await probe_raw(
            channel, describe_cluster, b"", target.headers(token)
        )
    observed["ReplicationStream"] = await _stream(target, token)
    return observed


@pytest.mark.prop("SEC-P3", "refused-tokens")
@pytest.mark.parametrize("shape", sorted(REFUSED_TOKENS))
async def test_a_refused_token_acts_nowhere(shape: str, target: Target, evidence: Evidence) -> None:
    if not target.controls_jwks:
        pytest.skip("needs the harness's own signing keys (a trusted key to forge beside)")
    token = REFUSED_TOKENS[shape](target)
    observed = await _calls(target, token)
    violations = [
        f"{call}: {o.outcome.value} {o.status} {o.message[:120]!r}"
        for call, o in observed.items()
        if o.outcome not in REFUSED and o.outcome is not Outcome.ERROR
    ]
    evidence.api, evidence.namespace, evidence.claims = ", ".join(observed), A, token.evidence()
    evidence.extra["answers"] = {call: f"{o.outcome.value} {o.status}" for call, o in observed.items()}
    unanswered = [call for call, o in observed.items() if o.outcome is Outcome.ERROR]
    if unanswered and not violations:
        pytest.fail(f"no answer to {unanswered}: nothing shown about these calls")
    hold(
        evidence,
        "SEC-P3/refused-tokens",
        violations,
        len(observed),
        f"calls with a {shape} system-admin token",
    )
