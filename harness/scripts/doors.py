"""internal-frontend's doors (AUTHZ-DOOR-002/003): its gRPC and HTTP ports called with no token and no
client certificate, and what the model says a caller there gets."""

from __future__ import annotations

from pathlib import Path

import grpc

from harness.cases.ask import Asked, InternalFrontendQuestion
from harness.cases.runner import facts_of
from harness.probes.grpc import Observation, minimal_request, wf
from harness.probes.grpc_raw import probe_raw
from harness.probes.http import plain_http_client, probe_http, routes
from harness.server.target import SUITE_NAMESPACE, Target
from harness.types import CallTarget

INTERNAL_GRPC = ("ListNamespaces", "DescribeNamespace", "RegisterNamespace")
ROUTES = {r.name: r for r in routes()}


def internal_addresses(server: Target) -> tuple[str, str | None]:
    """internal-frontend's gRPC address and, where the release serves one there (1.29+), its HTTP API's."""
    assert server.running.config is not None
    ports = server.running.config.ports["internal-frontend"]
    http = f"127.0.0.1:{ports['httpPort']}" if server.rules.internal_http and "httpPort" in ports else None
    return f"127.0.0.1:{ports['grpcPort']}", http


async def internal_observations(server: Target) -> dict[str, Observation]:
    """Anonymous calls to internal-frontend: by gRPC (INTERNAL_GRPC), and ListNamespaces over HTTP."""
    grpc_address, http_address = internal_addresses(server)
    observed: dict[str, Observation] = {}
    # grpcio by name: a port that needs a client certificate must show as refused, not stop the probe.
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        for name in INTERNAL_GRPC:
            body = minimal_request(wf(name), SUITE_NAMESPACE).SerializeToString()
            observed[f"grpc {name}"] = await probe_raw(channel, wf(name).full_method, body, [], deadline=10)
    if http_address is None:
        return observed
    async with plain_http_client(f"http://{http_address}", timeout=10) as http:
        observed["http ListNamespaces"] = await probe_http(http, ROUTES["ListNamespaces"], "", [])
    return observed


def internal_expected(server: Target, label: str) -> Asked:
    """The model's answer for an observation label ("grpc ListNamespaces", "http ListNamespaces")."""
    method = label.split()[1]
    question = InternalFrontendQuestion(
        facts_of(server),
        CallTarget(wf(method).full_method, SUITE_NAMESPACE if method != "ListNamespaces" else ""),
    )
    return Asked(question, question.answer())


def read_ca(path: str | None) -> bytes | None:
    """The --target-ca file's bytes (None: no CA named)."""
    return Path(path).read_bytes() if path else None
