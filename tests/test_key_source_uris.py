"""The key-source-uris fuzz class: the model's openURI on the spellings the release was seen to load or
refuse (default_token_key_provider.go@v1.32.2:171-187), its data round-trip, and where Go can build it, the
release's own provider on hand-picked spellings."""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from harness.fuzz.examples import Example
from harness.fuzz.strategies.key_uris import key_uri_inputs
from harness.fuzz.twin_classes import RECIPES
from harness.model import key_uris, keyset
from harness.model.claims import KeyRing

KEYS = "/srv/keys/keys.json"
BODY = b'{"keys": []}'


def _loads(uri: str, file_scheme: bool = True) -> bool:
    opened = key_uris.opened(uri, file_scheme)
    return opened.kind == key_uris.FILE and key_uris.same_file(opened.path, KEYS)


@pytest.mark.parametrize(
    "uri",
    [
        "file:///srv/keys/keys.json",
        "file://localhost/srv/keys/keys.json",
        "FILE:///srv/keys/keys.json",  # url.Parse lower-cases the scheme
        "File:///srv/keys/keys.json",
        "file:/srv/keys/keys.json",
        "file:///srv/keys/%6Beys.json",  # u.Path is unescaped
        "file:///srv/keys/%2E/keys.json",
        "file:///srv/keys//keys.json",
        "file:///srv/keys/./keys.json",
        "file:///srv/keys/keys.json?x=1",
        "file:///srv/keys/keys.json#frag",
        "file:///srv/keys/keys.json#\t",  # a control byte after '#' is the fragment's: not checked
        "file://user@localhost/srv/keys/keys.json",  # userinfo is not the host
        "file:////srv/keys/keys.json",
    ],
)
def test_file_spellings_the_release_reads(uri: str) -> None:
    assert _loads(uri)
    assert not _loads(uri, file_scheme=False)  # before 1.32: http.Get, which has no file scheme


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("file://LOCALHOST/srv/keys/keys.json", "remote host"),  # compared case-sensitively (:177)
        ("file://127.0.0.1/srv/keys/keys.json", "remote host"),
        ("file://localhost:0/srv/keys/keys.json", "remote host"),
        (" file:///srv/keys/keys.json", "cannot contain colon"),  # no scheme: ' ' is not a letter
        ("file:///srv/keys/keys.json\t", "control character"),
        ("/srv/keys/keys.json", "unsupported protocol scheme"),
        ("file://%6Cocalhost/srv/keys/keys.json", "invalid URL escape"),
        ("file:///srv/keys/keys.json%zz", "invalid URL escape"),
        ("file:srv/keys/keys.json", "no such file"),  # opaque: no path
    ],
)
def test_file_spellings_the_release_refuses(uri: str, reason: str) -> None:
    opened = key_uris.opened(uri, True)
    assert opened.kind == key_uris.FAILED and reason in opened.reason


@pytest.mark.parametrize(
    "path",
    ["/srv/keys/keys.json ", "/srv/keys/KEYS.json", "/srv/keys/keys.json/", "/srv/x/../keys/keys.json"],
)
def test_only_the_kernel_s_lookups_of_the_file_reach_it(path: str) -> None:
    assert not key_uris.same_file(path, KEYS)


def test_http_spellings_say_what_is_requested() -> None:
    trailing = key_uris.opened("http://127.0.0.1:1/key/0 ", True)
    assert (trailing.kind, trailing.path, trailing.request_target) == (key_uris.HTTP, "/key/0 ", "/key/0%20")
    query = key_uris.opened("HTTP://127.0.0.1:1/key/0? #frag", True)
    assert (query.path, query.request_target) == ("/key/0", "/key/0? ")  # the query is sent as written


def test_one_failing_entry_leaves_no_keys_and_blanks_are_skipped() -> None:
    files = {KEYS: json.dumps({"keys": [_jwk()]}).encode()}

    def refused(opened: key_uris.Opened) -> keyset.SourceAnswer:
        return keyset.SourceAnswer(None)

    ring, failed = keyset.initial_keys(["", "file:///srv/keys/keys.json", " \t"], True, files, refused)
    assert not failed and len(ring.keys) == 1
    ring, failed = keyset.initial_keys(
        ["file:///srv/keys/keys.json", "file://LOCALHOST/srv/keys/keys.json"], True, files, refused
    )
    assert failed and ring == KeyRing()


def _jwk() -> dict[str, Any]:
    from harness.tokens.keys import ec_key

    return ec_key(kid="k").public_jwk()


@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(key_uri_inputs())
def test_inputs_survive_a_case_file(spec: dict[str, Any]) -> None:
    assert 1 <= len(spec["uris"]) <= 3
    example = Example("key-source-uris", spec)
    assert Example.from_json(json.loads(json.dumps(example.as_json()))) == example


# -- the release's own provider --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twin() -> Any:
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain: the oracle program cannot be built here")
    from harness.api_tables import load_table
    from harness.fuzz.twin import Twin
    from harness.oracle.build import oracle_binary
    from harness.oracle.questions import Oracle
    from harness.types import ServerVersion

    version = ServerVersion.parse("v1.32.2")
    oracle = Oracle(version, oracle_binary(version))
    yield Twin(oracle, version, load_table("v1.32.2"))
    oracle.close()


@pytest.mark.parametrize(
    ("uris", "held"),
    [
        (["File://{dir}/./keys.json?x=1", "{0}#frag"], 2),
        (["file://localhost{dir}/%6Beys.json", " "], 1),
        (["{0}"], 1),
        (["file://{dir}/keys.json", "file://LOCALHOST{dir}/keys.json"], 0),
        (["{0}? "], 0),  # the query's space is sent raw: a malformed request line
        (["{0} "], 0),  # the path's space is escaped: /key/0%20, a path nothing serves
        (["{dir}/keys.json"], 0),
    ],
)
def test_the_release_loads_what_the_model_says(twin: Any, uris: list[str], held: int) -> None:
    compared = RECIPES["key-source-uris"](
        Example("key-source-uris", {"uris": uris}), twin, int(time.time())
    )()
    assert not compared.differences(), {
        k: (compared.model[k], compared.oracle.get(k)) for k in compared.differences()
    }
    assert len(json.loads(compared.oracle["keys"])) == held


def test_the_live_fixture_s_answers_are_modelled_as_http_server_gives_them() -> None:
    from harness.fuzz.key_uri_servers import fixture_answer
    from harness.jwks.fixture import JwksServer
    from harness.tokens.keys import ec_key

    with JwksServer() as jwks:
        jwks.publish(ec_key(kid="k"))
        base = jwks.url()

        def keys(uri: str) -> int | None:
            answer = fixture_answer(jwks, key_uris.opened(uri, True))
            return None if answer.body is None else len(keyset.parse_key_set(answer.body))

        assert keys(base) == keys(base + "? ") == keys(base + "?x=1") == keys(base + "#f") == 1
        assert keys(base + "/.") == keys(base + " ") == 0  # a 404 whose JSON is a key set with no keys
        assert keys(base + "?a b") is None  # four words in the request line: 400
