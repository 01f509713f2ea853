"""Principal attribution (1.31+): the caller the server stamps on the history events a call writes.

common/authorization/interceptor.go strips every inbound temporal-principal-* header, then, when the
authorizer allowed the call with a principal and frontend.enablePrincipalPropagation is on for the
request's namespace, sets the principal headers history reads (mutable_state_impl.go stamps each new
event). The default authorizer's principal is the claims' auth type and subject: ("jwt", sub) for the
JWT mapper, ("temporal", "internal") for internal-frontend's callers (the server's own workers).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.model.claims import Claims
from harness.model.rules import AuthConfig, ServerRules

JWT = "jwt"  # the default JWT claim mapper's AuthType
INTERNAL = "temporal"  # internal-frontend's mapper (authorization.InternalPrincipalType)


def event_principal(
    claims: Claims | None,
    namespace: str,
    allowed: bool,
    rules: ServerRules,
    config: AuthConfig,
    *,
    internal: bool = False,
    sent: Sequence[tuple[str, str]] = (),
) -> tuple[str, str] | None:
    """(type, name) on the events an allowed call writes in `namespace`, or None (no principal).
    `internal`: the call came through internal-frontend (the server's own workers). `sent`: the
    caller's headers, temporal-principal-* among them: the interceptor strips those, always."""
    if not (rules.principal_propagation and allowed and claims is not None):
        return None
    if config.authorizer == "":
        return None  # the noop authorizer returns no principal
    if not propagates(config, namespace):
        return None
    return (INTERNAL if internal else JWT, claims.subject)


def propagates(config: AuthConfig, namespace: str) -> bool:
    """frontend.enablePrincipalPropagation for a namespace: a value constrained to the namespace wins
    over an unconstrained one; the default is off."""
    for constrained, value in config.principal_propagation:
        if constrained == namespace:
            return value
    return next((value for constrained, value in config.principal_propagation if constrained is None), False)
