"""Hypothesis fuzzing of claim payloads against the live server: every generated token's decisions for
the exempt, read, write, admin and cluster-read calls must equal the model's. A failure prints the
minimal payload and a @reproduce_failure blob."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cases.calls import role_calls
from harness.cases.evidence import Evidence, check
from harness.cases.runner import fill, observe
from harness.server.target import SUITE_NAMESPACE, Target
from harness.strategies import claim_payloads
from harness.tokens.mint import TokenSpec, mint
from harness.tokens.presentation import DEFAULT

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE
NOW = int(time.time())


@pytest.mark.req("AUTHZ-FUZZ-001")
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=claim_payloads(NS, NOW), data=st.data())
async def test_fuzzed_claims_match_the_model(
    target: Target, evidence: Evidence, payload: dict[str, Any], data: Any
) -> None:
    # Time claims were drawn relative to collection time; re-anchor them to now (same offsets).
    shift = int(time.time()) - NOW
    shifted = {
        k: (v + shift if k in ("exp", "nbf", "iat") and isinstance(v, int) and v else v)
        for k, v in payload.items()
    }
    spec = TokenSpec(permissions=None, exp_in=None, iat_in=None, omit_sub=True, extra=shifted)
    token = mint(spec, target.signing_key)
    calls = role_calls(NS)
    run = await observe(target, calls, token)
    evidence.asked.clear()  # hypothesis reuses the test's fixtures: keep the last example's only
    fill(evidence, run, calls, DEFAULT)
    check(evidence, "AUTHZ-FUZZ-001")
