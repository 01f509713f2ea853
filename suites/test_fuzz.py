"""Differential fuzzing on the default server: claim payloads, the token's bytes, and namespace and role
strings. Each class runs twice: against the release's own functions (the fast oracle: its claim mapper,
golang-jwt and authorizer, built from the release's module; hundreds of examples a second), then, at a
lower rate, against the live server. For every example the decisions of the sample's calls
(harness.fuzz.calls) must equal the model's. A disagreement is shrunk by hypothesis (against the oracle
alone where the oracle found it, then replayed on the live server, the judge); its report prints the
minimal input, the call, what each side said and a command that replays it on a fresh server (its case
file is in reports/fuzz/). Budget: the CI profile by default, `--fuzz-minutes N` for long runs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from harness.cases.evidence import Evidence
from harness.fuzz.check import Checker, live_judge
from harness.fuzz.classes import CLASSES
from harness.fuzz.examples import Example
from harness.fuzz.fast_phase import run_fast
from harness.fuzz.http_exercise import no_plaintext_http
from harness.fuzz.runner import FuzzRun, run_property
from harness.fuzz.servers import FuzzServers
from harness.fuzz.strategies import names
from harness.fuzz.strategies.claims import claim_inputs
from harness.fuzz.strategies.http_headers import http_header_inputs
from harness.fuzz.strategies.sizes import sizes_inputs
from harness.fuzz.strategies.token_bytes import token_byte_inputs
from harness.model.features import Feature
from harness.tokens.mint import UNBOUNDED_ON_TARGET


def fuzz(
    name: str, strategy: st.SearchStrategy[Any], run: FuzzRun, servers: FuzzServers, evidence: Evidence
) -> None:
    if not run.budget.selects(name):
        pytest.skip(f"fuzz class {name} not selected (--fuzz-class)")
    check = Checker(servers, run.reports)
    failures: list[Exception] = []
    if CLASSES[name].oracle:
        found = run_fast(run, name, strategy, servers.default_target, live_judge(check))
        failures += [found] if found else []
    try:
        run_property(run, name, strategy, lambda value: check(Example(name, value)))
    except Exception as exc:
        failures.append(exc)
    finally:
        evidence.extra["fuzz"] = run.stats[name].as_dict()
    raise_found(name, failures)


def raise_found(name: str, failures: list[Exception]) -> None:
    """The oracle phase's disagreement (judged live), with the live phase's named in a note; else the live
    phase's."""
    if len(failures) > 1:
        failures[0].add_note(f"fuzz {name}: the live phase disagreed too: {str(failures[1]).splitlines()[0]}")
    if failures:
        raise failures[0]


@pytest.mark.req("AUTHZ-FUZZ-001")
def test_claims(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    fuzz("claims", claim_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-002")
@pytest.mark.own_server_only(f"token bytes: {UNBOUNDED_ON_TARGET}")
def test_token_bytes(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    fuzz("token-bytes", token_byte_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-003")
def test_names(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    strategy = names.permission_lists().map(lambda permissions: {"permissions": permissions})
    fuzz("names", strategy, fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-002")
@pytest.mark.own_server_only(f"sizes: {UNBOUNDED_ON_TARGET}")
def test_sizes(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    fuzz("sizes", sizes_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-HTTP-002")
@pytest.mark.since(Feature.ORACLE_HEADER_LOOKUP)
def test_http_headers(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if why := no_plaintext_http(fuzz_servers.default):
        pytest.skip(why)
    fuzz("http-headers", http_header_inputs(), fuzz_run, fuzz_servers, evidence)
