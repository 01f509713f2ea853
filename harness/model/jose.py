"""A key set document as the default token key provider decodes it: json.NewDecoder(body).Decode into
go-jose v4.1.6's JSONWebKeySet, each key through JSONWebKey.UnmarshalJSON, then only RSA and ECDSA
public keys kept (keyed by kid, per type).

The document is decoded by Go's encoding/json into a struct: the first value of the body only; `null`
decodes to nothing; `keys` matches case-insensitively, and given twice is decoded twice (the last wins).
Each key is decoded by go-jose's own fork of encoding/json (go-jose/v4/json), which matches member names
exactly and refuses a name given twice. A member of the wrong JSON type is an error, an unknown member
is skipped whatever it holds. Any error refuses the whole document. Keys are identified by their decoded values (`fingerprint`), so
a value written another way (a leading zero byte) is the same key, as it is to the server.

x5c: every entry is decoded (base64.StdEncoding: CR and LF skipped) and parsed (harness.model.x509);
the leaf's public key must equal the JWK's (reflect.DeepEqual: the same type and values), an `oct` key
with a chain is refused, and x5t / x5t#S256, where given, must equal the leaf's SHA-1 / SHA-256.

Not modelled, because the harness never serves them: RSA private keys with p and q (rsa.Validate),
Ed25519 private keys whose seed could match x, Ed25519 low-order points, certificates that are well
formed DER but that Go refuses deeper inside (harness.model.x509).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model import gojson, x509
from harness.model.claims import PublishedKey
from harness.model.gojson import GoJsonError, Pairs
from harness.model.rules import NEWEST, JoseDialect

MAX_RSA_MODULUS_BITS = 4096
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64STD = re.compile(r"[A-Za-z0-9+/]*={0,2}")


@dataclass(frozen=True)
class Curve:
    size: int  # bytes of a coordinate (and of d)
    p: int
    b: int

    def on_curve(self, x: int, y: int) -> bool:
        """crypto/elliptic IsOnCurve: in range, and y^2 = x^3 - 3x + b (mod p)."""
        if not (0 <= x < self.p and 0 <= y < self.p):
            return False
        return (y * y - (x * x * x - 3 * x + self.b)) % self.p == 0


CURVES = {
    "P-256": Curve(
        32,
        0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    ),
    "P-384": Curve(
        48,
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
    ),
    "P-521": Curve(
        66,
        2**521 - 1,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
    ),
}


class KeySetRefused(ValueError):
    """The whole document fails to decode: the refresh fails and the old keys are kept."""


@dataclass
class RawKey:
    """rawJSONWebKey: string members, byte buffers (None: absent or null) and the x5c list."""

    strings: dict[str, str] = field(default_factory=dict)
    buffers: dict[str, bytes | None] = field(default_factory=dict)
    x5c: list[str] = field(default_factory=list)

    def text(self, name: str) -> str:
        return self.strings.get(name, "")

    def buffer(self, name: str) -> bytes | None:
        return self.buffers.get(name)


STRING_MEMBERS = ("use", "kty", "kid", "crv", "alg", "x5u", "x5t", "x5t#S256")
BUFFER_MEMBERS = ("k", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi")
FIELDS = frozenset((*STRING_MEMBERS, *BUFFER_MEMBERS, "x5c"))


def raw_url_decode(text: str) -> bytes:
    """base64.RawURLEncoding.DecodeString: no padding, URL alphabet; CR and LF are skipped."""
    text = text.replace("\r", "").replace("\n", "")
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise KeySetRefused(f"illegal base64 data in {text[:24]!r}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _std_decode(text: str) -> bytes:
    """base64.StdEncoding.DecodeString: padded, standard alphabet; CR and LF are skipped."""
    text = text.replace("\r", "").replace("\n", "")
    if not _B64STD.fullmatch(text) or len(text) % 4:
        raise KeySetRefused(f"x5c: illegal base64 data in {text[:24]!r}")
    try:
        return base64.b64decode(text)
    except binascii.Error as exc:
        raise KeySetRefused(f"x5c: {exc}") from exc


def _member(raw: RawKey, name: str, value: Any, dialect: JoseDialect = NEWEST) -> str:
    """Decode one member into the raw key; returns the type error it saves ("" when none)."""
    if name == "x5u" and dialect.x5u_is_url_struct:
        # go-jose v2: `X5u *url.URL`. url.URL has no UnmarshalJSON: null leaves it nil, an object fills
        # its exported fields (not modelled: accepted), anything else is a type error.
        if value is None or isinstance(value, Pairs):
            return ""
        kinds = ((str, "string"), (bool, "bool"), (list, "array"))
        kind = next((k for t, k in kinds if isinstance(value, t)), "number")
        return f"json: cannot unmarshal {kind} into Go value of type url.URL"
    if name in STRING_MEMBERS:
        if isinstance(value, str):
            raw.strings[name] = value
        elif value is not None:  # null leaves a string field as it was
            return f"{name}: not a string"
    elif name in BUFFER_MEMBERS:
        if value is None:
            raw.buffers[name] = None
        elif not isinstance(value, str):
            raise KeySetRefused(f"{name}: not a string")  # byteBuffer.UnmarshalJSON returns the error
        elif value:
            raw.buffers[name] = raw_url_decode(value)
        elif raw.buffers.get(name) is None:
            raw.buffers[name] = b""  # "" allocates an empty buffer (and leaves an existing one alone)
    elif value is None:
        raw.x5c = []
    elif isinstance(value, list) and all(isinstance(v, str) or v is None for v in value):
        raw.x5c = [v or "" for v in value]
    else:
        return "x5c: not an array of strings"
    return ""


def raw_key(entry: Any, dialect: JoseDialect = NEWEST) -> RawKey:
    """go-jose's json.Unmarshal of one key into rawJSONWebKey: exact names, no name twice."""
    raw = RawKey()
    if entry is None:
        return raw
    if not isinstance(entry, Pairs):
        raise KeySetRefused("a key is not an object")
    saved = ""
    seen: set[str] = set()
    for name, value in entry.members:
        if name in seen:
            raise KeySetRefused(f"json: duplicate key {name!r} in object")
        seen.add(name)
        if name in FIELDS:
            saved = saved or _member(raw, name, value, dialect)
    if saved:
        raise KeySetRefused(saved)
    return raw


