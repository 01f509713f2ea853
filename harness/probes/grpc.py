"""Unary gRPC probes: one minimal request per API method, sent with given metadata. Decides nothing."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from google.protobuf import duration_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from temporalio.api.operatorservice.v1 import service_pb2 as operator_service_pb2
from temporalio.api.workflowservice.v1 import service_pb2 as workflow_service_pb2
from temporalio.bridge.proto.health.v1 import HealthCheckRequest
from temporalio.service import RPCError, RPCStatusCode, ServiceClient

from harness.types import (
    OPERATOR_SERVICE,
    REQUEST_UNAUTHORIZED,
    TOKEN_NAMESPACE_MISMATCH,
    WORKFLOW_SERVICE,
    CallTarget,
    Outcome,
)

HEALTH_SERVICE = "grpc.health.v1.Health"

K = TypeVar("K")

# Statuses that carry no answer from the server: the call never got a verdict.
_NO_ANSWER = {RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}
# Statuses that say nothing about authorization by themselves: the transport failing, a server going
# down, a fault nobody expected. Such an answer is ERROR (it fails every comparison, with its status and
# text in the evidence), unless its message is one a handler gives after authorization passed, as seen
# on live servers and listed here.
_UNCLEAR = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN, RPCStatusCode.DATA_LOSS}
_PAST_AUTHORIZATION: dict[RPCStatusCode, tuple[str, ...]] = {
    RPCStatusCode.UNAVAILABLE: (
        # AddOrUpdateRemoteCluster's handlers dial the address they are given (the probe gives 127.0.0.1:1).
        "Unable connect to remote cluster",
        'connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1',
        # 1.20's grpc-go words the same dial failure so.
        'last connection error: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1',
    ),
    RPCStatusCode.INTERNAL: (
        # A handler's panic on an empty request, recovered by the server (AdminService DLQ task calls).
        "runtime error: invalid memory address or nil pointer dereference",
        # A handler that returned no response (1.20's DeprecateNamespace): grpc-go cannot marshal nil.
        "grpc: error while marshaling: proto: Marshal called with nil",
        # AdminService ResendReplicationTasks with an empty request looks up cluster "" (1.21, 1.22).
        "Unknown cluster name:  with given cluster information map",
        # A handler's internal error, masked by the frontend's outermost interceptor (1.25+,
        # rpc/interceptor/mask_internal_error.go); the authorizer never answers INTERNAL (PatchSchedule).
        "something went wrong, please retry (",
    ),
}


@dataclass(frozen=True)
class ApiMethod:
    service: str  # full proto service name
    name: str  # CamelCase, as on the wire
    request_type: type[Message]
    surface: ClassVar[str] = "grpc"

    def call_target(self, namespace: str) -> CallTarget:
        """What the authorizer is asked about a call carrying `namespace` (none where the request has none)."""
        return CallTarget(self.full_method, namespace if self.has_namespace else "")

    @property
    def full_method(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def snake(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()

    @property
    def has_namespace(self) -> bool:
        return "namespace" in self.request_type.DESCRIPTOR.fields_by_name

    @property
    def short(self) -> str:
        return f"{self.service.rsplit('.', 1)[-1]}/{self.name}"


@dataclass(frozen=True)
class Observation:
    outcome: Outcome
    status: str  # gRPC status name, "OK" on success (HTTP: the status code)
    message: str
    started: float  # monotonic: the call was sent
    ended: float  # monotonic: the answer arrived
    surface: str = "grpc"

    @property
    def latency_ms(self) -> float:
        return (self.ended - self.started) * 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "status": self.status,
            "message": self.message[:300],
            "latency_ms": round(self.latency_ms, 2),
            "surface": self.surface,
        }

    def answer(self) -> str:
        return f"{self.status} {self.message[:160]!r}" if self.message else self.status


def _methods_of(descriptor: ServiceDescriptor) -> list[ApiMethod]:
    return [
        ApiMethod(descriptor.full_name, m.name, GetMessageClass(m.input_type)) for m in descriptor.methods
    ]


def sdk_methods() -> list[ApiMethod]:
    """Every WorkflowService and OperatorService method the installed SDK's protos know (not hand-listed)."""
    return _methods_of(workflow_service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]) + _methods_of(
        operator_service_pb2.DESCRIPTOR.services_by_name["OperatorService"]
    )


def method(service: str, name: str) -> ApiMethod:
    for m in sdk_methods():
        if m.service == service and m.name == name:
            return m
    raise LookupError(f"the SDK's protos have no {service}/{name}")


