"""The http-headers fuzz class: the model of the HTTP API's header bytes (harness.model.http_headers),
its strategy and rendering, the raw probe's classification, and, where Go can build it, the release's
net/http and grpc-gateway answering hand-picked inputs as the model does."""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from harness.fuzz.examples import Example
from harness.fuzz.http_text import header_pairs, read_label, request_bytes, signed_text
from harness.fuzz.strategies.http_headers import http_header_inputs
from harness.fuzz.twin_classes import RECIPES
from harness.model import http_headers as model
from harness.probes.http_raw import classify_raw
from harness.types import Outcome, ServerVersion

A = b"eyJh.eyJi.c2ln"  # a token's text (its shape only matters here)


def went(*pairs: tuple[bytes, bytes]) -> model.Transported:
    return model.transported(pairs)


@pytest.mark.parametrize(
    ("pairs", "stage", "reads"),
    [
        ([(b"Authorization", b"Bearer " + A)], model.INTERCEPTOR, (b"Bearer " + A,)),
        ([(b"authorization", b" \tBearer " + A + b" \t ")], model.INTERCEPTOR, (b"Bearer " + A,)),  # trimmed
        ([(b"Authorization", b"Bearer " + A + b"\x80")], model.INTERCEPTOR, (b"Bearer " + A + b"\x80",)),
        ([(b"Grpc-Metadata-Authorization", b"Bearer " + A + b"\x80")], model.INTERCEPTOR, (None,)),  # skipped
        (
            [(b"Grpc-Metadata-Authorization", b"Bearer\t" + A)],
            model.INTERCEPTOR,
            (None,),
        ),  # a tab: not 0x20-0x7E
        ([(b"Authorization", b"Bearer " + A + b"\x01")], model.NET_HTTP, ()),
        ([(b"Authorization", b"\x7fBearer " + A)], model.NET_HTTP, ()),
        ([(b"Authorization ", b"Bearer " + A)], model.NET_HTTP, ()),  # a space before the colon
        ([(b"Auth@", b"x")], model.NET_HTTP, ()),
        ([(b"Grpc-Metadata-X-Bin", b"not base64!")], model.GATEWAY, ()),
        (
            [(b"X-Bin", b"not base64!"), (b"Authorization", b"Bearer " + A)],
            model.INTERCEPTOR,
            (b"Bearer " + A,),
        ),
        (
            [(b"Grpc-Metadata-Authorization-Bin", base64.b64encode(b"Bearer " + A))],
            model.INTERCEPTOR,
            (None,),
        ),
        ([(b"Grpc-Timeout", b"5 S")], model.GATEWAY, ()),
        (
            [(b"Grpc-Timeout", b"60S"), (b"Authorization", b"Bearer " + A)],
            model.INTERCEPTOR,
            (b"Bearer " + A,),
        ),
        ([(b"Authorization", b""), (b"Authorization", b"Bearer " + A)], model.INTERCEPTOR, (None,)),  # first
        (
            [(b"Authorization", b"Bearer " + A), (b"Grpc-Metadata-Authorization", b"Bearer other")],
            model.INTERCEPTOR,
            (b"Bearer " + A, b"Bearer other"),  # the map walk decides, request by request
        ),
        ([(b"Grpcgateway-Authorization", b"Bearer " + A)], model.INTERCEPTOR, (None,)),  # not forwarded
    ],
)
def test_the_model_follows_the_bytes_to_the_interceptor(
    pairs: list[tuple[bytes, bytes]], stage: str, reads: tuple[bytes | None, ...]
) -> None:
    answer = model.transported(pairs)
    assert (answer.stage, set(answer.reads)) == (stage, set(reads)), answer.reason


@pytest.mark.parametrize(
    ("value", "decodes"),
    [
        (b"", True), (b"YQ==", True), (b"YWI=", True), (b"YWJj", True), (b"YQ", True), (b"YWI", True),
        (b"YR==", True),  # unused low bits set: Go's decoder is not strict
        (b"Y", False), (b"YQ=", False), (b"Y===", False), (b"YQ==YWJj", False), (b"YQ=a", False),
        (b"-_-_", False), (b"YWJj\x80", False), (b"YQ=\x3d", True),
    ],
)  # fmt: skip
def test_bin_values_decode_as_go_decodes_them(value: bytes, decodes: bool) -> None:
    assert model.go_base64_decodes(value) is decodes


