"""Nexus HTTP probes (the frontend's httpPort): start an operation by namespace and task queue, or by
endpoint. Reports what happened; decides nothing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from harness.model.nexus import DISPATCH_BY_ENDPOINT, DISPATCH_BY_NAMESPACE_AND_TASK_QUEUE
from harness.probes.grpc import Observation
from harness.types import Outcome

SERVICE, OPERATION = "authz-service", "echo"


@dataclass(frozen=True)
class NexusRoute:
    """Where a start-operation request goes: by namespace and task queue, or by endpoint id."""

    name: str
    namespace: str = ""  # by namespace and task queue
    task_queue: str = ""
    endpoint_id: str = ""  # by endpoint

    @property
    def full_method(self) -> str:
        return DISPATCH_BY_ENDPOINT if self.endpoint_id else DISPATCH_BY_NAMESPACE_AND_TASK_QUEUE

    @property
    def path(self) -> str:
        if self.endpoint_id:
            return f"/nexus/endpoints/{quote(self.endpoint_id, safe='')}/services/{SERVICE}/{OPERATION}"
        return (
            f"/namespaces/{quote(self.namespace, safe='')}/task-queues/{quote(self.task_queue, safe='')}"
            f"/nexus-services/{SERVICE}/{OPERATION}"
        )


def classify_nexus(status: int, message: str) -> Outcome:
    """The one place a Nexus HTTP answer becomes an outcome: 401 the token was refused (claim mapper),
    403 the authorizer said no, 404 "nexus endpoint not found" no such endpoint; anything else came from
    past authorization (the handler's answer, or its timeout)."""
    if status == 401:
        return Outcome.UNAUTHENTICATED
    if status == 403 and message.startswith("permission denied"):
        return Outcome.DENIED
    if status == 404 and message == "nexus endpoint not found":
        return Outcome.ABSENT
    return Outcome.ALLOWED


async def probe_nexus(
    client: httpx.AsyncClient, route: NexusRoute, headers: Sequence[tuple[str, str]], body: bytes = b'"ping"'
) -> Observation:
    request_headers = [*headers, ("Content-Type", "application/json"), ("Request-Timeout", "10s")]
    started = time.monotonic()
    try:
        response = await client.post(route.path, content=body, headers=request_headers)
    except httpx.HTTPError as exc:
        return Observation(
            Outcome.ERROR, type(exc).__name__, str(exc)[:200], started, time.monotonic(), "nexus"
        )
    try:
        payload = response.json()
        message = str(payload.get("message", "")) if isinstance(payload, dict) else ""
    except ValueError:
        message = response.text[:200]
    outcome = classify_nexus(response.status_code, message)
    return Observation(outcome, str(response.status_code), message, started, time.monotonic(), "nexus")
