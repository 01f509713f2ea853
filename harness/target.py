"""The server under test as suites see it: where it listens, the keys it trusts, and the model's view."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from temporalio.client import Client
from temporalio.service import ConnectConfig, RPCError, RPCStatusCode, ServiceClient, TLSConfig

from harness.client import connect
from harness.jwks import DEFAULT_PATH, JwksServer
from harness.keys import SigningKey
from harness.model import ApiTable, AuthConfig, Credential, Expectation, KeyRing, ServerRules, expect
from harness.probes import ApiMethod, Prober
from harness.server.backend import RunningServer
from harness.server.config import ServerSettings
from harness.tokens import MintedToken, TokenSpec, mint
from harness.types import WORKFLOW_SERVICE, CallTarget, Outcome
from harness.wait import until_async

SUITE_NAMESPACE = "authz-conformance"  # workflows and role suites
MATRIX_NAMESPACE = "authz-matrix"  # the grid's own namespace; only probes touch it
OTHER_NAMESPACE = "authz-other"  # a namespace the grid's tokens hold no rights on
PEER_NAMESPACE = "authz-peer"  # target of cross-namespace commands
SUITE_NAMESPACES = (SUITE_NAMESPACE, MATRIX_NAMESPACE, OTHER_NAMESPACE, PEER_NAMESPACE)


class AuthNotEnforced(RuntimeError):
    """The target let an anonymous call through: every verdict after this would be meaningless."""


class KeysNotTrusted(RuntimeError):
    """The target refuses the harness's own admin token: its key source is not the harness's JWKS."""


@dataclass
class Target:
    running: RunningServer
    settings: ServerSettings
    rules: ServerRules
    table: ApiTable
    jwks: JwksServer | None  # None: an external cluster whose keys the harness does not serve
    signing_key: SigningKey  # the key the harness mints with (trusted by the target)
    jwks_path: str = DEFAULT_PATH
    service_client: ServiceClient | None = None
    extra_keys: Sequence[SigningKey] = ()
    tls: bool | TLSConfig = False  # an external cluster's frontend may need TLS

    @property
    def address(self) -> str:
        return self.running.address

    @property
    def version(self) -> str:
        return self.running.version

    @property
    def auth_config(self) -> AuthConfig:
        return self.settings.auth_config()

    @property
    def controls_jwks(self) -> bool:
        return self.jwks is not None and self.running.controls_jwks

    # -- tokens -----------------------------------------------------------------------------
    def mint(
        self, permissions: Sequence[Any] | Any | None = (), *, key: SigningKey | None = None, **spec: Any
    ) -> MintedToken:
        claim_name = spec.pop("claim_name", self.auth_config.permissions_claim_name)
        return mint(
            TokenSpec(permissions=permissions, claim_name=claim_name, **spec), key or self.signing_key
        )

    def key_of(self, kty: str) -> SigningKey:
        """A trusted signing key of this type ("RSA" or "EC")."""
        for key in (self.signing_key, *self.extra_keys):
            if key.kty == kty:
                return key
        raise LookupError(f"no trusted {kty} signing key for {self.address}")

    def admin_token(self) -> MintedToken:
        """The harness's setup token, shaped for this server's config (claim name, regex, audience).

        In a sensitivity run the server may read another claim name than the model assumes; setup must
        still work there, so the admin grant is written under both."""
        grant = [self.settings.admin_permission or f"{self.rules.system_scope}:admin"]
        mutated = self.settings.unmodelled.get("permissionsClaimName")
        extra: dict[str, Any] = {str(mutated): grant} if mutated else {}
        audience = self.auth_config.audience if self.rules.audience_supported else ""
        return self.mint(grant, sub="conformance-admin", extra=extra, aud=audience or None)

    def auth_metadata(self, token: MintedToken | None) -> dict[str, str]:
        """The call metadata carrying a token, under the header name this server reads."""
        if token is None:
            return {}
        return {self.auth_config.effective_header_name(self.rules).lower(): token.authorization}

    # -- clients ----------------------------------------------------------------------------
    async def client(self, token: MintedToken | None, namespace: str = SUITE_NAMESPACE) -> Client:
        return await connect(self.address, namespace, token.token if token else None, tls=self.tls)

    async def prober(self) -> Prober:
        if self.service_client is None:
            self.service_client = await ServiceClient.connect(
                ConnectConfig(target_host=self.address, lazy=True, tls=self.tls)
            )
        return Prober(self.service_client)

    # -- the model's view -------------------------------------------------------------------
    def keyring(self) -> KeyRing:
        """What the server holds, assuming it fetched the fixture's current set (stable-key suites)."""
        if self.jwks is None:
            return KeyRing((self.signing_key.published(), *(k.published() for k in self.extra_keys)))
        return KeyRing(tuple(k.published() for k in self.jwks.published_keys(self.jwks_path)))

    def expect(
        self,
        credential: Credential,
        call: CallTarget,
        *,
        keyring: KeyRing | None = None,
        now: float | None = None,
    ) -> Expectation:
        return expect(
            credential,
            call,
            rules=self.rules,
            table=self.table,
            keyring=keyring or self.keyring(),
            config=self.auth_config,
            now=int(time.time() if now is None else now),
        )

    # -- setup ------------------------------------------------------------------------------
    async def guard(self, trust_deadline: float = 0.0) -> None:
        """Refuse to test a server that does not enforce authorization, or does not trust our keys.

        `trust_deadline`: how long to wait for the server to trust the harness's keys (an external cluster
        pointed at the harness JWKS picks them up at its next refresh)."""
        prober = await self.prober()
        request = DescribeNamespaceRequest(namespace=SUITE_NAMESPACE)
        method = ApiMethod(WORKFLOW_SERVICE, "DescribeNamespace", DescribeNamespaceRequest)
        anonymous = await prober.probe(method, SUITE_NAMESPACE, {}, request)
        if anonymous.outcome is not Outcome.DENIED:
            raise AuthNotEnforced(
                f"this server does not enforce authorization: an anonymous DescribeNamespace on "
                f"{self.address} was answered {anonymous.status} {anonymous.message!r} instead of "
                f"PERMISSION_DENIED 'Request unauthorized.'. Set global.authorization.authorizer: default and "
                f"claimMapper: default (and a jwtKeyProvider) on the server under test."
            )
        admin_metadata = self.auth_metadata(self.admin_token())
        admin = await prober.probe(method, SUITE_NAMESPACE, admin_metadata, request)
        if admin.outcome is not Outcome.ALLOWED and trust_deadline > 0:

            async def trusted() -> bool:
                observed = await prober.probe(method, SUITE_NAMESPACE, admin_metadata, request)
                return observed.outcome is Outcome.ALLOWED

            with contextlib.suppress(TimeoutError):
                await until_async(trusted, deadline=trust_deadline, interval=0.25, what="keys trusted")
            admin = await prober.probe(method, SUITE_NAMESPACE, admin_metadata, request)
        if admin.outcome is not Outcome.ALLOWED:
            raise KeysNotTrusted(
                f"the server at {self.address} refuses the harness's {self.rules.system_scope}:admin token "
                f"({admin.status} {admin.message!r}): its jwtKeyProvider.keySourceURIs must include the "
                f"harness's JWKS URL (or pass the cluster's signing key with --external-signing-key and "
                f"--external-kid), and its permissionsClaimName must be {self.auth_config.permissions_claim_name!r}"
            )

    async def ensure_namespaces(
        self, names: Sequence[str] = SUITE_NAMESPACES, deadline: float = 30.0
    ) -> None:
        admin = self.auth_metadata(self.admin_token())
        prober = await self.prober()
        client = prober.client
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
                    DescribeTaskQueueRequest(
                        namespace=name, task_queue=TaskQueue(name="authz-readiness-probe")
                    ),
                    metadata=admin,
                    retry=False,
                )
            except RPCError:
                return False
            return True

        async def all_usable() -> bool:
            return all([await usable(name) for name in names])

        await until_async(
            all_usable, deadline=deadline, interval=0.2, what=f"namespaces {list(names)} usable"
        )


def bearer(token: MintedToken | None) -> dict[str, str]:
    return {"authorization": token.authorization} if token else {}


def credential_of(token: MintedToken | None) -> Credential:
    return Credential.anonymous() if token is None else Credential.bearer(token.token, token.signed_by)
