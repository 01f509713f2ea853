"""Model mutants: each applies one mistake and reverts cleanly; the replay kills a mutant exactly when an
observation disagrees with it; and a live run with one mutant fails where the replay said it would."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import inspect
import json
import pkgutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.api_tables import load_table
from harness.cases.ask import Asked, CallQuestion, ServerFacts, Window
from harness.jwks.timeline import StaticKeys
from harness.model import AuthConfig, Credential
from harness.mutants import MUTANTS, apply, asks_the_model, other_line_table
from harness.report.mutants import replay
from harness.report.recorder import CaseRecord
from harness.tokens.keys import rsa_key
from harness.tokens.mint import TokenSpec, mint
from harness.tokens.presentation import DEFAULT
from harness.types import CallTarget, Outcome, ServerVersion, Verdict
from tests.runs import run_pytest

KEY = rsa_key(kid="unit")
FACTS = ServerFacts(
    ServerVersion.parse("v1.32.2"), load_table("v1.32.2"), AuthConfig(), StaticKeys((KEY.published(),))
)


def question(permissions: list[str], method: str, namespace: str = "ns") -> CallQuestion:
    token = mint(TokenSpec(permissions=permissions), KEY)
    now = time.monotonic()
    return CallQuestion(
        FACTS,
        Credential(DEFAULT.metadata(token.token, "authorization"), token.signed_by),
        CallTarget(f"/temporal.api.workflowservice.v1.WorkflowService/{method}", namespace),
        Window(now, now, time.time(), time.time()),
    )


def test_there_are_at_least_twenty_mutants_across_the_model() -> None:
    assert len(MUTANTS) >= 20
    assert {m.area for m in MUTANTS.values()} >= {
        "claim mapper",
        "authorizer",
        "api table",
        "key provider",
        "era",
    }


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_reverts_cleanly(name: str) -> None:
    q = question(["ns:read", "ns:worker"], "DescribeNamespace")
    before = q.answer()
    with apply(name):
        q.answer()  # whatever the mutant says
    assert q.answer() == before


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_replacement_takes_what_the_original_takes(name: str) -> None:
    """A replacement callable accepts every parameter of the function it replaces (a model function that
    grows a parameter must not leave its mutant crashing the replay)."""
    for qualified, replacement in MUTANTS[name].patches().items():
        module_name, _, attribute = qualified.rpartition(".")
        original = getattr(importlib.import_module(f"harness.model.{module_name}"), attribute)
        if not (inspect.isfunction(original) and inspect.isfunction(replacement)):
            continue
        params = inspect.signature(original).parameters.values()
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keywords = {p.name: None for p in params if p.kind is p.KEYWORD_ONLY}
        try:  # every argument the original can be given, all at once
            inspect.signature(replacement).bind(*positional, **keywords)
        except TypeError as exc:
            pytest.fail(f"{name}: the mutant of {qualified} cannot take {positional} {keywords}: {exc}")


@pytest.fixture(scope="module")
def every_module_that_asks_the_model() -> Iterator[list[str]]:
    """Import the whole harness and every suite, as a run does. The suites are taken out of sys.modules
    again afterwards: a later in-process pytest run (pytester) with a `suites` package of its own would
    otherwise collide with this one (seen in CI: "import file mismatch")."""
    import harness

    before = set(sys.modules)
    names = []
    suites = importlib.import_module("suites")
    for package in (harness, suites):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith("__main__"):
                continue
            importlib.import_module(info.name)
            names.append(info.name)
    yield names
    for name in set(sys.modules) - before:
        if name == "suites" or name.startswith("suites."):
            del sys.modules[name]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_reaches_every_module_that_holds_its_function(
    name: str, every_module_that_asks_the_model: list[str]
) -> None:
    """A question that imports a model function by name (harness.cases, the fuzzers, a suite) holds its
    own reference: the mutant must replace that one too, or the proof that the suite can fail has a hole."""
    loaded = every_module_that_asks_the_model
    for qualified in MUTANTS[name].patches():
        module_name, _, attribute = qualified.rpartition(".")
        original = getattr(importlib.import_module(f"harness.model.{module_name}"), attribute)
        holding = [
            (m, n)
            for m in loaded
            for n, v in vars(sys.modules[m]).items()
            if v is original and asks_the_model(m)
        ]
        assert holding, f"{name}: nothing holds {qualified}"
        with apply(name):
            missed = [f"{m}.{n}" for m, n in holding if getattr(sys.modules[m], n) is original]
        assert not missed, f"{name}: {qualified} still the model's own in {missed}"
        assert all(getattr(sys.modules[m], n) is original for m, n in holding)  # reverted


def record(nodeid: str, q: CallQuestion, observed: Outcome, verdict: Verdict = Verdict.PASS) -> CaseRecord:
    """A test's record holding one question, its answer and what the server was observed to do."""
    requirement = "AUTHZ-MATRIX-002" if verdict is Verdict.FAIL else "AUTHZ-MATRIX-001"
    return CaseRecord(nodeid, requirement, verdict, 0.0, asked=[Asked(q, q.answer(), observed)])


