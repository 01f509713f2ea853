"""An x5c certificate as go-jose v4 uses it (shared.go parseCertificateChain: base64.StdEncoding, then
crypto/x509.ParseCertificate; jwk.go compares the leaf's public key with the JWK's, and x5t/x5t#S256 with
the leaf's SHA-1/SHA-256 over its DER bytes).

The model reads the DER structure down to the subject public key: Certificate, TBSCertificate (optional
version, serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo, ...), the outer
signature algorithm and value, every length exact and nothing trailing (Go's parser refuses a
certificate with trailing data or a wrong length). The public key: RSA (n, e), EC on a named curve
(P-256, P-384, P-521: the uncompressed point), Ed25519 (32 bytes); any other algorithm parses with no
key Go would compare (x509.UnknownPublicKeyAlgorithm: PublicKey nil).

Not modelled (the harness serves none): what Go checks deeper inside a certificate that is well formed
DER (names, times, extensions and their duplicates, RSA parameters other than NULL, compressed points).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

RSA_OID = "1.2.840.113549.1.1.1"
EC_OID = "1.2.840.10045.2.1"
ED25519_OID = "1.3.101.112"
CURVE_OIDS = {"1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521"}
CURVE_SIZES = {"P-256": 32, "P-384": 48, "P-521": 66}


class CertificateError(ValueError):
    """crypto/x509.ParseCertificate refuses the bytes."""


@dataclass(frozen=True)
class PublicKey:
    """A certificate's subject public key: kind "RSA" (n, e), "EC" (crv, x, y), "Ed25519" (x), or
    "unknown" (Go parses it without a key to compare)."""

    kind: str
    values: tuple[object, ...] = ()


@dataclass(frozen=True)
class Certificate:
    der: bytes
    public: PublicKey

    @property
    def sha1(self) -> bytes:
        return hashlib.sha1(self.der).digest()

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.der).digest()


@dataclass(frozen=True)
class _Element:
    tag: int
    body: bytes
    end: int  # offset just past the element in the enclosing bytes


def _element(data: bytes, at: int) -> _Element:
    if at + 2 > len(data):
        raise CertificateError("x509: malformed certificate (truncated element)")
    tag, first = data[at], data[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or at + count > len(data):
            raise CertificateError("x509: malformed certificate (bad length)")
        raw = data[at : at + count]
        if raw[0] == 0 or (count == 1 and raw[0] < 0x80):
            raise CertificateError("x509: malformed certificate (non-minimal length)")
        length = int.from_bytes(raw, "big")
        at += count
    if at + length > len(data):
        raise CertificateError("x509: malformed certificate (element past the end)")
    return _Element(tag, data[at : at + length], at + length)


def _children(body: bytes) -> list[_Element]:
    out, at = [], 0
    while at < len(body):
        element = _element(body, at)
        out.append(element)
        at = element.end
    return out


def _oid(body: bytes) -> str:
    if not body:
        raise CertificateError("x509: malformed OID")
    parts = [body[0] // 40, body[0] % 40]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _integer(element: _Element) -> int:
    if element.tag != 0x02 or not element.body:
        raise CertificateError("x509: malformed integer")
    return int.from_bytes(element.body, "big", signed=True)


def _expect(element: _Element, tag: int, what: str) -> _Element:
    if element.tag != tag:
        raise CertificateError(f"x509: malformed {what}")
    return element


def _public_key(spki: _Element) -> PublicKey:
    algorithm, key = _children(_expect(spki, 0x30, "spki").body)[:2]
    parts = _children(_expect(algorithm, 0x30, "algorithm identifier").body)
    oid = _oid(_expect(parts[0], 0x06, "algorithm OID").body)
    bits = _expect(key, 0x03, "subject public key")
    if not bits.body or bits.body[0] != 0:
        raise CertificateError("x509: malformed subject public key")
    raw = bits.body[1:]
    if oid == RSA_OID:
        fields = _children(_expect(_element(raw, 0), 0x30, "RSA public key").body)
        if len(fields) != 2:
            raise CertificateError("x509: malformed RSA public key")
        n, e = _integer(fields[0]), _integer(fields[1])
        if n <= 0:
            raise CertificateError("x509: RSA modulus is not a positive number")
        if e <= 0 or e >= 2**63:
            raise CertificateError("x509: RSA public exponent is not a positive number")
        return PublicKey("RSA", (n, e))
    if oid == EC_OID:
        curve = CURVE_OIDS.get(_oid(_expect(parts[1], 0x06, "named curve").body)) if len(parts) > 1 else None
        if curve is None:
            raise CertificateError("x509: unsupported elliptic curve")
        size = CURVE_SIZES[curve]
        if len(raw) != 1 + 2 * size or raw[0] != 4:
            raise CertificateError("x509: failed to unmarshal elliptic curve point")
        x, y = int.from_bytes(raw[1 : 1 + size], "big"), int.from_bytes(raw[1 + size :], "big")
        return PublicKey("EC", (curve, x, y))
    if oid == ED25519_OID:
        if len(raw) != 32:
            raise CertificateError("x509: wrong Ed25519 public key size")
        return PublicKey("Ed25519", (raw,))
    return PublicKey("unknown")


def parse(der: bytes) -> Certificate:
    """crypto/x509.ParseCertificate, as far as the model reads it; CertificateError where Go refuses."""
    outer = _element(der, 0)
    if outer.tag != 0x30 or outer.end != len(der):
        raise CertificateError("x509: malformed certificate (trailing data or not a sequence)")
    parts = _children(outer.body)
    if len(parts) != 3 or parts[2].tag != 0x03:
        raise CertificateError("x509: malformed certificate")
    tbs = _children(_expect(parts[0], 0x30, "tbs certificate").body)
    if tbs and tbs[0].tag == 0xA0:  # [0] EXPLICIT version
        tbs = tbs[1:]
    if len(tbs) < 6:
        raise CertificateError("x509: malformed tbs certificate")
    _integer(tbs[0])  # serial
    return Certificate(der, _public_key(tbs[5]))
