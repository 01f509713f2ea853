"""The seed scenarios users bring: the server-JWT-auth sample (ES256), Azure AD (roles claim, keys rotated
behind the server's back) and Keycloak (realm tokens, client roles, a service account)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from google.protobuf import duration_pb2
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.worker import Worker

from fixtures.workflows import HelloWorkflow, compose_greeting
from harness.compare import DESCRIBE, compare, raw_credential, role_calls
from harness.jwks import JwksServer
from harness.keys import rsa_key
from harness.model import KeyRing
from harness.report.recorder import Recorder
from harness.server.config import ServerSettings
from harness.session import ServerPool
from harness.target import SUITE_NAMESPACE, Target
from harness.tokens import MintedToken
from harness.types import Outcome
from harness.verdict import Evidence, check
from harness.wait import until_async

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE


async def run_hello(target: Target, token: MintedToken, namespace: str, name: str) -> str:
    client = await target.client(token, namespace)
    tq = f"scenario-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=tq, workflows=[HelloWorkflow], activities=[compose_greeting]):
        return str(
            await client.execute_workflow(HelloWorkflow.run, name, id=f"sc-{uuid.uuid4()}", task_queue=tq)
        )


@pytest.mark.req("AUTHZ-SCENARIO-001")
async def test_sample_flow_with_es256(target: Target, evidence: Evidence) -> None:
    """samples-go serverjwtauth: an ES256 key; the admin registers the namespace; the worker and starter
    use `<ns>:read` + `<ns>:write`."""
    ec = target.key_of("EC")
    namespace = f"authz-es256-{uuid.uuid4().hex[:6]}"
    admin = target.mint([f"{target.rules.system_scope}:admin"], key=ec, sub="sample-admin")
    prober = await target.prober()
    await prober.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
        ),
        metadata=target.auth_metadata(admin),
    )
    await target.ensure_namespaces([namespace])
    token = target.mint([f"{namespace}:read", f"{namespace}:write"], key=ec, sub="sample-worker")
    result = await run_hello(target, token, namespace, "ES256")
    evidence.expected, evidence.observed = "Hello, ES256!", result
    evidence.claims, evidence.namespace, evidence.api = token.evidence(), namespace, "sample flow"
    check(evidence, "AUTHZ-SCENARIO-001")
    assert token.header["alg"] == "ES256"


AZURE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def azure_claims(roles: list[str]) -> dict[str, Any]:
    return {
        "iss": f"https://login.microsoftonline.com/{AZURE_TENANT}/v2.0",
        "aud": "api://temporal-conformance",
        "tid": AZURE_TENANT,
        "azp": "5b1c2c3d-0000-4000-8000-000000000001",
        "roles": roles,
        "ver": "2.0",
    }


@pytest.mark.req("AUTHZ-SCENARIO-002")
async def test_azure_ad_roles_and_rotation_behind_the_servers_back(
    server_pool: ServerPool, own_jwks: JwksServer, recorder: Recorder, evidence: Evidence
) -> None:
    """Azure AD puts app roles in `roles`; it rotates signing keys on its own schedule. Tokens signed by the
    new key are refused ("Request unauthorized.", #5127) until the server's next refresh, then accepted."""
    interval = 2.0
    old, new = rsa_key(kid=f"azure-{uuid.uuid4().hex[:6]}"), rsa_key(kid=f"azure-{uuid.uuid4().hex[:6]}")
    own_jwks.publish(old)
    settings = ServerSettings(
        authorization={"permissionsClaimName": "roles"}, refresh_interval=f"{interval:g}s"
    )
    async with server_pool.dedicated(settings, own_jwks) as server:
        roles = [f"{NS}:read", f"{NS}:write"]
        before = server.mint(roles, key=old, sub="azure-app", extra=azure_claims(roles))
        assert await run_hello(server, before, NS, "azure") == "Hello, azure!"
        # Azure rotates: the new key appears and the old one goes, while clients already get new tokens.
        await own_jwks.fetched(1, after=time.monotonic(), deadline=interval + 5)
        own_jwks.replace([new])
        rotated = time.monotonic()
        after = server.mint(roles, key=new, sub="azure-app", extra=azure_claims(roles))
        credential, metadata = raw_credential([("authorization", after.authorization)], after.signed_by)
        calls = role_calls(NS)[:2]
        stale = KeyRing((old.published(),))
        during = await compare(server, credential, metadata, calls, keyring=stale)
        prober = await server.prober()

        async def recovered() -> bool:
            return (await prober.probe(DESCRIBE, NS, metadata)).outcome is Outcome.ALLOWED

        await until_async(recovered, deadline=interval + 5, interval=0.05, what="recovery after refresh")
        window = time.monotonic() - rotated
        fresh = KeyRing((new.published(),))
        recovered_cmp = await compare(server, credential, metadata, calls, keyring=fresh)
        result = await run_hello(server, after, NS, "azure-rotated")
    recorder.metric("azure_rotation_refused_window_s", round(window, 3))
    evidence.expected = {
        "during": during.expected,
        "after_refresh": recovered_cmp.expected,
        "workflow": "Hello, azure-rotated!",
    }
    evidence.observed = {
        "during": during.observed,
        "after_refresh": recovered_cmp.observed,
        "workflow": result,
    }
    evidence.claims, evidence.namespace, evidence.api = (
        after.evidence(),
        NS,
        "Azure AD roles claim + rotation",
    )
    evidence.extra = {"refused_window_s": round(window, 3), "refresh_interval_s": interval}
    check(evidence, "AUTHZ-SCENARIO-002")
    assert during.observed["read"] is Outcome.DENIED and window <= interval + 1.5


def keycloak_claims(client_roles: list[str], top_level: list[str] | None) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "https://keycloak.example/realms/temporal",
        "aud": ["temporal", "account"],
        "azp": "temporal-worker",
        "typ": "Bearer",
        "preferred_username": "service-account-temporal-worker",
        "realm_access": {"roles": ["offline_access", "uma_authorization"]},
        "resource_access": {"temporal": {"roles": client_roles}},
        "scope": "profile email",
    }
    if top_level is not None:
        claims["permissions"] = top_level  # what a protocol mapper "client roles -> permissions" produces
    return claims


