"""A token-bytes input rendered into a token: JSON text, segment encodings, a signature, and the fact
the model needs about it (`signed_by`: whose signature the signature segment carries, by construction)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from harness.tokens.forge import b64, signed_payload
from harness.tokens.keys import SigningKey
from harness.tokens.mint import MintedToken, admit, decode_header

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SEPARATORS = {
    "compact": (",", ":", "", ""),
    "spaced": (", ", ": ", " ", " "),
    "pretty": (",\n\t", ": ", "\n\t", "\n"),
    "crlf": (",\r\n", ":\r\n", "\r\n", "\r\n"),
}
# Signature variants whose text still decodes to the signature's bytes (or the server refuses their
# encoding before it looks at them): the signature is the key's, as far as the bytes go.
KEEPS_SIGNATURE = ("valid", "trailing-bits", "padded", "std")


def number_text(value: int, form: str) -> str:
    digits = str(abs(value))
    sign = "-" if value < 0 else ""
    exponent = f"{digits[0]}.{digits[1:] or '0'}e{len(digits) - 1}"
    return {
        "int": f"{value}",
        "float": f"{value}.0",
        "exp": sign + exponent,
        "plus-exp": sign + exponent.replace("e", "E+"),
        "exp-negative": f"{value}0e-1",
        "frac": f"{value}.75",
        "string": f'"{value}"',
    }[form]


def value_text(spec: Mapping[str, Any], key: SigningKey, now: float) -> str:
    if "json" in spec:
        return str(spec["json"])
    if "key" in spec:
        return json.dumps(key.kid if spec["key"] == "kid" else key.alg)
    return number_text(int(now) + int(spec["time"]), str(spec["form"]))


def name_text(name: str) -> str:
    if name.startswith("ESC:"):
        return '"' + "".join(f"\\u{ord(c):04x}" for c in name[4:]) + '"'
    return json.dumps(name)


def document_text(doc: Mapping[str, Any], key: SigningKey, now: float) -> bytes:
    comma, colon, opening, closing = SEPARATORS[str(doc.get("style", "compact"))]
    members = [f"{name_text(n)}{colon}{value_text(v, key, now)}" for n, v in doc["members"]]
    body = "{" + (opening + comma.join(members) + closing if members else "") + "}"
    return (str(doc.get("prefix", "")) + body + str(doc.get("suffix", ""))).encode("utf-8", "surrogateescape")


def with_unused_bits(text: str) -> str:
    """The same bytes with the last character's unused low bits set (a lenient decoder ignores them)."""
    spare = {2: 0b1111, 3: 0b11}.get(len(text) % 4)
    if not spare:
        return text
    return text[:-1] + B64URL[B64URL.index(text[-1]) | spare]


def encode(raw: bytes, how: str) -> str:
    text = b64(raw)
    if how == "padded":
        return base64.urlsafe_b64encode(raw).decode()
    if how == "std":
        return text.replace("-", "+").replace("_", "/")
    if how == "trailing-bits":
        return with_unused_bits(text)
    if how == "space":
        middle = len(text) // 2
        return text[:middle] + " " + text[middle:]
    return text


Signer = Callable[[SigningKey], Callable[[bytes], bytes]]


def unaudited(key: SigningKey) -> Callable[[bytes], bytes]:
    """A correct RS256 or ES256 signature (raw R||S for ECDSA), with no admission: for keys no server
    trusts (the fast oracle's own)."""
    private = key.private
    if isinstance(private, rsa.RSAPrivateKey):
        return lambda data: private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    assert isinstance(private, ec.EllipticCurvePrivateKey)

    def es256(data: bytes) -> bytes:
        r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return es256


def remembered(signer: Signer, size: int = 4096) -> Signer:
    """`signer`, signing each signing input once per key (the last `size` of them): token-bytes inputs
    that differ only past the signing input (the signature's form, the token's shape, the key that
    signs another) sign the same bytes. A signature verifies the same however often it is used. Keys
    are told apart by identity: the caller keeps them alive as long as this signer."""
    signatures: dict[tuple[int, bytes], bytes] = {}

    def for_key(key: SigningKey) -> Callable[[bytes], bytes]:
        sign = signer(key)

        def signed(data: bytes) -> bytes:
            wanted = (id(key), data)
            if wanted not in signatures:
                if len(signatures) >= size:
                    signatures.clear()
                signatures[wanted] = sign(data)
            return signatures[wanted]

        return signed

    return for_key


