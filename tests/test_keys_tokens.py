"""Keys, JWK export and token minting, checked with PyJWT itself."""

from __future__ import annotations

import json

import jwt
import pytest
from jwt import PyJWK

from harness.tokens import TokenSpec, describe, mint
from harness.tokens.keys import ec_key, rsa_key


@pytest.mark.parametrize("make", [rsa_key, ec_key])
def test_minted_tokens_verify_against_the_published_jwk(make) -> None:  # type: ignore[no-untyped-def]
    key = make()
    minted = mint(TokenSpec(permissions=["ns:read"], aud="app", iss="https://idp"), key)
    jwk = PyJWK.from_dict(key.public_jwk())
    decoded = jwt.decode(minted.token, jwk.key, algorithms=[key.alg], audience="app")
    assert decoded["permissions"] == ["ns:read"] and decoded["sub"] == "conformance-user"
    assert minted.header["kid"] == key.kid and minted.header["alg"] == key.alg
    assert minted.signed_by == key.fingerprint
    assert {"iat", "exp"} <= set(decoded)


def test_jwk_has_no_private_parts_and_key_repr_hides_it() -> None:
    for key in (rsa_key(), ec_key()):
        jwk = key.public_jwk()
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
        assert jwk["kid"] == key.kid and jwk["use"] == "sig"
        assert "PRIVATE" not in repr(key) and "private" not in repr(key)


def test_ec_curves_and_kty() -> None:
    assert ec_key().curve == "P-256" and ec_key().kty == "EC"
    assert ec_key(curve="P-384").alg == "ES384"
    assert rsa_key().kty == "RSA" and rsa_key().curve == ""


def test_evidence_and_describe_never_carry_the_signature() -> None:
    key = rsa_key()
    minted = mint(TokenSpec(permissions=["ns:read"]), key)
    signature = minted.token.split(".")[2]
    assert signature not in json.dumps(minted.evidence())
    assert signature not in json.dumps(describe(minted.token))
    assert minted.token not in repr(minted)
    assert describe("garbage")["segments"] == 1


def test_spec_controls_claims() -> None:
    key = rsa_key()
    minted = mint(TokenSpec(permissions=None, exp_in=None, iat_in=None, omit_sub=True, extra={"x": 1}), key)
    assert dict(minted.claims) == {"x": 1}
    minted = mint(TokenSpec(permissions="ns:read", nbf_in=10, claim_name="roles"), key)
    assert minted.claims["roles"] == "ns:read" and minted.claims["nbf"] > minted.claims["iat"]
