"""What-if questions to the model: would the server allow this call if the token's entries were these?

Only the permission entries change between questions; the token is otherwise the one the server accepted
(signature, times and audience are asked once, through harness.model.expect, by the caller)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.model.apis import ApiTable
from harness.model.authorizer import authorize
from harness.model.claims import Claims, MapperError, claims_from_payload
from harness.model.rules import AuthConfig, ServerRules, rules_for
from harness.types import CallTarget, Decision, ServerVersion


@dataclass(frozen=True)
class ModelContext:
    """The server as the model sees it: version rules, API table and authorization config."""

    rules: ServerRules
    table: ApiTable
    config: AuthConfig

    @classmethod
    def of(cls, version: ServerVersion | str, table: ApiTable, config: AuthConfig) -> ModelContext:
        return cls(rules_for(version), table, config)

    @property
    def claim_name(self) -> str:
        return self.config.permissions_claim_name or "permissions"


def with_entries(
    payload: Mapping[str, Any], entries: Sequence[Any] | None, ctx: ModelContext
) -> dict[str, Any]:
    """The payload with the permissions claim replaced (None: removed)."""
    changed = {k: v for k, v in payload.items() if k != ctx.claim_name}
    if entries is not None:
        changed[ctx.claim_name] = list(entries)
    return changed


def mapped(payload: Mapping[str, Any], ctx: ModelContext) -> Claims | None:
    """The claims the mapper derives from an accepted token's payload (None: it refuses, e.g. no `sub`)."""
    try:
        return claims_from_payload(payload, ctx.config, ctx.rules)
    except MapperError:
        return None


def decide(
    payload: Mapping[str, Any], entries: Sequence[Any] | None, target: CallTarget, ctx: ModelContext
) -> tuple[Decision, str]:
    claims = mapped(with_entries(payload, entries, ctx), ctx)
    return authorize(claims, target, ctx.rules, ctx.table)


def allows(
    payload: Mapping[str, Any], entries: Sequence[Any] | None, target: CallTarget, ctx: ModelContext
) -> bool:
    return decide(payload, entries, target, ctx)[0] is Decision.ALLOW


def entries_of(payload: Mapping[str, Any], ctx: ModelContext) -> list[Any]:
    """The entries the mapper reads (a claim that is not an array counts as none, as on the server)."""
    value = payload.get(ctx.claim_name)
    return list(value) if isinstance(value, list) else []