@pytest.mark.req("AUTHZ-SCENARIO-003")
async def test_keycloak_service_account(target: Target, evidence: Evidence) -> None:
    """A Keycloak service account with client roles `ns:worker` + `ns:write`: mapped to a top-level
    `permissions` claim it runs a worker (as a writer: `worker` adds nothing); left nested under
    resource_access it grants nothing (the server reads top-level claims only)."""
    roles = [f"{NS}:worker", f"{NS}:write"]
    mapped = target.mint(None, sub="service-account-temporal-worker", extra=keycloak_claims(roles, roles))
    nested = target.mint(None, sub="service-account-temporal-worker", extra=keycloak_claims(roles, None))
    calls = role_calls(NS)
    outcomes = {}
    for name, token in (("mapped", mapped), ("nested-only", nested)):
        credential, metadata = raw_credential([("authorization", token.authorization)], token.signed_by)
        comparison = await compare(target, credential, metadata, calls)
        outcomes[name] = comparison
    result = await run_hello(target, mapped, NS, "keycloak")
    evidence.expected = {k: c.expected for k, c in outcomes.items()} | {"workflow": "Hello, keycloak!"}
    evidence.observed = {k: c.observed for k, c in outcomes.items()} | {"workflow": result}
    evidence.claims, evidence.namespace, evidence.api = mapped.evidence(), NS, "Keycloak realm token"
    check(evidence, "AUTHZ-SCENARIO-003")
    assert outcomes["nested-only"].observed["read"] is Outcome.DENIED
