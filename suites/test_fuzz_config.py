"""Differential fuzzing of what is server config or served to the server: permissionsRegex patterns and
JWKS documents. First against the release's own functions (the fast oracle: a pattern per example
through its claim mapper, a document per example through its key provider), then live. Servers are
started once and reused: a run draws a few patterns (one server each) and fuzzes many permission strings
against each; JWKS documents go to one server of its own, whose key source changes between examples (the
anchor key first, then the document, each awaited with a refresh)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from harness.cases.evidence import Evidence
from harness.fuzz.check import Checker, live_judge
from harness.fuzz.draw import draw_examples
from harness.fuzz.examples import Example
from harness.fuzz.fast_phase import run_fast
from harness.fuzz.runner import FuzzRun, run_property
from harness.fuzz.servers import FuzzServers
from harness.fuzz.strategies import config_values, regexes
from harness.fuzz.strategies.idp import idp_inputs
from harness.fuzz.strategies.jwks import jwks_inputs
from harness.fuzz.strategies.key_uris import LIVE_SETS, key_uri_inputs, key_uri_lists
from harness.fuzz.strategies.regexes import RegexSpec, permission_lists, regex_specs
from harness.model.features import Feature

pytestmark = pytest.mark.needs_own_server


def selected(run: FuzzRun, name: str) -> None:
    if not run.budget.selects(name):
        pytest.skip(f"fuzz class {name} not selected (--fuzz-class)")


def finished(found: Exception | None, live: Exception | None, name: str) -> None:
    """Raise what the oracle phase and the live phase found (both, where both did)."""
    failures = [f for f in (found, live) if f is not None]
    if len(failures) > 1:
        failures[0].add_note(f"fuzz {name}: the live phase disagreed too: {str(failures[1]).splitlines()[0]}")
    if failures:
        raise failures[0]


def regex_inputs(specs: list[RegexSpec]) -> st.SearchStrategy[dict[str, object]]:
    """A pattern of this run's (shrinking towards the first, the plainest) and strings against it."""
    return st.integers(0, len(specs) - 1).flatmap(
        lambda i: permission_lists(specs[i]).map(lambda p: {"regex": specs[i].pattern, "permissions": p})
    )


@pytest.mark.req("AUTHZ-FUZZ-004")
@pytest.mark.since(Feature.PERMISSIONS_REGEX)
def test_regex(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    selected(fuzz_run, "regex")
    check = Checker(fuzz_servers, fuzz_run.reports)
    # The fast oracle draws a pattern per example: it needs no server per pattern.
    found = run_fast(
        fuzz_run, "regex", regexes.regex_inputs(), fuzz_servers.default_target, live_judge(check)
    )
    specs = draw_examples(regex_specs(), fuzz_run.budget.regex_count(), derandomize=fuzz_run.budget.ci)
    fuzz_run.progress(f"fuzz regex: {len(specs)} patterns: " + "  ".join(s.pattern for s in specs))
    live: Exception | None = None
    try:
        run_property(fuzz_run, "regex", regex_inputs(specs), lambda value: check(Example("regex", value)))
    except Exception as exc:
        live = exc
    evidence.extra["fuzz"] = fuzz_run.stats["regex"].as_dict()
    evidence.extra["patterns"] = [s.pattern for s in specs]
    finished(found, live, "regex")


@pytest.mark.req("AUTHZ-FUZZ-005")
def test_jwks(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    selected(fuzz_run, "jwks")
    check = Checker(fuzz_servers, fuzz_run.reports)
    found = run_fast(fuzz_run, "jwks", jwks_inputs(), fuzz_servers.default_target, live_judge(check))
    live: Exception | None = None
    try:
        run_property(fuzz_run, "jwks", jwks_inputs(), lambda value: check(Example("jwks", value)))
    except Exception as exc:
        live = exc
    evidence.extra["fuzz"] = fuzz_run.stats["jwks"].as_dict()
    finished(found, live, "jwks")


@pytest.mark.req("AUTHZ-FUZZ-005")
def test_jwks_idp(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    selected(fuzz_run, "jwks-idp")
    check = Checker(fuzz_servers, fuzz_run.reports)
    found = run_fast(fuzz_run, "jwks-idp", idp_inputs(), fuzz_servers.default_target, live_judge(check))
    live: Exception | None = None
    try:
        run_property(fuzz_run, "jwks-idp", idp_inputs(), lambda value: check(Example("jwks-idp", value)))
    except Exception as exc:
        live = exc
    evidence.extra["fuzz"] = fuzz_run.stats["jwks-idp"].as_dict()
    finished(found, live, "jwks-idp")


def config_class(name: str, run: FuzzRun, servers: FuzzServers, evidence: Evidence) -> None:
    """A config value class: the fast oracle draws a value per example; the live phase draws a few values
    (a server each) and many inputs against them."""
    selected(run, name)
    check = Checker(servers, run.reports)
    found = run_fast(run, name, FAST_INPUTS[name](), servers.default_target, live_judge(check))
    values = draw_examples(
        config_values.values_of(name), run.budget.config_count(name), derandomize=run.budget.ci
    )
    run.progress(f"fuzz {name}: {len(values)} values live: " + "  ".join(map(repr, values)))
    live: Exception | None = None
    try:
        strategy = config_values.live_inputs(name, values)
        run_property(run, name, strategy, lambda value: check(Example(name, value)))
    except Exception as exc:
        live = exc
    evidence.extra["fuzz"] = run.stats[name].as_dict()
    evidence.extra["values"] = values
    finished(found, live, name)


FAST_INPUTS = {
    "allowed-hosts": config_values.allowed_hosts_inputs,
    "audience": config_values.audience_inputs,
    "header-name": config_values.header_name_inputs,
}


@pytest.mark.req("AUTHZ-HTTP-005")
@pytest.mark.since(Feature.ALLOWED_HOSTS_CONVERTED)
def test_allowed_hosts(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    config_class("allowed-hosts", fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-CONFIG-005")
@pytest.mark.since(Feature.AUDIENCE)
def test_audience(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    config_class("audience", fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-CONFIG-006")
@pytest.mark.since(Feature.ORACLE_HEADER_LOOKUP)
def test_header_name(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    config_class("header-name", fuzz_run, fuzz_servers, evidence)


@pytest.mark.req("AUTHZ-FUZZ-007")
def test_key_source_uris(fuzz_run: FuzzRun, fuzz_servers: FuzzServers, evidence: Evidence) -> None:
    """keySourceURIs spellings: the fast oracle draws a set per example; the live phase draws a few sets (a
    server each: the URIs are read when it starts) and sends both tokens to each."""
    name = "key-source-uris"
    selected(fuzz_run, name)
    check = Checker(fuzz_servers, fuzz_run.reports)
    found = run_fast(fuzz_run, name, key_uri_inputs(), fuzz_servers.default_target, live_judge(check))
    drawn = draw_examples(key_uri_lists(), fuzz_run.budget.config_count(name), derandomize=fuzz_run.budget.ci)
    sets = [*LIVE_SETS, *(s for s in drawn if s not in LIVE_SETS)]  # a server each
    fuzz_run.progress(f"fuzz {name}: {len(sets)} sets live: " + "  ".join(map(repr, sets)))
    live: Exception | None = None
    try:
        strategy = st.integers(0, len(sets) - 1).map(lambda i: {"uris": sets[i]})  # shrinks to the first
        run_property(fuzz_run, name, strategy, lambda value: check(Example(name, value)))
    except Exception as exc:
        live = exc
    evidence.extra["fuzz"] = fuzz_run.stats[name].as_dict()
    evidence.extra["values"] = sets
    finished(found, live, name)
