"""Verdicts mean what they say: FAIL for every way a server can fall short of a requirement, HARNESS_ERROR
only when the harness broke, and a finding confirmed only when this run's tests passed and observed it."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import asyncio
import pytest
from temporalio.service import RPCError, RPCStatusCode
from harness.cases.evidence import check
from harness.errors import HarnessError
from harness.jwks.fixture import JwksServer
from harness.wait import until_async

async def never():
    return False

@pytest.mark.req("AUTHZ-JWKS-001")
def test_server_never_did_it(evidence):
    asyncio.run(until_async(never, deadline=0.2, what="the key that never starts working"))

@pytest.mark.req("AUTHZ-JWKS-002")
def test_server_never_refreshed(evidence):
    with JwksServer() as jwks:
        jwks.wait_for_fetches(1, after=0.0, deadline=0.2)

@pytest.mark.req("AUTHZ-JWKS-003")
def test_unexpected_status(evidence):
    raise RPCError("boom", RPCStatusCode.INTERNAL, b"")

@pytest.mark.req("AUTHZ-JWKS-004")
def test_harness_broke(evidence):
    raise HarnessError("the fixture could not start")

@pytest.mark.req("AUTHZ-JWKS-005")
def test_programming_error(evidence):
    {}["missing"]

@pytest.mark.req("AUTHZ-JWKS-006")
def test_chained(evidence):
    try:
        raise TimeoutError("the workflow never finished")
    except TimeoutError as exc:
        raise RuntimeError("wrapped by the SDK") from exc
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["harness.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    return pytester


def verdicts(suite: pytest.Pytester) -> dict[str, str]:
    data = json.loads((suite.path / "out" / "conformance.json").read_text())
    return {t["nodeid"].split("::")[1]: t["verdict"] for t in data["tests"]}


def test_server_deviations_fail_and_harness_breakage_does_not(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_suite=SUITE)
    suite.runpytest("--reports-dir", "out", "-p", "no:cacheprovider")
    assert verdicts(suite) == {
        "test_server_never_did_it": "FAIL",  # a wait for server behaviour past its deadline
        "test_server_never_refreshed": "FAIL",  # a JWKS refresh that never came
        "test_unexpected_status": "FAIL",  # an RPC error the requirement did not allow
        "test_harness_broke": "HARNESS_ERROR",
        "test_programming_error": "HARNESS_ERROR",
        "test_chained": "FAIL",  # a server timeout wrapped in another exception is still the server's
    }


FINDINGS = """
import pytest
from harness.cases.evidence import check

@pytest.mark.req("AUTHZ-TOKEN-004")
def test_holds(evidence):
    evidence.finding_holds = True

@pytest.mark.req("AUTHZ-TOKEN-004")
def test_fails(evidence):
    evidence.finding_holds = True
    evidence.expected, evidence.observed = "ALLOWED", "DENIED"
    check(evidence, "AUTHZ-TOKEN-004")

@pytest.mark.req("AUTHZ-TOKEN-010")
def test_doc_is_right_here(evidence):
    evidence.finding_holds = False

@pytest.mark.req("AUTHZ-JWT-014")
def test_confirmed(evidence):
    evidence.finding_holds = True

@pytest.mark.req("AUTHZ-JWT-003")
def test_silent(evidence):
    pass
"""


def test_findings_come_from_this_runs_observations(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_findings=FINDINGS)
    result = suite.runpytest("--reports-dir", "out", "-p", "no:cacheprovider")
    data = json.loads((suite.path / "out" / "conformance.json").read_text())
    status = {f["requirement"]: f for f in data["findings"]}
    assert status["AUTHZ-TOKEN-004"]["status"] == "not confirmed"  # one of its tests failed
    assert any("test_fails: FAIL" in why for why in status["AUTHZ-TOKEN-004"]["why"])
    assert status["AUTHZ-TOKEN-010"]["status"] == "refuted"  # the server agreed with the doc
    assert status["AUTHZ-JWT-014"]["status"] == "confirmed"
    assert status["AUTHZ-JWT-003"]["status"] == "not confirmed"  # nothing observed about it
    result.stdout.fnmatch_lines(["*FINDING AUTHZ-JWT-014*", "*finding AUTHZ-TOKEN-004 not confirmed*"])
    assert "FINDING AUTHZ-TOKEN-010" not in result.stdout.str()
