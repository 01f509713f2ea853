"""First checks: the guard's premise, the exempt calls, the sample's flow, and the legacy system scope."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf import duration_pb2
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

from harness.cases.calls import Call
from harness.cases.evidence import Evidence, check
from harness.cases.recipes import token
from harness.cases.runner import Case, denied, fixed, run_case
from harness.cases.workers import run_hello
from harness.probes.grpc import HEALTH_CHECK_METHOD, wf
from harness.pytest_plugin import rows
from harness.server.setup import ensure_namespaces
from harness.server.target import SUITE_NAMESPACE, Target

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
LEGACY_NAMESPACE = f"authz-legacy-{uuid.uuid4().hex[:8]}"
LEGACY_REQUEST = RegisterNamespaceRequest(
    namespace=LEGACY_NAMESPACE, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
)


def legacy_register(target: Target) -> list[Call]:
    """The case's call (data): a namespace of the run's own."""
    return [Call("register", wf("RegisterNamespace"), LEGACY_NAMESPACE, LEGACY_REQUEST)]


CASES = [
    Case("AUTHZ-GUARD-001", "AnonymousDescribeNamespace", None, calls=fixed(Call("read", wf("DescribeNamespace"), NS))),
    Case("AUTHZ-HEALTH-001", "AnonymousHealthCheck", None, calls=fixed(Call("health", HEALTH_CHECK_METHOD))),
    Case("AUTHZ-HEALTH-002", "AnonymousGetSystemInfo", None, calls=fixed(Call("exempt", wf("GetSystemInfo")))),
    Case(
        "AUTHZ-HEALTH-003",
        "ExpiredTokenOnExemptCalls",
        token("{system}:admin", exp_in=-60),
        calls=fixed(Call("health", HEALTH_CHECK_METHOD), Call("exempt", wf("GetSystemInfo"))),
    ),
    Case("AUTHZ-HEALTH-004", "AnonymousGetClusterInfo", None, calls=fixed(Call("cluster-read", wf("GetClusterInfo")))),
    Case(
        "AUTHZ-NS-001",
        "LegacySystemAdminRegisters",
        token("system:admin", sub="legacy-sample-admin"),
        calls=legacy_register,
        finding=denied("register"),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", rows(CASES))
async def test_case(case: Case, target: Target, evidence: Evidence) -> None:
    await run_case(target, case, evidence)


@pytest.mark.req("AUTHZ-WORKFLOW-001")
async def test_sample_flow_runs_a_workflow_under_jwt_auth(target: Target, evidence: Evidence) -> None:
    namespace = f"authz-sample-{uuid.uuid4().hex[:8]}"
    admin = target.admin_token()
    client = await target.service_client()
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
        ),
        metadata=target.metadata(admin),
        retry=False,
    )
    await ensure_namespaces(target, [namespace])
    token = target.mint([f"{namespace}:read", f"{namespace}:write"], sub="sample-worker")
    result = await run_hello(target, token, namespace, "Temporal")
    evidence.expected, evidence.observed = "Hello, Temporal!", result
    evidence.api, evidence.namespace, evidence.claims = (
        "StartWorkflowExecution+worker",
        namespace,
        token.evidence(),
    )
    check(evidence)
