"""The server under test as suites see it: where it listens, which keys it trusts, how to reach it.

It holds no expectations: the model is asked through harness.cases, with this server's version,
config and key timeline."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from temporalio.client import Client
from temporalio.service import ConnectConfig, ServiceClient, TLSConfig

from harness.clients import Carrier, connect
from harness.errors import HarnessError
from harness.guard import Gate, GuardedServiceClient, RawGuard, register
from harness.jwks.fixture import JwksServer
from harness.jwks.timeline import FetchedKeys, FixtureSource, KeyTimeline
from harness.model import ApiTable, AuthConfig, Credential, ServerRules, rules_for
from harness.probes.grpc import Prober
from harness.probes.http import guard_hook, plain_http_client
from harness.safety import Ownership
from harness.server.backend import RunningServer
from harness.server.config import CLIENT_SUBJECTS, ServerSettings
from harness.tokens.keys import SigningKey
from harness.tokens.mint import MintedToken, TokenSpec, mint, restrict
from harness.tokens.presentation import DEFAULT, Presentation
from harness.types import ServerVersion

SUITE_NAMESPACE = "authz-conformance"  # workflows and role suites
MATRIX_NAMESPACE = "authz-matrix"  # the grid's own namespace; only probes touch it
OTHER_NAMESPACE = "authz-other"  # a namespace the grid's tokens hold no rights on
PEER_NAMESPACE = "authz-peer"  # target of cross-namespace commands
SUITE_NAMESPACES = (SUITE_NAMESPACE, MATRIX_NAMESPACE, OTHER_NAMESPACE, PEER_NAMESPACE)


def http_tls(tls: TLSConfig) -> ssl.SSLContext:
    """An ssl context from the SDK's TLS settings (CA, client certificate), for the HTTP API."""
    context = ssl.create_default_context(
        cadata=tls.server_root_ca_cert.decode() if tls.server_root_ca_cert else None
    )
    if tls.client_cert and tls.client_private_key:
        # ssl loads a certificate chain only from files: a private temporary directory, removed at once.
        with tempfile.TemporaryDirectory(prefix="authz-client-") as directory:
            cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
            cert.write_bytes(tls.client_cert)
            key.write_bytes(tls.client_private_key)
            context.load_cert_chain(cert, key)
    return context


