"""A cluster the user runs (Helm, an operator, staging): the harness connects, it does not start it."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import ConnectConfig, ServiceClient, TLSConfig

from harness.errors import HarnessConfigError
from harness.server.backend import RunningServer
from harness.tokens.mint import RESTRICTED_LIFETIME_S
from harness.types import ServerVersion, VersionError


@dataclass(frozen=True)
class ExternalTarget:
    address: str
    http: str | None = None  # the frontend's HTTP API host:port, when the user names it
    tls: bool = False  # the frontend speaks TLS (system roots unless `ca` is given)
    ca: Path | None = None
    server_name: str = ""
    plaintext: bool = False  # --target-plaintext: the user accepts tokens in plaintext to a remote host

    @property
    def loopback(self) -> bool:
        """The target is this machine (127.0.0.0/8, ::1, localhost): plaintext never leaves it."""
        host = self.address.rsplit(":", 1)[0].strip("[]") if ":" in self.address else self.address
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve anywhere

    def transport_check(self) -> str:
        """A warning to print ("" for none); HarnessConfigError where tokens would cross the network in
        plaintext without the user saying so (--target-plaintext)."""
        if self.tls or self.ca or self.loopback:
            return ""
        if not self.plaintext:
            raise HarnessConfigError(
                f"--target {self.address} is not a loopback address and the connection has no TLS: tokens the "
                f"cluster trusts would cross the network in plaintext. Pass --target-tls (or --target-ca PEM) "
                f"if its frontend speaks TLS, or --target-plaintext to send them in plaintext anyway"
            )
        return (
            f"WARNING: --target-plaintext: tokens for {self.address} cross the network unencrypted (no TLS); "
            f"anyone on the path can read them and use them until they expire (the harness's expire within "
            f"{RESTRICTED_LIFETIME_S} s)"
        )

    def tls_config(self) -> bool | TLSConfig:
        if not (self.tls or self.ca):
            return False
        try:
            root = self.ca.read_bytes() if self.ca else None
        except OSError as exc:
            raise HarnessConfigError(f"--target-ca: {exc}") from exc
        return TLSConfig(server_root_ca_cert=root, domain=self.server_name or None)


class ExternalBackend:
    """Not configurable: tests that need a server of their own config skip on it, saying why."""

    name = "external"
    configurable = False

    def __init__(self, target: ExternalTarget, fallback_version: ServerVersion) -> None:
        self.target = target
        self.fallback_version = fallback_version

    async def attach(self) -> RunningServer:
        self.target.transport_check()  # the callers print its warning; here only the refusal counts
        version = await self._detect_version()
        now = time.monotonic()
        return RunningServer(
            address=self.target.address,
            version=version,
            backend=self.name,
            start_seconds=0.0,
            logs=lambda: "(external cluster: its logs are not the harness's to collect)\n",
            stop=lambda: None,
            started_at=now,
            ready_at=now,
            http=self.target.http,
        )

    async def _detect_version(self) -> ServerVersion:
        address = self.target.address
        try:
            client = await ServiceClient.connect(
                ConnectConfig(target_host=address, tls=self.target.tls_config())
            )
            info = await client.workflow_service.get_system_info(GetSystemInfoRequest(), retry=False)
        except HarnessConfigError:
            raise
        except Exception as exc:
            raise HarnessConfigError(
                f"cannot reach the external target {address}: {exc}. Check --target HOST:PORT, that the "
                f"frontend is reachable from here, and --target-tls/--target-ca if it speaks TLS"
            ) from exc
        text = info.server_version or str(self.fallback_version)
        try:
            return ServerVersion.parse(text if text.startswith("v") else "v" + text)
        except VersionError:
            return self.fallback_version
