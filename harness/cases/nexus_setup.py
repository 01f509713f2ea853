"""What the Nexus suite's cases run against: a handler worker on a task queue of the suite's namespace,
an endpoint targeting it, and the routes (start and callback) the cases name, once per server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from harness.cases.calls import Call
from harness.cases.nexus_handler import NexusHandler, create_endpoint
from harness.probes.nexus import CallbackRoute, NexusRoute
from harness.server.target import OTHER_NAMESPACE, SUITE_NAMESPACE, Target

NS = SUITE_NAMESPACE


@dataclass
class NexusSetup:
    target: Target
    handler: NexusHandler
    by_namespace: NexusRoute
    by_endpoint: NexusRoute
    unknown_endpoint: NexusRoute
    callback_in_path: CallbackRoute
    callback_no_path: CallbackRoute
    callback_wrong_path: CallbackRoute
    callback_unknown_namespace: CallbackRoute

    def namespace_of(self, route: NexusRoute | CallbackRoute) -> str:
        """The namespace a call on `route` is about: by endpoint, the endpoint's target namespace."""
        return route.call_target(NS if route == self.by_endpoint else "").namespace


SETUPS: dict[str, NexusSetup] = {}  # server name -> its setup (the handlers run until stop_all())


async def nexus_setup(target: Target) -> NexusSetup:
    """A handler worker on a task queue of NS, and an endpoint targeting it (once per server). The
    target must serve the HTTP API (`target.running.http_address`)."""
    if target.name in SETUPS:
        return SETUPS[target.name]
    client = await target.service_client()
    queue = f"nexus-{uuid.uuid4().hex[:8]}"
    admin = target.metadata(target.admin_token())
    endpoint = await create_endpoint(client, f"authz-{uuid.uuid4().hex[:8]}", NS, queue, admin)
    target.nexus_endpoints[endpoint] = NS
    handler = NexusHandler(
        client, NS, queue, target.metadata(target.mint([f"{NS}:write"], sub="nexus-handler"))
    )
    handler.start()
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=NS), metadata=admin, retry=False
    )
    ns_id = described.namespace_info.id
    setup = NexusSetup(
        target,
        handler,
        NexusRoute("by-namespace", namespace=NS, task_queue=queue),
        NexusRoute("by-endpoint", endpoint_id=endpoint),
        NexusRoute("unknown-endpoint", endpoint_id=str(uuid.uuid4())),
        CallbackRoute("callback-in-path", NS, ns_id, NS),
        CallbackRoute("callback-no-path", NS, ns_id, None),
        CallbackRoute("callback-wrong-path", NS, ns_id, OTHER_NAMESPACE),
        CallbackRoute("callback-unknown-namespace", "", str(uuid.uuid4()), None),
    )
    SETUPS[target.name] = setup
    return setup


async def stop_all() -> None:
    for setup in SETUPS.values():
        await setup.handler.stop()
    SETUPS.clear()


@dataclass(frozen=True)
class Routes:
    """A case's calls: these routes of the server's setup, by name ("by-namespace", "callback-in-path")."""

    names: tuple[str, ...]

    def __call__(self, target: Target) -> list[Call]:
        setup = SETUPS[target.name]
        chosen: list[NexusRoute | CallbackRoute] = [getattr(setup, n.replace("-", "_")) for n in self.names]
        return [Call(r.name, r, setup.namespace_of(r)) for r in chosen]


def routes(*names: str) -> Routes:
    return Routes(names)


def sent_headers(client: Any, route: NexusRoute, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers httpx really sends for such a request (it adds its own), built without sending."""
    request = client.build_request(
        "POST", route.path, content=b'"ping"',
        headers=[*headers, ("Content-Type", "application/json"), ("Request-Timeout", "10s")],
    )  # fmt: skip
    return list(request.headers.multi_items())
