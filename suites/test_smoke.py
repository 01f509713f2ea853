"""First checks: the guard's premise, the exempt calls, the sample's flow, and the legacy system scope."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf import duration_pb2
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetClusterInfoRequest,
    GetSystemInfoRequest,
    RegisterNamespaceRequest,
)
from temporalio.worker import Worker

from fixtures.workflows import HelloWorkflow, compose_greeting
from harness.probes import ApiMethod
from harness.target import SUITE_NAMESPACE, Target, bearer, credential_of
from harness.tokens import MintedToken
from harness.types import HEALTH_CHECK, WORKFLOW_SERVICE, CallTarget, Decision
from harness.verdict import Evidence, check, expected_outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

DESCRIBE_NAMESPACE = ApiMethod(WORKFLOW_SERVICE, "DescribeNamespace", DescribeNamespaceRequest)
GET_SYSTEM_INFO = ApiMethod(WORKFLOW_SERVICE, "GetSystemInfo", GetSystemInfoRequest)
GET_CLUSTER_INFO = ApiMethod(WORKFLOW_SERVICE, "GetClusterInfo", GetClusterInfoRequest)
REGISTER_NAMESPACE = ApiMethod(WORKFLOW_SERVICE, "RegisterNamespace", RegisterNamespaceRequest)


async def _probe_and_check(
    target: Target,
    evidence: Evidence,
    requirement: str,
    method: ApiMethod | None,
    token: MintedToken | None,
    namespace: str = "",
) -> None:
    prober = await target.prober()
    full = method.full_method if method else HEALTH_CHECK
    expectation = target.expect(credential_of(token), CallTarget(full, namespace))
    if method is None:
        observed = await prober.health_check(bearer(token))
    else:
        observed = await prober.probe(method, namespace, bearer(token))
    evidence.expected = expected_outcome(expectation.decision)
    evidence.observed = observed.outcome
    evidence.api, evidence.namespace = full, namespace
    evidence.claims = token.evidence() if token else {"token": None}
    evidence.status, evidence.message, evidence.reason = observed.status, observed.message, expectation.reason
    check(evidence, requirement)


@pytest.mark.req("AUTHZ-GUARD-001")
async def test_anonymous_namespace_call_is_denied(target: Target, evidence: Evidence) -> None:
    await _probe_and_check(target, evidence, "AUTHZ-GUARD-001", DESCRIBE_NAMESPACE, None, SUITE_NAMESPACE)
    assert evidence.status == "PERMISSION_DENIED" and evidence.message == "Request unauthorized."


@pytest.mark.req("AUTHZ-HEALTH-001")
async def test_health_check_needs_no_token(target: Target, evidence: Evidence) -> None:
    await _probe_and_check(target, evidence, "AUTHZ-HEALTH-001", None, None)


@pytest.mark.req("AUTHZ-HEALTH-002")
async def test_get_system_info_needs_no_token(target: Target, evidence: Evidence) -> None:
    await _probe_and_check(target, evidence, "AUTHZ-HEALTH-002", GET_SYSTEM_INFO, None)


@pytest.mark.req("AUTHZ-HEALTH-003")
@pytest.mark.parametrize("api", ["HealthCheck", "GetSystemInfo"])
async def test_refused_token_fails_even_exempt_calls(target: Target, evidence: Evidence, api: str) -> None:
    expired = target.mint([f"{target.rules.system_scope}:admin"], exp_in=-60)
    method = None if api == "HealthCheck" else GET_SYSTEM_INFO
    await _probe_and_check(target, evidence, "AUTHZ-HEALTH-003", method, expired)
    assert evidence.observed.value == "DENIED"


@pytest.mark.req("AUTHZ-HEALTH-004")
async def test_get_cluster_info_is_not_exempt(target: Target, evidence: Evidence) -> None:
    await _probe_and_check(target, evidence, "AUTHZ-HEALTH-004", GET_CLUSTER_INFO, None)
    assert evidence.observed.value == "DENIED"


@pytest.mark.req("AUTHZ-WORKFLOW-001")
async def test_sample_flow_runs_a_workflow_under_jwt_auth(target: Target, evidence: Evidence) -> None:
    namespace = f"authz-sample-{uuid.uuid4().hex[:8]}"
    admin = target.admin_token()
    prober = await target.prober()
    await prober.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
        ),
        metadata=bearer(admin),
    )
    await target.ensure_namespaces([namespace])
    token = target.mint([f"{namespace}:read", f"{namespace}:write"], sub="sample-worker")
    worker_client = await target.client(token, namespace)
    starter_client = await target.client(token, namespace)
    task_queue = f"sample-{uuid.uuid4().hex[:8]}"
    async with Worker(
        worker_client, task_queue=task_queue, workflows=[HelloWorkflow], activities=[compose_greeting]
    ):
        result = await starter_client.execute_workflow(
            HelloWorkflow.run, "Temporal", id=f"hello-{uuid.uuid4()}", task_queue=task_queue
        )
    evidence.expected, evidence.observed = "Hello, Temporal!", result
    evidence.api, evidence.namespace, evidence.claims = (
        "StartWorkflowExecution+worker",
        namespace,
        token.evidence(),
    )
    check(evidence, "AUTHZ-WORKFLOW-001")


@pytest.mark.req("AUTHZ-NS-001")
async def test_legacy_system_admin_cannot_register_a_namespace(target: Target, evidence: Evidence) -> None:
    legacy = target.mint(["system:admin"], sub="legacy-sample-admin")
    namespace = f"authz-legacy-{uuid.uuid4().hex[:8]}"
    prober = await target.prober()
    request = RegisterNamespaceRequest(
        namespace=namespace, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
    )
    observed = await prober.probe(REGISTER_NAMESPACE, namespace, bearer(legacy), request)
    expectation = target.expect(credential_of(legacy), CallTarget(REGISTER_NAMESPACE.full_method, namespace))
    evidence.expected = expected_outcome(expectation.decision)
    evidence.observed = observed.outcome
    evidence.api, evidence.namespace, evidence.claims = (
        REGISTER_NAMESPACE.full_method,
        namespace,
        legacy.evidence(),
    )
    evidence.status, evidence.message, evidence.reason = observed.status, observed.message, expectation.reason
    check(evidence, "AUTHZ-NS-001")
    if target.rules.version >= (1, 21, 0):
        assert expectation.decision is Decision.DENY
