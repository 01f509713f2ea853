"""The case runner's comparisons, without a server: the exempt call tells a refused token from an accepted
token with no roles; presentations write the header the one way; classification is exact."""

from __future__ import annotations

import time
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from harness.api_tables import load_table
from harness.cases.ask import CallQuestion, ServerFacts, Window
from harness.cases.calls import role_calls
from harness.cases.evidence import plain
from harness.jwks.timeline import StaticKeys
from harness.model import AuthConfig, Credential
from harness.probes.grpc import classify, classify_exception
from harness.tokens.keys import rsa_key
from harness.tokens.mint import TokenSpec, mint
from harness.tokens.presentation import DEFAULT, Header, Presentation, value_shape
from harness.types import REQUEST_UNAUTHORIZED, Outcome, ServerVersion

KEY = rsa_key(kid="unit")
FACTS = ServerFacts(
    ServerVersion.parse("v1.32.2"), load_table("v1.32.2"), AuthConfig(), StaticKeys((KEY.published(),))
)
NS = "authz-conformance"
OLD_LABELS = ("read", "write", "admin", "cluster-read")  # the probes before the exempt call was added


def expected(permissions: Any, presentation: Presentation = DEFAULT) -> dict[str, Outcome]:
    token = mint(TokenSpec(permissions=permissions), KEY)
    credential = Credential(presentation.metadata(token.token, "authorization"), token.signed_by)
    now = time.monotonic()
    window = Window(now, now, time.time(), time.time())
    return {c.label: CallQuestion(FACTS, credential, c.target, window).answer().value for c in role_calls(NS)}


REFUSED_OUTRIGHT = {label: Outcome.DENIED for label in ("exempt", *OLD_LABELS)}
ACCEPTED_NO_ROLES = {"exempt": Outcome.ALLOWED, **{label: Outcome.DENIED for label in OLD_LABELS}}


def differ(a: dict[str, Outcome], b: dict[str, Outcome], labels: tuple[str, ...] | None = None) -> bool:
    pick = (lambda d: {k: v for k, v in d.items() if k in labels}) if labels else (lambda d: d)
    return bool(plain(pick(a)) != plain(pick(b)))


@pytest.mark.parametrize(
    ("requirement", "permissions", "presentation"),
    [
        ("AUTHZ-CLAIMS-001", f"{NS}:admin", DEFAULT),
        ("AUTHZ-CLAIMS-007", [f"{NS}:owner", f"{NS}:*"], DEFAULT),
        ("AUTHZ-HEADER-006", [f"{NS}:write"], value_shape(empty=True)),
    ],
)
def test_refused_and_accepted_without_roles_are_told_apart(
    requirement: str, permissions: Any, presentation: Presentation
) -> None:
    model = expected(permissions, presentation)
    # What the model says the server does with these tokens: they pass (or carry nothing) and grant nothing.
    assert model == ACCEPTED_NO_ROLES, requirement
    # A server that refused the token outright turns the case red ...
    assert differ(model, REFUSED_OUTRIGHT)
    # ... and so does the other way round: a model that expected a refusal, against the server that
    # accepts the token with no roles.
    assert differ(REFUSED_OUTRIGHT, ACCEPTED_NO_ROLES)
    # With only the namespace and cluster calls the two look the same: the exempt call is what tells.
    assert not differ(model, REFUSED_OUTRIGHT, OLD_LABELS)


def test_a_refused_token_fails_the_exempt_call_too() -> None:
    assert expected([f"{NS}:write"], value_shape(scheme=None)) == REFUSED_OUTRIGHT


def test_presentations_write_the_scheme_in_one_place() -> None:
    assert DEFAULT.metadata("t", "authorization") == (("authorization", "Bearer t"),)
    assert value_shape(scheme=None).metadata("t", "authorization") == (("authorization", "t"),)
    assert value_shape(separator="  ", suffix="\t").metadata("t", "x") == (("x", "Bearer  t\t"),)
    assert Presentation((Header(), Header(text="junk"))).metadata("t", "Authorization") == (
        ("authorization", "Bearer t"),
        ("authorization", "Bearer junk"),
    )
    assert DEFAULT.metadata(None, "authorization") == ()
    assert all("<token>" in line for line in DEFAULT.describe())  # evidence names the shape, never the token


