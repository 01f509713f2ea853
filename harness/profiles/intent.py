"""A principal's intent as calls: every method of its rules' groups, per namespace (cluster calls once).

A call covered by both an allow and a deny rule is intended denied: deny wins, so `allow: [all]` with
`deny: [terminate]` reads as "everything but terminate"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.model.apis import ApiTable
from harness.profiles.groups import ApiCall, phrase, resolve
from harness.profiles.profile import Principal
from harness.types import CallTarget


@dataclass(frozen=True)
class IntendedCall:
    call: ApiCall
    namespace: str  # "" for a cluster call
    allowed: bool
    terms: tuple[str, ...]  # the rules' groups or methods that decided it (all of one effect)

    @property
    def target(self) -> CallTarget:
        return CallTarget(self.call.full_method, self.namespace)

    @property
    def key(self) -> tuple[str, str]:
        return (self.call.full_method, self.namespace)

    def phrases(self) -> list[str]:
        where = f" in {self.namespace}" if self.namespace else ""
        return [phrase(t) + where for t in self.terms]


def expand(principal: Principal, namespaces: Sequence[str], table: ApiTable) -> list[IntendedCall]:
    allow: dict[tuple[str, str], list[str]] = {}
    deny: dict[tuple[str, str], list[str]] = {}
    calls: dict[tuple[str, str], ApiCall] = {}
    for rule in principal.rules:
        for term in rule.terms:
            for call in resolve(term, table):
                for namespace in ("",) if call.cluster else rule.namespaces or tuple(namespaces):
                    key = (call.full_method, namespace)
                    calls[key] = call
                    terms = (allow if rule.allow else deny).setdefault(key, [])
                    if term not in terms:
                        terms.append(term)
    return [
        IntendedCall(call, key[1], key not in deny, tuple(deny[key] if key in deny else allow[key]))
        for key, call in calls.items()
    ]
