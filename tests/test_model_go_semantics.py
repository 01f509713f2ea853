"""Truth tables for the model's Go semantics: encoding/json (gojson), go-jose's key decoding (jose),
Go's regexp syntax (re2), strings.ToLower and NumericDate's float64 -> int64 conversion. Each row is a
behaviour of Go 1.26 / golang-jwt v4.5.2 / go-jose v4.1.6 the fuzzer showed on a live server or that the
sources state (fixtures/fuzz/ holds the live cases)."""

from __future__ import annotations

import json
import time

import pytest

from harness.model import gojson, jose, re2
from harness.model.claims import go_lower, go_seconds, permission_to_role
from harness.model.gojson import GoJsonError
from harness.model.jose import KeySetRefused
from harness.model.keyset import jwk_fingerprint, parse_key_set
from harness.tokens.forge import b64
from harness.tokens.keys import ec_key, rsa_key
from harness.types import Role

RSA, EC = rsa_key(kid="r"), ec_key(kid="e")


@pytest.mark.parametrize(
    ("raw", "first_value_only", "expected"),
    [
        (b'{"a":1} junk', True, {"a": 1.0}),  # a Decoder never reads past the first value
        (b"null x", True, None),
        (b'{"a":"\xff"}', False, {"a": "\ufffd"}),  # each invalid byte is one U+FFFD
        (b'{"a":"\\ud800"}', False, {"a": "\ufffd"}),
        (b'{"a":1,"a":2}', False, {"a": 2.0}),
        (b' \n{"a":10000000000000000000}', False, {"a": 1e19}),
    ],
)
def test_go_json_reads(raw: bytes, first_value_only: bool, expected: object) -> None:
    assert gojson.decode(raw, first_value_only=first_value_only) == expected


@pytest.mark.parametrize(
    "raw", [b"\xef\xbb\xbf{}", b'{"a":NaN}', b'{"a":1e400}', b'{"a":1' + b"0" * 400 + b"}", b"{} x"]
)
def test_go_json_refuses(raw: bytes) -> None:
    with pytest.raises(GoJsonError):
        gojson.decode(raw, first_value_only=False)


def test_member_names_fold_as_encoding_json_does() -> None:
    assert gojson.fold("\u212aeys") == gojson.fold("KEYS") == gojson.fold("Keys")
    assert gojson.fold("x5t#\u017f256") == gojson.fold("X5T#S256")


def doc(*entries: object, name: str = "keys") -> bytes:
    return json.dumps({name: list(entries)}).encode()


def test_key_sets_as_the_provider_decodes_them() -> None:
    assert parse_key_set(b"null") == []
    assert parse_key_set(doc() + b" trailing") == []
    assert [k.kid for k in parse_key_set(doc(RSA.public_jwk(), name="\u212aeys"))] == ["r"]
    empty_e = {**RSA.public_jwk(), "e": ""}  # an empty buffer, not a missing one: the key parses
    assert [k.kid for k in parse_key_set(doc(empty_e, EC.public_jwk()))] == ["r", "e"]
    leading_zero = {**RSA.public_jwk(), "n": b64(b"\x00" + jose.raw_url_decode(RSA.public_jwk()["n"]))}
    assert parse_key_set(doc(leading_zero))[0].fingerprint == RSA.fingerprint  # the same key to Go
    assert jwk_fingerprint(RSA.public_jwk()) == RSA.fingerprint


@pytest.mark.parametrize(
    "body",
    [
        b'\xef\xbb\xbf{"keys": []}',
        b'{"keys": 0}',
        b'{"keys": ""}',
        b'{"keys": {}}',
        b"[]",
        b'{"keys": [], "KEYS": 5}',
        b'{"keys": [{"kty": "RSA", "kid": "r", "kid": "s", "n": "AQAB", "e": "AQAB"}]}',  # go-jose's fork
        b'{"keys": [{"KTY": "RSA", "n": "AQAB", "e": "AQAB"}]}',  # exact names inside a key
        b'{"keys": [{"kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB"}]}',
        b'{"keys": [{"kty": "RSA", "n": "AQAB=", "e": "AQAB"}]}',
        b'{"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]}',
        b'{"keys": [{"kty": "oct"}]}',
        b'{"keys": [{"kty": "OKP", "crv": "X25519", "x": "AA"}]}',
        b'{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "x5c": ["AAAA"]}]}',
        b'{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "x5u": "%zz"}]}',
    ],
)
def test_key_sets_the_provider_refuses(body: bytes) -> None:
    with pytest.raises(KeySetRefused):
        parse_key_set(body)


def test_an_ec_point_off_its_curve_is_refused() -> None:
    jwk = EC.public_jwk()
    y = jose.raw_url_decode(jwk["y"])
    with pytest.raises(KeySetRefused):
        parse_key_set(doc({**jwk, "y": b64(y[:-1] + bytes([y[-1] ^ 1]))}))


def test_role_names_lower_case_as_strings_tolower() -> None:
    assert go_lower("ADM\u0130N") == "admin"
    assert permission_to_role("adm\u0130n") is Role.ADMIN
    assert permission_to_role("wr\u0131te") is Role.UNDEFINED  # dotless i is nobody's i


def test_numeric_dates_convert_as_go_on_amd64() -> None:
    now = int(time.time())
    assert go_seconds(float(now)) == now + 62135596800
    assert go_seconds(1e19) == -(2**63) + 62135596800  # int64(1e19) is math.MinInt64: far in the past
    assert go_seconds(-0.5) == go_seconds(-1.0)  # a negative fraction borrows a second


