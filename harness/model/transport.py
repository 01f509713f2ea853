"""The frontend's TLS handshake (global.tls.frontend), which comes before any header is read.

With requireClientAuth the server asks for a client certificate and refuses the connection when none is
presented or its chain does not lead to one of clientCaFiles: the caller gets no gRPC or HTTP answer at
all. A certificate that passes says nothing to the default claim mapper (claims.map_certificate).
"""

from __future__ import annotations

from harness.model.rules import AuthConfig

TRUSTED, UNTRUSTED = "trusted", "untrusted"


def handshake_accepts(certificate: str | None, config: AuthConfig) -> bool:
    """`certificate`: None (none presented), TRUSTED (issued by a CA in clientCaFiles) or UNTRUSTED."""
    if not config.require_client_auth:
        return True
    return certificate == TRUSTED