def wf(name: str) -> ApiMethod:
    return method(WORKFLOW_SERVICE, name)


HEALTH_CHECK_METHOD = ApiMethod(HEALTH_SERVICE, "Check", HealthCheckRequest)


def classify(status: RPCStatusCode | None, message: str) -> Outcome:
    """The one place a unary gRPC answer becomes an outcome.

    DENIED only for the authorizer's exact answer (PERMISSION_DENIED "Request unauthorized."). ABSENT
    only for gRPC's own "unknown method/service": a handler that answers UNIMPLEMENTED ("... is
    disabled") ran after authorization, so that is ALLOWED. ERROR where no answer came back
    (unreachable, deadline, cancelled) or the answer is a fault (UNAVAILABLE, INTERNAL, UNKNOWN,
    DATA_LOSS) other than those handlers are known to give: that says nothing about authorization, and
    never passes. Any other answer came from past the authorizer (the interceptor's only refusal is the
    exact one above)."""
    if status == RPCStatusCode.PERMISSION_DENIED and message == REQUEST_UNAUTHORIZED:
        return Outcome.DENIED
    if status == RPCStatusCode.INVALID_ARGUMENT and message == TOKEN_NAMESPACE_MISMATCH:
        return Outcome.REFUSED  # the namespace validator, which runs before authorization
    if status == RPCStatusCode.UNIMPLEMENTED and message.startswith(("unknown method", "unknown service")):
        return Outcome.ABSENT
    if status in _NO_ANSWER:
        return Outcome.ERROR
    if status in _UNCLEAR and not message.startswith(_PAST_AUTHORIZATION.get(status, ())):
        return Outcome.ERROR  # a dying server or an unknown fault: neither ALLOWED nor DENIED, a FAIL
    return Outcome.ALLOWED


# sdk-core's worker errors carry the refused call's gRPC status as tonic prints it:
# `Status { code: PermissionDenied, message: "Request unauthorized.", ... }` (a worker's failed validation
# or poll arrives as a RuntimeError, not an RPCError). Parsed whole: code and exact message.
_TONIC_STATUS = re.compile(r'\bStatus \{ code: ([A-Za-z]+), message: "((?:[^"\\]|\\.)*)"')


def _tonic_code(name: str) -> RPCStatusCode | None:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
    return RPCStatusCode.__members__.get(snake)


def classify_exception(exc: BaseException) -> tuple[Outcome, str, str]:
    """What a high-level SDK call ran into, by the RPC error inside it: (outcome, status, message). A
    worker's error from sdk-core is read by the one status it carries. An exception with neither inside
    says nothing about authorization: ERROR."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RPCError):
            return classify(current.status, current.message), current.status.name, current.message
        statuses = _TONIC_STATUS.findall(str(current))
        if len(statuses) == 1 and (code := _tonic_code(statuses[0][0])) is not None:
            message = statuses[0][1].encode().decode("unicode_escape")
            return classify(code, message), code.name, message
        current = current.__cause__ or current.__context__
    return Outcome.ERROR, type(exc).__name__, str(exc)[:300]


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
        service = {
            WORKFLOW_SERVICE: self.client.workflow_service,
            OPERATOR_SERVICE: self.client.operator_service,
            HEALTH_SERVICE: self.client.health_service,
        }.get(method.service)
        call = getattr(service, method.snake, None)
        if call is None:
            raise LookupError(f"the SDK has no client call for {method.full_method}")
        return call  # type: ignore[no-any-return]

    async def probe(
        self,
        method: ApiMethod,
        namespace: str,
        metadata: Sequence[tuple[str, str]] | Mapping[str, str],
        request: Message | None = None,
    ) -> Observation:
        call = self._call(method)
        request = request if request is not None else minimal_request(method, namespace)
        headers = dict(metadata.items() if isinstance(metadata, Mapping) else metadata)
        return await self.observe(call(request, retry=False, metadata=headers, timeout=self.timeout))

    async def health_check(self, metadata: Sequence[tuple[str, str]] | Mapping[str, str]) -> Observation:
        headers = dict(metadata.items() if isinstance(metadata, Mapping) else metadata)
        return await self.observe(
            self.client.health_service.check(
                HealthCheckRequest(), retry=False, metadata=headers, timeout=self.timeout
            )
        )

    @staticmethod
    async def observe(call: Awaitable[Any]) -> Observation:
        started = time.monotonic()
        try:
            await call
        except RPCError as err:
            return Observation(
                classify(err.status, err.message), err.status.name, err.message, started, time.monotonic()
            )
        return Observation(Outcome.ALLOWED, "OK", "", started, time.monotonic())


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
