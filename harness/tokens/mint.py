"""Mint well-formed tokens with PyJWT, and describe any token for evidence without its signature."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from harness.tokens.keys import SigningKey

_UNSET: Any = object()


@dataclass(frozen=True)
class TokenSpec:
    """A token's claims. Times are seconds relative to `now`; None leaves the claim out."""

    permissions: Sequence[Any] | Any | None = ()
    sub: Any = "conformance-user"
    claim_name: str = "permissions"
    exp_in: float | None = 3600
    nbf_in: float | None = None
    iat_in: float | None = 0
    aud: Any = None
    iss: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    omit_sub: bool = False


@dataclass(frozen=True)
class MintedToken:
    token: str = field(repr=False)  # the whole token never goes into a report or log
    signed_by: str | None  # fingerprint of the key whose signature verifies, None for a forgery
    header: Mapping[str, Any]
    claims: Mapping[str, Any]

    def evidence(self) -> dict[str, Any]:
        return {"header": dict(self.header), "claims": dict(self.claims), "signed_by": self.signed_by}


def payload_for(spec: TokenSpec, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    payload: dict[str, Any] = {}
    if not spec.omit_sub:
        payload["sub"] = spec.sub
    if spec.permissions is not None:
        payload[spec.claim_name] = (
            list(spec.permissions) if isinstance(spec.permissions, list | tuple) else (spec.permissions)
        )
    for name, offset in (("iat", spec.iat_in), ("nbf", spec.nbf_in), ("exp", spec.exp_in)):
        if offset is not None:
            payload[name] = int(now + offset)
    if spec.aud is not None:
        payload["aud"] = spec.aud
    if spec.iss is not None:
        payload["iss"] = spec.iss
    payload.update(spec.extra)
    return payload


def mint(
    spec: TokenSpec,
    key: SigningKey,
    *,
    now: float | None = None,
    headers: Mapping[str, Any] | None = None,
    kid: Any = _UNSET,
) -> MintedToken:
    payload = payload_for(spec, now)
    header: dict[str, Any] = {"kid": key.kid if kid is _UNSET else kid}
    header.update(headers or {})
    if header.get("kid") is None:
        header.pop("kid")
    token = jwt.encode(payload, key.private, algorithm=key.alg, headers=header)
    return MintedToken(token=token, signed_by=key.fingerprint, header=decode_header(token), claims=payload)


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_header(token: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(token.split(".")[0]))
        return value if isinstance(value, dict) else {"_not_an_object": repr(value)[:200]}
    except Exception:
        return {"_undecodable": True}


def describe(token: str) -> dict[str, Any]:
    """Header and claims of any token (even a broken one), never the signature: safe for reports."""
    parts = token.split(".")
    described: dict[str, Any] = {"segments": len(parts), "length": len(token), "header": decode_header(token)}
    try:
        described["claims"] = json.loads(_b64decode(parts[1])) if len(parts) > 1 else None
    except Exception:
        described["claims"] = {"_undecodable": True}
    return described