# Go 1.26's regexp, as run on the same patterns (see re2.py): accepted or refused.
GO_ACCEPTS = [r"(?P<a>x)(?P<a>y)", r"\0", r"\12", r"a{,3}", r"(?U)a+", r"\pL", r"[[:alpha:]]", r"\z", r"a{1000}",
              r"\Qa.b\E", r"\x{61}", r"a(?i)b", r"^(?i)a", r"[\d-z]", r"(?P<1x>a)", r"\:", r"\_", r"[]a]", r"(?<n>a)"]  # fmt: skip
GO_REFUSES = [r"\1", r"a**", r"a*+", r"\Z", r"(?<=a)", r"(?>a)", r"(?#c)", r"(?x)a", r"(?a)a", r"a{1001}", r"\C",
              r"[a-\d]", r"(?P=n)", r"x{2}{3}", r"a{2,1}", r"\8", r"(?i-)a", "(a", "a)", "[a"]  # fmt: skip


@pytest.mark.parametrize("pattern", GO_ACCEPTS)
def test_patterns_go_accepts(pattern: str) -> None:
    re2.translate(pattern)


@pytest.mark.parametrize("pattern", GO_REFUSES)
def test_patterns_go_refuses(pattern: str) -> None:
    with pytest.raises(re2.Re2Error):
        re2.translate(pattern)


@pytest.mark.parametrize(
    ("pattern", "text", "groups"),
    [
        (r"(?i)k", "\u212a", ()),  # Go folds the Kelvin sign to k
        (r"(?U)(a+)(a*)", "aaa", ("a", "")),
        (r"a{,3}", "a{,3}", ()),  # not a repeat count: literal braces
        (r"\012", "\n", ()),
        (r"[[:^alpha:]]", "a1", ()),
        (r"(?m)^(b)$", "a\nb\n", ("b",)),
        (r"(?i)\p{Lu}", "a", ()),
        (r"(a|ab)(c|bcd)(d*)", "abcd", ("a", "bcd", "")),
    ],
)
def test_patterns_match_as_in_go(pattern: str, text: str, groups: tuple[str, ...]) -> None:
    match = re2.translate(pattern).pattern.search(text)
    assert match is not None and match.groups() == groups


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"(?i)i", "\u0131"),
        (r"(?i)i", "\u0130"),
        (r"^[\w-]+$", "ab\n"),
        (r"\d", "\u0661"),
        (r".", "\n"),
        (r"\pLu", "a"),
    ],
)
def test_patterns_do_not_match_as_in_go(pattern: str, text: str) -> None:
    assert re2.translate(pattern).pattern.search(text) is None


def test_named_groups_take_their_last_index() -> None:
    translated = re2.translate(r"(?P<namespace>a)(?P<role>b)|(?P<namespace>c)")
    assert translated.groups == {"namespace": 3, "role": 2}
    assert translated.pattern.groups == 3  # the engine sees numbered groups only


@pytest.mark.parametrize(
    ("x5u", "refused_before_1_28", "refused_since"),
    [
        ("https://idp.example/certs/key.pem", True, False),  # v2: a string into *url.URL
        ("http://[::1", True, True),  # v4: url.Parse fails
        (5, True, True),  # a number: a type error in both
        (None, False, False),  # null leaves the field nil
    ],
)
def test_x5u_is_a_url_struct_in_go_jose_v2(
    x5u: object, refused_before_1_28: bool, refused_since: bool
) -> None:
    """Found by the jwks-idp fuzzer against v1.20.5's own key provider, confirmed live: go-jose v2 (1.20-1.27)
    declares `X5u *url.URL` (jwk.go:66), and url.URL has no JSON decoding, so a key with an x5u string
    fails the whole set (the server keeps its old keys); v4 (1.28+) reads a string and url.Parses it."""
    from harness.model.rules import rules_for

    body = doc(RSA.public_jwk(), {**EC.public_jwk(), "x5u": x5u})
    for version, refused in (
        ("v1.20.5", refused_before_1_28),
        ("v1.27.3", refused_before_1_28),
        ("v1.28.1", refused_since),
    ):
        flag = rules_for(version).jose
        if refused:
            with pytest.raises(KeySetRefused):
                parse_key_set(body, flag)
        else:
            assert [k.kid for k in parse_key_set(body, flag)] == ["r", "e"]


def test_ed25519_keys_are_validated_only_from_go_jose_4_1_6() -> None:
    """Found by the jwks-idp fast oracle on v1.20.5, confirmed live: a set holding an Ed25519 key with its
    private part is taken by 1.20 (go-jose v2 copies x and d into 32-byte buffers: jwk.go edPrivateKey) and
    refused by 1.32.2 (v4.1.6 checks d's length and that d derives x). Per line: v1.30.9, v1.31.5, v1.32.2."""
    from harness.model.rules import rules_for

    okp = {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64(b"x" * 31), "d": b64(b"d" * 32)}
    body = doc(RSA.public_jwk(), okp)
    for version, validated in (("v1.20.5", False), ("v1.30.8", False), ("v1.30.9", True), ("v1.31.4", False),
                               ("v1.31.5", True), ("v1.32.1", False), ("v1.32.2", True)):  # fmt: skip
        dialect = rules_for(version).jose
        assert dialect.validates_keys is validated, version
        if validated:
            with pytest.raises(KeySetRefused):
                parse_key_set(body, dialect)
        else:
            assert [k.kid for k in parse_key_set(body, dialect)] == ["r"], version  # the OKP key is skipped
