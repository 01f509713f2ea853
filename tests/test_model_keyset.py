"""Truth tables for the key provider model (which keys survive a refresh)."""

from __future__ import annotations

import json

import pytest

from harness.model import KeyRing
from harness.model.keyset import KeySetRefused, SourceAnswer, jwk_fingerprint, parse_key_set, refresh
from harness.tokens.keys import ec_key, rsa_key


def doc(*jwks: dict[str, object]) -> bytes:
    return json.dumps({"keys": list(jwks)}).encode()


def test_fingerprint_matches_the_signing_key() -> None:
    for key in (rsa_key(), ec_key()):
        assert jwk_fingerprint(key.public_jwk()) == key.fingerprint
        assert jwk_fingerprint({**key.public_jwk(), "kid": "other", "alg": "x"}) == key.fingerprint


def test_parse_skips_okp_and_oct_and_refuses_unknown() -> None:
    r, e = rsa_key(kid="r"), ec_key(kid="e")
    keys = parse_key_set(
        doc(
            r.public_jwk(),
            {"kty": "OKP", "crv": "Ed25519", "x": "A" * 43},  # 32 bytes: go-jose checks the length
            {"kty": "oct", "k": "AA"},
            e.public_jwk(),
        )
    )
    assert [(k.kty, k.kid) for k in keys] == [("RSA", "r"), ("EC", "e")]
    for bad in ({"kty": "XYZ"}, {"kty": "EC", "crv": "secp256k1"}, {"kty": "OKP", "crv": "X25519"}, "str"):
        with pytest.raises(KeySetRefused):
            parse_key_set(doc(r.public_jwk(), bad))  # type: ignore[arg-type]
    for body in (b"oops", b"[]", b'{"keys": 3}'):
        with pytest.raises(KeySetRefused):
            parse_key_set(body)
    assert parse_key_set(b"{}") == []


def test_refresh_swaps_whole_or_keeps_old() -> None:
    a, b = rsa_key(kid="a"), rsa_key(kid="b")
    old = refresh(KeyRing(), [SourceAnswer(doc(a.public_jwk()))])
    assert [k.kid for k in old.keys] == ["a"]
    assert refresh(old, [SourceAnswer(doc(b.public_jwk())), SourceAnswer(None)]) == old
    assert refresh(old, [SourceAnswer(doc(b.public_jwk())), SourceAnswer(b"<html>")]) == old
    assert refresh(old, [SourceAnswer(b'{"keys": []}')]).keys == ()
    both = refresh(old, [SourceAnswer(doc(a.public_jwk())), SourceAnswer(doc(b.public_jwk()))])
    assert sorted(k.kid for k in both.keys) == ["a", "b"]


def test_duplicate_kid_last_wins_per_type() -> None:
    first, last, ec = rsa_key(kid="d"), rsa_key(kid="d"), ec_key(kid="d")
    ring = refresh(
        KeyRing(),
        [SourceAnswer(doc(first.public_jwk(), ec.public_jwk())), SourceAnswer(doc(last.public_jwk()))],
    )
    assert ring.lookup("RSA", "d") == last.published()
    assert ring.lookup("EC", "d") == ec.published()
