"""Nexus HTTP probes (the frontend's httpPort): start an operation by namespace and task queue, or by
endpoint. Reports what happened; decides nothing."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import quote

import httpx

from harness.model.nexus import (
    COMPLETE_NEXUS_OPERATION,
    DISPATCH_BY_ENDPOINT,
    DISPATCH_BY_NAMESPACE_AND_TASK_QUEUE,
)
from harness.probes.grpc import Observation
from harness.probes.nexus_callback import CALLBACK_TOKEN_HEADER, callback_token
from harness.types import CallTarget, Outcome

SERVICE, OPERATION = "authz-service", "echo"
NAMESPACE_NOT_FOUND = re.compile(r'namespace "[^"]*" not found')


@dataclass(frozen=True)
class NexusRoute:
    """Where a start-operation request goes: by namespace and task queue, or by endpoint id."""

    name: str
    namespace: str = ""  # by namespace and task queue
    task_queue: str = ""
    endpoint_id: str = ""  # by endpoint
    surface: ClassVar[str] = "nexus"

    def call_target(self, namespace: str) -> CallTarget:
        """By endpoint, `namespace` is the endpoint's target namespace (the route itself names none)."""
        return CallTarget(self.full_method, namespace or self.namespace)

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


def classify_nexus(status: int, message: str, completion: bool = False) -> Outcome:
    """The one place a Nexus HTTP answer becomes an outcome: 401 the token was refused (claim mapper),
    403 the authorizer said no, 404 "nexus endpoint not found" or `namespace "<id>" not found` (a
    completion's namespace) no such target, 400 "invalid callback token" a completion refused before
    authorization; anything else came from past authorization (the handler's answer, or its timeout)."""
    if status == 401:
        return Outcome.UNAUTHENTICATED
    if status == 403 and message.startswith("permission denied"):
        return Outcome.DENIED
    if status == 404 and (message == "nexus endpoint not found" or NAMESPACE_NOT_FOUND.fullmatch(message)):
        return Outcome.ABSENT
    if status == 404 and message == "Not Found":  # the router's own: no such route on this release
        return Outcome.ABSENT
    if status == 400 and message == "invalid callback token":
        return Outcome.REFUSED
    if completion and status == 500:
        # Past authorization a completion of an operation that does not exist is a 404: a 500 here is
        # the server failing (or refusing) before it got that far.
        return Outcome.FAULT
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


@dataclass(frozen=True)
class CallbackRoute:
    """An async Nexus completion (CompleteNexusOperation): POST to /namespaces/{ns}/nexus/callback, or
    /nexus/callback, with a callback token naming the operation's namespace (by ID) and workflow."""

    name: str
    token_namespace: str  # the namespace the callback token names ("" for an ID no namespace has)
    token_namespace_id: str
    path_namespace: str | None  # None: /nexus/callback (no namespace in the path)
    surface: ClassVar[str] = "nexus"

    def call_target(self, namespace: str) -> CallTarget:
        return CallTarget(self.full_method, self.token_namespace)  # authorized against the token's namespace

    @property
    def full_method(self) -> str:
        return COMPLETE_NEXUS_OPERATION

    @property
    def path(self) -> str:
        if self.path_namespace is None:
            return "/nexus/callback"
        return f"/namespaces/{quote(self.path_namespace, safe='')}/nexus/callback"


async def probe_callback(
    client: httpx.AsyncClient, route: CallbackRoute, headers: Sequence[tuple[str, str]]
) -> Observation:
    """Complete an operation that does not exist (a fresh workflow ID): past authorization the server
    answers that it found nothing, so nothing is ever completed."""
    token = callback_token(
        route.token_namespace_id, f"authz-nobody-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    )
    request_headers = [
        *headers,
        (CALLBACK_TOKEN_HEADER, token),
        ("Nexus-Operation-State", "succeeded"),
        ("Content-Type", "application/json"),
    ]
    started = time.monotonic()
    try:
        response = await client.post(route.path, content=b'"done"', headers=request_headers)
    except httpx.HTTPError as exc:
        return Observation(
            Outcome.ERROR, type(exc).__name__, str(exc)[:200], started, time.monotonic(), "nexus"
        )
    try:
        payload = response.json()
        message = str(payload.get("message", "")) if isinstance(payload, dict) else ""
    except ValueError:
        message = response.text[:200]
    outcome = classify_nexus(response.status_code, message, completion=True)
    return Observation(outcome, str(response.status_code), message, started, time.monotonic(), "nexus")