@pytest.mark.parametrize(
    ("status", "message", "outcome"),
    [
        (RPCStatusCode.PERMISSION_DENIED, REQUEST_UNAUTHORIZED, Outcome.DENIED),
        (RPCStatusCode.PERMISSION_DENIED, "Request unauthorized", Outcome.ALLOWED),  # not the authorizer's
        (RPCStatusCode.PERMISSION_DENIED, "Namespace is not active", Outcome.ALLOWED),
        (RPCStatusCode.UNIMPLEMENTED, "unknown method Foo for service X", Outcome.ABSENT),
        (RPCStatusCode.UNIMPLEMENTED, "Standalone Nexus operation is disabled", Outcome.ALLOWED),
        (RPCStatusCode.UNAVAILABLE, "Unable connect to remote cluster 127.0.0.1:1", Outcome.ALLOWED),
        (RPCStatusCode.UNAVAILABLE, "error trying to connect: tcp connect error", Outcome.ERROR),
        (RPCStatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", Outcome.ERROR),
        (RPCStatusCode.INVALID_ARGUMENT, "bad request", Outcome.ALLOWED),
        # A dying server or an unknown fault is no authorization answer: ERROR, which fails every cell.
        (RPCStatusCode.UNAVAILABLE, "Stream removed (Socket closed)", Outcome.ERROR),
        (RPCStatusCode.UNAVAILABLE, "Namespace unavailable for a reason nobody listed", Outcome.ERROR),
        (RPCStatusCode.INTERNAL, "some internal failure", Outcome.ERROR),
        (RPCStatusCode.UNKNOWN, "shutting down", Outcome.ERROR),
        (RPCStatusCode.DATA_LOSS, "lost", Outcome.ERROR),
        # ... but a handler's known post-authorization fault is past the authorizer.
        (
            RPCStatusCode.INTERNAL,
            "runtime error: invalid memory address or nil pointer dereference",
            Outcome.ALLOWED,
        ),
    ],
)
def test_classification_is_exact(status: RPCStatusCode, message: str, outcome: Outcome) -> None:
    assert classify(status, message) is outcome


def test_sdk_errors_are_classified_by_the_rpc_error_inside() -> None:
    inner = RPCError(REQUEST_UNAUTHORIZED, RPCStatusCode.PERMISSION_DENIED, b"")
    try:
        try:
            raise inner
        except RPCError as exc:
            raise RuntimeError("the SDK wrapped it") from exc
    except RuntimeError as wrapped:
        assert classify_exception(wrapped)[0] is Outcome.DENIED
    # Text that merely mentions the refusal is no RPC error: it says nothing certain.
    assert classify_exception(RuntimeError(f"PermissionDenied {REQUEST_UNAUTHORIZED}"))[0] is Outcome.ERROR


@pytest.mark.parametrize(
    ("status", "payload", "outcome"),
    [
        (403, {"code": 7, "message": REQUEST_UNAUTHORIZED}, Outcome.DENIED),
        (400, {"code": 3, "message": "bad request"}, Outcome.ALLOWED),
        (404, {"code": 5, "message": "Not Found"}, Outcome.ABSENT),
        (503, {"code": 14, "message": "Unable connect to remote cluster 127.0.0.1:1"}, Outcome.ALLOWED),
        # Faults over HTTP are judged as on gRPC; a 5xx that is not the gateway's says nothing.
        (503, {"code": 14, "message": "Socket closed"}, Outcome.ERROR),
        (500, {"code": 13, "message": "something broke"}, Outcome.ERROR),
        (502, "<html>Bad Gateway</html>", Outcome.ERROR),
        (
            500,
            {"code": 13, "message": "runtime error: invalid memory address or nil pointer dereference"},
            Outcome.ALLOWED,
        ),
    ],
)
def test_http_classification_is_exact(status: int, payload: object, outcome: Outcome) -> None:
    from harness.probes.http import classify_http

    assert classify_http(status, payload) is outcome


def test_a_worker_error_is_read_by_the_status_it_carries() -> None:
    """sdk-core reports a refused worker as a RuntimeError holding tonic's Status: read whole, code and
    exact message, never by a substring."""
    refused = RuntimeError(
        "Worker validation failed: Namespace x was not found or otherwise could not be described: Status "
        '{ code: PermissionDenied, message: "Request unauthorized.", details: b"..." }'
    )
    assert classify_exception(refused) == (Outcome.DENIED, "PERMISSION_DENIED", REQUEST_UNAUTHORIZED)
    crashed = RuntimeError(
        'Poll failure: Status { code: Unavailable, message: "transport error", source: None }'
    )
    assert classify_exception(crashed)[0] is Outcome.ERROR
    other = RuntimeError('Status { code: PermissionDenied, message: "Namespace is not active" }')
    assert classify_exception(other)[0] is Outcome.ALLOWED  # not the authorizer's refusal
    two = RuntimeError(
        'Status { code: PermissionDenied, message: "Request unauthorized." } then '
        'Status { code: Unavailable, message: "x" }'
    )
    assert classify_exception(two)[0] is Outcome.ERROR  # ambiguous: which one was it?
