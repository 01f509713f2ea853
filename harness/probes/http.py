"""HTTP API probes (the frontend's grpc-gateway on its httpPort): one request per routed method, its
path and body made from the method's minimal request. Reports what happened; decides nothing.

Routes are read from the SDK's proto descriptors (their google.api.http options), not hand-listed."""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from google.api import annotations_pb2
from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.service import RPCStatusCode

from harness.probes.grpc import ApiMethod, Observation, classify, minimal_request, sdk_methods
from harness.types import REQUEST_UNAUTHORIZED, CallTarget, Outcome

if TYPE_CHECKING:
    from harness.guard import Gate

PATH_VARIABLE = re.compile(r"\{([^}=]+)(=[^}]*)?\}")
PLACEHOLDER = "authz-probe"
HOST_NOT_ALLOWED = "Host not allowed"


@functools.cache
def _plain_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def plain_http_client(base_url: str = "", timeout: float = 15) -> httpx.AsyncClient:
    """An httpx client for http:// URLs. httpx loads a CA bundle into a new ssl context for every client,
    even one that never speaks TLS (about 40 ms of CPU each, hundreds of clients a run): one, shared."""
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, verify=_plain_context())


@dataclass(frozen=True)
class HttpRoute:
    method: ApiMethod
    verb: str  # get, post, put, delete, patch
    template: str  # /api/v1/namespaces/{namespace}/workflows/{workflow_id}
    body: str  # "*", a field name, or "" (no body)
    surface: ClassVar[str] = "http"

    def call_target(self, namespace: str) -> CallTarget:
        return self.method.call_target(namespace)  # the gateway calls the gRPC method

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def full_method(self) -> str:
        return self.method.full_method

    @property
    def short(self) -> str:
        return f"{self.verb.upper()} {self.template}"


def _bindings(method: ApiMethod) -> list[tuple[str, str, str]]:
    descriptor = method.request_type.DESCRIPTOR.file.pool.FindMethodByName(
        method.full_method.strip("/").replace("/", ".")
    )
    options = descriptor.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule = options.Extensions[annotations_pb2.http]
    rules = [rule, *rule.additional_bindings]
    found = []
    for r in rules:
        verb = r.WhichOneof("pattern")
        if verb in ("get", "post", "put", "delete", "patch"):
            found.append((verb, str(getattr(r, verb)), r.body or rule.body))
    return found


def routes() -> list[HttpRoute]:
    """One route per routed method: the /api/v1 binding where there is one (the documented HTTP API)."""
    found = []
    for method in sdk_methods():
        bindings = _bindings(method)
        if not bindings:
            continue
        api = [b for b in bindings if b[1].startswith("/api/v1/")]
        verb, template, body = (api or bindings)[0]
        found.append(HttpRoute(method, verb, template, body))
    return found


def _set_field(message: Message, path: str, value: str) -> None:
    *parents, leaf = path.split(".")
    node: Any = message
    for part in parents:
        node = getattr(node, part)
    field = node.DESCRIPTOR.fields_by_name.get(leaf)
    if field is not None and field.type == field.TYPE_STRING and not field.is_repeated:
        setattr(node, leaf, value)


def request_for(route: HttpRoute, namespace: str) -> tuple[str, str, dict[str, Any] | None]:
    """(verb, path, JSON body) for the route: path variables filled (namespace from the column,
    others a placeholder), set in the request too so path and body agree."""
    message = minimal_request(route.method, namespace)
    values: dict[str, str] = {}
    for match in PATH_VARIABLE.finditer(route.template):
        variable = match.group(1)
        value = namespace if variable == "namespace" else PLACEHOLDER
        values[variable] = value
        _set_field(message, variable, value)
    path = PATH_VARIABLE.sub(lambda m: values[m.group(1)], route.template)
    body: dict[str, Any] | None = None
    if route.body:
        document = json_format.MessageToDict(message, preserving_proto_field_name=False)
        body = document if route.body == "*" else document.get(route.body, {})
    return route.verb, path, body


