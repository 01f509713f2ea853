"""One Surface per probe module: how a call of that kind is sent to a target, and which question the model
is asked about it. The runner looks the surface up by the call's method, never by a ladder of isinstance
checks (what the authorizer is asked, Call.target, is the method's own: harness/probes/)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.cases.ask import CallQuestion, HttpCallQuestion, NexusQuestion, ServerFacts, Window
from harness.cases.calls import Call
from harness.model import Credential
from harness.probes.grpc import ApiMethod, Observation, Prober, minimal_request
from harness.probes.grpc_raw import RawMethod, probe_raw, probe_with_headers
from harness.probes.http import HttpRoute, probe_http
from harness.probes.nexus import CallbackRoute, NexusRoute, probe_callback, probe_nexus
from harness.probes.streams import StreamMethod, probe_stream
from harness.server.target import Target
from harness.tokens.mint import MintedToken

Headers = Sequence[tuple[str, str]]
Question = CallQuestion | HttpCallQuestion | NexusQuestion


@dataclass(frozen=True)
class Sending:
    """What every call of one observation is sent with."""

    target: Target
    headers: Headers
    prober: Prober
    repeated: bool  # a header name repeats: the SDK's metadata mapping cannot carry it


@dataclass(frozen=True)
class Asking:
    """What the model is told of the caller, for every call of one observation."""

    facts: ServerFacts
    credential: Credential
    headers: Headers
    token: MintedToken | None

    @property
    def signed_by(self) -> str | None:
        return self.token.signed_by if self.token else None


class Surface(Protocol):
    async def probe(self, sending: Sending, call: Call) -> Observation: ...

    def question(self, asking: Asking, call: Call, window: Window) -> Question: ...


class Unary:
    """SDK methods: through the SDK's client, or grpcio where a header repeats."""

    async def probe(self, sending: Sending, call: Call) -> Observation:
        assert isinstance(call.method, ApiMethod)
        if sending.repeated:
            request = call.request or minimal_request(call.method, call.namespace)
            return await probe_with_headers(sending.target.address, call.method, request, sending.headers)
        return await sending.prober.probe(call.method, call.namespace, sending.headers, call.request)

    def question(self, asking: Asking, call: Call, window: Window) -> Question:
        return CallQuestion(asking.facts, asking.credential, call.target, window, call.stream)


class Raw(Unary):
    """Methods the SDK has no client for, called by name."""

    async def probe(self, sending: Sending, call: Call) -> Observation:
        assert isinstance(call.method, RawMethod)
        async with sending.target.grpc_channel() as channel:
            return await probe_raw(channel, call.method.full_method, call.method.body, sending.headers)


class Stream(Unary):
    """Streams through grpcio: authorized once, when they open."""

    async def probe(self, sending: Sending, call: Call) -> Observation:
        assert isinstance(call.method, StreamMethod)
        credentials, options = sending.target.channel_credentials()
        return await probe_stream(sending.target.address, call.method, sending.headers, credentials, options)


class Http:
    """The HTTP API (grpc-gateway): the model is told the HTTP headers, the Host and the route."""

    async def probe(self, sending: Sending, call: Call) -> Observation:
        assert isinstance(call.method, HttpRoute)
        async with sending.target.http_client() as client:
            return await probe_http(client, call.method, call.namespace, sending.headers, call.host or None)

    def question(self, asking: Asking, call: Call, window: Window) -> Question:
        assert isinstance(call.method, HttpRoute)
        route = (call.method.verb, call.method.template)
        return HttpCallQuestion(
            asking.facts, tuple(asking.headers), asking.signed_by, call.target, window, call.host, route=route
        )


class NexusStart:
    """Nexus start-operation routes (by namespace and task queue, or by endpoint)."""

    async def probe(self, sending: Sending, call: Call) -> Observation:
        assert isinstance(call.method, NexusRoute)
        async with sending.target.http_client() as client:
            return await probe_nexus(client, call.method, sending.headers)

    def question(self, asking: Asking, call: Call, window: Window) -> Question:
        assert isinstance(call.method, NexusRoute)
        target = call.target
        return NexusQuestion(
            asking.facts, tuple(asking.headers), asking.signed_by, target.full_method, target.namespace,
            call.method.endpoint_id, window,
        )  # fmt: skip


class NexusCallback:
    """Nexus completions (callback routes), authorized against the callback token's namespace."""

    async def probe(self, sending: Sending, call: Call) -> Observation:
        assert isinstance(call.method, CallbackRoute)
        async with sending.target.http_client() as client:
            return await probe_callback(client, call.method, sending.headers)

    def question(self, asking: Asking, call: Call, window: Window) -> Question:
        route = call.method
        assert isinstance(route, CallbackRoute)
        return NexusQuestion(
            asking.facts, tuple(asking.headers), asking.signed_by, route.full_method, route.token_namespace, "",
            window, path_namespace=route.path_namespace,
        )  # fmt: skip


SURFACES: dict[type, Surface] = {
    ApiMethod: Unary(),
    RawMethod: Raw(),
    StreamMethod: Stream(),
    HttpRoute: Http(),
    NexusRoute: NexusStart(),
    CallbackRoute: NexusCallback(),
}


def surface_of(call: Call) -> Surface:
    return SURFACES[type(call.method)]