def deep_question(depth: int = 5000) -> CallQuestion:
    """A token whose permissions claim is nested deeper than Python recurses (the fuzz cases have such)."""
    token = mint(TokenSpec(permissions=["ns:read"]), KEY)
    header, _payload, signature = token.token.split(".")
    deep = base64.urlsafe_b64encode(
        ('{"sub":"x","permissions":' + "[" * depth + "]" * depth + "}").encode()
    ).rstrip(b"=")
    now = time.monotonic()
    return CallQuestion(
        FACTS,
        Credential(
            DEFAULT.metadata(f"{header}.{deep.decode()}.{signature}", "authorization"), token.signed_by
        ),
        CallTarget("/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace", "ns"),
        Window(now, now, time.time(), time.time()),
    )


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_answers_a_token_nested_past_python_recursion(name: str) -> None:
    """Seen in CI: first-duplicate-key-wins read JSON with the recursive decoder and its RecursionError on
    a fuzz case ended the shard's report. The model answers such a token; so must every mutant."""
    q = deep_question()
    q.answer()
    with apply(name):
        q.answer()


def test_a_mutant_that_raises_is_reported_not_the_end_of_the_run() -> None:
    reader = question(["ns:read"], "DescribeNamespace")
    records = [record("t::reader", reader, Outcome.ALLOWED)]
    broken = {"claims.map_claims": lambda *a, **k: 1 / 0}
    original = MUTANTS["worker-is-reader"]
    MUTANTS["worker-is-reader"] = dataclasses.replace(original, patches=lambda: broken)
    try:
        result = replay(records, ["worker-is-reader"])
    finally:
        MUTANTS["worker-is-reader"] = original
    (mutant,) = result["mutants"]
    assert not mutant["killed"] and "ZeroDivisionError" in mutant["broke"] and "t::reader" in mutant["broke"]


def test_the_older_table_is_the_previous_line_of_the_servers_own() -> None:
    assert other_line_table("v1.32.2") == "v1.31.5"  # the newest 1.31 table committed
    assert other_line_table("v1.30.1").startswith("v1.29.")
    assert other_line_table("v1.22.0").startswith("v1.23.")  # no metadata table before 1.22: the next line


def test_replay_kills_only_on_a_disagreeing_observation() -> None:
    worker = question(["ns:worker"], "DescribeNamespace")
    reader = question(["ns:read"], "DescribeNamespace")
    records = [
        record("t::worker", worker, Outcome.DENIED),
        record("t::reader", reader, Outcome.ALLOWED),
        # A failing test's observations are not used: there the real model already disagreed.
        record("t::failed", worker, Outcome.ALLOWED, Verdict.FAIL),
    ]
    result = replay(records, ["worker-is-reader", "more-algorithms"])
    by_name = {m["name"]: m for m in result["mutants"]}
    assert (
        by_name["worker-is-reader"]["killed"]
        and by_name["worker-is-reader"]["killed_by"][0]["test"] == "t::worker"
    )
    assert not by_name["more-algorithms"]["killed"]  # nothing observed tells it apart
    assert result["survived"] == ["more-algorithms"] and result["questions_replayed"] == 2


def test_a_live_run_with_a_mutant_fails_where_the_replay_says(tmp_path: Path) -> None:
    """The replay stands in for one live run per mutant: check that on one mutant, against the server."""
    selection = ["suites/test_matrix.py", "-k", "test_cell and NamespaceWorkerOnDescribeNamespace"]
    live = run_pytest(
        tmp_path / "live", "-q", "--backend", "process", "--model-mutant", "worker-is-reader", *selection
    )
    assert live.returncode == 1, (live.stdout + live.stderr)[-3000:]
    assert "FAILED suites/test_matrix.py::test_cell[NamespaceWorkerOnDescribeNamespace-Own]" in live.stdout
    replayed = run_pytest(tmp_path / "replay", "-q", "--backend", "process", "--mutants", *selection)
    report = json.loads((tmp_path / "replay" / "conformance.json").read_text())
    mutant = next(m for m in report["mutants"]["mutants"] if m["name"] == "worker-is-reader")
    assert mutant["killed"] and mutant["killed_by"][0]["test"].endswith(
        "[NamespaceWorkerOnDescribeNamespace-Own]"
    )
    assert replayed.returncode == 1  # most mutants survive two cells: the run says so and fails
    assert "SURVIVED" in replayed.stdout
