"""The transport guard on a cluster the harness does not own: every gRPC request the harness sends there
passes `Gate.admit()` first, which audits it (harness.audit) and refuses, with a HarnessError naming the
call, any call on the destructive list (harness.safety) aimed at something the harness did not create.

Defence in depth: the suites, the profile check and `explain --target` leave such calls out before they
get here (and say "not probed: irreversible"); this is what stops a forgotten one.

- `GuardedServiceClient`: temporalio's ServiceClient (every SDK call goes through `_rpc_call`);
  `GuardPlugin` makes `Client.connect` use it.
- `RawGuard`: a grpcio interceptor for calls by name (harness.probes.grpc_raw).
- The HTTP API's hook lives with its routes (harness.probes.http.guard_hook).
- `register()` / `gate_at()`: the gate of each not-owned address, for code that reaches a target by its
  address alone (harness.clients.connect, grpc_raw.probe_with_headers).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from temporalio.api.operatorservice.v1 import service_pb2 as operator_service_pb2
from temporalio.api.workflowservice.v1 import service_pb2 as workflow_service_pb2
from temporalio.client import ClientConfig, Plugin
from temporalio.service import (
    ConnectConfig,
    RPCError,
    ServiceClient,
    ServiceResponse,
    _BridgeServiceClient,
)

from harness import audit
from harness.errors import HarnessError
from harness.safety import NOT_PROBED, Ownership, aim_of, destructive

_SERVICES = {
    "workflow": workflow_service_pb2.DESCRIPTOR.services_by_name["WorkflowService"],
    "operator": operator_service_pb2.DESCRIPTOR.services_by_name["OperatorService"],
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def _sdk_methods() -> dict[tuple[str, str], str]:
    """(the SDK's service key, its snake-case rpc name) -> full method name."""
    return {
        (key, _snake(m.name)): f"/{descriptor.full_name}/{m.name}"
        for key, descriptor in _SERVICES.items()
        for m in descriptor.methods
    }


def sdk_full_method(service: str, rpc: str) -> str:
    """The full method name of an SDK call (`service` "workflow", `rpc` "deprecate_namespace")."""
    return _sdk_methods().get((service, rpc), f"/{service}/{rpc}")


def request_of(method: str, body: Any) -> Message | None:
    """A request as a message: itself, or raw bytes parsed with the SDK's type for the method (None
    where the SDK has no such method, AdminService's among them, or the bytes do not parse)."""
    if isinstance(body, Message):
        return body
    if not isinstance(body, bytes):
        return None
    service, _, name = method.strip("/").rpartition("/")
    for descriptor in _SERVICES.values():
        if descriptor.full_name == service and name in descriptor.methods_by_name:
            message = GetMessageClass(descriptor.methods_by_name[name].input_type)()
            try:
                message.ParseFromString(body)
            except DecodeError:
                return None
            return message
    return None


@dataclass
class Gate:
    """One not-owned cluster's gate: its address, and what the harness may touch there."""

    address: str
    ownership: Ownership

    def admit(self, method: str, request: Message | None) -> None:
        """Audit the request; refuse it (HarnessError) where the policy says no."""
        aim = aim_of(request)
        why = self.ownership.refusal(method, aim)
        if not self.ownership.owned:
            listed = destructive(method) is not None
            audit.request(self.address, method, aim.as_dict(), listed, sent=not why, why=why)
        if why:
            raise HarnessError(
                f"refused to send {method} to {self.address}, a cluster the harness does not own ({NOT_PROBED}): "
                f"{why}. A suite must leave this call out there (harness/safety.py)"
            )

    def answered(self, method: str, request: Message | None, response: Message | None, status: str) -> None:
        self.ownership.answered(method, request, response, status)


_GATES: dict[str, Gate] = {}


def register(gate: Gate) -> None:
    """From now on, every connection by address to `gate.address` goes through this gate."""
    if not gate.ownership.owned:
        _GATES[gate.address] = gate


def gate_at(address: str) -> Gate | None:
    return _GATES.get(address)


class GuardedServiceClient(_BridgeServiceClient):
    """temporalio's service client with the gate in front of every call."""

    def __init__(self, config: ConnectConfig, gate: Gate) -> None:
        super().__init__(config)
        self.gate = gate

    @classmethod
    async def open(cls, config: ConnectConfig, gate: Gate) -> GuardedServiceClient:
        client = cls(config, gate)
        if not config.lazy:
            await client._connected_client()
        return client

    async def _rpc_call(
        self,
        rpc: str,
        req: Message,
        resp_type: type[ServiceResponse],
        *,
        service: str,
        retry: bool,
        metadata: Mapping[str, str | bytes],
        timeout: timedelta | None,  # noqa: ASYNC109 (the SDK's signature, overridden)
    ) -> ServiceResponse:
        method = sdk_full_method(service, rpc)
        self.gate.admit(method, req)
        try:
            response = await super()._rpc_call(
                rpc, req, resp_type, service=service, retry=retry, metadata=metadata, timeout=timeout
            )
        except RPCError as err:
            self.gate.answered(method, req, None, err.status.name)
            raise
        self.gate.answered(method, req, response, "OK")
        return response


class GuardPlugin(Plugin):
    """Makes `Client.connect` build a GuardedServiceClient (workers on that client share it)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def configure_client(self, config: ClientConfig) -> ClientConfig:
        return config

    async def connect_service_client(
        self, config: ConnectConfig, next: Callable[[ConnectConfig], Awaitable[ServiceClient]]
    ) -> ServiceClient:
        return await GuardedServiceClient.open(config, self.gate)


class RawGuard(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """grpcio calls by name (raw bytes or messages) through the gate."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        name = client_call_details.method
        method = name.decode() if isinstance(name, bytes) else str(name)
        self.gate.admit(method, request_of(method, request))
        return await continuation(client_call_details, request)


def interceptors_for(address: str) -> list[grpc.aio.ClientInterceptor]:
    """The interceptors a grpcio channel to `address` needs (none for a server the harness started)."""
    gate = gate_at(address)
    return [RawGuard(gate)] if gate is not None else []
