"""Streams: reflection (v1, v1alpha), health Watch and AdminService's replication stream, per token shape.

A stream is authorized once, when it opens, with namespace "" (where the version authorizes streams at
all: not before 1.29.6, and not in 1.31.0/1.31.1). The model says who gets in; the server's refusal is
its stream status UNKNOWN "Request unauthorized.".
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.cases.calls import Call
from harness.cases.evidence import Evidence
from harness.cases.recipes import token
from harness.cases.runner import CallSet, Case, all_denied, fixed, run_case
from harness.cases.unprobed import not_probed
from harness.probes.streams import STREAMS
from harness.pytest_plugin import rows
from harness.server.config import ServerSettings
from harness.server.target import SUITE_NAMESPACE, Target

pytestmark = pytest.mark.asyncio(loop_scope="session")

NS = SUITE_NAMESPACE


def all_streams(target: Target) -> list[Call]:
    """Every stream; on a cluster the harness does not own, not the replication stream (harness/safety.py)."""
    return [Call(s.name, s) for s in STREAMS if not not_probed(target, s.full_method, None)]


ALL: CallSet = all_streams
BY_NAME = {s.name: s for s in STREAMS}
OPEN = ServerSettings(dynamic_config={"system.disableStreamingAuthorizer": True})


def only(*names: str) -> CallSet:
    """A case's calls (data): these streams, by name."""
    return fixed(*(Call(n, BY_NAME[n]) for n in names))


CASES = [
    Case("AUTHZ-STREAM-001", "Anonymous", None, calls=ALL),
    Case("AUTHZ-STREAM-001", "SystemAdmin", token("{system}:admin"), calls=ALL),
    Case("AUTHZ-STREAM-001", "SystemReader", token("{system}:read"), calls=ALL),
    Case("AUTHZ-STREAM-001", "NamespaceAdmin", token(f"{NS}:admin"), calls=ALL),
    Case("AUTHZ-STREAM-001", "ExpiredSystemAdmin", token("{system}:admin", exp_in=-60), calls=ALL),
    Case(
        "AUTHZ-STREAM-002",
        "SystemAdminReflection",
        token("{system}:admin"),
        calls=only("ReflectionV1", "ReflectionV1alpha"),
        finding=all_denied("ReflectionV1", "ReflectionV1alpha"),
    ),
    Case("AUTHZ-STREAM-003", "SystemAdminWatch", token("{system}:admin"), calls=only("HealthWatch"), finding=all_denied("HealthWatch")),
    Case("AUTHZ-STREAM-004", "AnonymousWithStreamingAuthorizerOff", None, calls=ALL, settings=OPEN),
    Case("AUTHZ-STREAM-004", "ExpiredWithStreamingAuthorizerOff", token("{system}:admin", exp_in=-60), calls=ALL, settings=OPEN),
]  # fmt: skip


@pytest.mark.parametrize("case", rows(CASES))
async def test_stream(case: Case, server_for: Any, evidence: Evidence) -> None:
    server = await server_for(case.settings)
    evidence.surface = "stream"
    await run_case(server, case, evidence)
