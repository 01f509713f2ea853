"""The signing key of a cluster the harness does not own (--external-signing-key, a profile's
server.signing_key): a PEM private key whose public half the cluster's JWKS publishes.

Anything the harness cannot sign with, or the server cannot verify, is one HarnessConfigError naming the
fix: an encrypted key (decrypt it), a file that is not a PEM private key, a key type or curve the server
does not verify (its key provider verifies RS256 and ES256 only, and ES256 only with a P-256 key). A key
is labelled by what it is: an EC key is ES256 only when its curve is P-256."""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519

from harness.errors import HarnessConfigError
from harness.tokens.keys import SigningKey

SUPPORTED = "the server verifies only RS256 and ES256 (P-256)"
CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
KEY_TYPES = (
    (ed25519.Ed25519PrivateKey, "Ed25519"),
    (ed448.Ed448PrivateKey, "Ed448"),
    (x25519.X25519PrivateKey, "X25519"),
    (x448.X448PrivateKey, "X448"),
)


def load_external_key(path: Path, kid: str, option: str = "--external-signing-key") -> SigningKey:
    """The key at `path` as a SigningKey labelled by what it is; HarnessConfigError for anything else."""
    where = f"{option} {path}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HarnessConfigError(f"{where}: cannot read it: {exc.strerror or exc}") from exc
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography: "Password was not given but private key is encrypted"
        raise HarnessConfigError(
            f"{where}: the key is encrypted (a passphrase protects it): give the harness a decrypted copy, "
            f"e.g. `openssl pkey -in {path} -out plain.pem`, kept in a CI secret"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise HarnessConfigError(
            f"{where}: not a PEM private key the harness can read ({str(exc).split('. ')[0]}): "
            "give the private key whose public half the cluster's JWKS publishes"
        ) from None
    if isinstance(private, rsa.RSAPrivateKey):
        return SigningKey(kid, "RS256", private)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        curve = CURVE_NAMES.get(private.curve.name, private.curve.name)
        if curve == "P-256":
            return SigningKey(kid, "ES256", private)
        raise HarnessConfigError(f"{where}: {curve} keys: {SUPPORTED}; give an RSA or P-256 key")
    kind = next(
        (name for cls, name in KEY_TYPES if isinstance(private, cls)),
        type(private).__name__.removeprefix("_").removesuffix("PrivateKey"),  # DSA
    )
    raise HarnessConfigError(f"{where}: {kind} keys: {SUPPORTED}; give an RSA or P-256 key")
