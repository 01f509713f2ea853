"""A token as text: decoded without verifying, kept out of every printout (header and claims only)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessConfigError
from harness.tokens.presentation import BEARER

CLAIMS_ONLY_KID = "claims-only"


@dataclass(frozen=True)
class DecodedToken:
    raw: str = field(repr=False)  # the token itself: sent to a --target, never printed
    header: dict[str, Any] | None
    claims: dict[str, Any] | None
    from_claims: bool = False  # built from --claims: no header or signature of its own

    def shown(self) -> dict[str, Any]:
        """What may be printed: never the token, never its signature."""
        return {"claims": self.claims} if self.from_claims else {"header": self.header, "claims": self.claims}


def _segment(text: str) -> Any:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return json.loads(raw)


def decode_unverified(text: str) -> DecodedToken:
    """Header and claims of a JWT, or of `Bearer <JWT>`; never checks the signature."""
    token = text.strip()
    scheme, _, rest = token.partition(" ")
    if rest and scheme.lower() == BEARER.lower():
        token = rest.strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise HarnessConfigError(
            f"not a JWT: {len(parts)} dot-separated segments, a JWT has 3 (header.claims.signature)"
        )
    decoded: list[dict[str, Any] | None] = []
    for what, part in (("header", parts[0]), ("claims", parts[1])):
        try:
            value = _segment(part)
        except (binascii.Error, ValueError) as exc:
            raise HarnessConfigError(f"not a JWT: its {what} segment is not base64url JSON ({exc})") from exc
        decoded.append(value if isinstance(value, dict) else None)
    return DecodedToken(token, decoded[0], decoded[1])


def _b64(value: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def from_claims(claims: Mapping[str, Any]) -> DecodedToken:
    """A stand-in token for a claims document: RS256, a kid the explanation treats as trusted."""
    if not isinstance(claims, Mapping):
        raise HarnessConfigError("--claims must be a JSON object (the token's payload)")
    header = {"alg": "RS256", "kid": CLAIMS_ONLY_KID, "typ": "JWT"}
    raw = f"{_b64(header)}.{_b64(claims)}.{_b64({'unsigned': True})}"
    return DecodedToken(raw, header, dict(claims), from_claims=True)