@dataclass
class Target:
    running: RunningServer
    settings: ServerSettings
    table: ApiTable
    keys: KeyTimeline  # what the server can hold, when: from the fixtures' fetch logs
    signing_key: SigningKey  # the key the harness mints with (trusted by the target)
    extra_keys: Sequence[SigningKey] = ()
    tls: bool | TLSConfig = False  # an external cluster's frontend may need TLS
    name: str = ""  # this server's id in its key source URL
    nexus_endpoints: dict[str, str] = field(default_factory=dict)  # endpoint id -> target namespace (ours)
    # The namespaces the harness registered on a server it started (None: a cluster it does not own).
    namespaces: set[str] | None = None
    # What the harness may touch here (harness.safety): everything on a server it started; on a cluster it
    # does not own (no rendered config), only what it creates there, through a guarded transport.
    ownership: Ownership = field(default_factory=Ownership)
    _service_client: ServiceClient | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.running.config is None and self.ownership.owned:
            self.ownership = Ownership.foreign()  # nothing on a cluster it did not start is the harness's
        if not self.owned:
            register(self.gate)
            for key in (self.signing_key, *self.extra_keys):  # the cluster trusts them: short tokens only
                restrict(key, f"the cluster at {self.address}")

    @property
    def owned(self) -> bool:
        """The harness started this server (everything on it is its own)."""
        return self.ownership.owned

    @property
    def gate(self) -> Gate:
        return Gate(self.address, self.ownership)

    @property
    def address(self) -> str:
        return self.running.address

    @property
    def version(self) -> ServerVersion:
        return self.running.version

    @property
    def rules(self) -> ServerRules:
        return rules_for(self.version)

    @property
    def auth_config(self) -> AuthConfig:
        return self.settings.auth_config()

    @property
    def header_name(self) -> str:
        """The metadata header this server reads the token from, as gRPC carries it (lower case)."""
        return self.auth_config.effective_header_name(self.rules).lower()

    @property
    def controls_jwks(self) -> bool:
        return isinstance(self.keys, FetchedKeys)

    @property
    def jwks(self) -> JwksServer | None:
        """The fixture serving this server's first key source (None: keys the harness does not serve)."""
        if isinstance(self.keys, FetchedKeys) and self.keys.sources:
            first = self.keys.sources[0]
            return first.fixture if isinstance(first, FixtureSource) else None
        return None

    @property
    def system_scope(self) -> str:
        return self.rules.system_scope

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
        grant = [self.settings.admin_permission or f"{self.system_scope}:admin"]
        mutated = self.settings.unmodelled.get("permissionsClaimName")
        extra: dict[str, Any] = {str(mutated): grant} if mutated else {}
        audience = self.auth_config.audience if self.rules.audience_supported else ""
        return self.mint(grant, sub="conformance-admin", extra=extra, aud=audience or None)

    def headers(
        self, token: MintedToken | None, presentation: Presentation = DEFAULT
    ) -> tuple[tuple[str, str], ...]:
        """The call metadata carrying a token, under the header name this server reads."""
        return presentation.metadata(token.token if token else None, self.header_name)

    def metadata(self, token: MintedToken | None, presentation: Presentation = DEFAULT) -> dict[str, str]:
        return dict(self.headers(token, presentation))

    def credential(self, token: MintedToken | None, presentation: Presentation = DEFAULT) -> Credential:
        """What the model is told the caller sent."""
        return Credential(
            self.headers(token, presentation), token.signed_by if token else None, self.client_subject()
        )

    def client_subject(self, name: str = "harness") -> str | None:
        """The subject of the client certificate the harness presents (None: it presents none)."""
        config = self.running.config
        if config is None or config.frontend_tls is None:
            return None
        common_name, organization = CLIENT_SUBJECTS[name]
        return f"CN={common_name}" + (f",O={organization}" if organization else "")

    # -- clients ----------------------------------------------------------------------------
    def carrier(self, presentation: Presentation = DEFAULT, via: str = "rpc_metadata") -> Carrier:
        return Carrier(self.header_name, presentation, "api_key" if via == "api_key" else "rpc_metadata")

    async def client(
        self,
        token: MintedToken | None,
        namespace: str = SUITE_NAMESPACE,
        presentation: Presentation = DEFAULT,
        via: str = "rpc_metadata",
    ) -> Client:
        return await connect(
            self.address,
            namespace,
            token.token if token else None,
            carrier=self.carrier(presentation, via),
            tls=self.tls,
        )

    async def service_client(self) -> ServiceClient:
        if self._service_client is None:
            config = ConnectConfig(target_host=self.address, lazy=True, tls=self.tls)
            self._service_client = (
                await ServiceClient.connect(config)
                if self.owned
                else await GuardedServiceClient.open(config, self.gate)
            )
        return self._service_client

    def grpc_channel(self) -> grpc.aio.Channel:
        """An asyncio grpcio channel to the frontend (calls by name the SDK cannot make)."""
        credentials, options = self.channel_credentials()
        interceptors = [] if self.owned else [RawGuard(self.gate)]
        if credentials is None:
            return grpc.aio.insecure_channel(self.address, interceptors=interceptors)
        return grpc.aio.secure_channel(self.address, credentials, options, interceptors=interceptors)

    def channel_credentials(self) -> tuple[grpc.ChannelCredentials | None, list[tuple[str, str]]]:
        """How grpcio reaches the frontend (for calls the SDK cannot make: streams, repeated headers)."""
        if self.tls is False:
            return None, []
        tls = self.tls if isinstance(self.tls, TLSConfig) else TLSConfig()
        options = [("grpc.ssl_target_name_override", tls.domain)] if tls.domain else []
        credentials = grpc.ssl_channel_credentials(
            tls.server_root_ca_cert, tls.client_private_key, tls.client_cert
        )
        return credentials, options

    def http_client(self) -> httpx.AsyncClient:
        """A client for the frontend's HTTP API (the grpc-gateway on its httpPort)."""
        address = self.running.http_address
        if address is None:
            raise HarnessError("this server's HTTP API address is not known (an external target: pass it)")
        if isinstance(self.tls, TLSConfig):
            client = httpx.AsyncClient(base_url=f"https://{address}", timeout=15, verify=http_tls(self.tls))
        else:
            client = plain_http_client(f"http://{address}")
        if not self.owned:
            client.event_hooks = {"request": [guard_hook(self.gate)]}
        return client

    async def prober(self) -> Prober:
        return Prober(await self.service_client())

    def logs(self) -> str:
        return self.running.logs()
