"""The fast oracle and what it found: the model's fixes (pure, table by table), the guard that bounds the
model, the fuzz classes' renderings, and, where Go can build it, the release's own functions answering
every committed case the way the model now does."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fuzz.calls import LABELS
from harness.fuzz.classes import CLASSES
from harness.fuzz.examples import Example, regression_files
from harness.fuzz.fast_rotation import Source, settled
from harness.fuzz.guard import ModelDefect, ModelGuard
from harness.fuzz.idp_keys import idp_slots
from harness.fuzz.idp_text import idp_document, key_json
from harness.fuzz.runner import CI_EXAMPLES, CI_ORACLE_EXAMPLES, Budget, ClassStats
from harness.fuzz.sizes_text import expanded, nested
from harness.fuzz.strategies.config_values import allowed_hosts_inputs, header_name_inputs
from harness.fuzz.strategies.idp import idp_inputs
from harness.fuzz.strategies.sizes import sizes_inputs
from harness.fuzz.strategies.token_bytes import well_formed
from harness.fuzz.twin import Compared
from harness.fuzz.twin_classes import RECIPES
from harness.model import decide, gojson, http, jose, keyset, x509
from harness.model.rules import AuthConfig, rules_for
from harness.oracle.questions import KeySources, Served

# -- the model's fixes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "host", "allowed"),
    [
        (None, "anything", True),  # unset: MatchAnythingRE
        (["localhost:*"], "localhost:7243", True),
        (["localhost:*"], "evil-localhost:7243", False),  # one pattern: ^(localhost:.*)$
        (["localhost:*", "x"], "evil-localhost:7243", False),  # the first: anchored at the start only
        (["localhost:*", "x"], "localhost:1.evil", True),
        (["a.example", "b.example"], "a.example.evil.net", True),  # ^(a\.example)|(b\.example)$
        (["a.example", "b.example"], "evil.b.example", True),
        (["a.example", "b.example"], "evil.a.example", False),
        (["a", "mid", "z"], "xmidx", True),  # a middle pattern matches anywhere
        ([], "localhost", False),  # ^$
        ([], "", True),
        ([7243], "anything", True),  # does not convert: the default
        ("localhost:*", "anything", True),  # a bare string does not convert either
        (["localhost:*", None], "localhost:1", True),  # null decodes to ""
        ([""], "x", False),
    ],
)
def test_allowed_hosts_read_as_go_builds_the_expression(value: Any, host: str, allowed: bool) -> None:
    assert http.allowed_by(value, host) is allowed


def test_the_facts_of_a_server_keep_reading_an_unset_value_as_every_host() -> None:
    assert http.host_allowed("evil", ()) and not http.host_allowed("evil", ("localhost:*",))


@pytest.mark.parametrize(
    ("version", "name", "sent_as", "read"),
    [
        ("v1.32.2", "x-\u017fecret", "x-secret", True),  # EqualFold: the long s folds to s
        ("v1.32.2", "X-\u212aey", "x-key", True),  # the Kelvin sign folds to k
        ("v1.32.2", "\u0130d-token", "id-token", False),  # U+0130 has no simple fold to i
        ("v1.32.2", "X-Temporal-Authorization", "x-temporal-authorization", True),
        ("v1.32.2", " authorization", "authorization", False),
        ("v1.24.2", "x-\u017fecret", "x-secret", False),  # 1.24: strings.ToLower, no folding
        ("v1.24.2", "\u0130D-TOKEN", "id-token", True),  # ToLower(U+0130) is i
        ("v1.23.1", "X-Auth", "x-auth", False),  # 1.23: exactly
    ],
)
def test_the_header_name_is_looked_up_as_the_release_does(
    version: str, name: str, sent_as: str, read: bool
) -> None:
    credential = decide.Credential(((sent_as, "Bearer t"),))
    value = decide.auth_header_value(credential, AuthConfig(auth_header_name=name), rules_for(version))
    assert (value == "Bearer t") is read


def test_deep_json_is_read_to_go_s_limit_and_no_further() -> None:
    assert gojson.decode(nested(9999, "array").encode(), first_value_only=False) is not None
    deep = gojson.decode(nested(3000, "object").encode(), first_value_only=True, lazy=True)
    assert isinstance(deep, gojson.Pairs) and deep.members[0][0] == "a"
    with pytest.raises(gojson.GoJsonError, match="exceeded max depth"):
        gojson.decode(nested(10001, "array").encode(), first_value_only=False)
    with pytest.raises(gojson.GoJsonError, match="exceeded max depth"):  # the outer object counts
        gojson.decode(('{"x":' + nested(10000, "array") + "}").encode(), first_value_only=True)
    fixed = gojson.decode(
        ('["\\ud800",' + nested(1500, "array", '"\\udc00"') + "]").encode(), first_value_only=False
    )
    assert fixed[0] == "\ufffd"


@pytest.mark.parametrize(
    "text",
    ['{"a":[1,2,{"b":null}],"c":"x"}', "[]", "{}", " [ 1 , { \"x\" : [ true , false ] } ] ", '{"a":1,}', "[1 2]",
     "[1,]", '{"a" 1}', "NaN", "-Infinity", "1e400", '"\\ud800"', '{"a":1,"a":2}', "[1}]", '[{"a":[1}]}',
     '[{"a":1]}', '{"a":[[1]]}}', '[[[{"a":{"b":[]}}]]]', "[[1]] ]", '{"a":{"b" :1}}'],
)  # fmt: skip
def test_the_explicit_stack_reads_as_the_c_decoder_does(text: str) -> None:
    c_decoder, explicit_stack = _read_both(text)
    assert c_decoder == explicit_stack


def _read_both(text: str) -> list[Any]:
    """The text read by the C decoder and by gojson's explicit stack: (value, end) each, or "refused"."""
    start = len(text) - len(text.lstrip())
    results: list[Any] = []
    for reader in ("c", "deep"):
        try:
            if reader == "c":
                decoder = json.JSONDecoder(parse_float=gojson.float64, parse_int=gojson.float64,
                                           parse_constant=gojson._refuse_constant, object_pairs_hook=dict)  # fmt: skip
                results.append(decoder.raw_decode(text, start))
            else:
                results.append(gojson._Deep(text, gojson.float64, dict).value(start))
        except (ValueError, gojson.GoJsonError):
            results.append("refused")
    return results


_JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "\u00e9", 'x"y', "{", "]"])
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b{", "", '"']), inner, max_size=3)
    ),
    max_leaves=12,
)


def _spaced(value: Any, blank: str, junk: str, where: int) -> str:
    """A value's text with blanks after its commas and around its colons, and maybe one junk character."""
    text = json.dumps(value).replace(",", "," + blank).replace(":", blank + ":" + blank)
    at = len(text) * where // 100
    return text[:at] + junk + text[at:]


_TEXTS = st.builds(
    _spaced,
    _JSON_VALUES,
    st.sampled_from(["", " ", "\n\t"]),
    st.sampled_from(["", "", "x", ",", "]", "}", "{", '"', ":"]),
    st.integers(0, 100),
)


@settings(max_examples=300, deadline=None, database=None)
@given(_TEXTS)
def test_the_explicit_stack_reads_drawn_texts_as_the_c_decoder_does(text: str) -> None:
    """Its runs of opening brackets and plain member names read at once included (broken once: a member
    name with its quote kept -> it fails)."""
    c_decoder, explicit_stack = _read_both(text)
    assert c_decoder == explicit_stack


def test_a_run_of_closing_brackets_closes_its_containers_at_once_in_order() -> None:
    text = '[{"a":[1]}]'
    reader = gojson._Deep(text, gojson.float64, dict)
    stack: list[list[Any]] = [["[", [], None], ["{", [], "a"], ["[", [], None]]
    value, at = reader._closed(stack, 1.0, text.index("1") + 1)
    assert (value, at, stack) == ([{"a": [1.0]}], len(text), [])
    stack = [["[", [], None], ["[", [], None]]
    assert reader._closed(stack, 1.0, text.index("1") + 1) == (
        [1.0],
        text.index("1") + 2,
    )  # then "}": not its
    assert len(stack) == 1


