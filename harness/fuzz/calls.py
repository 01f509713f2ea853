"""The calls every example is decided on: one per scope x access class on the caller's own namespace and
on another, the cluster's read and admin calls, and an exempt call (which tells a refused token, DENIED
there too, from an accepted one that grants nothing)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.cases.calls import Call
from harness.probes.grpc import method, wf
from harness.server.target import OTHER_NAMESPACE, SUITE_NAMESPACE
from harness.types import OPERATOR_SERVICE


def sample(own: str = SUITE_NAMESPACE, other: str = OTHER_NAMESPACE) -> list[Call]:
    calls = [Call("exempt", wf("GetSystemInfo"))]
    for where, namespace in (("own", own), ("other", other)):
        calls += [
            Call(f"{where}-read", wf("DescribeNamespace"), namespace),
            Call(f"{where}-write", wf("StartWorkflowExecution"), namespace),
            Call(f"{where}-admin", wf("UpdateNamespace"), namespace),
        ]
    calls += [
        Call("cluster-read", wf("ListNamespaces")),
        Call("cluster-admin", method(OPERATOR_SERVICE, "ListClusters")),
    ]
    return calls


LABELS = tuple(c.label for c in sample())


def by_label(labels: Sequence[str]) -> list[Call]:
    """The sample's calls named in a stored example (an unknown label is a ValueError)."""
    calls = {c.label: c for c in sample()}
    unknown = [label for label in labels if label not in calls]
    if unknown:
        raise ValueError(f"unknown call labels {unknown}: known are {sorted(calls)}")
    return [calls[label] for label in labels]
