"""The model of Nexus async completions over HTTP, per era: which namespace is authorized, and what a
completion sent to another namespace's path gets (seen live on 1.28.1, 1.29.1 and 1.32.2)."""

from __future__ import annotations

import time

import pytest

from harness.api_tables import load_table
from harness.cases.ask import NexusQuestion, ServerFacts, Window
from harness.jwks.timeline import StaticKeys
from harness.model import AuthConfig
from harness.model.nexus import COMPLETE_NEXUS_OPERATION
from harness.tokens.keys import rsa_key
from harness.tokens.mint import TokenSpec, mint
from harness.types import Outcome, ServerVersion

KEY = rsa_key(kid="unit")
TOKEN_NS, PATH_NS = "payments", "orders"


def completion(version: str, permissions: list[str], path: str | None) -> NexusQuestion:
    facts = ServerFacts(
        ServerVersion.parse(version), load_table(version), AuthConfig(), StaticKeys((KEY.published(),))
    )
    token = mint(TokenSpec(permissions=permissions), KEY)
    now = time.monotonic()
    return NexusQuestion(
        facts,
        (("Authorization", f"Bearer {token.token}"),),
        token.signed_by,
        COMPLETE_NEXUS_OPERATION,
        TOKEN_NS,
        "",
        Window(now, now, time.time(), time.time()),
        path_namespace=path,
    )


@pytest.mark.parametrize("version", ["v1.28.1", "v1.29.1"])
def test_before_1_30_the_path_is_authorized_then_the_token_must_name_it(version: str) -> None:
    # A system admin passes the path's authorization, then the callback token's namespace differs: 400.
    assert completion(version, ["temporal-system:admin"], PATH_NS).answer().value == Outcome.REFUSED
    # A writer of the token's namespace only is denied on the path's namespace first.
    assert completion(version, [f"{TOKEN_NS}:write"], PATH_NS).answer().value == Outcome.DENIED
    # A writer of the path's namespace only passes authorization there, and is refused by the check.
    assert completion(version, [f"{PATH_NS}:write"], PATH_NS).answer().value == Outcome.REFUSED
    assert completion(version, [f"{TOKEN_NS}:write"], TOKEN_NS).answer().value == Outcome.ALLOWED
    assert completion(version, [f"{TOKEN_NS}:write"], None).answer().value == Outcome.ABSENT


def test_from_1_30_the_mismatch_is_refused_before_the_token_is_read() -> None:
    assert completion("v1.32.2", [], PATH_NS).answer().value == Outcome.REFUSED
    assert completion("v1.32.2", [f"{TOKEN_NS}:write"], None).answer().value == Outcome.ALLOWED
    assert completion("v1.32.2", [f"{PATH_NS}:write"], None).answer().value == Outcome.DENIED
