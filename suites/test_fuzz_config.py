"""Differential fuzzing of what is server config or served to the server: permissionsRegex patterns and
JWKS documents. First against the release's own functions (the fast oracle: a pattern per example
through its claim mapper, a document per example through its key provider), then live. Servers are
started once and reused: a run draws a few patterns (one server each) and fuzzes many permission strings
against each; JWKS documents go to one server of its own, whose key source changes between examples (the
anchor key first, then the document, each awaited with a refresh)."""

from __future__ import annotations

import pytest

from harness.cases.evidence import Evidence
from harness.fuzz.phases import fuzz_class, fuzz_config_class, fuzz_key_source_uris, fuzz_regex
from harness.fuzz.runner import FuzzRun
from harness.fuzz.servers import FuzzServers
from harness.fuzz.strategies.idp import idp_inputs
from harness.fuzz.strategies.jwks import jwks_inputs
from harness.model.features import Feature

pytestmark = pytest.mark.needs_own_server


@pytest.mark.req("AUTHZ-FUZZ-004")
@pytest.mark.since(Feature.PERMISSIONS_REGEX)
def test_regex(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("regex"):
        pytest.skip("fuzz class regex not selected (--fuzz-class)")
    fuzz_regex(fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-005")
def test_jwks(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("jwks"):
        pytest.skip("fuzz class jwks not selected (--fuzz-class)")
    fuzz_class("jwks", jwks_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-005")
def test_jwks_idp(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("jwks-idp"):
        pytest.skip("fuzz class jwks-idp not selected (--fuzz-class)")
    fuzz_class("jwks-idp", idp_inputs(), fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-HTTP-005")
@pytest.mark.since(Feature.ALLOWED_HOSTS_CONVERTED)
def test_allowed_hosts(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("allowed-hosts"):
        pytest.skip("fuzz class allowed-hosts not selected (--fuzz-class)")
    fuzz_config_class("allowed-hosts", fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-CONFIG-005")
@pytest.mark.since(Feature.AUDIENCE)
def test_audience(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("audience"):
        pytest.skip("fuzz class audience not selected (--fuzz-class)")
    fuzz_config_class("audience", fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-CONFIG-006")
@pytest.mark.since(Feature.ORACLE_HEADER_LOOKUP)
def test_header_name(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("header-name"):
        pytest.skip("fuzz class header-name not selected (--fuzz-class)")
    fuzz_config_class("header-name", fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-007")
def test_key_source_uris(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    if not fuzz_run.budget.selects("key-source-uris"):
        pytest.skip("fuzz class key-source-uris not selected (--fuzz-class)")
    fuzz_key_source_uris(fuzz_run, fuzz_servers, evidence)
