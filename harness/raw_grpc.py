"""The one probe the temporalio SDK cannot send: repeated metadata (two `authorization` headers).

The SDK's per-call metadata is a mapping, one value per key. grpcio's generic unary call carries a list
of (key, value) pairs, so it can repeat a key; the request and response are the SDK's own protobufs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from temporalio.service import RPCStatusCode

from harness.probes import ApiMethod, Observation, classify
from harness.types import Outcome


async def probe_with_headers(
    address: str,
    method: ApiMethod,
    request: Message,
    headers: Sequence[tuple[str, str]],
    deadline: float = 15.0,
) -> Observation:
    started = time.perf_counter()
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary(
            method.full_method,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=_response_type(method).FromString,
        )
        try:
            await call(request, metadata=list(headers), timeout=deadline)
        except grpc.aio.AioRpcError as err:
            status = RPCStatusCode(err.code().value[0])
            latency = (time.perf_counter() - started) * 1000
            return Observation(
                classify(status, err.details() or ""), status.name, err.details() or "", latency
            )
    return Observation(Outcome.ALLOWED, "OK", "", (time.perf_counter() - started) * 1000)


def _response_type(method: ApiMethod) -> type[Message]:
    pool = method.request_type.DESCRIPTOR.file.pool
    descriptor = pool.FindMethodByName(method.full_method.strip("/").replace("/", "."))
    return GetMessageClass(descriptor.output_type)  # type: ignore[arg-type]
