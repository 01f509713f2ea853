"""Before any verdict: refuse a server that does not enforce authorization, make sure it trusts the
harness's keys, and register the suites' namespaces (waiting until they are usable, not just visible)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence

from google.protobuf import duration_pb2
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
    RegisterNamespaceRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from harness.model.decide import Credential, expect
from harness.probes.grpc import wf
from harness.server.target import SUITE_NAMESPACE, SUITE_NAMESPACES, Target
from harness.types import CallTarget, Decision, Outcome
from harness.wait import DeadlineExceeded, until_async


class AuthNotEnforced(RuntimeError):
    """The target let an anonymous call through: every verdict after this would be meaningless."""


class KeysNotTrusted(RuntimeError):
    """The target refuses the harness's own admin token: its key source is not the harness's JWKS."""


def admin_can_authenticate(target: Target) -> bool:
    """Whether the model says the harness's admin token can pass on this server's config at all (on 1.23
    an authHeaderName with capitals is looked up exactly in lower-cased gRPC metadata: no token can)."""
    admin = target.admin_token()
    now = time.monotonic()
    rings, _ = target.keys.rings_during(now, now)
    credential = Credential(target.headers(admin), admin.signed_by)
    call = CallTarget(wf("DescribeNamespace").full_method, SUITE_NAMESPACE)
    return any(
        expect(credential, call, rules=target.rules, table=target.table, keyring=ring,
               config=target.auth_config, now=int(time.time())).decision is Decision.ALLOW
        for ring in rings
    )  # fmt: skip


async def guard(target: Target, trust_deadline: float = 0.0) -> bool:
    """Refuse to test a server that does not enforce authorization, or does not trust our keys. Returns
    whether the harness's admin token works there (False only where the model says no token can).

    `trust_deadline`: how long to wait for the server to trust the harness's keys (an external cluster
    pointed at the harness JWKS picks them up at its next refresh)."""
    prober = await target.prober()
    request = DescribeNamespaceRequest(namespace=SUITE_NAMESPACE)
    method = wf("DescribeNamespace")
    anonymous = await prober.probe(method, SUITE_NAMESPACE, {}, request)
    if anonymous.outcome is not Outcome.DENIED:
        raise AuthNotEnforced(
            f"this server does not enforce authorization: an anonymous DescribeNamespace on "
            f"{target.address} was answered {anonymous.status} {anonymous.message!r} instead of "
            f"PERMISSION_DENIED 'Request unauthorized.'. Set global.authorization.authorizer: default and "
            f"claimMapper: default (and a jwtKeyProvider) on the server under test."
        )
    admin = target.headers(target.admin_token())
    answer = await prober.probe(method, SUITE_NAMESPACE, admin, request)
    if answer.outcome is not Outcome.ALLOWED and trust_deadline > 0:

        async def trusted() -> bool:
            observed = await prober.probe(method, SUITE_NAMESPACE, admin, request)
            return observed.outcome is Outcome.ALLOWED

        with contextlib.suppress(DeadlineExceeded):
            await until_async(trusted, deadline=trust_deadline, interval=0.25, what="keys trusted")
        answer = await prober.probe(method, SUITE_NAMESPACE, admin, request)
    if answer.outcome is not Outcome.ALLOWED and not admin_can_authenticate(target):
        return False
    if answer.outcome is not Outcome.ALLOWED:
        raise KeysNotTrusted(
            f"the server at {target.address} refuses the harness's {target.system_scope}:admin token "
            f"({answer.status} {answer.message!r}): its jwtKeyProvider.keySourceURIs must include the "
            f"harness's JWKS URL (or pass the cluster's signing key with --external-signing-key and "
            f"--external-kid), and its permissionsClaimName must be "
            f"{target.auth_config.permissions_claim_name!r}"
        )
    return True


async def ensure_namespaces(
    target: Target, names: Sequence[str] = SUITE_NAMESPACES, deadline: float = 60.0
) -> None:
    admin = target.metadata(target.admin_token())
    client = await target.service_client()
    for name in names:
        try:
            await client.workflow_service.register_namespace(
                RegisterNamespaceRequest(
                    namespace=name,
                    workflow_execution_retention_period=duration_pb2.Duration(seconds=86400),
                ),
                metadata=admin,
                retry=False,
            )
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise

    async def usable(name: str) -> bool:
        # Frontend, history and matching each cache namespaces (refreshed every 2 s): a namespace is
        # usable once a workflow can start in it and matching knows it, not when the database has it.
        probe = f"authz-readiness-{uuid.uuid4().hex[:8]}"
        try:
            await client.workflow_service.start_workflow_execution(
                StartWorkflowExecutionRequest(
                    namespace=name,
                    workflow_id=probe,
                    workflow_type=WorkflowType(name="AuthzReadinessProbe"),
                    task_queue=TaskQueue(name="authz-readiness-probe"),
                    request_id=probe,
                ),
                metadata=admin,
                retry=False,
            )
            await client.workflow_service.terminate_workflow_execution(
                TerminateWorkflowExecutionRequest(
                    namespace=name,
                    workflow_execution=WorkflowExecution(workflow_id=probe),
                    reason="readiness",
                ),
                metadata=admin,
                retry=False,
            )
            await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(namespace=name, task_queue=TaskQueue(name="authz-readiness-probe")),
                metadata=admin,
                retry=False,
            )
        except RPCError:
            return False
        return True

    pending = list(names)

    async def all_usable() -> bool:
        for name in list(pending):
            if await usable(name):
                pending.remove(name)
        return not pending

    await until_async(all_usable, deadline=deadline, interval=0.2, what=f"namespaces {list(names)} usable")
    if target.namespaces is not None:  # what the model knows the server has (1.20-1.22.3 look them up first)
        target.namespaces.update(names)
