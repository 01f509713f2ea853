"""A fuzz class run as its suite test runs it: the oracle phase (the release's own functions), then the
live phase, the class's figures put in the evidence, and what either phase found raised. The suites
(suites/test_fuzz*.py) only say which class, with which inputs; whether the class is selected
(--fuzz-class) is the suite's to skip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from harness.cases.evidence import Evidence
from harness.fuzz.check import Checker, live_judge
from harness.fuzz.draw import draw_examples
from harness.fuzz.examples import Example
from harness.fuzz.fast_phase import run_fast
from harness.fuzz.fast_rotation import rotation, rotation_judge, rotation_runs
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.rotation import ROTATION_STEPS, Rotation, RotationMachine
from harness.fuzz.runner import FuzzRun, run_machine, run_property
from harness.fuzz.servers import FuzzServers
from harness.fuzz.strategies import config_values, regexes
from harness.fuzz.strategies.key_uris import LIVE_SETS, key_uri_inputs, key_uri_lists
from harness.fuzz.strategies.regexes import RegexSpec, permission_lists, regex_specs

# The oracle phase's inputs of each config class: a value per example (the live phase draws a few values,
# a server each, and many inputs against them: config_values.live_inputs).
CONFIG_FAST_INPUTS: dict[str, Callable[[], st.SearchStrategy[dict[str, Any]]]] = {
    "allowed-hosts": config_values.allowed_hosts_inputs,
    "audience": config_values.audience_inputs,
    "header-name": config_values.header_name_inputs,
}


def raise_found(name: str, failures: list[Exception]) -> None:
    """The oracle phase's disagreement (judged live), with the live phase's named in a note; else the live
    phase's."""
    if len(failures) > 1:
        failures[0].add_note(f"fuzz {name}: the live phase disagreed too: {str(failures[1]).splitlines()[0]}")
    if failures:
        raise failures[0]


def fuzz_class(
    name: str, strategy: st.SearchStrategy[Any], run: FuzzRun, servers: FuzzServers, evidence: Evidence
) -> None:
    """A class whose oracle phase and live phase draw the same inputs."""
    check = Checker(servers, run.reports)
    failures: list[Exception] = []
    found = run_fast(run, name, strategy, servers.default_target, live_judge(check))
    failures += [found] if found else []
    try:
        run_property(run, name, strategy, lambda value: check(Example(name, value)))
    except Exception as exc:
        failures.append(exc)
    finally:
        evidence.extra["fuzz"] = run.stats[name].as_dict()
    raise_found(name, failures)


def _regex_live_inputs(specs: list[RegexSpec]) -> st.SearchStrategy[dict[str, object]]:
    """A pattern of this run's (shrinking towards the first, the plainest) and strings against it."""
    return st.integers(0, len(specs) - 1).flatmap(
        lambda i: permission_lists(specs[i]).map(lambda p: {"regex": specs[i].pattern, "permissions": p})
    )


def fuzz_regex(run: FuzzRun, servers: FuzzServers, evidence: Evidence) -> None:
    """The fast oracle draws a pattern per example (it needs no server per pattern); the live phase draws a
    few patterns (a server each) and many permission strings against them."""
    check = Checker(servers, run.reports)
    found = run_fast(run, "regex", regexes.regex_inputs(), servers.default_target, live_judge(check))
    specs = draw_examples(regex_specs(), run.budget.regex_count(), derandomize=run.budget.ci)
    run.progress(f"fuzz regex: {len(specs)} patterns: " + "  ".join(s.pattern for s in specs))
    live: Exception | None = None
    try:
        run_property(run, "regex", _regex_live_inputs(specs), lambda value: check(Example("regex", value)))
    except Exception as exc:
        live = exc
    evidence.extra["fuzz"] = run.stats["regex"].as_dict()
    evidence.extra["patterns"] = [s.pattern for s in specs]
    raise_found("regex", [f for f in (found, live) if f is not None])


def fuzz_config_class(name: str, run: FuzzRun, servers: FuzzServers, evidence: Evidence) -> None:
    """A config value class: the fast oracle draws a value per example; the live phase draws a few values
    (a server each) and many inputs against them."""
    values = draw_examples(
        config_values.values_of(name), run.budget.config_count(name), derandomize=run.budget.ci
    )
    live = config_values.live_inputs(name, values)
    _fast_then_servers(name, CONFIG_FAST_INPUTS[name](), values, live, run, servers, evidence)


def fuzz_key_source_uris(run: FuzzRun, servers: FuzzServers, evidence: Evidence) -> None:
    """keySourceURIs spellings: the fast oracle draws a set per example; the live phase draws a few sets (a
    server each: the URIs are read when it starts) and sends both tokens to each."""
    name = "key-source-uris"
    drawn = draw_examples(key_uri_lists(), run.budget.config_count(name), derandomize=run.budget.ci)
    sets = [*LIVE_SETS, *(s for s in drawn if s not in LIVE_SETS)]  # a server each
    live = st.integers(0, len(sets) - 1).map(lambda i: {"uris": sets[i]})  # shrinks to the first
    _fast_then_servers(name, key_uri_inputs(), sets, live, run, servers, evidence)


def _fast_then_servers(
    name: str,
    fast: st.SearchStrategy[Any],
    values: list[Any],
    live: st.SearchStrategy[Any],
    run: FuzzRun,
    servers: FuzzServers,
    evidence: Evidence,
) -> None:
    """The fast phase over `fast`, then the live phase drawing from `live` over the few configs `values`
    (a server each); both phases' findings raised together."""
    check = Checker(servers, run.reports)
    found = run_fast(run, name, fast, servers.default_target, live_judge(check))
    run.progress(f"fuzz {name}: {len(values)} configs live: " + "  ".join(map(repr, values)))
    failed: Exception | None = None
    try:
        run_property(run, name, live, lambda value: check(Example(name, value)))
    except Exception as exc:
        failed = exc
    evidence.extra["fuzz"] = run.stats[name].as_dict()
    evidence.extra["values"] = values
    raise_found(name, [f for f in (found, failed) if f is not None])


def fuzz_rotation(run: FuzzRun, servers: FuzzServers, evidence: Evidence) -> None:
    """Runs of the rotation steps against the release's key provider, each disagreement replayed on a
    server of its own; then the state machine against that server."""
    own = BACKGROUND.run(servers.own_key_source("rotation"))
    judge = rotation_judge(own, run.reports)
    found = run_fast(run, "rotation", rotation_runs(), servers.default_target, judge,
                     recipes={"rotation": rotation})  # fmt: skip
    try:
        run_machine(run, "rotation", RotationMachine,
                    lambda step: Rotation(own, run.reports, on_step=step), ROTATION_STEPS, evidence.extra)  # fmt: skip
    except Exception as exc:
        if found:
            found.add_note(f"fuzz rotation: the live phase disagreed too: {str(exc).splitlines()[0]}")
            raise found from None
        raise
    if found:
        raise found
