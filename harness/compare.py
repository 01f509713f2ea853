"""Send a few representative calls with one credential and compare each with the model's expectation.

Suites use this to keep a case to one line: the credential, the calls, and the evidence it fills.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    ListNamespacesRequest,
    StartWorkflowExecutionRequest,
    UpdateNamespaceRequest,
)

from harness.model import Credential, Expectation, KeyRing
from harness.probes import ApiMethod, Observation
from harness.target import SUITE_NAMESPACE, Target
from harness.tokens import MintedToken, describe
from harness.types import WORKFLOW_SERVICE, CallTarget, Outcome
from harness.verdict import Evidence, expected_outcome


@dataclass(frozen=True)
class Call:
    """One probe: a method and the namespace it carries."""

    label: str
    method: ApiMethod
    namespace: str

    @property
    def target(self) -> CallTarget:
        return CallTarget(self.method.full_method, self.namespace if self.method.has_namespace else "")


def _wf(name: str, request: type[Message]) -> ApiMethod:
    return ApiMethod(WORKFLOW_SERVICE, name, request)


DESCRIBE = _wf("DescribeNamespace", DescribeNamespaceRequest)
START = _wf("StartWorkflowExecution", StartWorkflowExecutionRequest)
UPDATE_NAMESPACE = _wf("UpdateNamespace", UpdateNamespaceRequest)
LIST_NAMESPACES = _wf("ListNamespaces", ListNamespacesRequest)


def role_calls(namespace: str = SUITE_NAMESPACE) -> list[Call]:
    """Read, write and admin in a namespace, and a cluster read: tells every role apart."""
    return [
        Call("read", DESCRIBE, namespace),
        Call("write", START, namespace),
        Call("admin", UPDATE_NAMESPACE, namespace),
        Call("cluster-read", LIST_NAMESPACES, ""),
    ]


@dataclass
class Comparison:
    expected: dict[str, Outcome]
    observed: dict[str, Outcome]
    expectations: dict[str, Expectation]
    observations: dict[str, Observation]


def bearer_credential(token: MintedToken) -> tuple[Credential, dict[str, str]]:
    return Credential.bearer(token.token, token.signed_by), {"authorization": token.authorization}


def raw_credential(
    headers: Sequence[tuple[str, str]], signed_by: str | None
) -> tuple[Credential, dict[str, str]]:
    return Credential(headers=tuple(headers), signed_by=signed_by), dict(headers)


async def compare(
    target: Target,
    credential: Credential,
    metadata: Mapping[str, str],
    calls: Sequence[Call],
    *,
    keyring: KeyRing | None = None,
    now: float | None = None,
) -> Comparison:
    prober = await target.prober()
    observations = await asyncio.gather(*(prober.probe(c.method, c.namespace, metadata) for c in calls))
    expectations = {c.label: target.expect(credential, c.target, keyring=keyring, now=now) for c in calls}
    return Comparison(
        expected={label: expected_outcome(e.decision) for label, e in expectations.items()},
        observed={c.label: o.outcome for c, o in zip(calls, observations, strict=True)},
        expectations=expectations,
        observations={c.label: o for c, o in zip(calls, observations, strict=True)},
    )


def fill(evidence: Evidence, comparison: Comparison, calls: Sequence[Call], token: Any) -> None:
    """Expected vs observed per call, with the model's reasons and the server's answers."""
    evidence.expected, evidence.observed = comparison.expected, comparison.observed
    evidence.api = ", ".join(f"{c.label}={c.method.name}" for c in calls)
    evidence.namespace = calls[0].namespace if calls else ""
    if isinstance(token, MintedToken):
        evidence.claims = token.evidence()
    elif isinstance(token, str):
        evidence.claims = describe(token)
    else:
        evidence.claims = token
    evidence.reason = "; ".join(f"{k}: {e.reason}" for k, e in comparison.expectations.items())
    evidence.extra["server"] = {
        k: f"{o.status} {o.message[:120]}" for k, o in comparison.observations.items()
    }
