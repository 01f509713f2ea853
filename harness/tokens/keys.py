"""Signing keys generated at run time (never written to disk) and their public JWKs."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from harness.model.claims import PublishedKey
from harness.model.keyset import jwk_fingerprint

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey = field(repr=False)  # never printed, never serialised

    @property
    def kty(self) -> str:
        return "RSA" if isinstance(self.private, rsa.RSAPrivateKey) else "EC"

    @property
    def curve(self) -> str:
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            name = self.private.curve.name
            return {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(name, name)
        return ""

    @functools.cached_property
    def fingerprint(self) -> str:
        """The same identity the model computes from the public JWK (harness.model.keyset). Cached: the
        grid asks for it on every cell, and the key never changes."""
        return jwk_fingerprint(self.public_jwk())

    def public_jwk(self, *, kid: str | None = None) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid if kid is None else kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def published(self) -> PublishedKey:
        """The key as the model's view of the server's key ring."""
        return PublishedKey(kty=self.kty, kid=self.kid, fingerprint=self.fingerprint, curve=self.curve)

    def __str__(self) -> str:
        return f"{self.alg} key kid={self.kid} fp={self.fingerprint}"


def new_kid(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def rsa_key(kid: str | None = None, bits: int = 2048, alg: str = "RS256") -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return SigningKey(kid or new_kid("rsa"), alg, private)


def ec_key(kid: str | None = None, curve: str = "P-256") -> SigningKey:
    private = ec.generate_private_key(_CURVES[curve])
    alg = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[curve]
    return SigningKey(kid or new_kid("ec"), alg, private)
