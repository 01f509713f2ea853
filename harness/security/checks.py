"""How a security test states its verdict: what it observed on one property path, compared with what the
property demands on every release (never with the model's era)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.cases.evidence import Evidence
from harness.probes.grpc import Observation
from harness.security.catalogue import load_advisories, path_of
from harness.types import Outcome

# The property's own exempt calls (fixtures/properties.yaml): they describe the server, not any tenant.
EXEMPT_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    }
)
# What a refusal looks like whatever the surface: the authorizer's denial, a method the release lacks, a
# refusal before authorization (the Host check, the task-token namespace check), a refused token (401).
REFUSED = frozenset({Outcome.DENIED, Outcome.ABSENT, Outcome.REFUSED, Outcome.UNAUTHENTICATED})
SYSTEM_SCOPES = ("temporal-system", "system")


class PropertyViolated(AssertionError):
    """The server did what a security property says no release may do. The message names the path, what
    happened, and every published advisory whose case this path is."""


def not_refused(
    observed: Iterable[tuple[str, Observation | None]], width: int = 100
) -> tuple[list[str], int]:
    """Of labelled probes (None: not probed here), those the server did not refuse, one line each
    (`label: OUTCOME STATUS message`), and how many were looked at. No answer (ERROR) is not looked at:
    the conformance cell fails for it."""
    violations, shown = [], 0
    for label, observation in observed:
        if observation is None or observation.outcome is Outcome.ERROR:
            continue
        shown += 1
        if observation.outcome not in REFUSED:
            violations.append(
                f"{label}: {observation.outcome.value} {observation.status} {observation.message[:width]!r}"
            )
    return violations, shown


def advisories_of(path_id: str) -> list[str]:
    return [a.id for a in load_advisories().values() if path_id in a.cases]


def hold(evidence: Evidence, path_id: str, violations: Sequence[str], shown: int, what: str) -> None:
    """Record the verdict of one path: `violations` (each one line: what happened) out of `shown`
    observations of `what`. Raises PropertyViolated when any."""
    __tracebackhide__ = True
    path = path_of(path_id)
    evidence.expected = {"violations": 0}
    evidence.observed = {"violations": len(violations)}
    evidence.extra["property"] = path_id
    evidence.extra["observations"] = f"{shown} {what}"
    if violations:
        evidence.extra["violations"] = list(violations[:40])
        named = advisories_of(path_id)
        advisories = f" (a case of {', '.join(named)})" if named else ""
        listed = "\n  ".join(violations[:20])
        more = f"\n  ... and {len(violations) - 20} more" if len(violations) > 20 else ""
        raise PropertyViolated(
            f"{path_id} VIOLATED{advisories}: {path.title}\n"
            f"{len(violations)} violation(s) in {shown} {what}:\n  {listed}{more}\n{evidence.render()}"
        )


def tenant_namespaces(permissions: Iterable[object] | None) -> set[str] | None:
    """The namespaces a token's permissions name, read as `namespace:role` at the first colon, or None
    when the token may hold rights beyond named namespaces on some release (a system scope in any letter
    case, an empty namespace, an entry that is not `ns:role`). Release-independent on purpose: no era's
    rules decide who is a tenant."""
    found: set[str] = set()
    for entry in permissions or ():
        if not isinstance(entry, str) or ":" not in entry:
            return None
        namespace = entry.split(":", 1)[0]
        if not namespace or namespace.casefold() in SYSTEM_SCOPES:
            return None
        found.add(namespace)
    return found


def has_no_rights_in(permissions: Iterable[object] | None, namespace: str) -> bool:
    """A tenant of other namespaces only: no entry names `namespace` in any letter case (1.20 folds case),
    and none could reach beyond the namespaces it names."""
    named = tenant_namespaces(permissions)
    return named is not None and namespace.casefold() not in {n.casefold() for n in named}