@functools.cache
def _matchers() -> list[tuple[str, re.Pattern[str], HttpRoute]]:
    """(verb, path pattern, route) for every binding of every routed method (not only the /api/v1 one)."""
    found = []
    for method in sdk_methods():
        for verb, template, body in _bindings(method):
            pattern = PATH_VARIABLE.sub(lambda m: f"(?P<{m.group(1).replace('.', '__')}>[^/]*)", template)
            found.append((verb.upper(), re.compile(f"^{pattern}$"), HttpRoute(method, verb, template, body)))
    return found


def request_from_http(verb: str, path: str, content: bytes) -> tuple[str, Message | None]:
    """The gRPC method and request an HTTP API request stands for, as the gateway reads it (path variables,
    then the JSON body); ("HTTP <verb> <path>", None) for a path no route has (Nexus, anything else)."""
    for route_verb, pattern, route in _matchers():
        matched = pattern.match(path) if route_verb == verb.upper() else None
        if matched is None:
            continue
        message = route.method.request_type()
        try:
            document = json.loads(content) if content else {}
            if route.body and isinstance(document, dict):
                if route.body == "*":
                    json_format.ParseDict(document, message, ignore_unknown_fields=True)
                else:
                    json_format.ParseDict({route.body: document}, message, ignore_unknown_fields=True)
        except (ValueError, json_format.ParseError):
            pass  # the variables in the path still say what the request names
        for variable, value in matched.groupdict().items():
            _set_field(message, variable.replace("__", "."), value)
        return route.full_method, message
    return f"HTTP {verb.upper()} {path}", None


def guard_hook(gate: Gate) -> Callable[[httpx.Request], Awaitable[None]]:
    """An httpx request hook that puts every HTTP API request through the gate (harness.guard)."""

    async def hook(request: httpx.Request) -> None:
        method, message = request_from_http(request.method, request.url.path, request.content)
        gate.admit(method, message)

    return hook


def classify_http(status: int, payload: Any) -> Outcome:
    """The one place an HTTP API answer becomes an outcome.

    DENIED: 403 with the authorizer's status (code 7, "Request unauthorized."). REFUSED: the Host check
    (403 "Host not allowed"), which runs before authorization. ABSENT: the gateway has no such route
    (404/405 with its own "Not Found"/"Method Not Allowed"). Any other answer came from past the
    authorizer."""
    message = payload.get("message", "") if isinstance(payload, dict) else ""
    if status == 403 and message == REQUEST_UNAUTHORIZED:
        return Outcome.DENIED
    if status == 403 and message == HOST_NOT_ALLOWED:
        return Outcome.REFUSED
    if status in (404, 405) and message in ("Not Found", "Method Not Allowed", ""):
        return Outcome.ABSENT
    # 501: a path it has, not with this verb.
    if status == 501 and message in ("Not Implemented", "Method Not Allowed", ""):
        return Outcome.ABSENT
    if status >= 500 and status != 501:
        # grpc-gateway's 500/503 carry the gRPC status: a fault is judged as on gRPC (probes.grpc.classify);
        # a 5xx without one (a proxy, a dying server) says nothing about authorization.
        code = payload.get("code") if isinstance(payload, dict) else None
        if not isinstance(code, int) or code not in _GRPC_CODES:
            return Outcome.ERROR
        return classify(_GRPC_CODES[code], message)
    return Outcome.ALLOWED


_GRPC_CODES = {code.value: code for code in RPCStatusCode}


async def probe_http(
    client: httpx.AsyncClient,
    route: HttpRoute,
    namespace: str,
    headers: Sequence[tuple[str, str]],
    host: str | None = None,
) -> Observation:
    verb, path, body = request_for(route, namespace)
    request_headers = list(headers) + ([("Host", host)] if host else [])
    started = time.monotonic()
    try:
        response = await client.request(verb.upper(), path, json=body, headers=request_headers)
    except httpx.HTTPError as exc:
        return Observation(
            Outcome.ERROR, type(exc).__name__, str(exc)[:200], started, time.monotonic(), "http"
        )
    try:
        payload = response.json()
    except ValueError:
        payload = {"message": response.text[:200]}
    message = payload.get("message", "") if isinstance(payload, dict) else ""
    outcome = classify_http(response.status_code, payload)
    return Observation(outcome, str(response.status_code), str(message), started, time.monotonic(), "http")
