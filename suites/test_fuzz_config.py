"""Differential fuzzing of what is server config or served to the server: permissionsRegex patterns and
JWKS documents. Servers are started once and reused: a run draws a few patterns (one server each) and
fuzzes many permission strings against each; JWKS documents go to one server of its own, whose key
source changes between examples (the anchor key first, then the document, each awaited with a refresh)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from harness.cases.evidence import Evidence
from harness.fuzz.check import Checker
from harness.fuzz.draw import draw_examples
from harness.fuzz.examples import Example
from harness.fuzz.runner import FuzzRun, run_property
from harness.fuzz.servers import FuzzServers
from harness.fuzz.strategies.jwks import jwks_inputs
from harness.fuzz.strategies.regexes import RegexSpec, permission_lists, regex_specs

pytestmark = pytest.mark.needs_own_server


def selected(run: FuzzRun, name: str) -> None:
    if not run.budget.selects(name):
        pytest.skip(f"fuzz class {name} not selected (--fuzz-class)")


def regex_inputs(specs: list[RegexSpec]) -> st.SearchStrategy[dict[str, object]]:
    """A pattern of this run's (shrinking towards the first, the plainest) and strings against it."""
    return st.integers(0, len(specs) - 1).flatmap(
        lambda i: permission_lists(specs[i]).map(lambda p: {"regex": specs[i].pattern, "permissions": p})
    )


@pytest.mark.req("AUTHZ-FUZZ-004")
@pytest.mark.since((1, 29, 0), "permissionsRegex")
def test_regex(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    selected(fuzz_run, "regex")
    specs = draw_examples(regex_specs(), fuzz_run.budget.regex_count(), derandomize=fuzz_run.budget.ci)
    fuzz_run.progress(f"fuzz regex: {len(specs)} patterns: " + "  ".join(s.pattern for s in specs))
    check = Checker(fuzz_servers, fuzz_run.reports)
    run_property(fuzz_run, "regex", regex_inputs(specs), lambda value: check(Example("regex", value)))
    evidence.extra["fuzz"] = fuzz_run.stats["regex"].as_dict()
    evidence.extra["patterns"] = [s.pattern for s in specs]


@pytest.mark.req("AUTHZ-FUZZ-005")
def test_jwks(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    selected(fuzz_run, "jwks")
    check = Checker(fuzz_servers, fuzz_run.reports)
    run_property(fuzz_run, "jwks", jwks_inputs(), lambda value: check(Example("jwks", value)))
    evidence.extra["fuzz"] = fuzz_run.stats["jwks"].as_dict()