@pytest.mark.parametrize(
    ("value", "decodes"),
    [(b"60S", True), (b"+5M", True), (b"-0S", True), (b"9223372036854775807n", True), (b"S", False),
     (b"5", False), (b"5s", False), (b"1.5S", False), (b"99999999999999999999S", False), (b"0x10S", False),
     (b"5\tS", False), (b"\xef\xbc\x91S", False)],
)  # fmt: skip
def test_grpc_timeouts_decode_as_grpc_gateway_decodes_them(value: bytes, decodes: bool) -> None:
    assert model.timeout_decodes(value) is decodes


def test_rendering_names_a_value_alike_on_both_sides() -> None:
    tokens = {"a": A, "b": b"eyJo.eyJw.b3Ro"}
    spec = {"headers": [{"name": "Authorization", "before": " Bearer ", "token": "a", "after": "\xff", "base64": ""},
                        {"name": "Grpc-Metadata-Authorization-Bin", "before": "", "token": "b", "after": "",
                         "base64": "raw"}]}  # fmt: skip
    pairs = header_pairs(spec, tokens)
    assert pairs[0] == (b"Authorization", b" Bearer " + A + b"\xff")
    assert b"=" not in pairs[1][1] and base64.b64decode(pairs[1][1] + b"==") == tokens["b"]
    assert (
        read_label(b"Bearer " + A + b"\xff", tokens) == "Bearer <a>\\xff"
        and read_label(None, tokens) == "none"
    )
    assert signed_text(b"Bearer " + A, tokens) == "a" and signed_text(b"Bearer " + A + b"e", tokens) is None
    raw = request_bytes("GET", "/api/v1/system-info", "localhost:7243", pairs)
    assert raw.startswith(b"GET /api/v1/system-info HTTP/1.1\r\nHost: localhost:7243\r\n")
    assert b"\r\nAuthorization:  Bearer " + A + b"\xff\r\n" in raw and raw.endswith(b"\r\n\r\n")


def test_the_raw_probe_tells_a_refusal_before_authorization_from_the_authorizer_s() -> None:
    assert classify_raw(400, b"400 Bad Request: invalid header value")[0] is Outcome.REFUSED
    gateway = b'{"code": 3, "message": "invalid grpc-timeout: 5 S", "details": []}'
    assert classify_raw(400, gateway)[0] is Outcome.REFUSED
    handler = b'{"code": 3, "message": "WorkflowType is not set on request.", "details": []}'
    assert classify_raw(400, handler)[0] is Outcome.ALLOWED  # past the authorizer
    assert classify_raw(403, b'{"code": 7, "message": "Request unauthorized."}')[0] is Outcome.DENIED


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None, database=None)
@given(http_header_inputs())
def test_every_drawn_input_is_answered_within_the_model_s_bound(spec: dict[str, Any]) -> None:
    pairs = header_pairs(spec, {"a": A, "b": b"eyJo.eyJw.b3Ro"})
    assert all(b"\r" not in v and b"\n" not in v for _, v in pairs)  # no header injection drawn
    answer = model.transported(pairs)
    assert answer.stage in (model.NET_HTTP, model.GATEWAY, model.INTERCEPTOR) and answer.reason


# -- the release's own net/http and grpc-gateway ----------------------------------------------------------

VERSION = "v1.32.2"


@pytest.fixture(scope="module")
def twin() -> Iterator[Any]:
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


def entry(name: str, before: str = "Bearer ", token: str = "a", after: str = "", encoding: str = "") -> Any:
    return {"name": name, "before": before, "token": token, "after": after, "base64": encoding}


