"""Mint well-formed tokens with PyJWT, and describe any token for evidence without its signature.

Keys a cluster the harness does not own trusts are *restricted* (`restrict()`): every token signed with one
expires within RESTRICTED_LIFETIME_S, checked here and in forge.py where it signs (`admit()`), so a case
that forgets it fails loudly instead of leaving a credential that works for years."""

from __future__ import annotations

import base64
import enum
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from harness import audit
from harness.errors import HarnessError
from harness.tokens.keys import SigningKey

_UNSET: Any = object()

DEFAULT_LIFETIME_S = 3600  # a token whose spec says nothing, on a server the harness started
# A token signed with a key the user's cluster trusts for good is a credential for that cluster: if it
# leaks (a log, a report, a CI artifact) it must be worthless within minutes. Five minutes covers the
# longest case that uses one token (a suite's calls, a worker's start) and no more.
RESTRICTED_LIFETIME_S = 300

# Why a case that needs a token without exp, or a far one, is skipped on --target (the plugin's
# own_server_only marker carries it).
UNBOUNDED_ON_TARGET = (
    f"needs a token without exp (or one living past {RESTRICTED_LIFETIME_S} s) signed with a key the cluster "
    f"trusts: run only on servers the harness started, never against a cluster it does not own"
)

_RESTRICTED: dict[str, str] = {}  # key fingerprint -> who trusts it (for the error message)


class Lifetime(enum.Enum):
    DEFAULT = "default"  # DEFAULT_LIFETIME_S, or RESTRICTED_LIFETIME_S on a restricted key


def restrict(key: SigningKey, trusted_by: str) -> None:
    """From now on, every token this key signs expires within RESTRICTED_LIFETIME_S (`trusted_by`: the
    cluster that trusts it, for the error)."""
    _RESTRICTED[key.fingerprint] = trusted_by


def restriction(fingerprint: str | None) -> str | None:
    """Who trusts this key, when it is restricted; None otherwise."""
    return _RESTRICTED.get(fingerprint) if fingerprint else None


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def admit(key: SigningKey, payload: Any) -> None:
    """Before a real key signs `payload` (a dict, or None when the payload is not a JSON object): audit it,
    and refuse (HarnessError) a restricted key's token without a numeric exp or living past the limit
    (counted from the moment of signing, whatever `now` the claims were written for)."""
    now = time.time()
    claims = payload if isinstance(payload, dict) else {}
    trusted_by = restriction(key.fingerprint)
    audit.token(key.kid, key.fingerprint, trusted_by is not None, claims.get("iat"), claims.get("exp"), now)
    if trusted_by is None:
        return
    exp = _seconds(claims.get("exp"))
    if exp == 0:
        exp = None  # golang-jwt reads exp 0 as no exp at all: a token that never expires
    if exp is None or exp - now > RESTRICTED_LIFETIME_S:
        said = "no readable exp" if exp is None else f"exp {int(exp - now)} s from now"
        raise HarnessError(
            f"refusing to sign a token with {key.kid!r}, a key {trusted_by} trusts: it has {said}, and a token "
            f"for a cluster the harness does not own must expire within {RESTRICTED_LIFETIME_S} s. Run this "
            f"case on a server the harness starts (it is skipped on --target), or give it a short exp"
        )


@dataclass(frozen=True)
class TokenSpec:
    """A token's claims. Times are seconds relative to `now`; None leaves the claim out."""

    permissions: Sequence[Any] | Any | None = ()
    sub: Any = "conformance-user"
    claim_name: str = "permissions"
    exp_in: float | Lifetime | None = Lifetime.DEFAULT
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


def lifetime_for(spec: TokenSpec, key: SigningKey | None) -> float | None:
    """The spec's exp offset: the default is shorter on a restricted key."""
    if spec.exp_in is Lifetime.DEFAULT:
        restricted = key is not None and restriction(key.fingerprint) is not None
        return RESTRICTED_LIFETIME_S if restricted else DEFAULT_LIFETIME_S
    return spec.exp_in


def payload_for(spec: TokenSpec, now: float | None = None, key: SigningKey | None = None) -> dict[str, Any]:
    """The claims as sent at `now`; `key`, the key that will sign (a restricted key's default exp is short)."""
    now = time.time() if now is None else now
    payload: dict[str, Any] = {}
    if not spec.omit_sub:
        payload["sub"] = spec.sub
    if spec.permissions is not None:
        payload[spec.claim_name] = (
            list(spec.permissions) if isinstance(spec.permissions, list | tuple) else (spec.permissions)
        )
    for name, offset in (("iat", spec.iat_in), ("nbf", spec.nbf_in), ("exp", lifetime_for(spec, key))):
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
    payload = payload_for(spec, now, key)
    admit(key, payload)
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
