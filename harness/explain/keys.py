"""What explain may assume about the token's signature.

Without keys it cannot be checked: the explanation says so and goes on as if a trusted key signed it.
With --jwks (a file or URL) the kid is looked up in that key set and the signature checked with the key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from harness.errors import HarnessConfigError
from harness.explain.token import DecodedToken
from harness.model.claims import ACCEPTED_ALGS, KeyRing, PublishedKey
from harness.model.keyset import KeySetRefused, jwk_fingerprint, parse_key_set
from harness.model.rules import NEWEST, JoseDialect

ASSUMED = "assumed-trusted"


@dataclass(frozen=True)
class KeyAssumption:
    ring: KeyRing
    signed_by: str | None
    line: str  # what is known about the signature, in one sentence
    ok: bool | None  # None: not checked


def kty_of(alg: str) -> str:
    return "RSA" if alg.startswith(("RS", "PS")) else "EC"


CURVE_OF_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}  # the curve each alg signs with


def assumed_trusted(decoded: DecodedToken) -> KeyAssumption:
    header = decoded.header or {}
    alg, kid = str(header.get("alg", "")), header.get("kid")
    curve = CURVE_OF_ALG.get(alg, "")  # the key that signed an ES384 token is a P-384 key, never ES256's
    keys = (PublishedKey(kty_of(alg), kid, ASSUMED, curve),) if isinstance(kid, str) else ()
    if decoded.from_claims:
        line = "claims only: no header or signature to check; treated as signed by a trusted key"
    else:
        line = (
            "NOT checked: no keys given (pass --jwks FILE|URL to look the kid up and check it); "
            "the rest assumes a key the server trusts signed it"
        )
    return KeyAssumption(KeyRing(keys), ASSUMED, line, None)


def _load(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=10.0, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise HarnessConfigError(f"--jwks {source}: {exc}") from exc
        return response.content  # the server reads the body whatever the status, so do we
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise HarnessConfigError(f"--jwks {source}: {exc.strerror or exc}") from exc


def from_jwks(decoded: DecodedToken, source: str, dialect: JoseDialect = NEWEST) -> KeyAssumption:
    body = _load(source)
    try:
        ring = KeyRing(tuple(parse_key_set(body, dialect)))
    except KeySetRefused as exc:
        return KeyAssumption(
            KeyRing(),
            None,
            f"the key set at {source} is refused as a whole ({exc}): the server would hold no keys",
            False,
        )
    header = decoded.header or {}
    alg, kid = str(header.get("alg", "")), header.get("kid")
    if not isinstance(kid, str):
        return KeyAssumption(ring, None, "no string `kid` in the header: no key can be selected", False)
    key = ring.lookup(kty_of(alg), kid)
    if key is None:
        kids = ", ".join(sorted({f"{k.kid} ({k.kty})" for k in ring.keys})) or "none"
        return KeyAssumption(
            ring, None, f"kid {kid!r} ({kty_of(alg)}) is not in {source} (it has: {kids})", False
        )
    if alg == "ES256" and key.curve != "P-256":
        return KeyAssumption(
            ring,
            None,
            f"kid {kid!r} found in {source}: a {key.curve} key, and the server verifies ES256 only with P-256",
            False,
        )
    jwk = _jwk_with(body, key)
    if alg not in ACCEPTED_ALGS or jwk is None:
        return KeyAssumption(
            ring, key.fingerprint, f"kid {kid!r} found in {source}; signature not checked (alg {alg})", None
        )
    try:
        jwt.PyJWS().decode_complete(decoded.raw, key=jwt.PyJWK(jwk, algorithm=alg).key, algorithms=[alg])
    except jwt.PyJWTError as exc:
        return KeyAssumption(
            ring,
            None,
            f"kid {kid!r} found in {source}, but the signature does not verify with it ({exc})",
            False,
        )
    return KeyAssumption(
        ring, key.fingerprint, f"kid {kid!r} found in {source}; the signature verifies with it", True
    )


def _jwk_with(body: bytes, key: PublishedKey) -> dict[str, Any] | None:
    """The JWK document entry the server would select (the last one with this kid and fingerprint)."""
    found = None
    for jwk in json.loads(body).get("keys") or []:
        if (
            isinstance(jwk, dict)
            and str(jwk.get("kid", "")) == key.kid
            and jwk_fingerprint(jwk) == key.fingerprint
        ):
            found = jwk
    return found