def admitted(key: SigningKey) -> Callable[[bytes], bytes]:
    """A signature after mint.admit() let the key sign these claims (as harness.tokens.forge.signer), with
    time claims past float64's range given to it as infinities: the audit line computes a lifetime in
    floats, and an exp of 10**400 (a token-bytes input) would otherwise raise OverflowError there
    (harness/audit.py) instead of being refused or signed. Infinity is as far as any limit goes."""
    sign = unaudited(key)

    def checked(data: bytes) -> bytes:
        admit(key, _finite(signed_payload(data)))
        return sign(data)

    return checked


def _finite(claims: Any) -> Any:
    if not isinstance(claims, dict):
        return claims
    out = dict(claims)
    for name, value in claims.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**1023:
            out[name] = float("inf") if value > 0 else float("-inf")
    return out


def signature_text(
    signing_input: bytes, how: str, key: SigningKey, other: SigningKey, sign: Signer = admitted
) -> str:
    if how == "empty":
        return ""
    if how == "garbage":
        return "AAAA"
    signature = sign(other if how == "other-key" else key)(signing_input)
    if how == "truncated":
        return b64(signature)[:-4]
    if how == "flipped":
        return b64(bytes([signature[0] ^ 1]) + signature[1:])
    return encode(
        signature, {"trailing-bits": "trailing-bits", "padded": "padded", "std": "std"}.get(how, "raw")
    )


def build(
    spec: Mapping[str, Any],
    keys: Mapping[str, SigningKey],
    now: float | None = None,
    sign: Signer = admitted,
    fingerprints: Mapping[str, str] | None = None,
) -> MintedToken:
    """`keys`: "rsa", "ec" (trusted) and "untrusted"/"untrusted-ec" (never published, same kids).
    `sign`: how a key signs (default: admitted(), which admits and audits each token);
    `fingerprints`: the keys' fingerprints by name, where the caller keeps them."""
    now = time.time() if now is None else now
    name = str(spec.get("key", "rsa"))
    key = keys[name]
    other = keys["untrusted-ec" if key.kty == "EC" else "untrusted"]
    header = document_text(spec["header"], key, now)
    payload = document_text(spec["payload"], key, now)
    encodings = spec.get("encode") or {}
    head = encode(header, str(encodings.get("header", "raw")))
    body = encode(payload, str(encodings.get("payload", "raw")))
    how = str(spec.get("signature", "valid"))
    signature = signature_text(f"{head}.{body}".encode(), how, key, other, sign)
    shape = str(spec.get("shape", "three"))
    token = {
        "three": f"{head}.{body}.{signature}",
        "extra-segment": f"{head}.{body}.{signature}.e30",
        "trailing-dot": f"{head}.{body}.{signature}.",
        "two": f"{head}.{body}",
        "four-empty": f"{head}.{body}..{signature}",
    }[shape]
    prints = fingerprints or {}
    signed_by = None
    if shape == "three" and how in KEEPS_SIGNATURE:
        signed_by = prints.get(name) or key.fingerprint
    elif shape == "three" and how == "other-key":
        other_name = "untrusted-ec" if key.kty == "EC" else "untrusted"
        signed_by = prints.get(other_name) or other.fingerprint
    return MintedToken(
        token=token, signed_by=signed_by, header=decode_header(token), claims=claims_of(payload)
    )


def claims_of(payload: bytes) -> dict[str, Any]:
    """For evidence only: the payload as Python reads it, or the text when it does not."""
    try:
        value = json.loads(payload)
        return value if isinstance(value, dict) else {"_not_an_object": repr(value)[:200]}
    except (ValueError, RecursionError):
        return {"_text": payload.decode("utf-8", "replace")[:400]}
