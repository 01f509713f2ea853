"""Where the security suites' completion callbacks go (no server needed): each attempt to its own host, so
history's per-destination circuit breaker never sees one attempt's failures before another's first try; and
the allowlist the servers get admits those hosts and nothing else the suites aim at."""

from __future__ import annotations

import asyncio
import re
from typing import Any, cast
from urllib.parse import urlsplit

from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from harness.probes.grpc import Observation
from harness.security import attempts
from harness.types import Outcome


def server_admits(pattern: str, host: str) -> bool:
    """The servers' own rule (components/callbacks and chasm/lib/callback addressPatternToRegexp, the same
    from 1.25 to 1.32): the host:port must match the whole pattern, each '*' any characters."""
    regexp = "^" + ".*".join(re.escape(literal) for literal in pattern.split("*")) + "$"
    return re.match(regexp, host) is not None


class _Service:
    def __init__(self) -> None:
        self.started: list[StartWorkflowExecutionRequest] = []

    async def start_workflow_execution(self, request: StartWorkflowExecutionRequest, **_: Any) -> None:
        self.started.append(request)


class _Prober:
    async def observe(self, call: Any) -> Observation:
        await call
        return Observation(Outcome.DENIED, "PERMISSION_DENIED", "refused here", 0.0, 0.0)


class _Client:
    def __init__(self) -> None:
        self.workflow_service = _Service()


class _Scene:
    """What attempts.callback reads of a scene before the start's answer; the start is refused, so it stops."""

    a, b = "ns-a", "ns-b"

    def __init__(self) -> None:
        self.client = _Client()
        self.prober = _Prober()

    def metadata(self, token: object) -> dict[str, str]:
        return {}


def _urls(scene: _Scene) -> list[str]:
    return [r.completion_callbacks[0].nexus.url for r in scene.client.workflow_service.started]


def _attempt(scene: _Scene, **kwargs: Any) -> attempts.Attempted:
    tenant = cast(Any, None)
    return asyncio.run(attempts.callback(cast(Any, scene), "victim-wf", tenant, **kwargs))


def test_each_callback_attempt_has_its_own_destination() -> None:
    scene = _Scene()
    for _ in range(3):
        _attempt(scene)
    urls = _urls(scene)
    destinations = {f"{u.scheme}://{u.netloc}" for u in map(urlsplit, urls)}  # history's breaker key
    assert len(destinations) == 3, urls
    for url in urls:
        parts = urlsplit(url)
        assert (
            parts.scheme == "http" and parts.path == "/api/v1/namespaces/ns-b/workflows/victim-wf/terminate"
        )
        assert parts.netloc.endswith(f".{attempts.CALLBACK_DOMAIN}:{attempts.CALLBACK_PORT}")
        assert any(server_admits(rule["Pattern"], parts.netloc) for rule in attempts.CALLBACK_ALLOWLIST)


def test_a_given_host_is_used_as_given() -> None:
    scene = _Scene()
    _attempt(scene, host="127.0.0.1:7243")
    assert urlsplit(_urls(scene)[0]).netloc == "127.0.0.1:7243"


def test_the_allowlist_admits_the_domain_only() -> None:
    """The callback-url case aims at internal-frontend's address: the allowlist must still refuse it."""
    (rule,) = attempts.CALLBACK_ALLOWLIST
    assert rule["AllowInsecure"] is True
    assert server_admits(rule["Pattern"], attempts.callback_host())
    for other in (
        "127.0.0.1:7243",
        "localhost:7243",
        "sec-callbacks.invalid.example.com:80",
        f"not-{attempts.CALLBACK_DOMAIN}:{attempts.CALLBACK_PORT}",
        f"x.{attempts.CALLBACK_DOMAIN}:443",
    ):
        assert not server_admits(rule["Pattern"], other), other
