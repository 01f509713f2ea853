"""The fuzzer's parts without a server: inputs are data (JSON, replayable), rendered tokens and key sets
say the truth about themselves, budgets and figures, and the committed regression cases load."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.api_tables import load_table
from harness.fuzz import calls
from harness.fuzz.classes import CLASSES, selected
from harness.fuzz.derive import (
    ABSENT,
    CI_PER_DRAWN,
    PARTS,
    PER_DRAWN,
    SEED_MAX,
    Seen,
    input_key,
    recombined,
)
from harness.fuzz.draw import draw_examples
from harness.fuzz.examples import Example, regression_files
from harness.fuzz.fast_phase import Asked
from harness.fuzz.jwks_text import KeySlots, anchor_document, document_bytes
from harness.fuzz.runner import CI_EXAMPLES, Budget, ClassStats, FuzzRun
from harness.fuzz.strategies import names
from harness.fuzz.strategies.claims import claim_inputs, render_payload
from harness.fuzz.strategies.config_values import allowed_hosts_inputs, audience_inputs, header_name_inputs
from harness.fuzz.strategies.http_headers import http_header_inputs
from harness.fuzz.strategies.idp import idp_inputs
from harness.fuzz.strategies.jwks import jwks_inputs
from harness.fuzz.strategies.key_uris import key_uri_inputs
from harness.fuzz.strategies.regexes import permission_lists, regex_inputs, regex_specs
from harness.fuzz.strategies.sizes import sizes_inputs
from harness.fuzz.strategies.token_bytes import token_byte_inputs, well_formed
from harness.fuzz.token_text import build
from harness.model import AuthConfig, Credential, KeyRing, decide, rules_for
from harness.model.keyset import parse_key_set
from harness.tokens.keys import ec_key, rsa_key
from harness.types import CallTarget, Outcome

QUICK = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
RSA, EC = rsa_key(kid="harness-rsa"), ec_key(kid="harness-ec")
KEYS = {
    "rsa": RSA,
    "ec": EC,
    "untrusted": rsa_key(kid="harness-rsa"),
    "untrusted-ec": ec_key(kid="harness-ec"),
}
RULES, TABLE = rules_for("v1.32.2"), load_table("v1.32.2")


def model_says(token: Any) -> Outcome:
    credential = Credential((("authorization", f"Bearer {token.token}"),), token.signed_by)
    target = CallTarget("/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace", names.OWN)
    return decide.expect(credential, target, rules=RULES, table=TABLE, keyring=KeyRing((RSA.published(), EC.published())),
                         config=AuthConfig(), now=int(time.time())).outcome  # fmt: skip


@QUICK
@given(
    st.one_of(
        claim_inputs().map(lambda v: Example("claims", v)),
        token_byte_inputs().map(lambda v: Example("token-bytes", v)),
        names.permission_lists().map(lambda p: Example("names", {"permissions": p})),
        jwks_inputs().map(lambda v: Example("jwks", v)),
    )
)
def test_every_input_is_json_and_survives_a_case_file(example: Example) -> None:
    again = Example.from_json(json.loads(example.text()))
    assert again.input == example.input and again.digest == example.digest


def test_a_well_formed_token_is_accepted_and_each_oddity_is_what_it_says() -> None:
    assert model_says(build(well_formed(), KEYS)) is Outcome.ALLOWED
    for signature, signed in (
        ("padded", True),
        ("trailing-bits", True),
        ("flipped", False),
        ("other-key", False),
    ):
        token = build({**well_formed(), "signature": signature}, KEYS)
        assert (token.signed_by == RSA.fingerprint) is signed
    assert build({**well_formed(), "shape": "two"}, KEYS).signed_by is None
    trailing = well_formed()
    trailing["payload"]["suffix"] = "x"
    assert model_says(build(trailing, KEYS)) is Outcome.ALLOWED  # golang-jwt reads the first value only


def test_claims_are_sent_relative_to_now_and_padded() -> None:
    data = {"payload": {"sub": "s", "permissions": ["a:read"]}, "relative": {"exp": 60},
            "padding": {"count": 3, "entry": "x:read", "at": "start"}}  # fmt: skip
    payload = render_payload(data, 1000.5)
    assert payload["exp"] == 1060 and payload["permissions"] == ["x:read"] * 3 + ["a:read"]


def test_jwks_recipes_render_over_the_key_slots() -> None:
    slots = KeySlots.generate()
    assert [k.kid for k in parse_key_set(anchor_document(slots))] == ["anchor"]
    recipe = {"document": {"members": [["keys", {"entries": [{"slot": "rsa0", "ops": [
        ["encode", "n", "leading-zero"], ["rename", "kid", "upper"]]}]}]]}}  # fmt: skip
    body = document_bytes(recipe, slots)
    assert b'"KID"' in body
    [key] = parse_key_set(body)  # go-jose matches member names exactly: "KID" is unknown, the kid empty
    assert key.kid == "" and key.fingerprint == slots.signing["rsa0"].fingerprint  # a zero byte: same n
    plain = {
        "document": {
            "members": [["keys", {"entries": [{"slot": "rsa0", "ops": [["encode", "n", "leading-zero"]]}]}]]
        }
    }
    assert parse_key_set(document_bytes(plain, slots))[0].fingerprint == slots.signing["rsa0"].fingerprint


def test_regex_strings_are_built_around_each_pattern() -> None:
    specs = draw_examples(regex_specs(), 3, derandomize=True)
    assert specs == draw_examples(regex_specs(), 3, derandomize=True)  # a CI run draws the same patterns
    assert specs[0].pattern == "(?P<namespace>[\\w-]+):(?P<role>\\w+)"  # the plainest comes first
    assert specs[0].admin_witness() == "temporal-system:admin"
    strings = draw_examples(permission_lists(specs[0]), 5, derandomize=True)
    assert all(isinstance(s, str) for batch in strings for s in batch)


def test_budgets_and_figures() -> None:
    ci, long = Budget(), Budget(minutes=12.0, classes=("claims", "regex"))
    assert ci.ci and not long.ci and long.seconds_for("claims") == 360 and long.regex_count() == 9
    run = FuzzRun(ci, reports=__import__("pathlib").Path("."), progress=lambda line: None)
    stats = run.start("claims")
    [batch] = list(run.batches("claims", stats))
    assert batch.max_examples == CI_EXAMPLES["claims"] and batch.derandomize and batch.database is None
    stats = ClassStats("rotation", examples=4, seconds=2.0, disagreements=1, steps=30)
    figures = stats.as_dict()
    assert (
        stats.rate == 2.0 and len(figures) == 5 and figures["steps"] == 30 and figures["disagreements"] == 1
    )
    assert [c.name for c in selected("regex, jwks")] == ["regex", "jwks"]
    with pytest.raises(ValueError, match="unknown fuzz class"):
        selected("nope")


def test_the_call_sample_covers_scope_and_access_on_both_namespaces() -> None:
    assert calls.LABELS == ("exempt", "own-read", "own-write", "own-admin", "other-read", "other-write",
                            "other-admin", "cluster-read", "cluster-admin")  # fmt: skip
    with pytest.raises(ValueError):
        calls.by_label(["own-read", "nope"])


def test_committed_regression_cases_load_and_say_what_was_done() -> None:
    files = regression_files()
    assert files, "fixtures/fuzz/ holds the disagreements found so far"
    for path in files:
        example = Example.load(path)
        # What was done: the model fixed, or (the model was right) the harness's side of the comparison.
        assert example.fuzz_class in CLASSES and (
            "Model fix" in example.note or "Harness fix" in example.note
        ), path.name


# -- inputs recombined from a drawn batch (harness.fuzz.derive) ---------------------------------------------

DERIVED_STRATEGIES = {
    "claims": claim_inputs(),
    "names": names.permission_lists().map(lambda permissions: {"permissions": permissions}),
    "token-bytes": token_byte_inputs(),
    "regex": regex_inputs(),
    "allowed-hosts": allowed_hosts_inputs(),
    "audience": audience_inputs(),
    "sizes": sizes_inputs(),
    "http-headers": http_header_inputs(),
    "key-source-uris": key_uri_inputs(),
    "jwks-idp": idp_inputs(),
    "jwks": jwks_inputs(),
    "header-name": header_name_inputs(),
}


def test_every_class_with_parts_has_its_strategy_here() -> None:
    assert set(PARTS) == set(DERIVED_STRATEGIES)


@pytest.mark.parametrize("name", sorted(DERIVED_STRATEGIES))
def test_an_input_s_parts_join_back_into_that_input(name: str) -> None:
    """join(split(x)) is x, member order included where the token's bytes carry it (a claims payload):
    a recombined input that takes every part from one drawn input is that input."""
    parts = PARTS[name]

    @QUICK
    @given(DERIVED_STRATEGIES[name])
    def joined(value: Any) -> None:
        again = parts.join(parts.split(value))
        assert again == value
        if name == "claims":
            assert list(again["payload"]) == list(value["payload"])

    joined()


@pytest.mark.parametrize("name", sorted(DERIVED_STRATEGIES))
def test_recombined_inputs_are_made_of_the_batch_s_parts_and_of_it_alone(name: str) -> None:
    parts = PARTS[name]

    @QUICK
    @given(st.lists(DERIVED_STRATEGIES[name], min_size=1, max_size=5), st.integers(0, SEED_MAX))
    def made(drawn: list[Any], seed: int) -> None:
        derived = recombined(drawn, parts, seed)
        assert derived == recombined(drawn, parts, seed)  # a pure function of the batch and the seed
        assert len(derived) == (PER_DRAWN * len(drawn) if len(drawn) > 1 else 0)
        # (a list's entries close up where one is absent: an entry may come back in another slot)
        drawn_parts = {
            input_key(part) for value in drawn for part in parts.split(value) if part is not ABSENT
        }
        for value in derived:
            for part in parts.split(value):
                simplest = name == "sizes" and part == (0, 0)  # a token's tail on a key set's parts
                assert part is ABSENT or simplest or input_key(part) in drawn_parts, part

    made()


def test_recombining_finds_inputs_no_drawn_one_is() -> None:
    drawn = [
        {"audience": "temporal", "aud": "other", "permissions": ["x"]},
        {"audience": "other", "aud": "temporal", "permissions": ["x"]},
    ]
    derived = {input_key(v) for seed in range(20) for v in recombined(drawn, PARTS["audience"], seed)}
    assert input_key({"audience": "temporal", "aud": "temporal", "permissions": ["x"]}) in derived
    assert input_key({"audience": "other", "aud": "other", "permissions": ["x"]}) in derived


def test_an_input_is_counted_once_and_not_again_once_answered() -> None:
    seen = Seen()
    batch = [{"a": 1}, {"a": 2}, {"a": 1}, {"a": 3}]
    assert seen.new(batch) == [{"a": 1}, {"a": 2}, {"a": 3}]  # a repeat in the batch: asked once
    assert seen.new(batch) == [{"a": 1}, {"a": 2}, {"a": 3}]  # not answered yet (a failing batch): again
    seen.answered([{"a": 1}, {"a": 2}])
    assert seen.new([*batch, {"a": 4}]) == [{"a": 3}, {"a": 4}]
    assert seen.new([{"a": True}, {"a": 1.0}]) == [{"a": True}, {"a": 1.0}]  # other JSON: other inputs
    bounded = Seen(limit=2)
    bounded.answered([{"a": 1}, {"a": 2}])
    bounded.answered([{"a": 3}])  # past its limit: it starts again
    assert bounded.new([{"a": 1}, {"a": 3}]) == [{"a": 1}]


def test_a_test_case_asks_its_drawn_and_derived_inputs_once_each() -> None:
    first = {"audience": "temporal", "aud": "other", "permissions": ["x"]}
    second = {"audience": "other", "aud": "temporal", "permissions": ["x"]}
    asked = Asked(PARTS["audience"])
    value = ([first, second, first], 7)
    inputs = asked.of(value)
    assert asked.of(value) is inputs  # worked out once per test case: counted, then asked
    keys = [input_key(v) for v in inputs]
    assert len(set(keys)) == len(keys) > 2  # the drawn ones once each, and inputs derived from them
    assert keys[:2] == [input_key(first), input_key(second)]
    asked.seen.answered(inputs)
    later = asked.of(([second, first], 8))
    assert not {input_key(v) for v in later} & set(keys)  # none answered before is asked again
    assert asked.of(([first], 3)) == []  # answered alike already: neither asked nor counted again
    three = [{"audience": f"a{i}", "aud": f"b{i}", "permissions": [f"c{i}"]} for i in range(3)]  # 27 mixes
    few = Asked(PARTS["audience"], per_drawn=1).of((three, 7))  # the CI profile derives fewer
    assert 3 < len(few) <= 3 + 3 < len(Asked(PARTS["audience"]).of((three, 7))) and CI_PER_DRAWN < PER_DRAWN


def test_a_remembered_signer_signs_each_input_once_per_key_and_its_signatures_verify() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from harness.fuzz.token_text import remembered, unaudited

    signed: list[bytes] = []

    def counting(key: Any) -> Any:
        sign = unaudited(key)
        return lambda data: signed.append(data) or sign(data)

    sign = remembered(counting)
    first = sign(RSA)(b"a.b")
    assert sign(RSA)(b"a.b") == first and sign(RSA)(b"a.c") != first
    assert sign(KEYS["untrusted"])(b"a.b") != first  # another key (the same kid): its own signature
    assert signed == [b"a.b", b"a.c", b"a.b"]
    RSA.private.public_key().verify(first, b"a.b", padding.PKCS1v15(), hashes.SHA256())


def test_a_state_machine_run_counts_runs_and_steps_and_a_failing_run_raises(tmp_path: Any) -> None:
    """run_machine (the rotation and tenancy classes): each run a fresh driver, its steps counted, the
    figures in the evidence however it ends, and a failing run raised and counted."""
    from hypothesis.stateful import RuleBasedStateMachine, rule

    from harness.fuzz.runner import Budget, FuzzRun, run_machine

    class Driver:
        def __init__(self, step: Any, fail_at: int) -> None:
            self.step, self.fail_at, self.taken = step, fail_at, 0

        def act(self) -> None:
            self.step()
            self.taken += 1
            assert self.taken != self.fail_at, "the server did not do what the machine expects"

    class Machine(RuleBasedStateMachine):
        driver: Any = None

        def __init__(self) -> None:
            super().__init__()
            self.live = type(self).driver()

        @rule()
        def act(self) -> None:
            self.live.act()

    made: list[Driver] = []

    def run(fail_at: int, figures: dict[str, Any]) -> None:
        fuzz = FuzzRun(Budget(), reports=tmp_path, progress=lambda line: None)
        make = lambda step: made.append(Driver(step, fail_at)) or made[-1]  # noqa: E731
        run_machine(fuzz, "rotation", Machine, make, 5, figures)

    held: dict[str, Any] = {}
    run(-1, held)
    assert held["fuzz"]["examples"] == len(made) > 1 and held["fuzz"]["disagreements"] == 0
    assert held["fuzz"]["steps"] == sum(d.taken for d in made) > 0
    made.clear()
    failed: dict[str, Any] = {}
    with pytest.raises(AssertionError, match="did not do what the machine expects"):
        run(2, failed)
    assert failed["fuzz"]["disagreements"] == 1 and failed["fuzz"]["examples"] == len(made) > 0


def test_a_live_phase_counts_each_distinct_input_once_and_sends_every_one(tmp_path: Any) -> None:
    """Both phases count distinct inputs (a config class's live phase draws from a few values and meets
    repeats): a repeat is still sent, and counted among the test cases, not the examples."""
    from harness.fuzz.runner import run_property

    run = FuzzRun(Budget(), reports=tmp_path, progress=lambda line: None)
    sent: list[int] = []
    run_property(run, "key-source-uris", st.integers(0, 50).map(lambda i: {"uris": [str(i % 3)]}),
                 lambda value: sent.append(int(value["uris"][0])))  # fmt: skip
    stats = run.stats["key-source-uris"]
    assert sorted(set(sent)) == [0, 1, 2] and stats.examples == 3 < len(sent)  # three inputs, sent again
    assert stats.live_cases == len(sent) == stats.as_dict()["test_cases"]


def test_a_rotation_call_during_an_outage_is_made_once_and_held_to_every_answer_allowed(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fetch can settle the server's keys while its key source is down: the calls are made once (not
    waited on for fetches that cannot come) and each decision must be one the model allows (broken once:
    the default attempts while down -> it fails)."""
    from types import SimpleNamespace

    from harness.cases.ask import Answer
    from harness.cases.runner import ATTEMPTS, CaseRun, Observed
    from harness.fuzz import rotation

    asked: list[int] = []
    observed = {"own-read": Outcome.DENIED}
    allowed = {"own-read": frozenset({Outcome.ALLOWED, Outcome.DENIED})}

    async def observe(target: Any, calls: Any, token: Any, attempts: int = ATTEMPTS) -> CaseRun:
        asked.append(attempts)
        answers = {label: Answer(values, "the rings the model allows") for label, values in allowed.items()}
        seen = {label: SimpleNamespace(outcome=o) for label, o in observed.items()}
        return CaseRun(Observed(seen), answers, token)  # type: ignore[arg-type]

    monkeypatch.setattr(rotation, "observe", observe)
    jwks = SimpleNamespace(log_lines=lambda: [])
    own = SimpleNamespace(target=SimpleNamespace(mint=lambda *a, **k: None), jwks=jwks)
    turn = rotation.Rotation(own, tmp_path, down=True)  # type: ignore[arg-type]
    assert turn.call("stranger") is None and asked == [1]
    observed["own-read"] = Outcome.ERROR
    with pytest.raises(AssertionError, match="during an outage"):
        turn.call("stranger")
    turn.down, allowed["own-read"], observed["own-read"] = False, frozenset({Outcome.DENIED}), Outcome.DENIED
    done = turn.call("stranger")  # settled: compared item by item
    assert done is not None and not done.differences() and asked == [1, 1, ATTEMPTS]
