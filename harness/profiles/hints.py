"""Fix hints, from the model: the least permission that makes an intended call pass, and the entries that
grant a call the team meant to deny (with what removing them would also take away)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.model.authorizer import required_role
from harness.profiles.formats import PermissionFormat, express
from harness.profiles.oracle import ModelContext, allows, entries_of
from harness.profiles.reading import ClaimReading, role_name
from harness.types import CallTarget, Role

LADDER = (Role.READER, Role.WRITER, Role.ADMIN)  # least first; worker never grants anything alone


@dataclass(frozen=True)
class Intended:
    """One call of the principal's intent, with a phrase naming the intent it comes from."""

    target: CallTarget
    phrase: str  # "poll in payments"


def candidates(target: CallTarget, fmt: PermissionFormat, ctx: ModelContext) -> list[str]:
    """Permission strings in the team's format, least first: the call's namespace, then the system scope."""
    scopes = [target.namespace] if target.namespace else []
    scopes.append(ctx.rules.system_scope)
    found = []
    for scope in scopes:
        for role in LADDER:
            text = express(fmt, scope, role, ctx) if fmt.template else None
            if text is not None:
                found.append(text)
    return found


def least_grant(
    payload: Mapping[str, Any], target: CallTarget, fmt: PermissionFormat, ctx: ModelContext
) -> str | None:
    entries = entries_of(payload, ctx)
    return next(
        (c for c in candidates(target, fmt, ctx) if allows(payload, [*entries, c], target, ctx)), None
    )


def granting(payload: Mapping[str, Any], target: CallTarget, ctx: ModelContext) -> list[Any]:
    """Entries that on their own grant the call (roles are bits and needs are powers of two, so one
    entry always suffices where several do)."""
    return [e for e in entries_of(payload, ctx) if allows(payload, [e], target, ctx)]


def _join(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def denial_fix(
    payload: Mapping[str, Any],
    reading: ClaimReading,
    target: CallTarget,
    fmt: PermissionFormat,
    ctx: ModelContext,
    denied_intents: Sequence[Intended],
) -> str:
    """`add `payments:write``, saying what else it would allow that the profile denies."""
    if reading.shape not in ("array", "absent"):
        wrapped = _as_array(payload, ctx)
        if allows(wrapped, entries_of(wrapped, ctx), target, ctx):
            return f"make `{ctx.claim_name}` an array: {entries_of(wrapped, ctx)}"
        grant = least_grant(wrapped, target, fmt, ctx)
        return f"make `{ctx.claim_name}` an array" + (f" and add `{grant}`" if grant else "")
    grant = least_grant(payload, target, fmt, ctx)
    if grant is None:
        if not fmt.template:
            return (
                "no hint: declare `permission_format` in the profile so hints can be written in your format"
            )
        return f"no permission in the format `{fmt.template}` can grant it"
    where = f" to a top-level `{ctx.claim_name}` array claim" if reading.shape == "absent" else ""
    entries = entries_of(payload, ctx)
    spill = [
        i.phrase
        for i in denied_intents
        if allows(payload, [*entries, grant], i.target, ctx) and not allows(payload, entries, i.target, ctx)
    ]
    also = f" (it also allows {_join(sorted(set(spill)))}, which this profile denies)" if spill else ""
    return f"add `{grant}`{where}{also}"


def _as_array(payload: Mapping[str, Any], ctx: ModelContext) -> dict[str, Any]:
    value = payload.get(ctx.claim_name)
    return {**payload, ctx.claim_name: [value] if isinstance(value, str) else []}


def allow_cause(
    payload: Mapping[str, Any], target: CallTarget, method: str, rule_access: Any, ctx: ModelContext
) -> str:
    grants = granting(payload, target, ctx)
    need = role_name(required_role(rule_access))
    if not grants:
        return f"its entries together grant it ({method} needs {need})"
    return f"{_join([f'`{g}`' for g in grants])} {'grants' if len(grants) == 1 else 'each grant'} it ({method} needs {need})"


def allow_fix(
    payload: Mapping[str, Any],
    target: CallTarget,
    fmt: PermissionFormat,
    ctx: ModelContext,
    allowed_intents: Sequence[Intended],
) -> str:
    """Remove the granting entries; where that loses an intended call, the least replacement that keeps
    the intent without this call, or say that the roles cannot separate them."""
    entries = entries_of(payload, ctx)
    grants = granting(payload, target, ctx)
    if not grants:
        return "no single entry to remove"
    kept = [e for e in entries if e not in grants]
    lost = [
        i
        for i in allowed_intents
        if allows(payload, entries, i.target, ctx) and not allows(payload, kept, i.target, ctx)
    ]
    removal = _join([f"`{g}`" for g in grants])
    if not lost:
        return f"remove {removal}"
    scopes = {i.target.namespace for i in lost}
    for candidate in [
        c for ns in sorted(scopes) for c in candidates(CallTarget(target.full_method, ns), fmt, ctx)
    ]:
        trial = [*kept, candidate]
        if not allows(payload, trial, target, ctx) and all(
            allows(payload, trial, i.target, ctx) for i in lost
        ):
            return f"replace {removal} with `{candidate}`"
    phrases = _join(sorted({i.phrase for i in lost}))
    return (
        f"no permission allows {phrases} without it: the server's roles cannot separate them "
        f"(remove {removal} only if you can give those up)"
    )