def _integer(data: bytes) -> int:
    return int.from_bytes(data, "big")


def fingerprint(kty: str, values: Mapping[str, Any]) -> str:
    """A key's identity from its decoded values (integers, not their text: `AQAB` and `AAEAAQ` are one
    exponent), so the harness's signing key and the key the server decoded are the same key exactly
    when their values are equal."""
    canonical = {"kty": kty, **{k: (_integer(v) if isinstance(v, bytes) else v) for k, v in values.items()}}
    text = json.dumps({k: str(v) for k, v in canonical.items()}, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _ec(raw: RawKey, private: bool) -> PublishedKey | None:
    crv = raw.text("crv")
    curve = CURVES.get(crv)
    if curve is None:
        raise KeySetRefused(f"unsupported elliptic curve {crv!r}")
    x, y, d = raw.buffer("x"), raw.buffer("y"), raw.buffer("d")
    if x is None or y is None or (private and d is None):
        raise KeySetRefused("invalid EC key, missing x/y/d values")
    if len(x) != curve.size or len(y) != curve.size:
        raise KeySetRefused("invalid EC key, wrong length for x or y")
    if private and d is not None and len(d) != curve.size:
        raise KeySetRefused("invalid EC private key, wrong length for d")
    if not curve.on_curve(_integer(x), _integer(y)):
        raise KeySetRefused("invalid EC key, X/Y are not on declared curve")
    if private:
        return None  # an *ecdsa.PrivateKey: parsed, then skipped by the provider
    return PublishedKey("EC", raw.text("kid"), fingerprint("EC", {"crv": crv, "x": x, "y": y}), crv)


def _rsa(raw: RawKey, private: bool, dialect: JoseDialect = NEWEST) -> PublishedKey | None:
    n, e = raw.buffer("n"), raw.buffer("e")
    if private:
        missing = [m for m in ("n", "e", "d", "p", "q") if raw.buffer(m) is None]
        if missing:
            raise KeySetRefused(f"invalid RSA private key, missing {', '.join(missing)}")
    if n is None or e is None:
        raise KeySetRefused("invalid RSA key, missing n/e values")
    modulus = _integer(n)
    if dialect.validates_keys and modulus.bit_length() > MAX_RSA_MODULUS_BITS:
        raise KeySetRefused("invalid RSA key, modulus too large")
    if private:
        p, q = _integer(raw.buffer("p") or b""), _integer(raw.buffer("q") or b"")
        if p * q != modulus or p.bit_length() + q.bit_length() > modulus.bit_length() + 1:
            raise KeySetRefused("invalid RSA private key, p * q != n")
        return None  # an *rsa.PrivateKey (rsa.Validate is not modelled): skipped by the provider
    exponent = _integer(e) & 0xFFFFFFFFFFFFFFFF  # big.Int.Int64: the low 64 bits
    return PublishedKey("RSA", raw.text("kid"), fingerprint("RSA", {"n": modulus, "e": exponent}))


def _okp(raw: RawKey, dialect: JoseDialect = NEWEST) -> None:
    if raw.text("crv") != "Ed25519":
        raise KeySetRefused(f"unsupported key type (OKP curve {raw.text('crv')!r})")
    x = raw.buffer("x")
    if x is None:
        raise KeySetRefused("invalid Ed25519 key, missing x")
    if not dialect.validates_keys:
        return  # before v4.1.6 x (and d) are copied into 32-byte buffers whatever their length
    if len(x) != 32:
        raise KeySetRefused("invalid Ed25519 public key, wrong length for x")
    d = raw.buffer("d")
    if d is not None:
        # A seed of the right length would have to derive x: never the case for what the harness serves.
        raise KeySetRefused("invalid Ed25519 private key (wrong length for d, or x does not match d)")


def _thumbprint_bytes(text: str, size: int, name: str) -> bytes:
    """An x5t value's digest bytes: base64url (RawURLEncoding), and hex inside where it is twice the size."""
    data = raw_url_decode(text)
    if len(data) == 2 * size:
        try:
            data = bytes.fromhex(data.decode("ascii"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise KeySetRefused(f"invalid JWK, unable to hex decode {name}") from exc
    return data


def _thumbprint(text: str, size: int, name: str) -> None:
    data = _thumbprint_bytes(text, size, name)
    if data and len(data) != size:
        raise KeySetRefused(f"invalid JWK, {name} header is of incorrect size")


def url_parse_fails(text: str) -> bool:
    """net/url.Parse's refusals for the values the harness serves: a control character, a % not followed
    by two hex digits, an unclosed [ in the host, a port that is not a number."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text) or re.search(r"%(?![0-9A-Fa-f]{2})", text):
        return True
    _, sep, rest = text.partition("://")
    if not sep:
        return False
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return "]" not in host or not re.fullmatch(r"(:\d*)?", host.split("]", 1)[1])
    port = host.rpartition(":")[2] if ":" in host else ""
    return not re.fullmatch(r"\d*", port)


def _chain(raw: RawKey) -> list[x509.Certificate]:
    """parseCertificateChain: every entry standard base64 and a certificate Go parses."""
    try:
        return [x509.parse(_std_decode(cert)) for cert in raw.x5c]
    except x509.CertificateError as exc:
        raise KeySetRefused(f"failed to unmarshal x5c field: {exc}") from exc


def _jwk_public(raw: RawKey, kty: str) -> x509.PublicKey | None:
    """The JWK's public key as a certificate's would be compared with it (None: no key to compare)."""
    if kty == "RSA":
        return x509.PublicKey("RSA", (_integer(raw.buffer("n") or b""), _go_int(raw.buffer("e") or b"")))
    if kty == "EC":
        x, y = raw.buffer("x") or b"", raw.buffer("y") or b""
        return x509.PublicKey("EC", (raw.text("crv"), _integer(x), _integer(y)))
    if kty == "OKP" and raw.text("crv") == "Ed25519":
        return x509.PublicKey("Ed25519", (raw.buffer("x") or b"",))
    return None


def _go_int(data: bytes) -> int:
    """byteBuffer.toInt: int(big.Int.Int64()), the low 64 bits as a signed integer."""
    low = _integer(data) & 0xFFFFFFFFFFFFFFFF
    return low - (1 << 64) if low >= 1 << 63 else low


def _check_chain(certs: list[x509.Certificate], raw: RawKey, kty: str) -> None:
    """The leaf against the key (reflect.DeepEqual of the two public keys), then the thumbprints."""
    if not certs:
        return
    leaf = certs[0]
    if kty == "oct":
        raise KeySetRefused("invalid JWK, found 'oct' (symmetric) key with cert chain")
    mine = _jwk_public(raw, kty)
    if leaf.public.kind != "unknown" and mine is not None and leaf.public != mine:
        raise KeySetRefused("invalid JWK, public keys in key and x5c fields do not match")
    for name, digest in (("x5t", leaf.sha1), ("x5t#S256", leaf.sha256)):
        given = _thumbprint_bytes(raw.text(name), len(digest), name)
        if given and given != digest:
            raise KeySetRefused(f"invalid JWK, x5c thumbprint does not match {name} value")


def decode_key(entry: Any, dialect: JoseDialect = NEWEST) -> PublishedKey | None:
    """JSONWebKey.UnmarshalJSON, then the provider's type switch: the RSA or ECDSA public key kept, None
    for a key parsed and skipped (oct, OKP, private keys); KeySetRefused for any error."""
    raw = raw_key(entry, dialect)
    certs = _chain(raw)
    kty = raw.text("kty")
    private = raw.buffer("d") is not None
    key: PublishedKey | None = None
    if kty == "EC":
        key = _ec(raw, private)
    elif kty == "RSA":
        key = _rsa(raw, private, dialect)
    elif kty == "oct":
        if raw.buffer("k") is None:
            raise KeySetRefused("invalid OCT (symmetric) key, missing k value")
    elif kty == "OKP":
        _okp(raw, dialect)
    elif kty == "":
        raise KeySetRefused("missing json web key type")
    else:
        raise KeySetRefused(f"unknown json web key type {kty!r}")
    if raw.text("x5u") and url_parse_fails(raw.text("x5u")):
        raise KeySetRefused("invalid JWK, x5u header is invalid URL")
    _thumbprint(raw.text("x5t"), 20, "x5t")
    _thumbprint(raw.text("x5t#S256"), 32, "x5t#S256")
    _check_chain(certs, raw, kty)
    return key


def decode_key_set(body: bytes, dialect: JoseDialect = NEWEST) -> list[PublishedKey]:
    """The RSA and ECDSA public keys of one document, in order; KeySetRefused where the server's decode
    fails. Remembered per body: a server refreshing often is served the same bytes many times."""
    decoded = _decoded(body, dialect)
    if isinstance(decoded, str):
        raise KeySetRefused(decoded)
    return list(decoded)


@functools.lru_cache(maxsize=1024)
def _decoded(body: bytes, dialect: JoseDialect) -> tuple[PublishedKey, ...] | str:
    try:
        return tuple(_decode_key_set(body, dialect))
    except KeySetRefused as refusal:
        return str(refusal)


def _decode_key_set(body: bytes, dialect: JoseDialect) -> list[PublishedKey]:
    try:
        document = gojson.decode(body, first_value_only=True, lazy=True)
    except GoJsonError as exc:
        raise KeySetRefused(f"not JSON to encoding/json: {exc}") from exc
    if document is None:
        return []  # null decodes to an empty key set, without an error
    if not isinstance(document, Pairs):
        raise KeySetRefused("not a JSON object")
    keys: list[PublishedKey] = []
    saved = ""
    for name, value in document.members:
        if gojson.fold(name) != "KEYS":
            continue
        if value is None:
            keys = []
        elif isinstance(value, list):
            decoded = (decode_key(entry, dialect) for entry in value)
            keys = [k for k in decoded if k is not None]
        else:
            saved = saved or "keys is not an array"
    if saved:
        raise KeySetRefused(saved)
    return keys
