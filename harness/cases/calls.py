"""Calls a case sends: a method, the namespace its request carries, and (rarely) a request of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import Message

from harness.probes.grpc import ApiMethod, wf
from harness.probes.grpc_raw import RawMethod
from harness.probes.http import HttpRoute
from harness.probes.nexus import CallbackRoute, NexusRoute
from harness.probes.streams import StreamMethod
from harness.types import CallTarget


@dataclass(frozen=True)
class Call:
    label: str  # what the call stands for: "exempt", "read", "write", "admin", "cluster-read"
    method: ApiMethod | StreamMethod | HttpRoute | NexusRoute | CallbackRoute | RawMethod
    namespace: str = ""  # carried in the request when the method has a namespace field
    request: Message | None = None  # None: the method's minimal request
    host: str = ""  # HTTP only: the Host header to send ("" = the address itself)

    @property
    def stream(self) -> bool:
        return self.method.surface == "stream"

    @property
    def surface(self) -> str:
        """Where the call goes: "grpc", "stream", "http" or "nexus" (the method's probe module says)."""
        return self.method.surface

    @property
    def target(self) -> CallTarget:
        """What the authorizer is asked about this call (the method's probe module says how)."""
        return self.method.call_target(self.namespace)


def role_calls(namespace: str) -> list[Call]:
    """One call per access class, and an exempt call: together they tell every role apart, and a
    refused token (the exempt call is DENIED too) from an accepted token with no roles (it is ALLOWED)."""
    return [
        Call("exempt", wf("GetSystemInfo")),
        Call("read", wf("DescribeNamespace"), namespace),
        Call("write", wf("StartWorkflowExecution"), namespace),
        Call("admin", wf("UpdateNamespace"), namespace),
        Call("cluster-read", wf("ListNamespaces")),
    ]


def labels(calls: Sequence[Call]) -> str:
    return ", ".join(f"{c.label}={c.method.name}" for c in calls)
