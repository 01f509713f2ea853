"""Token strings for model tests: real JOSE structure, fake signatures (the model never checks bytes)."""

from __future__ import annotations

import base64
import json
from typing import Any

from harness.model import Credential, KeyRing, PublishedKey
from harness.tokens.presentation import DEFAULT, bearer

RSA = PublishedKey("RSA", "k-rsa", "fp-rsa")
EC = PublishedKey("EC", "k-ec", "fp-ec", "P-256")
RING = KeyRing((RSA, EC))
NOW = 1_800_000_000


def seg(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def credential(token: str, signed_by: str | None) -> Credential:
    """A token carried the usual way (`Bearer <token>` under `authorization`)."""
    return Credential(DEFAULT.metadata(token, "authorization"), signed_by)


__all__ = ["bearer", "credential"]


def token(payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    header = {"alg": "RS256", "kid": "k-rsa", "typ": "JWT"} if header is None else header
    return f"{seg(header)}.{seg(payload)}.{seg(b'signature')}"
