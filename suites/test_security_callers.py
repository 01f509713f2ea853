"""SEC-P1 and SEC-P3 beyond the grid, and the replication stream (CVE-2026-5724): a caller without a token,
a tenant, and tokens the claim mapper must refuse (each carrying system-admin claims, so an accepted one
could do anything) get nothing. Read from what the server answered, never from the model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.cases.evidence import Evidence
from harness.scripts.callers import REPLICATION, calls_everywhere, opened, replication_stream
from harness.security.checks import REFUSED, hold
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens import forge
from harness.tokens.keys import rsa_key
from harness.tokens.mint import MintedToken, TokenSpec, mint
from harness.types import Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

A = SUITE_NAMESPACE
UNTRUSTED = rsa_key(kid="harness-rsa")  # the trusted key's kid, a key the server never saw


@pytest.mark.prop("SEC-P1", "replication-stream")
async def test_anonymous_caller_opens_no_replication_stream(target: Target, evidence: Evidence) -> None:
    observed = await replication_stream(target, None)
    if observed.outcome is Outcome.ABSENT:
        pytest.skip("this release serves no replication stream on its frontend")
    evidence.api, evidence.surface, evidence.claims = REPLICATION.full_method, "stream", {"token": None}
    evidence.status, evidence.message = observed.status, observed.message
    hold(evidence, "SEC-P1/replication-stream", opened(observed), 1, "anonymous stream opening")


@pytest.mark.prop("SEC-P2", "replication-stream")
async def test_tenant_opens_no_replication_stream(target: Target, evidence: Evidence) -> None:
    """A namespace admin of A is a tenant: the stream carries every replicated namespace's history."""
    token = target.mint([f"{A}:admin"], sub="tenant-of-a")
    observed = await replication_stream(target, token)
    if observed.outcome is Outcome.ABSENT:
        pytest.skip("this release serves no replication stream on its frontend")
    evidence.api, evidence.surface, evidence.claims = REPLICATION.full_method, "stream", token.evidence()
    evidence.status, evidence.message = observed.status, observed.message
    hold(evidence, "SEC-P2/replication-stream", opened(observed), 1, "stream opening by a tenant")


def _admin_spec(target: Target, **times: Any) -> TokenSpec:
    """A token spec (data): system-admin claims, with these times."""
    return TokenSpec(
        permissions=[f"{target.system_scope}:admin"],
        claim_name=target.auth_config.permissions_claim_name,
        **times,
    )


# Tokens no release may read as their claims: each carries system-admin claims.
REFUSED_TOKENS: dict[str, Callable[[Target], MintedToken]] = {
    "expired": lambda t: mint(_admin_spec(t, exp_in=-120), t.key_of("RSA")),
    "not-yet-valid": lambda t: mint(_admin_spec(t, nbf_in=3600), t.key_of("RSA")),
    "untrusted-key-trusted-kid": lambda t: mint(_admin_spec(t), UNTRUSTED),
    "alg-none": lambda t: forge.alg_none(t.key_of("RSA"), _admin_spec(t)),
    "hs256-keyed-with-the-public-key": lambda t: forge.hs256_with_public_key(t.key_of("RSA"), _admin_spec(t)),
    "unknown-kid": lambda t: forge.with_kid(t.key_of("RSA"), _admin_spec(t), "no-such-kid"),
    "tampered-claims": lambda t: forge.tampered_payload(
        mint(TokenSpec(permissions=[f"{A}:read"]), t.key_of("RSA")),
        {"permissions": [f"{t.system_scope}:admin"]},
    ),
    "zero-ecdsa-signature": lambda t: forge.zero_ecdsa_signature(t.key_of("EC"), _admin_spec(t)),
}


@pytest.mark.prop("SEC-P3", "refused-tokens")
@pytest.mark.parametrize("shape", sorted(REFUSED_TOKENS))
async def test_a_refused_token_acts_nowhere(shape: str, target: Target, evidence: Evidence) -> None:
    if not target.controls_jwks:
        pytest.skip("needs the harness's own signing keys (a trusted key to forge beside)")
    token = REFUSED_TOKENS[shape](target)
    observed = await calls_everywhere(target, token, A)
    violations = [
        f"{call}: {o.outcome.value} {o.status} {o.message[:120]!r}"
        for call, o in observed.items()
        if o.outcome not in REFUSED and o.outcome is not Outcome.ERROR
    ]
    evidence.api, evidence.namespace, evidence.claims = ", ".join(observed), A, token.evidence()
    evidence.extra["answers"] = {call: f"{o.outcome.value} {o.status}" for call, o in observed.items()}
    unanswered = [call for call, o in observed.items() if o.outcome is Outcome.ERROR]
    if unanswered and not violations:
        pytest.fail(f"no answer to {unanswered}: nothing shown about these calls")
    hold(
        evidence,
        "SEC-P3/refused-tokens",
        violations,
        len(observed),
        f"calls with a {shape} system-admin token",
    )
