"""Differential fuzzing on the default server: claim payloads, the token's bytes, and namespace and role
strings. Each class runs twice: against the release's own functions (the fast oracle: its claim mapper,
golang-jwt and authorizer, built from the release's module; hundreds of examples a second), then, at a
lower rate, against the live server. For every example the decisions of the sample's calls
(harness.fuzz.calls) must equal the model's. A disagreement is shrunk by hypothesis (against the oracle
alone where the oracle found it, then replayed on the live server, the judge); its report prints the
minimal input, the call, what each side said and a command that replays it on a fresh server (its case
file is in reports/fuzz/). Budget: the CI profile by default, `--fuzz-minutes N` for long runs."""

from __future__ import annotations

import pytest

from harness.cases.evidence import Evidence
from harness.fuzz.http_exercise import no_plaintext_http
from harness.fuzz.phases import fuzz_class
from harness.fuzz.runner import FuzzRun
from harness.fuzz.servers import FuzzServers
from harness.fuzz.strategies import names
from harness.fuzz.strategies.claims import claim_inputs
from harness.fuzz.strategies.http_headers import http_header_inputs
from harness.fuzz.strategies.sizes import sizes_inputs
from harness.fuzz.strategies.token_bytes import token_byte_inputs
from harness.model.features import Feature
from harness.tokens.mint import UNBOUNDED_ON_TARGET


@pytest.mark.req("AUTHZ-FUZZ-001")
def test_claims(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("claims"):
        pytest.skip("fuzz class claims not selected (--fuzz-class)")
    fuzz_class("claims", claim_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-002")
@pytest.mark.own_server_only(f"token bytes: {UNBOUNDED_ON_TARGET}")
def test_token_bytes(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("token-bytes"):
        pytest.skip("fuzz class token-bytes not selected (--fuzz-class)")
    fuzz_class("token-bytes", token_byte_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-003")
def test_names(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("names"):
        pytest.skip("fuzz class names not selected (--fuzz-class)")
    strategy = names.permission_lists().map(lambda permissions: {"permissions": permissions})
    fuzz_class("names", strategy, fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-002")
@pytest.mark.own_server_only(f"sizes: {UNBOUNDED_ON_TARGET}")
def test_sizes(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("sizes"):
        pytest.skip("fuzz class sizes not selected (--fuzz-class)")
    fuzz_class("sizes", sizes_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-HTTP-002")
@pytest.mark.since(Feature.ORACLE_HEADER_LOOKUP)
def test_http_headers(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("http-headers"):
        pytest.skip("fuzz class http-headers not selected (--fuzz-class)")
    if why := no_plaintext_http(fuzz_servers.default):
        pytest.skip(why)
    fuzz_class("http-headers", http_header_inputs(), fuzz_run, fuzz_servers, evidence)