def test_x5c_certificates_are_read_down_to_their_key() -> None:
    slots = idp_slots()
    for slot in ("rsa2048", "rsa-e3", "ec384", "ed25519"):
        for der in (slots.self_signed[slot], slots.issued[slot]):
            cert = x509.parse(der)
            assert cert.sha256 == hashlib.sha256(der).digest()
    rsa_public = slots.signing["rsa-e3"].private.public_key().public_numbers()  # type: ignore[union-attr]
    assert x509.parse(slots.self_signed["rsa-e3"]).public == x509.PublicKey("RSA", (rsa_public.n, 3))
    assert x509.parse(slots.self_signed["ed25519"]).public.kind == "Ed25519"
    with pytest.raises(x509.CertificateError):
        x509.parse(slots.self_signed["rsa2048"][:-12])
    with pytest.raises(x509.CertificateError):
        x509.parse(slots.self_signed["rsa2048"] + b"\x00")


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        ({"slot": "rsa2048", "x5c": "self", "x5t": "right", "x5t#S256": "right"}, True),
        ({"slot": "rsa2048", "x5c": "chain", "x5t": "right-hex"}, True),
        ({"slot": "rsa2048", "x5c": "wrapped"}, True),  # StdEncoding skips CR and LF
        ({"slot": "ec256", "x5c": "issued"}, True),
        ({"slot": "rsa2048", "x5c": "other"}, False),  # the leaf is another key's
        ({"slot": "rsa2048", "x5c": "ca-only"}, False),
        ({"slot": "rsa2048", "x5c": "truncated"}, False),
        ({"slot": "rsa2048", "x5c": "urlsafe"}, False),
        ({"slot": "rsa2048", "x5c": "self", "x5t": "wrong"}, False),
        ({"slot": "rsa2048", "x5t": "wrong"}, True),  # no chain: only the thumbprint's size is checked
        ({"slot": "rsa2048", "x5t": "padded"}, False),
    ],
)
def test_identity_provider_keys_are_decoded_as_go_jose_does(entry: dict[str, Any], kept: bool) -> None:
    document = json.dumps({"keys": [key_json(entry, idp_slots())]}).encode()
    try:
        keys = keyset.parse_key_set(document)
    except jose.KeySetRefused:
        keys = []
    assert bool(keys) is kept


# -- the guard -----------------------------------------------------------------------------------------


def test_a_model_that_raises_or_hangs_is_a_defect() -> None:
    guard = ModelGuard(bound=0.2)
    assert guard("a question", lambda: 42) == 42

    def loop() -> None:
        while True:
            pass

    with pytest.raises(ModelDefect, match="ran past its bound"):
        guard("a hang", loop)
    with pytest.raises(ModelDefect, match="raised on a crash: RecursionError"):
        guard("a crash", lambda: (_ for _ in ()).throw(RecursionError("deep")))
    assert guard("after", lambda: "fine") == "fine"


# -- inputs and their renderings -----------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
@given(idp_inputs())
def test_identity_provider_recipes_render_json_and_survive_a_case_file(spec: dict[str, Any]) -> None:
    assert Example.from_json(json.loads(Example("jwks-idp", spec).text())).input == spec
    document = json.loads(idp_document(spec, idp_slots()))
    assert len(document["keys"]) == len(spec["keys"])
    assert not any(k.get("d") == base64.urlsafe_b64encode(b"").decode() for k in document["keys"])


