"""The keys and certificates the jwks-idp class publishes, as identity providers publish theirs: RSA keys
of several sizes and exponents, EC keys on three curves, an Ed25519 key, each with a self-signed
certificate and one issued by a CA of the harness's (x5c chains). Generated once per process, in memory;
a private key is never serialised (a JWK's private members are random bytes of the right length)."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from harness.tokens.forge import b64
from harness.tokens.keys import SigningKey, ec_key, rsa_key

CertKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# Signing slots (a token can be signed by each) and their algorithms.
RSA_SLOTS = {"rsa2048": 2048, "rsa1024": 1024, "rsa3072": 3072, "rsa4096": 4096}
EC_SLOTS = {"ec256": "P-256", "ec384": "P-384", "ec521": "P-521"}
SIGNING = (*RSA_SLOTS, "rsa-e3", *EC_SLOTS)
SLOTS = (*SIGNING, "ed25519")
D_SIZES = {"ec256": 32, "ec384": 48, "ec521": 66, "ed25519": 32}


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _certificate(subject: str, public: Any, issuer: str, signer: CertKey) -> bytes:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
    )
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signer, algorithm).public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class IdpSlots:
    signing: dict[str, SigningKey]
    ed25519: ed25519.Ed25519PrivateKey
    self_signed: dict[str, bytes]  # slot -> DER
    issued: dict[str, bytes]  # slot -> DER, issued by the CA
    ca: bytes  # the CA's own certificate (DER)
    stranger: SigningKey  # never published

    @classmethod
    def generate(cls) -> IdpSlots:
        signing = {name: rsa_key(kid=name, bits=bits) for name, bits in RSA_SLOTS.items()}
        signing["rsa-e3"] = SigningKey("rsa-e3", "RS256", rsa.generate_private_key(3, 2048))
        signing |= {name: ec_key(kid=name, curve=curve) for name, curve in EC_SLOTS.items()}
        edwards = ed25519.Ed25519PrivateKey.generate()
        ca_key = ec.generate_private_key(ec.SECP256R1())
        privates: dict[str, CertKey] = {name: key.private for name, key in signing.items()}
        privates["ed25519"] = edwards
        self_signed = {n: _certificate(n, k.public_key(), n, k) for n, k in privates.items()}
        issued = {n: _certificate(n, k.public_key(), "harness-idp-ca", ca_key) for n, k in privates.items()}
        ca = _certificate("harness-idp-ca", ca_key.public_key(), "harness-idp-ca", ca_key)
        return cls(signing, edwards, self_signed, issued, ca, rsa_key(kid="rsa2048"))

    def jwk(self, slot: str) -> dict[str, Any]:
        """The slot's public JWK as an IdP writes it (kid = the slot's name)."""
        if slot == "ed25519":
            raw = self.ed25519.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw), "kid": slot, "use": "sig", "alg": "EdDSA"}
        return self.signing[slot].public_jwk()

    def private_members(self, slot: str) -> dict[str, str]:
        """Private members of the right lengths, made of fixed bytes (no private key is ever written; the
        same slot renders the same document every time)."""
        if slot in D_SIZES:
            return {"d": b64(filler(f"{slot}/d", D_SIZES[slot]))}
        size = RSA_SLOTS.get(slot, 2048) // 8
        half = size // 2
        return {name: b64(filler(f"{slot}/{name}", n)) for name, n in
                (("d", size), ("p", half), ("q", half), ("dp", half), ("dq", half), ("qi", half))}  # fmt: skip


@functools.cache
def idp_slots() -> IdpSlots:
    return IdpSlots.generate()


def filler(seed: str, size: int) -> bytes:
    """`size` bytes derived from `seed` (SHA-256 in counter mode): stands for a private value."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def std64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def document(keys: list[dict[str, Any]]) -> bytes:
    return json.dumps({"keys": keys}).encode()
