"""One minimal request per API method, sent with a given token; reports what happened, decides nothing."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from google.protobuf import duration_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from temporalio.api.operatorservice.v1 import service_pb2 as operator_service_pb2
from temporalio.api.workflowservice.v1 import service_pb2 as workflow_service_pb2
from temporalio.bridge.proto.health.v1 import HealthCheckRequest
from temporalio.service import RPCError, RPCStatusCode, ServiceClient

from harness.types import OPERATOR_SERVICE, REQUEST_UNAUTHORIZED, WORKFLOW_SERVICE, Outcome

K = TypeVar("K")


@dataclass(frozen=True)
class ApiMethod:
    service: str  # full proto service name
    name: str  # CamelCase, as on the wire
    request_type: type[Message]

    @property
    def full_method(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def snake(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()

    @property
    def has_namespace(self) -> bool:
        return "namespace" in self.request_type.DESCRIPTOR.fields_by_name


@dataclass(frozen=True)
class Observation:
    outcome: Outcome
    status: str  # gRPC status name, "OK" on success
    message: str
    latency_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "status": self.status,
            "message": self.message[:300],
            "latency_ms": round(self.latency_ms, 2),
        }


def _methods_of(descriptor: ServiceDescriptor) -> list[ApiMethod]:
    return [
        ApiMethod(descriptor.full_name, m.name, GetMessageClass(m.input_type)) for m in descriptor.methods
    ]


def sdk_methods() -> list[ApiMethod]:
    """Every WorkflowService and OperatorService method the installed SDK's protos know (not hand-listed)."""
    return _methods_of(workflow_service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]) + _methods_of(
        operator_service_pb2.DESCRIPTOR.services_by_name["OperatorService"]
    )


def classify(status: RPCStatusCode | None, message: str) -> Outcome:
    """DENIED only for the authorizer's exact answer. ABSENT only for gRPC's own "unknown method": a
    handler that answers UNIMPLEMENTED ("... is disabled") ran after authorization, so that is ALLOWED."""
    if status == RPCStatusCode.PERMISSION_DENIED and message == REQUEST_UNAUTHORIZED:
        return Outcome.DENIED
    if status == RPCStatusCode.UNIMPLEMENTED and message.startswith(("unknown method", "unknown service")):
        return Outcome.ABSENT
    return Outcome.ALLOWED


def minimal_request(method: ApiMethod, namespace: str) -> Message:
    """The smallest request that reaches the authorizer with `namespace`, and does no lasting harm:
    it fails validation in the handler, after authorization, wherever the bare request would act."""
    request = method.request_type()
    if method.has_namespace:
        request.namespace = namespace  # type: ignore[attr-defined]
    if method.name == "DeleteNamespace":
        # Both name and id set: the delete workflow refuses ("only one of ..."), after authorization.
        request.namespace_id = str(uuid.uuid4())  # type: ignore[attr-defined]
    elif method.name == "RegisterNamespace":
        # A negative retention fails validation instead of creating a namespace.
        request.workflow_execution_retention_period.CopyFrom(  # type: ignore[attr-defined]
            duration_pb2.Duration(seconds=-1)
        )
    elif method.name == "AddOrUpdateRemoteCluster":
        request.frontend_address = "127.0.0.1:1"  # type: ignore[attr-defined]  # refused, loopback only
    return request


class Prober:
    """Sends probes through one connection; the token travels as per-call metadata."""

    def __init__(self, service_client: ServiceClient, timeout: float = 15.0) -> None:
        self.client = service_client
        self.timeout = timedelta(seconds=timeout)

    def _call(self, method: ApiMethod) -> Callable[..., Awaitable[Any]]:
        service = (
            self.client.workflow_service
            if method.service == WORKFLOW_SERVICE
            else (self.client.operator_service if method.service == OPERATOR_SERVICE else None)
        )
        call = getattr(service, method.snake, None)
        if call is None:
            raise LookupError(f"the SDK has no client call for {method.full_method}")
        return call  # type: ignore[no-any-return]

    async def probe(
        self, method: ApiMethod, namespace: str, metadata: Mapping[str, str], request: Message | None = None
    ) -> Observation:
        call = self._call(method)
        request = request if request is not None else minimal_request(method, namespace)
        return await self.observe(call(request, retry=False, metadata=dict(metadata), timeout=self.timeout))

    async def health_check(self, metadata: Mapping[str, str]) -> Observation:
        return await self.observe(
            self.client.health_service.check(
                HealthCheckRequest(), retry=False, metadata=dict(metadata), timeout=self.timeout
            )
        )

    @staticmethod
    async def observe(call: Awaitable[Any]) -> Observation:
        started = time.perf_counter()
        try:
            await call
        except RPCError as err:
            latency = (time.perf_counter() - started) * 1000
            return Observation(classify(err.status, err.message), err.status.name, err.message, latency)
        latency = (time.perf_counter() - started) * 1000
        return Observation(Outcome.ALLOWED, "OK", "", latency)


async def run_bounded(
    jobs: Iterable[tuple[K, Callable[[], Awaitable[Observation]]]], concurrency: int
) -> dict[K, Observation]:
    """Run independent probe calls concurrently, at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)
    results: dict[K, Observation] = {}

    async def one(key: K, job: Callable[[], Awaitable[Observation]]) -> None:
        async with gate:
            results[key] = await job()

    await asyncio.gather(*(one(key, job) for key, job in jobs))
    return results
