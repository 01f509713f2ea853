"""Render fixtures/server.yaml for one server: free ports, key sources, TLS, authorization overrides."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from temporalio.service import TLSConfig

from harness.model.rules import AuthConfig, rules_for
from harness.server.ports import free_ports
from harness.server.tls import SERVER_NAME, CertFiles, RunCA
from harness.types import ServerVersion

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
BASE_CONFIG = FIXTURES / "server.yaml"
BASE_DYNAMIC_CONFIG = FIXTURES / "dynamicconfig.yaml"
SERVICES = ("frontend", "internal-frontend", "history", "matching", "worker")
# The worker service runs the server's own system workflows (scheduler, batcher, namespace deletion,
# scanners). Measured on v1.32.2: a server of all five services spends 0.8-1.0 CPU-s in its first 10 s,
# one without the worker 0.3-0.4 CPU-s; a test that only breaks keys and probes calls needs none of it.
WITHOUT_SYSTEM_WORKERS = tuple(s for s in SERVICES if s != "worker")


@dataclass(frozen=True)
class ServerSettings:
    """What a suite may vary about the server: authorization keys, dynamic config, open doors.

    `authorization` entries are merged into `global.authorization` (e.g. {"audience": "x"}); a key whose
    value is None is removed. `key_source_uris`, when given, replaces the JWKS fixture's URL.
    """

    authorization: Mapping[str, Any] = field(default_factory=dict)
    # Sensitivity runs only: changes the server's `global.authorization` WITHOUT telling the model, so the
    # suite must notice the difference. Never used by a normal run.
    unmodelled: Mapping[str, Any] = field(default_factory=dict)
    refresh_interval: str = "2s"
    key_source_uris: Sequence[str] | None = None
    dynamic_config: Mapping[str, Any] = field(default_factory=dict)
    # How the harness's setup token spells system admin where a permissionsRegex changes the format.
    admin_permission: str = ""
    # Internode mTLS closes the server's internal ports (internal-frontend answers everyone as admin).
    internode_tls: bool = True
    # Opens internal-frontend's HTTP port: an anonymous-admin door, only for the case that tests it.
    internal_http: bool = False
    # services.frontend.rpc.httpAdditionalForwardedHeaders: HTTP headers the API passes on as metadata.
    http_forwarded_headers: tuple[str, ...] = ()
    # Directories a containerised server must see at the same path (a file:// key source's directory).
    mounts: tuple[str, ...] = ()
    # global.metrics.prometheus on a free loopback port (OpenTelemetry: read at scrape time, no flush lag).
    metrics: bool = False
    # global.tls.frontend with requireClientAuth: callers need a certificate of the run's frontend CA.
    frontend_mtls: bool = False
    # Why a suite wants a server of its own although the config is the default one (e.g. calls that
    # change the server for good): a different purpose is a different server.
    purpose: str = ""
    # False: no worker service (WITHOUT_SYSTEM_WORKERS), for servers whose tests need no system workflow.
    system_workers: bool = True

    @property
    def services(self) -> tuple[str, ...]:
        return SERVICES if self.system_workers else WITHOUT_SYSTEM_WORKERS

    def key(self) -> str:
        """A stable identity: one running server per distinct settings."""
        return repr(
            (
                sorted(self.authorization.items()),
                sorted(self.unmodelled.items()),
                self.refresh_interval,
                tuple(self.key_source_uris or ()),
                sorted((k, repr(v)) for k, v in self.dynamic_config.items()),
                self.admin_permission,
                self.internode_tls,
                self.internal_http,
                self.http_forwarded_headers,
                self.mounts,
                self.metrics,
                self.frontend_mtls,
                self.purpose,
                self.system_workers,
            )
        )

    def auth_config(self) -> AuthConfig:
        """The settings the model needs, as the server will read them."""
        auth = self.authorization
        return AuthConfig(
            permissions_claim_name=str(auth.get("permissionsClaimName") or "permissions"),
            permissions_regex=str(auth.get("permissionsRegex") or ""),
            audience=str(auth.get("audience") or ""),
            auth_header_name=str(auth.get("authHeaderName") or "authorization"),
            disable_streaming_authorizer=bool(
                self.dynamic_config.get("system.disableStreamingAuthorizer", False)
            ),
            authorizer=_named(auth, "authorizer"),
            claim_mapper=_named(auth, "claimMapper"),
            remote_cluster_auth_required=bool((auth.get("remoteClusterAuth") or {}).get("require", False)),
            require_client_auth=self.frontend_mtls,
            principal_propagation=tuple(
                ((c.get("constraints") or {}).get("namespace"), bool(c["value"]))
                for c in dynamic_values(self.dynamic_config.get("frontend.enablePrincipalPropagation"))
            ),
        )


@dataclass(frozen=True)
class Constrained:
    """A dynamic config value that holds only under constraints (namespace=..., taskQueueName=...).
    ServerSettings.dynamic_config takes one, or a tuple of them, where it takes a plain value."""

    value: Any
    constraints: tuple[tuple[str, str], ...]

    def entry(self) -> dict[str, Any]:
        return {"value": self.value, "constraints": dict(self.constraints)}


def constrained(value: Any, **constraints: str) -> Constrained:
    return Constrained(value, tuple(sorted(constraints.items())))


def dynamic_values(value: Any) -> list[dict[str, Any]]:
    """A ServerSettings.dynamic_config value as the file's list of {value, constraints} entries."""
    if value is None:
        return []
    if isinstance(value, Constrained):
        return [value.entry()]
    if isinstance(value, tuple) and value and all(isinstance(v, Constrained) for v in value):
        return [v.entry() for v in value]
    return [{"value": value}]


