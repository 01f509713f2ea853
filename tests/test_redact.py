"""Free text (tracebacks) keeps a token's header and claims, never its signature."""

from __future__ import annotations

from harness.tokens.keys import rsa_key
from harness.tokens.mint import TokenSpec, mint
from harness.tokens.redact import redact_tokens


def test_a_whole_token_keeps_header_and_claims_only() -> None:
    token = mint(TokenSpec(permissions=["ns:read"]), rsa_key(kid="unit")).token
    header, claims, signature = token.split(".")
    text = redact_tokens(f"metadata = {{'authorization': 'Bearer {token}'}}")
    assert signature not in text and f"{header}.{claims}.<signature redacted>" in text


def test_a_token_pytest_cut_short_loses_its_tail() -> None:
    # pytest's repr cuts long values with "..." in the middle: the signature's tail must still go.
    cut = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjb25mb3JtYW5jZS1h...MeZMeWG-9bYd9d98WA02dd8t0Sv_AANG2NCrZ1"
    text = redact_tokens(f"{{'authorization': '{cut}'}}")
    assert "MeZMeWG" not in text and "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjb25mb3JtYW5jZS1h" in text


def test_a_bearer_value_that_is_not_a_jwt_is_redacted_and_plain_text_is_left_alone() -> None:
    assert redact_tokens("Bearer abc.def-ghijklmnopqrstu") == "Bearer <redacted>"
    assert redact_tokens("expected DENIED, observed ALLOWED") == "expected DENIED, observed ALLOWED"


def test_redacting_twice_changes_nothing() -> None:
    once = redact_tokens("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ")
    assert redact_tokens(once) == once == "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.<signature redacted>"