def test_no_private_key_is_ever_rendered() -> None:
    slots = idp_slots()
    for slot, key in slots.signing.items():
        private = key.private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())  # fmt: skip
        rendered = idp_document({"keys": [{"slot": slot, "private": True, "x5c": "chain"}]}, slots)
        assert base64.urlsafe_b64encode(private).decode().rstrip("=")[:40] not in rendered.decode()
        served = json.loads(rendered)["keys"][0]
        numbers = getattr(key.private, "private_numbers", None)
        if numbers is not None and hasattr(numbers(), "d"):
            d = numbers().d
            size = (d.bit_length() + 7) // 8
            assert served["d"] != base64.urlsafe_b64encode(d.to_bytes(size, "big")).decode().rstrip("=")


@settings(
    max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
@given(sizes_inputs())
def test_sizes_expand_into_the_classes_they_stand_for(spec: dict[str, Any]) -> None:
    inner = expanded(Example("sizes", spec))
    assert inner.fuzz_class == ("jwks" if spec["target"] == "jwks" else "token-bytes")
    assert len(json.dumps(spec)) < 200  # the case file holds the depth, not the text


@settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
@given(allowed_hosts_inputs())
def test_config_value_inputs_are_json(spec: dict[str, Any]) -> None:
    assert json.loads(json.dumps(spec)) == spec and spec["hosts"]


def test_header_names_include_letters_that_fold() -> None:
    drawn: set[str] = set()

    @settings(max_examples=200, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(header_name_inputs())
    def collect(spec: dict[str, Any]) -> None:
        drawn.add(spec["header_name"])

    collect()
    assert "x-\u017fecret" in drawn and "x-\u212aey" in drawn


def test_rotation_runs_refresh_after_every_change_while_the_source_answers() -> None:
    steps = [["begin"], ["new_key", "k1", "EC"], ["publish", "k1"], ["outage"], ["retire", "k1"], ["recover"],
             ["call", "k1"]]  # fmt: skip
    assert settled(steps) == [["begin"], ["new_key", "k1", "EC"], ["publish", "k1"], ["refresh"], ["outage"],
                              ["retire", "k1"], ["recover"], ["refresh"], ["call", "k1"]]  # fmt: skip
    source = Source()
    for name, *args in settled(steps):
        if name != "call":
            source.step(name, *args)
    assert len(source.rounds) == 3 and source.served == [source.keys["k0"]]


def test_figures_carry_both_phases() -> None:
    stats = ClassStats("claims", examples=30, seconds=1.0, oracle_examples=900, oracle_seconds=1.5)
    figures = stats.as_dict()
    assert figures["oracle"]["examples"] == 900 and figures["oracle_speedup"] == 20.0
    assert "oracle 900 examples" in stats.line() and "(20x)" in stats.line()
    long = Budget(minutes=12.0, classes=("claims", "tenancy"))
    assert long.phase_seconds("claims", "oracle") == long.phase_seconds("claims", "live") == 180
    assert long.phase_seconds("tenancy", "live") == 360 and long.phase_seconds("tenancy", "oracle") == 0
    assert {c.name for c in CLASSES.values() if c.oracle} <= set(CI_ORACLE_EXAMPLES) | {"rotation"}
    assert set(CI_EXAMPLES) == set(CLASSES)


def test_compared_answers_name_every_item_that_differs() -> None:
    assert Compared({"a": "x", "b": "y"}, {"a": "x", "b": "z", "c": "w"}).differences() == ["b", "c"]


# -- the release's own functions ------------------------------------------------------------------------

VERSION = "v1.32.2"


@pytest.fixture(scope="module")
def twin() -> Any:
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain: the oracle program cannot be built here")
    from harness.api_tables import load_table
    from harness.fuzz.twin import Twin
    from harness.oracle.build import oracle_binary
    from harness.oracle.questions import Oracle
    from harness.types import ServerVersion

    version = ServerVersion.parse(VERSION)
    oracle = Oracle(version, oracle_binary(version))
    yield Twin(oracle, version, load_table(VERSION))
    oracle.close()


def test_the_oracle_program_answers_in_the_model_s_terms(twin: Any) -> None:
    anchor = twin.keys.slots.signing["anchor"]
    document = json.dumps({"keys": [anchor.public_jwk()]}).encode()
    rounds = twin.oracle.rounds(KeySources(("{0}", " ", "{1}"), ((Served(document), Served(document)),
                                                                  (Served(b'{"keys": []}'), Served(None)))))  # fmt: skip
    assert [r.error == "" for r in rounds] == [True, False]  # a refused source fails the round: keys kept
    assert rounds[0].ring == rounds[1].ring and rounds[0].ring.lookup("RSA", "anchor") == anchor.published()
    regexp, matches = twin.oracle.hosts(["a.example", "b.example"], ["a.example.evil", "evil.a.example"])
    assert regexp == "^(a\\.example)|(b\\.example)$" and matches == (True, False)
    assert twin.oracle.supports("gateway") and not twin.oracle.supports("nope")


@pytest.mark.parametrize("path", regression_files(), ids=lambda p: p.stem)
def test_every_committed_case_is_answered_alike_by_the_model_and_the_release(twin: Any, path: Path) -> None:
    example = Example.load(path)
    if example.fuzz_class not in RECIPES:
        pytest.skip(f"class {example.fuzz_class} has no fast oracle recipe (its live replay judges it)")
    compared = RECIPES[example.fuzz_class](example, twin, int(time.time()))()
    assert not compared.differences(), {
        k: (compared.model.get(k), compared.oracle.get(k)) for k in compared.differences()
    }


def test_committed_oracle_cases_say_what_the_live_server_did() -> None:
    for path in regression_files():
        found = Example.load(path).extra
        for entry in found.values():
            if isinstance(entry, dict) and "oracle" in entry:
                assert entry.get("verdict"), path.name
    assert LABELS[0] == "exempt"


def test_the_gateway_question_reaches_net_http_and_grpc_gateway(twin: Any) -> None:
    def ask(headers: str, **config: Any) -> dict[str, Any]:
        raw = f"GET /api/v1/system-info HTTP/1.1\r\nHost: localhost:7243\r\n{headers}\r\n".encode()
        return dict(twin.oracle.gateway(raw, **config))

    trimmed = ask("Authorization: \t Bearer abc \r\nGrpc-Metadata-Authorization: other\r\n")
    assert trimmed["status"] == 200 and trimmed["handled"]["auth"] in ("Bearer abc", "other")
    assert ask("Authorization: Bearer \x01abc\r\n")["status"] == 400  # net/http refuses a control byte
    binary = ask("Grpc-Metadata-X-Bin: not base64!\r\n")["handled"]
    assert binary["annotate_code"] == "InvalidArgument"
    assert ask("Grpc-Timeout: soon\r\n")["handled"]["annotate_code"] == "InvalidArgument"
    assert ask("Authorization: Bearer a\r\n", patterns=["other:*"])["handled"]["host_refused"]


def test_a_token_with_an_exp_past_float64_is_signed_and_audited() -> None:
    """An exp of 10**400 (a token-bytes input): the audit line's lifetime is computed in floats, which
    raised OverflowError before the signer gave it an infinity."""
    from harness.fuzz.token_text import build
    from harness.fuzz.twin import FastKeys

    keys = FastKeys.generate()
    spec = well_formed()
    spec["payload"]["members"].append(["exp", {"json": "1" + "0" * 400}])
    named = {"rsa": keys.rsa, "ec": keys.ec, "untrusted": keys.untrusted, "untrusted-ec": keys.untrusted_ec}
    assert build(spec, named).signed_by == keys.rsa.fingerprint


def test_a_failing_batch_shrinks_to_the_one_example_that_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from hypothesis import strategies as st

    from harness.fuzz import fast_phase
    from harness.fuzz.runner import FuzzRun

    asked: list[int] = []

    def recipe(example: Example, twin: Any, now: int) -> Any:
        asked.append(example.input)
        said = "DENIED" if example.input == 7 else "ALLOWED"
        return lambda: Compared({"token/x": "ALLOWED"}, {"token/x": said})

    monkeypatch.setattr(fast_phase, "twin_for", lambda *args, **kwargs: SimpleNamespace(version="v0.0.0"))
    run = FuzzRun(Budget(), tmp_path, progress=lambda line: None)
    target: Any = SimpleNamespace(version="v0.0.0")
    found = fast_phase.run_fast(
        run, "names", st.integers(0, 9), target, None, recipes={"names": recipe}, parts={}
    )
    assert found is not None and "minimal input: 7\n" in str(found)
    assert run.stats["names"].oracle_examples >= len(asked) > 0  # counted as asked, each one


def test_a_disagreement_only_a_recombined_input_shows_is_reported_as_that_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No drawn input disagrees; one put together from two drawn ones (the audience of one, the aud of
    the other) does: it is found, shrunk and replayed as itself, and every input asked is counted once."""
    from types import SimpleNamespace

    from hypothesis import strategies as st

    from harness.fuzz import fast_phase
    from harness.fuzz.derive import PARTS, input_key
    from harness.fuzz.runner import FuzzRun

    asked: list[str] = []

    def recipe(example: Example, twin: Any, now: int) -> Any:
        asked.append(input_key(example.input))
        wrong = example.input["audience"] == "A" and example.input["aud"] == "B"
        return lambda: Compared({"token/x": "ALLOWED"}, {"token/x": "DENIED" if wrong else "ALLOWED"})

    drawn = st.builds(
        lambda audience, aud: {"audience": audience, "aud": aud, "permissions": ["p"]},
        st.sampled_from(["A", "a", "x"]),
        st.sampled_from(["b", "y"]),
    ) | st.just({"audience": "z", "aud": "B", "permissions": ["p"]})
    monkeypatch.setattr(fast_phase, "twin_for", lambda *args, **kwargs: SimpleNamespace(version="v0.0.0"))
    run = FuzzRun(Budget(), tmp_path, progress=lambda line: None)
    target: Any = SimpleNamespace(version="v0.0.0")
    found = fast_phase.run_fast(
        run,
        "audience",
        drawn,
        target,
        None,
        recipes={"audience": recipe},
        parts={"audience": PARTS["audience"]},
    )
    assert found is not None
    assert 'minimal input: {"aud": "B", "audience": "A", "permissions": ["p"]}\n' in str(found)
    assert run.stats["audience"].oracle_examples == len(asked)  # each input asked, counted once


ECHO_PROGRAM = """#!{python}
import json, sys
for line in sys.stdin:
    question = json.loads(line)
    print(json.dumps({{"id": question["id"], "asked": question}}), flush=True)
"""


def test_questions_are_written_a_few_at_a_time_and_all_before_an_answer_is_awaited(tmp_path: Path) -> None:
    """The oracle client (one write per WRITE_EVERY questions, the rest when an answer is awaited), and
    members it is given encoded already, against a program that echoes each question."""
    import os
    import sys

    from harness.oracle.client import WRITE_EVERY, OracleProcess

    program = tmp_path / "echo"
    program.write_text(ECHO_PROGRAM.format(python=sys.executable))
    os.chmod(program, 0o755)
    with OracleProcess(program) as process:
        pending = [process.send("decide", n=i, encoded='"calls": [1, 2]') for i in range(WRITE_EVERY + 2)]
        assert len(process._unsent) == 2  # the first WRITE_EVERY are written, two wait for more
        last = pending[-1]()  # awaiting an answer writes what waits
        assert last["asked"] == {"id": WRITE_EVERY + 2, "op": "decide", "n": WRITE_EVERY + 1, "calls": [1, 2]}
        assert [p()["asked"]["n"] for p in pending[:-1]] == list(range(WRITE_EVERY + 1))
        assert process.ask("gateway", raw="AAAA")["asked"]["raw"] == "AAAA"  # a field named raw is a field