def _named(auth: Mapping[str, Any], key: str) -> str:
    """The base config sets `default`; an override replaces it, and None removes it (the server's "")."""
    if key not in auth:
        return "default"
    value = auth[key]
    return "" if value is None else str(value).lower()


@dataclass(frozen=True)
class FrontendTls:
    """The frontend's mTLS material: its CA and client certificates the server trusts (the harness's
    own, and one whose subject says temporal-system), and one from a CA it does not trust."""

    ca: Path
    clients: Mapping[str, CertFiles]  # by name: "harness", "temporal-system"
    foreign: CertFiles

    def client_config(self, name: str | None = "harness") -> TLSConfig:
        """The SDK's TLS settings with the named client certificate (None: no certificate)."""
        cert = self.foreign if name == "foreign" else (self.clients[name] if name else None)
        return TLSConfig(
            server_root_ca_cert=self.ca.read_bytes(),
            domain=SERVER_NAME,
            client_cert=cert.cert.read_bytes() if cert else None,
            client_private_key=cert.key.read_bytes() if cert else None,
        )


CLIENT_SUBJECTS = {
    "harness": ("authz-harness", ""),
    "temporal-system": ("temporal-system", "temporal-system"),
}


def _frontend_tls(directory: Path) -> tuple[FrontendTls, CertFiles]:
    ca = RunCA.create("temporal-authz-conformance frontend CA")
    server = ca.issue(directory, "frontend")
    clients = {
        name: ca.issue(directory, f"client-{name}", common_name=cn, organization=org)
        for name, (cn, org) in CLIENT_SUBJECTS.items()
    }
    foreign = RunCA.create("a CA the server does not trust").issue(directory / "foreign", "client")
    return FrontendTls(server.ca, clients, foreign), server


@dataclass(frozen=True)
class RenderedConfig:
    directory: Path
    config_file: Path
    frontend_address: str
    http_address: str | None  # the public frontend's HTTP API (grpc-gateway, Nexus); None before 1.22
    ports: Mapping[str, Mapping[str, int]]  # service -> {"grpcPort": .., "membershipPort": .., ...}
    document: Mapping[str, Any]
    internode: CertFiles | None = None  # the run's internode CA and certificate (None: plaintext)
    mounts: tuple[str, ...] = ()  # more directories the server reads (mounted read-only in a container)
    metrics_address: str | None = None  # host:port of the Prometheus endpoint (/metrics), when asked for
    frontend_tls: FrontendTls | None = None  # the frontend's mTLS material, when it requires client certs
    services: tuple[str, ...] = SERVICES  # the services the server is started with

    def client_tls(self) -> bool | TLSConfig:
        """How the harness reaches the frontend: plaintext, or TLS with its own client certificate."""
        return self.frontend_tls.client_config() if self.frontend_tls else False

    def listening_ports(self) -> list[tuple[str, str, int]]:
        """(service, port name, port) for every port the config opens."""
        return [(s, name, p) for s, named in self.ports.items() for name, p in named.items()]


