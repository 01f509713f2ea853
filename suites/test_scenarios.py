"""The seed scenarios users bring: the server-JWT-auth sample (ES256), Azure AD (roles claim, keys rotated
behind the server's back) and Keycloak (realm tokens, client roles, a service account)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from google.protobuf import duration_pb2
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

from harness.cases.evidence import Evidence, check
from harness.cases.runner import Case, Steps, run_case
from harness.cases.workers import run_hello
from harness.jwks.fixture import JwksServer
from harness.report.recorder import Recorder
from harness.server.config import ServerSettings
from harness.server.pool import ServerPool
from harness.server.setup import ensure_namespaces
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.keys import rsa_key
from harness.tokens.presentation import BEARER

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
SETTLE = 40.0


@pytest.mark.req("AUTHZ-SCENARIO-001")
async def test_sample_flow_with_es256(target: Target, evidence: Evidence) -> None:
    """samples-go serverjwtauth: an ES256 key; the admin registers the namespace; the worker and starter
    use `<ns>:read` + `<ns>:write`."""
    ec = target.key_of("EC")
    namespace = f"authz-es256-{uuid.uuid4().hex[:6]}"
    admin = target.mint([f"{target.system_scope}:admin"], key=ec, sub="sample-admin")
    client = await target.service_client()
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
        ),
        metadata=target.metadata(admin),
        retry=False,
    )
    await ensure_namespaces(target, [namespace])
    token = target.mint([f"{namespace}:read", f"{namespace}:write"], key=ec, sub="sample-worker")
    result = await run_hello(target, token, namespace, "ES256")
    evidence.expected = {"alg": "ES256", "workflow": "Hello, ES256!"}
    evidence.observed = {"alg": token.header["alg"], "workflow": result}
    evidence.claims, evidence.namespace, evidence.api = token.evidence(), namespace, "sample flow"
    check(evidence)


AZURE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def azure_claims(roles: list[str]) -> dict[str, Any]:
    """An Azure AD access token's claims (data), app roles in `roles`."""
    return {
        "iss": f"https://login.microsoftonline.com/{AZURE_TENANT}/v2.0",
        "aud": "api://temporal-conformance",
        "tid": AZURE_TENANT,
        "azp": "5b1c2c3d-0000-4000-8000-000000000001",
        "roles": roles,
        "ver": "2.0",
    }


@pytest.mark.req("AUTHZ-SCENARIO-002")
@pytest.mark.needs_own_server
async def test_azure_ad_roles_and_rotation_behind_the_servers_back(
    server_pool: ServerPool, own_jwks: JwksServer, recorder: Recorder, evidence: Evidence
) -> None:
    """Azure AD puts app roles in `roles`; it rotates signing keys on its own schedule. Tokens signed by the
    new key are refused ("Request unauthorized.", #5127) until the server's next refresh, then accepted."""
    interval = 2.0
    old, new = rsa_key(kid=f"azure-{uuid.uuid4().hex[:6]}"), rsa_key(kid=f"azure-{uuid.uuid4().hex[:6]}")
    own_jwks.publish(old)
    settings = ServerSettings(
        authorization={"permissionsClaimName": "roles"},
        refresh_interval=f"{interval:g}s",
        system_workers=False,
    )
    async with server_pool.dedicated(settings, own_jwks) as server:
        steps = Steps(server, evidence)
        roles = [f"{NS}:read", f"{NS}:write"]
        before = server.mint(roles, key=old, sub="azure-app", extra=azure_claims(roles))
        workflow_before = await run_hello(server, before, NS, "azure")
        # Azure rotates: the new key appears and the old one goes, while clients already get new tokens.
        await own_jwks.fetched(1, after=time.monotonic(), deadline=SETTLE, client=server.name)
        own_jwks.replace([new])  # right after a refresh: the next one is an interval away
        rotated = time.monotonic()
        after = server.mint(roles, key=new, sub="azure-app", extra=azure_claims(roles))
        await steps.probe("new-key-right-after-rotation", after)
        await server.keys.settle(SETTLE)
        await steps.probe("new-key-after-refresh", after)
        workflow_after = await run_hello(server, after, NS, "azure-rotated")
    served = next((f for f in own_jwks.fetches() if f.asked > rotated and new.kid in f.kids), None)
    if served is not None:
        recorder.metric("azure_rotation_refused_window_s", round(served.answered - rotated, 3))
    steps.expected["workflows"] = {"before": "Hello, azure!", "after": "Hello, azure-rotated!"}
    steps.observed["workflows"] = {"before": workflow_before, "after": workflow_after}
    evidence.claims, evidence.namespace = after.evidence(), NS
    evidence.api = "Azure AD roles claim + rotation"
    steps.check()


def keycloak_claims(client_roles: list[str], top_level: list[str] | None) -> dict[str, Any]:
    """A Keycloak access token's claims; `top_level`: what a protocol mapper "client roles ->
    permissions" adds as `permissions` (None: no such mapper)."""
    return {
        "iss": "https://keycloak.example/realms/temporal",
        "aud": ["temporal", "account"],
        "azp": "temporal-worker",
        "typ": BEARER,
        "preferred_username": "service-account-temporal-worker",
        "realm_access": {"roles": ["offline_access", "uma_authorization"]},
        "resource_access": {"temporal": {"roles": client_roles}},
        "scope": "profile email",
        **({"permissions": top_level} if top_level is not None else {}),
    }


ROLES = [f"{NS}:worker", f"{NS}:write"]
KEYCLOAK = [
    Case(
        "AUTHZ-SCENARIO-003",
        "MappedToTopLevel",
        lambda t: t.mint(None, sub="service-account-temporal-worker", extra=keycloak_claims(ROLES, ROLES)),
    ),
    Case(
        "AUTHZ-SCENARIO-003",
        "NestedOnly",
        lambda t: t.mint(None, sub="service-account-temporal-worker", extra=keycloak_claims(ROLES, None)),
        finding=lambda observed: observed.refused_all_but_exempt(),
    ),
]


@pytest.mark.req("AUTHZ-SCENARIO-003")
@pytest.mark.parametrize("case", KEYCLOAK, ids=lambda c: c.name)
async def test_keycloak_service_account(target: Target, evidence: Evidence, case: Case) -> None:
    """A Keycloak service account with client roles `ns:worker` + `ns:write`: mapped to a top-level
    `permissions` claim it runs a worker (as a writer: `worker` adds nothing); left nested under
    resource_access it grants nothing (the server reads top-level claims only)."""
    observed = await run_case(target, case, evidence)
    if case.name == "MappedToTopLevel" and observed.granted("write"):
        token = case.token(target) if case.token else None
        assert token is not None
        result = await run_hello(target, token, NS, "keycloak")
        evidence.expected, evidence.observed = "Hello, keycloak!", result
        check(evidence)
