"""One server per distinct config, reused across suites; dedicated servers for tests that break keys."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import ConnectConfig, ServiceClient, TLSConfig

from harness.api_tables import ApiTableMissing, load_table
from harness.jwks import JwksServer
from harness.keys import SigningKey, ec_key, rsa_key
from harness.model import ApiTable, rules_for
from harness.model.rules import parse_version
from harness.server.backend import Backend, RunningServer
from harness.server.choose import make_backend, resolve_backend_name
from harness.server.config import RUN_TAG, ServerSettings, render
from harness.server.provision import DEFAULT_VERSION, ProvisionedBinary, normalise_version, provision
from harness.target import SUITE_NAMESPACES, Target


class HarnessConfigError(RuntimeError):
    """Bad input to the harness; the message names the fix."""


@dataclass(frozen=True)
class RunOptions:
    version: str = DEFAULT_VERSION
    backend: str = "auto"
    binary: str | None = None
    target: str | None = None  # external cluster host:port
    external_key: Path | None = None  # PEM private key the external cluster's JWKS trusts
    external_kid: str = ""
    mutations: tuple[tuple[str, str], ...] = ()  # --mutate-server-config: sensitivity runs only
    jwks_port: int = 0  # fixed port for the harness JWKS (an external cluster configured to trust it)
    target_tls: bool = False  # the external cluster's frontend speaks TLS
    target_ca: Path | None = None  # PEM of the CA that signed its certificate (else the system roots)
    target_server_name: str = ""  # TLS server name, when it differs from the host

    def tls(self) -> bool | TLSConfig:
        if not (self.target_tls or self.target_ca):
            return False
        return TLSConfig(
            server_root_ca_cert=self.target_ca.read_bytes() if self.target_ca else None,
            domain=self.target_server_name or None,
        )

    def default_settings(self) -> ServerSettings:
        return ServerSettings(unmodelled=dict(self.mutations))


@dataclass
class ServerPool:
    options: RunOptions
    on_metric: Callable[[str, Any], None] = lambda name, value: None
    backend_name: str = ""
    binary: ProvisionedBinary | None = None
    jwks: JwksServer | None = None
    rsa: SigningKey = field(default_factory=lambda: rsa_key(kid="harness-rsa"))
    ec: SigningKey = field(default_factory=lambda: ec_key(kid="harness-ec"))
    _targets: dict[str, Target] = field(default_factory=dict)
    _running: list[RunningServer] = field(default_factory=list)
    _history: list[RunningServer] = field(default_factory=list)  # every server started, for logs
    _directories: list[Path] = field(default_factory=list)  # every server directory made, even half-started
    _backend: Backend | None = None
    table: ApiTable | None = None

    async def open(self) -> None:
        if self.options.target:
            self.backend_name = "external"
            return
        if self.options.backend == "external":
            raise HarnessConfigError("--backend external needs --target HOST:PORT of the cluster to test")
        self.backend_name = resolve_backend_name(self.options.backend)
        self._backend = make_backend(self.backend_name)
        self.binary = provision(normalise_version(self.options.version), self.options.binary)
        self.table = _table(self.binary.version)
        if self.binary.build_seconds is not None:
            self.on_metric("server_build_seconds", round(self.binary.build_seconds, 1))
        atexit.register(self.remove_directories, all_of_them=True)  # also after Ctrl-C
        self.jwks = JwksServer(port=self.options.jwks_port)
        self.jwks.start()
        self.jwks.publish(self.rsa, self.ec)

    async def close(self) -> None:
        for server in self._running:
            with contextlib.suppress(Exception):
                server.stop()
        self._running.clear()
        self._targets.clear()
        if self.backend_name == "container":
            from harness.server.container import remove_all

            remove_all()
        if self.jwks is not None:
            self.jwks.stop()

    def backend_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        for attribute in ("image", "image_source"):
            value = getattr(self._backend, attribute, None)
            if value:
                details[attribute] = value
        return details

    def remove_directories(self, *, all_of_them: bool = False) -> None:
        """Delete the rendered configs and logs of stopped servers (after reports copied what they need)."""
        in_use = {s.config.directory for s in self._running if s.config is not None}
        for directory in self._directories:
            if all_of_them or directory not in in_use:
                shutil.rmtree(directory, ignore_errors=True)

    def started_servers(self) -> list[RunningServer]:
        """Every server this session started (stopped or not): their logs stay readable."""
        return list(self._history)

    # -- targets ----------------------------------------------------------------------------
    async def target(self, settings: ServerSettings | None = None) -> Target:
        """The pooled server for these settings (started on first use, then reused)."""
        settings = settings or self.options.default_settings()
        key = settings.key()
        if key not in self._targets:
            if self.options.target:
                if settings != self.options.default_settings():
                    raise HarnessConfigError(
                        "this test needs a server with its own config, which an external target cannot give"
                    )
                self._targets[key] = await self._external_target()
            else:
                assert self.jwks is not None
                self._targets[key] = await self._start(settings, self.jwks)
        return self._targets[key]

    @contextlib.asynccontextmanager
    async def dedicated(
        self, settings: ServerSettings, jwks: JwksServer, *, guard: bool = True
    ) -> AsyncIterator[Target]:
        """A server of its own (for tests that rotate, retire or break the keys it trusts)."""
        if self.options.target:
            raise HarnessConfigError("dedicated servers need a local backend, not --target")
        target = await self._start(settings, jwks, guard=guard)
        try:
            yield target
        finally:
            target.running.stop()
            if target.running in self._running:
                self._running.remove(target.running)

    async def _start(self, settings: ServerSettings, jwks: JwksServer, guard: bool = True) -> Target:
        assert self._backend is not None and self.binary is not None and self.table is not None
        if self.options.mutations and not settings.unmodelled:
            settings = dataclasses.replace(settings, unmodelled=dict(self.options.mutations))
        directory = Path(tempfile.mkdtemp(prefix=f"authz-server-{RUN_TAG}-"))
        self._directories.append(directory)
        config = render(directory, [jwks.url()], settings)
        running = await self._backend.start(self.binary, config)
        self._running.append(running)
        self._history.append(running)
        self.on_metric("server_start_to_ready_s", running.start_seconds)
        keys = jwks.published_keys()
        signing = self.rsa if self.rsa in keys or not keys else keys[0]
        target = Target(
            running=running,
            settings=settings,
            rules=rules_for(self.binary.version),
            table=self.table,
            jwks=jwks,
            signing_key=signing,
            extra_keys=tuple(k for k in keys if k is not signing),
        )
        if guard:
            await target.guard()
            await target.ensure_namespaces(SUITE_NAMESPACES)
        return target

    async def _external_target(self) -> Target:
        address = self.options.target or ""
        try:
            tls = self.options.tls()
        except OSError as exc:
            raise HarnessConfigError(f"--target-ca: {exc}") from exc
        version = await _detect_version(address, self.options.version, tls)
        if self.options.external_key is not None:
            if not self.options.external_kid:
                raise HarnessConfigError(
                    "--external-signing-key needs --external-kid (the kid the cluster's JWKS has)"
                )
            signing = _load_signing_key(self.options.external_key, self.options.external_kid)
            jwks = None
            controls = False
        else:
            # The cluster was configured to trust our JWKS URL: serve it on the fixed port it was given.
            jwks = self.jwks = self.jwks or JwksServer(port=self.options.jwks_port)
            if not jwks.listening:
                jwks.start()
            jwks.publish(self.rsa, self.ec)
            signing = self.rsa
            controls = True
        running = RunningServer(
            address=address,
            version=version,
            backend="external",
            start_seconds=0.0,
            logs=lambda: "(external cluster: logs are not the harness's to collect)\n",
            stop=lambda: None,
            controls_jwks=controls,
        )
        target = Target(
            running=running,
            settings=ServerSettings(),
            rules=rules_for(version),
            table=_table(version),
            jwks=jwks,
            signing_key=signing,
            tls=tls,
        )
        # A cluster told to trust the harness JWKS fetches it at its own next refresh: wait for that.
        await target.guard(trust_deadline=60.0 if controls else 0.0)
        await target.ensure_namespaces(SUITE_NAMESPACES)
        return target


def _table(version: str) -> ApiTable:
    try:
        return load_table(version, generate_missing=True)
    except ApiTableMissing as exc:
        raise HarnessConfigError(str(exc)) from exc


async def _detect_version(address: str, fallback: str, tls: bool | TLSConfig = False) -> str:
    try:
        client = await ServiceClient.connect(ConnectConfig(target_host=address, tls=tls))
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest(), retry=False)
    except Exception as exc:
        raise HarnessConfigError(
            f"cannot reach the external target {address}: {exc}. Check --target HOST:PORT, that the "
            f"frontend is reachable from here, and --target-tls/--target-ca if it speaks TLS"
        ) from exc
    version = info.server_version or fallback
    parse_version(version if version.startswith("v") else "v" + version)
    return version if version.startswith("v") else "v" + version


def _load_signing_key(path: Path, kid: str) -> SigningKey:
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if isinstance(private, rsa.RSAPrivateKey):
        return SigningKey(kid, "RS256", private)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return SigningKey(kid, "ES256", private)
    raise HarnessConfigError(f"{path}: only RSA and EC P-256 keys can sign tokens the server accepts")
