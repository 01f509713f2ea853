"""A frontend with requireClientAuth (AUTHZ-MTLS-001/002), and the certificates the harness made for it."""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.server.config import FrontendTls, ServerSettings
from harness.server.target import Target

MTLS = ServerSettings(frontend_mtls=True)


async def mtls_server(server_for: Any) -> tuple[Target, FrontendTls]:
    """The pooled mTLS server (`server_for` is the suites' fixture) and its TLS material."""
    server: Target = await server_for(MTLS)
    config = server.running.config
    if config is None or config.frontend_tls is None:
        raise HarnessError("the mTLS server was started without its frontend TLS material")
    return server, config.frontend_tls


def material(tls: FrontendTls, name: str | None) -> tuple[bytes | None, bytes | None]:
    """The certificate and key of client `name` ("foreign": a CA the server does not trust; None: none)."""
    if name is None:
        return None, None
    files = tls.foreign if name == "foreign" else tls.clients[name]
    return files.cert.read_bytes(), files.key.read_bytes()
