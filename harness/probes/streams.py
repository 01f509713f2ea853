"""Streaming probes: reflection (v1 and v1alpha), health Watch and AdminService's replication stream.

The frontend authorizes a stream once, when it opens (InterceptStream, namespace ""): a refusal comes
back as the stream's status, and the server sends it as UNKNOWN "Request unauthorized." (not
PERMISSION_DENIED, as unary calls do). A stream that answers a message, or fails for any other reason,
got past authorization."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import grpc
from grpc_reflection.v1alpha import reflection_pb2
from temporalio.bridge.proto.health.v1 import HealthCheckRequest

from harness.guard import gate_at
from harness.probes.grpc import Observation
from harness.types import REQUEST_UNAUTHORIZED, CallTarget, Outcome


@dataclass(frozen=True)
class StreamMethod:
    name: str
    full_method: str
    first: bytes  # the first (or only) request message
    client_streaming: bool
    surface: ClassVar[str] = "stream"

    def call_target(self, namespace: str) -> CallTarget:
        return CallTarget(self.full_method, "")  # a stream is authorized once, with namespace ""

    @property
    def short(self) -> str:
        return self.full_method.strip("/").replace("grpc.reflection.", "")


_LIST_SERVICES = reflection_pb2.ServerReflectionRequest(list_services="*").SerializeToString()
STREAMS = (
    StreamMethod("ReflectionV1", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", _LIST_SERVICES, True),
    StreamMethod("ReflectionV1alpha", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", _LIST_SERVICES, True),
    StreamMethod("HealthWatch", "/grpc.health.v1.Health/Watch", HealthCheckRequest().SerializeToString(), False),
    StreamMethod(
        "ReplicationStream",
        "/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages",
        b"",
        True,
    ),
)  # fmt: skip


def classify_stream(code: grpc.StatusCode | None, details: str) -> Outcome:
    """The one place a stream's answer becomes an outcome."""
    if details == REQUEST_UNAUTHORIZED and code in (
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.PERMISSION_DENIED,
    ):
        return Outcome.DENIED
    if code in (grpc.StatusCode.UNIMPLEMENTED,) and details.startswith(("unknown method", "unknown service")):
        return Outcome.ABSENT
    if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED) or code is None:
        return Outcome.ERROR
    return Outcome.ALLOWED


def _open(
    address: str,
    method: StreamMethod,
    headers: Sequence[tuple[str, str]],
    credentials: grpc.ChannelCredentials | None,
    options: Sequence[tuple[str, str]],
    deadline: float,
) -> tuple[Outcome, str, str]:
    # grpcio's synchronous API, on a thread: its request sender stops quietly when the server has already
    # closed the stream (a refusal), where the asyncio API reports a local INTERNAL error instead.
    channel = (
        grpc.secure_channel(address, credentials, list(options))
        if credentials is not None
        else grpc.insecure_channel(address)
    )
    with channel:
        multicallable = (
            channel.stream_stream(method.full_method, request_serializer=None, response_deserializer=None)
            if method.client_streaming
            else channel.unary_stream(method.full_method, request_serializer=None, response_deserializer=None)
        )
        request = iter([method.first]) if method.client_streaming else method.first
        call = multicallable(request, metadata=list(headers), timeout=deadline)
        try:
            next(call)
        except StopIteration:
            pass  # closed without a message: its status says why
        except grpc.RpcError:
            pass  # the status says why
        else:
            call.cancel()
            return Outcome.ALLOWED, "OK", "a message"
        code, details = call.code(), call.details() or ""
        return classify_stream(code, details), code.name if code else "NONE", details


async def probe_stream(
    address: str,
    method: StreamMethod,
    headers: Sequence[tuple[str, str]],
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[tuple[str, str]] = (),
    deadline: float = 15.0,
) -> Observation:
    gate = gate_at(address)  # a cluster the harness does not own: the stream passes its gate too
    if gate is not None:
        gate.admit(method.full_method, None)
    started = time.monotonic()
    outcome, status, message = await asyncio.to_thread(
        _open, address, method, headers, credentials, options, deadline
    )
    return Observation(outcome, status, message, started, time.monotonic(), "stream")
