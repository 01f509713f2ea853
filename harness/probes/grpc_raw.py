"""Calls the temporalio SDK cannot send: repeated metadata (two `authorization` headers), and methods
outside the SDK's services (AdminService, reflection), by full name through grpcio's generic calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from temporalio.service import RPCStatusCode

from harness.guard import interceptors_for
from harness.probes.grpc import ApiMethod, Observation, classify
from harness.types import CallTarget, Outcome


async def probe_with_headers(
    address: str,
    method: ApiMethod,
    request: Message,
    headers: Sequence[tuple[str, str]],
    deadline: float = 15.0,
) -> Observation:
    started = time.monotonic()
    # Through the gate of a cluster the harness does not own (harness.guard), like every other channel.
    async with grpc.aio.insecure_channel(address, interceptors=interceptors_for(address)) as channel:
        call = channel.unary_unary(
            method.full_method,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=_response_type(method).FromString,
        )
        try:
            await call(request, metadata=list(headers), timeout=deadline)
        except grpc.aio.AioRpcError as err:
            return observation_of(err, started)
    return Observation(Outcome.ALLOWED, "OK", "", started, time.monotonic())


def observation_of(err: grpc.aio.AioRpcError, started: float, surface: str = "grpc") -> Observation:
    status = RPCStatusCode(err.code().value[0])
    details = err.details() or ""
    return Observation(classify(status, details), status.name, details, started, time.monotonic(), surface)


async def probe_raw(
    channel: grpc.aio.Channel,
    full_method: str,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    deadline: float = 15.0,
) -> Observation:
    """A unary call by full method name with a raw protobuf body (b"" is a valid empty message)."""
    started = time.monotonic()
    call = channel.unary_unary(full_method, request_serializer=None, response_deserializer=None)
    try:
        await call(body, metadata=list(headers), timeout=deadline)
    except grpc.aio.AioRpcError as err:
        return observation_of(err, started)
    return Observation(Outcome.ALLOWED, "OK", "", started, time.monotonic())


def _response_type(method: ApiMethod) -> type[Message]:
    pool = method.request_type.DESCRIPTOR.file.pool
    descriptor = pool.FindMethodByName(method.full_method.strip("/").replace("/", "."))
    return GetMessageClass(descriptor.output_type)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RawMethod:
    """A unary method the SDK has no client for (AdminService), called by name with an empty body."""

    service: str
    name: str
    body: bytes = b""  # the serialised request (empty: the empty message)
    surface: ClassVar[str] = "grpc"

    def call_target(self, namespace: str) -> CallTarget:
        return CallTarget(self.full_method, "")  # see has_namespace

    @property
    def full_method(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def short(self) -> str:
        return f"{self.service.rsplit('.', 1)[-1]}/{self.name}"

    @property
    def has_namespace(self) -> bool:
        return False  # the namespace in an AdminService request is not what it is authorized against