def render(
    directory: Path,
    key_source_urls: Sequence[str],
    settings: ServerSettings,
    version: ServerVersion | None = None,
    host: str = "127.0.0.1",
) -> RenderedConfig:
    """Write the server's config for `version` (None: the newest, as fixtures/server.yaml is written)."""
    doc: dict[str, Any] = yaml.safe_load(BASE_CONFIG.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    # Keys older releases do not have (ServerRules.http_api, cluster_http_address, worker_grpc): their
    # config loader ignores unknown keys, so leaving these in would name ports nothing listens on.
    release = None if version is None else rules_for(version)
    http_api = release is None or release.http_api
    ports = iter(free_ports(4 * len(SERVICES), host))
    opened: dict[str, dict[str, int]] = {}
    for name in SERVICES:
        rpc = doc["services"][name]["rpc"]
        rpc["grpcPort"] = next(ports)
        rpc["membershipPort"] = next(ports)
        if not http_api:
            rpc.pop("httpPort", None)
        elif "httpPort" in rpc or (name == "internal-frontend" and settings.internal_http):
            rpc["httpPort"] = next(ports)
        opened[name] = {k: v for k, v in rpc.items() if k.endswith("Port")}
    if release is not None and not release.worker_grpc:
        del opened["worker"]["grpcPort"]  # it stays in the config (membership), but nothing listens on it
    if not settings.system_workers:
        del opened["worker"]  # in the config (membership reads it), but nothing is started on its ports
    frontend = doc["services"]["frontend"]["rpc"]
    if settings.http_forwarded_headers:
        frontend["httpAdditionalForwardedHeaders"] = list(settings.http_forwarded_headers)
    cluster = doc["clusterMetadata"]["clusterInformation"]["active"]
    cluster["rpcAddress"] = f"{host}:{frontend['grpcPort']}"
    if release is None or release.cluster_http_address:
        cluster["httpAddress"] = f"{host}:{frontend['httpPort']}"
    else:
        cluster.pop("httpAddress", None)

    auth = doc["global"]["authorization"]
    uris = list(settings.key_source_uris) if settings.key_source_uris is not None else list(key_source_urls)
    auth["jwtKeyProvider"] = {"keySourceURIs": uris, "refreshInterval": settings.refresh_interval}
    for key, value in settings.authorization.items():
        if value is None:
            auth.pop(key, None)
        else:
            auth[key] = copy.deepcopy(value)
    base_url = "/".join(uris[0].split("/", 3)[:3]) if uris else ""
    for key, value in settings.unmodelled.items():
        _mutate(auth, key, value, base_url)

    internode = None
    if settings.internode_tls:
        internode = RunCA.create().issue(directory / "tls", "internode")
        doc["global"]["tls"] = {
            "internode": {
                "server": {
                    "certFile": str(internode.cert),
                    "keyFile": str(internode.key),
                    "requireClientAuth": True,
                    "clientCaFiles": [str(internode.ca)],
                },
                "client": {"serverName": SERVER_NAME, "rootCaFiles": [str(internode.ca)]},
            }
        }

    frontend_tls = None
    if settings.frontend_mtls:
        frontend_tls, frontend_cert = _frontend_tls(directory / "frontend-tls")
        doc["global"].setdefault("tls", {})["frontend"] = {
            "server": {
                "certFile": str(frontend_cert.cert),
                "keyFile": str(frontend_cert.key),
                "requireClientAuth": True,
                "clientCaFiles": [str(frontend_tls.ca)],
            },
            "client": {"serverName": SERVER_NAME, "rootCaFiles": [str(frontend_tls.ca)]},
        }

    metrics_address = None
    if settings.metrics:
        metrics_address = f"{host}:{free_ports(1, host)[0]}"
        doc["global"]["metrics"] = {
            "prometheus": {"framework": "opentelemetry", "listenAddress": metrics_address}
        }

    dynamic: dict[str, Any] = yaml.safe_load(BASE_DYNAMIC_CONFIG.read_text()) or {}
    for key, value in settings.dynamic_config.items():
        dynamic[key] = dynamic_values(value)
    dynamic_file = directory / "dynamicconfig.yaml"
    dynamic_file.write_text(yaml.safe_dump(dynamic, sort_keys=True))
    doc["dynamicConfigClient"]["filepath"] = str(dynamic_file)

    config_file = directory / "server.yaml"
    config_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    return RenderedConfig(
        directory=directory,
        config_file=config_file,
        frontend_address=f"{host}:{opened['frontend']['grpcPort']}",
        http_address=f"{host}:{frontend['httpPort']}" if http_api else None,
        ports=opened,
        document=doc,
        internode=internode,
        mounts=tuple(settings.mounts),
        metrics_address=metrics_address,
        frontend_tls=frontend_tls,
        services=settings.services,
    )


def _mutate(auth: dict[str, Any], key: str, value: Any, jwks_base: str) -> None:
    """Sensitivity mutations: `a.b` sets a nested key, `a.b+` appends to a list; `{jwks}` in a value is
    the harness JWKS's base URL (so a mutation can add one of the fixture's paths as a key source)."""
    if isinstance(value, str):
        value = value.replace("{jwks}", jwks_base)
    append = key.endswith("+")
    path = key.rstrip("+").split(".")
    node = auth
    for part in path[:-1]:
        node = node.setdefault(part, {})
    if append:
        node.setdefault(path[-1], []).append(value)
    else:
        node[path[-1]] = value


def start_arguments(
    version: ServerVersion, config_file: Path, services: Sequence[str] = SERVICES
) -> list[str]:
    """The server's command line: --config-file since 1.30.0, --root/--config/--env before."""
    flags = [arg for name in services for arg in ("--service", name)]
    if rules_for(version).config_file_flag:
        return ["--config-file", str(config_file), "start", *flags]
    env = config_file.stem
    return ["--root", "/", "--config", str(config_file.parent), "--env", env, "start", *flags]
