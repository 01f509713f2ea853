"""`temporal-authz explain` without a server: the samples-go sample's tokens, a Keycloak-shaped token,
and tokens the server refuses, each naming the check that refuses it. The token itself is never printed."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.tokens import forge
from harness.tokens.keys import SigningKey, ec_key, rsa_key
from harness.tokens.mint import MintedToken, TokenSpec, mint

EC = ec_key(kid="sample-key")  # the sample signs ES256 with its own key
RSA = rsa_key(kid="kc-key")
KEYCLOAK = {
    "iss": "https://keycloak.example/realms/temporal",
    "aud": ["temporal", "account"],
    "azp": "temporal-worker",
    "preferred_username": "service-account-temporal-worker",
    "resource_access": {"temporal-worker": {"roles": ["orders:worker", "orders:write"]}},
}


def explain(capsys: pytest.CaptureFixture[str], token: MintedToken | str, *args: str) -> tuple[int, str]:
    text = token if isinstance(token, str) else token.token
    status = main(["explain", "--token", text, *args])
    out = capsys.readouterr()
    printed = out.out + out.err
    signature = text.rsplit(".", 1)[-1]
    assert text not in printed and (len(signature) < 8 or signature not in printed), "the token was printed"
    return status, printed


def sample(permissions: list[str], **spec: Any) -> MintedToken:
    return mint(TokenSpec(permissions=permissions, **spec), EC)


def test_the_samples_worker_token(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = explain(capsys, sample(["default:read", "default:write"], sub="sample-worker"))
    assert status == 0
    assert '"sub": "sample-worker"' in out and '"alg": "ES256"' in out
    assert "signature    NOT checked: no keys given" in out
    assert "verdict: the server accepts this token" in out
    assert "  namespace `default`: writer|reader (6)" in out
    assert "  poll               ALLOWED   18/18  system|namespace 'default' role 6 >= WRITER (4)" in out
    assert "  namespace-admin    DENIED      0/6  system|namespace 'default' role 6 < ADMIN (8)" in out
    assert "  cluster-read       DENIED      0/3  system role 0 < READER (2)" in out


def test_the_samples_admin_token_and_its_pre_2024_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = explain(capsys, sample(["temporal-system:admin"], sub="sample-admin"))
    assert "  system role: admin" in out
    assert "  cluster-admin      ALLOWED     8/8  system role 8 >= ADMIN (8)" in out
    _, old = explain(capsys, sample(["system:admin"], sub="sample-admin"))
    assert "  system role: none" in old and "  namespace `system`: admin (8)" in old
    assert "not the system scope: that is `temporal-system`, matched exactly" in old
    assert "  cluster-read       DENIED      0/3  system role 0 < READER (2)" in old


def test_a_keycloak_token_with_nested_client_roles(capsys: pytest.CaptureFixture[str]) -> None:
    token = mint(TokenSpec(permissions=None, sub="sa", extra=KEYCLOAK), RSA)
    status, out = explain(capsys, token)
    assert status == 0
    assert "warn  permissions  the token has no top-level `permissions` claim" in out
    assert (
        "`orders:worker`, `orders:write` sit nested at `resource_access.temporal-worker.roles`, which the server "
        "never reads (nested claims are out of scope): map them to a top-level `permissions` claim"
    ) in out
    assert "API groups: every group is DENIED in every namespace (the token carries no role)" in out
    mapped = mint(TokenSpec(permissions=["orders:worker", "orders:write"], sub="sa", extra=KEYCLOAK), RSA)
    _, out = explain(capsys, mapped, "--audience", "temporal")
    assert "`orders:worker` grants nothing (worker=1 is below reader=2)" in out
    assert "ok    aud          ['temporal', 'account'] contains 'temporal'" in out
    assert "  poll               ALLOWED   18/18" in out and "nested" not in out


def refused_at(out: str, check: str) -> bool:
    return f"verdict: the server REFUSES this token at its `{check}` check (" in out


@pytest.mark.parametrize(
    ("make", "args", "check", "line"),
    [
        (
            lambda: sample(["default:write"], exp_in=-7200, iat_in=-9000),
            (),
            "exp",
            "FAIL  exp          expired ",
        ),
        (lambda: sample(["default:write"], nbf_in=600), (), "nbf", "FAIL  nbf          not valid yet: "),
        (
            lambda: forge.hs256_with_public_key(RSA, TokenSpec(permissions=["default:write"])),
            (),
            "alg",
            "FAIL  alg          'HS256' is not accepted",
        ),
        (
            lambda: forge.alg_none(RSA, TokenSpec(permissions=["default:write"])),
            (),
            "alg",
            "FAIL  alg          'none' is not accepted",
        ),
        (
            lambda: forge.with_kid(RSA, TokenSpec(permissions=["default:write"]), None),
            (),
            "kid",
            "FAIL  kid          missing",
        ),
        (lambda: sample(["default:write"], omit_sub=True), (), "sub", "FAIL  sub          missing"),
        (
            lambda: sample(["default:write"], aud="other-app"),
            ("--audience", "temporal"),
            "aud",
            "FAIL  aud          'other-app' does not contain 'temporal'",
        ),
    ],
    ids=["expired", "not-yet-valid", "hs256", "alg-none", "no-kid", "no-sub", "wrong-aud"],
)
def test_a_refused_token_names_the_refusing_check(
    capsys: pytest.CaptureFixture[str], make: Any, args: tuple[str, ...], check: str, line: str
) -> None:
    _, out = explain(capsys, make(), *args)
    assert refused_at(out, check), out
    assert line in out
    assert "API groups: every call is DENIED (the token itself is refused)" in out


def jwks_file(tmp_path: Path, *keys: SigningKey) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [k.public_jwk() for k in keys]}))
    return str(path)


def test_with_a_jwks_the_kid_and_signature_are_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    jwks = jwks_file(tmp_path, RSA)
    _, good = explain(capsys, mint(TokenSpec(permissions=["orders:write"]), RSA), "--jwks", jwks)
    assert "ok    signature    kid 'kc-key' found in" in good and "the signature verifies with it" in good
    impostor = rsa_key(kid="kc-key")  # the same kid, another key: a wrongly signed token
    _, wrong = explain(capsys, mint(TokenSpec(permissions=["orders:write"]), impostor), "--jwks", jwks)
    assert "but the signature does not verify with it" in wrong and refused_at(wrong, "signature")
    _, unknown = explain(capsys, mint(TokenSpec(permissions=["orders:write"]), EC), "--jwks", jwks)
    assert "kid 'sample-key' (EC) is not in" in unknown and refused_at(unknown, "kid")


def test_claims_with_a_profiles_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = Path(__file__).resolve().parent.parent / "fixtures" / "profiles" / "entra-id-app-roles.yaml"
    claims = {"sub": "app", "aud": "api://temporal-prod", "roles": ["Temporal.payments.Read", "Everyone"]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(claims)))
    assert main(["explain", "--claims", "-", "--profile", str(profile)]) == 0
    out = capsys.readouterr().out
    assert "claims only (--claims)" in out and "header:" not in out
    assert "entries are read with permissionsRegex" in out
    assert "`Everyone` is ignored: it does not match permissionsRegex" in out
    assert "API groups in namespace `payments`" in out and "API groups in namespace `ledger`" in out
    assert "  read               ALLOWED   46/46" in out


def test_bad_input_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--token", "not-a-token"]) == 4
    assert (
        capsys.readouterr().err
        == "error: not a JWT: 1 dot-separated segments, a JWT has 3 (header.claims.signature)\n"
    )
