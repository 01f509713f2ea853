"""Deliberately broken and hostile tokens, built by hand on purpose: PyJWT rightly refuses to make them.

Every forged token is a MintedToken whose `signed_by` states the truth the model needs: the fingerprint
of a key whose signature over exactly these bytes verifies, or None when the signature is garbage.
Only the signature math comes from `cryptography`; the JOSE assembly here is the point of the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from harness.tokens.keys import SigningKey
from harness.tokens.mint import MintedToken, TokenSpec, admit, decode_header, mint, payload_for


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64_padded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _claims_of(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
        return value if isinstance(value, dict) else {"_not_an_object": True}
    except json.JSONDecodeError:
        return {"_undecodable": True}


def assemble(
    header: Mapping[str, Any] | bytes,
    payload: Mapping[str, Any] | bytes,
    sign: Callable[[bytes], bytes] | None,
    signed_by: str | None,
) -> MintedToken:
    """header.payload.signature with raw base64url; `sign` gets the signing input."""
    header_bytes = header if isinstance(header, bytes) else _json(header)
    payload_bytes = payload if isinstance(payload, bytes) else _json(payload)
    signing_input = f"{b64(header_bytes)}.{b64(payload_bytes)}".encode()
    signature = sign(signing_input) if sign else b""
    token = f"{signing_input.decode()}.{b64(signature)}"
    return MintedToken(
        token=token, signed_by=signed_by, header=decode_header(token), claims=_claims_of(payload_bytes)
    )


def _es256_raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signed_payload(signing_input: bytes) -> Any:
    """The claims a signing input carries as a verifier reads them (None when they do not read as a JSON
    object): what mint.admit() checks before a real key signs hand-made bytes."""
    try:
        segment = signing_input.decode("ascii").split(".")[1]
        normal = segment.replace("+", "-").replace("/", "_").rstrip("=")
        value = json.loads(base64.urlsafe_b64decode(normal + "=" * (-len(normal) % 4)))
    except (UnicodeDecodeError, IndexError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _admitted(key: SigningKey, sign: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """`sign`, after mint.admit() let the key sign these claims (a restricted key's need a short exp)."""

    def checked(data: bytes) -> bytes:
        admit(key, signed_payload(data))
        return sign(data)

    return checked


def signer(key: SigningKey) -> Callable[[bytes], bytes]:
    """A correct RS256 or ES256 signature with the key (raw R||S for ECDSA, as JWS wants)."""
    private = key.private
    if isinstance(private, rsa.RSAPrivateKey):
        return _admitted(key, lambda data: private.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return _admitted(key, lambda data: _es256_raw(private, data))
    raise TypeError(f"cannot sign with {key}")


def signed_raw(key: SigningKey, header: Mapping[str, Any], payload: bytes | Mapping[str, Any]) -> MintedToken:
    """A valid signature over hand-made bytes (e.g. duplicate JSON keys, a `crit` header)."""
    return assemble(header, payload, signer(key), key.fingerprint)


# -- the attack catalogue -------------------------------------------------------------------------


def alg_none(key: SigningKey, spec: TokenSpec, alg: str = "none") -> MintedToken:
    return assemble({"alg": alg, "kid": key.kid, "typ": "JWT"}, payload_for(spec, key=key), None, None)


def hs256_with_public_key(key: SigningKey, spec: TokenSpec) -> MintedToken:
    """Algorithm confusion: HMAC keyed with the RSA public key's PEM, as a naive verifier would check it."""
    secret = key.public_pem()
    return assemble(
        {"alg": "HS256", "kid": key.kid, "typ": "JWT"},
        payload_for(spec, key=key),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
        None,
    )


def other_alg(key: SigningKey, spec: TokenSpec, alg: str) -> MintedToken:
    """A correctly signed token in an algorithm the server does not accept (RS384, RS512, PS256, ...)."""
    private = key.private
    hashers = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
    digest = hashers[alg[-3:]] if alg[-3:] in hashers else hashes.SHA256()
    sign: Callable[[bytes], bytes]
    if alg.startswith("RS") and isinstance(private, rsa.RSAPrivateKey):
        sign = lambda data: private.sign(data, padding.PKCS1v15(), digest)  # noqa: E731
    elif alg.startswith("PS") and isinstance(private, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.DIGEST_LENGTH)
        sign = lambda data: private.sign(data, pss, digest)  # noqa: E731
    elif alg.startswith("ES") and isinstance(private, ec.EllipticCurvePrivateKey):
        size = (private.curve.key_size + 7) // 8

        def sign(data: bytes) -> bytes:
            r, s = decode_dss_signature(private.sign(data, ec.ECDSA(digest)))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        raise ValueError(f"{alg} does not fit {key}")
    header = {"alg": alg, "kid": key.kid, "typ": "JWT"}
    return assemble(header, payload_for(spec, key=key), _admitted(key, sign), key.fingerprint)


def eddsa(kid: str, spec: TokenSpec) -> tuple[MintedToken, dict[str, Any]]:
    """An Ed25519 token and its OKP JWK (the server ignores OKP keys)."""
    private = ed25519.Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes_raw()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(public_raw), "kid": kid}
    token = assemble({"alg": "EdDSA", "kid": kid, "typ": "JWT"}, payload_for(spec), private.sign, None)
    return token, jwk


def with_kid(key: SigningKey, spec: TokenSpec, kid: Any) -> MintedToken:
    """Correctly signed, but naming another kid (or none, or an empty one)."""
    header: dict[str, Any] = {"alg": key.alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return assemble(header, payload_for(spec, key=key), signer(key), key.fingerprint)


def tampered_payload(token: MintedToken, changes: Mapping[str, Any]) -> MintedToken:
    header_segment, _, signature = token.token.split(".")
    payload = {**token.claims, **changes}
    forged = f"{header_segment}.{b64(_json(payload))}.{signature}"
    return MintedToken(token=forged, signed_by=None, header=dict(token.header), claims=payload)


def resigned_segment(token: MintedToken, signature: str) -> MintedToken:
    head, body, _ = token.token.split(".")
    return MintedToken(
        token=f"{head}.{body}.{signature}",
        signed_by=None,
        header=dict(token.header),
        claims=dict(token.claims),
    )


def truncated_signature(token: MintedToken) -> MintedToken:
    return resigned_segment(token, token.token.split(".")[2][:-6])


def padded(token: MintedToken) -> MintedToken:
    """The same bytes and a valid signature, but with base64 padding the server's decoder refuses."""
    parts = token.token.split(".")
    raw = [base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in parts]
    text = ".".join(b64_padded(r) for r in raw)
    if text == token.token:  # nothing to pad: add padding to the signature's decoded form anyway
        text = token.token + "=="
    return MintedToken(
        token=text, signed_by=token.signed_by, header=dict(token.header), claims=dict(token.claims)
    )


def zero_ecdsa_signature(key: SigningKey, spec: TokenSpec) -> MintedToken:
    """CVE-2022-21449 ("psychic signatures"): r = s = 0 must never verify."""
    return assemble(
        {"alg": "ES256", "kid": key.kid, "typ": "JWT"}, payload_for(spec, key=key), lambda _: bytes(64), None
    )


def extra_segment(token: MintedToken) -> MintedToken:
    return MintedToken(
        token=token.token + ".e30", signed_by=None, header=dict(token.header), claims=dict(token.claims)
    )


def attacker_with_header(
    attacker: SigningKey, spec: TokenSpec, extra: Mapping[str, Any], kid: str
) -> MintedToken:
    """Signed by a key the server does not trust, pointing at it through jku / x5u / jwk."""
    header = {"alg": attacker.alg, "kid": kid, "typ": "JWT", **extra}
    return assemble(header, payload_for(spec, key=attacker), signer(attacker), attacker.fingerprint)


def duplicate_claim_keys(key: SigningKey, first: list[str], last: list[str], sub: str = "dup") -> MintedToken:
    """`permissions` twice in the payload text; Go's encoding/json (and Python's) keep the last."""
    text = (
        f'{{"sub":{json.dumps(sub)},"permissions":{json.dumps(first)},"permissions":{json.dumps(last)},'
        f'"exp":{int(payload_for(TokenSpec(), key=key)["exp"])}}}'
    ).encode()
    return signed_raw(key, {"alg": key.alg, "kid": key.kid, "typ": "JWT"}, text)


def large(key: SigningKey, namespace: str, entries: int) -> MintedToken:
    permissions = [f"{namespace}-{i:05d}:read" for i in range(entries)] + [f"{namespace}:read"]
    return mint(TokenSpec(permissions=permissions, sub="large-token"), key)