@pytest.mark.parametrize(
    "headers",
    [
        [entry("Authorization")],
        [entry("authorization", after="\x80")],  # reaches the mapper, unchecked: refused there
        [entry("Grpc-Metadata-Authorization", after="\x80")],  # skipped: anonymous
        [entry("Authorization", after="\x01")],  # net/http: 400
        [entry("Grpc-Metadata-Authorization-Bin", encoding="std")],
        [entry("Grpc-Metadata-X-Token-Bin", before="!!", token="")],  # the gateway: 400
        [entry("Grpc-Timeout", before="5 S", token="")],
        [entry("Authorization", token="b"), entry("Grpc-Metadata-Authorization")],  # either token
        [
            entry("Authorization", before="", token="", after=" "),
            entry("Authorization"),
        ],  # an empty first value
    ],
)
def test_the_release_answers_hand_picked_header_lines_as_the_model_does(twin: Any, headers: Any) -> None:
    compared = RECIPES["http-headers"](
        Example("http-headers", {"headers": headers}), twin, int(time.time())
    )()
    assert not compared.differences(), {
        k: (compared.model.get(k), compared.oracle.get(k)) for k in compared.differences()
    }


def test_the_live_question_decides_each_call_on_what_the_gateway_hands_on() -> None:
    """HeaderBytesQuestion (harness.fuzz.http_exercise): refused before authorization, or each value the
    gateway may hand on decided as on gRPC, over the route the release's gateway serves."""
    from harness.api_tables import load_table
    from harness.cases.ask import ServerFacts, Window
    from harness.fuzz.calls import sample
    from harness.fuzz.http_exercise import HTTP_ROUTES, HeaderBytesQuestion
    from harness.jwks.timeline import StaticKeys
    from harness.model import AuthConfig
    from harness.tokens.keys import rsa_key
    from harness.tokens.mint import TokenSpec, mint

    key = rsa_key(kid="unit")
    facts = ServerFacts(
        ServerVersion.parse("v1.32.2"), load_table("v1.32.2"), AuthConfig(), StaticKeys((key.published(),))
    )
    write = mint(TokenSpec(permissions=["authz-conformance:write"]), key)
    read = mint(TokenSpec(permissions=["authz-conformance:read"]), key)
    signed = ((write.token.encode(), write.signed_by), (read.token.encode(), read.signed_by))
    now = time.monotonic()
    window = Window(now, now, time.time(), time.time())
    calls = {c.label: c for c in sample()}

    def outcomes(label: str, *pairs: tuple[bytes, bytes]) -> frozenset[Outcome]:
        route = HTTP_ROUTES[calls[label].target.full_method]
        question = HeaderBytesQuestion(
            facts, pairs, signed, calls[label].target, window, (route.verb, route.template)
        )
        return question.answer().values

    bearer = b"Bearer " + write.token.encode()
    assert outcomes("own-write", (b"Authorization", b"\t" + bearer + b" ")) == {Outcome.ALLOWED}
    assert outcomes("exempt", (b"Authorization", bearer + b"\x80")) == {Outcome.DENIED}  # the mapper refuses
    assert outcomes("exempt", (b"Grpc-Metadata-Authorization", bearer + b"\x80")) == {Outcome.ALLOWED}  # none
    assert outcomes("own-write", (b"Auth@", bearer)) == {Outcome.REFUSED}
    either = ((b"Authorization", bearer), (b"Grpc-Metadata-Authorization", b"Bearer " + read.token.encode()))
    assert outcomes("own-write", *either) == {Outcome.ALLOWED, Outcome.DENIED}


def test_the_class_says_why_it_cannot_run_without_a_plaintext_http_api() -> None:
    from types import SimpleNamespace

    from harness.fuzz.http_exercise import no_plaintext_http

    def target(http: str | None, tls: object) -> Any:
        return SimpleNamespace(running=SimpleNamespace(http_address=http), tls=tls)

    assert no_plaintext_http(target("127.0.0.1:7243", None)) is None
    assert "--target-http" in (no_plaintext_http(target(None, None)) or "")
    assert "TLS" in (no_plaintext_http(target("127.0.0.1:7243", object())) or "")
