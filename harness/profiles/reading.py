"""How the server reads a token's permissions: the claim's shape, what each entry grants (asked of the
model, one entry at a time), and why an entry grants nothing. Also where permission-like values sit that
the server never reads (nested claims, another top-level claim): the server reads one top-level claim."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.model import re2
from harness.model.claims import Claims
from harness.profiles.oracle import ModelContext, mapped
from harness.types import Role

ROLE_NAMES = ("read", "write", "admin", "worker")


def active_regex(ctx: ModelContext) -> re2.Translated | None:
    """The permissionsRegex the server splits entries with (Go's reading, as the model runs it: RE2, in
    time linear in the entry), or None where it uses `ns:role`."""
    pattern = ctx.config.permissions_regex
    if not (ctx.rules.regex_supported and pattern):
        return None
    try:
        translated = re2.translate(pattern)
    except re2.Re2Error:
        return None
    return translated if {"namespace", "role"} <= set(translated.groups) else None


def regex_note(ctx: ModelContext) -> str:
    """One line on how entries are split, saying why a configured regex is not used."""
    pattern = ctx.config.permissions_regex
    if not pattern:
        return "entries are split as `namespace:role`"
    if not ctx.rules.regex_supported:
        return f"permissionsRegex is ignored: {ctx.rules.version} predates it (1.29.0); entries are split as `namespace:role`"
    if active_regex(ctx) is None:
        try:
            re2.translate(pattern)
            why = "it lacks the named groups `namespace` and `role`"
        except re2.Re2Error as exc:
            why = f"Go's regexp refuses it ({exc})"
        return f"permissionsRegex {pattern!r} is logged and ignored: {why}; entries are split as `namespace:role`"
    return f"entries are read with permissionsRegex {pattern!r} (unanchored search; non-matching entries are skipped)"


def role_name(role: Role) -> str:
    if role == Role.UNDEFINED:
        return "none"
    return "|".join(
        n
        for n, r in (
            ("admin", Role.ADMIN),
            ("writer", Role.WRITER),
            ("reader", Role.READER),
            ("worker", Role.WORKER),
        )
        if role & r
    )


@dataclass(frozen=True)
class EntryMeaning:
    """What one entry of the permissions claim grants, as the model maps it alone."""

    entry: Any
    system: bool = False
    namespace: str | None = None  # None: the entry names no scope (skipped)
    role: Role = Role.UNDEFINED
    note: str = ""  # why it grants nothing, or what to watch

    @property
    def grants(self) -> bool:
        """Worker (1) sits below reader (2), the least role any call needs: it grants nothing alone."""
        return int(self.role) >= int(Role.READER)

    @property
    def scope(self) -> str:
        if self.system:
            return "the system scope"
        return f"namespace `{self.namespace}`"

    def describe(self) -> str:
        if self.namespace is None and not self.system:
            return f"`{self.entry}` is ignored: {self.note}"
        if not self.grants:
            return f"`{self.entry}` grants nothing ({self.note or 'no known role'})"
        text = f"`{self.entry}` grants {role_name(self.role)} in {self.scope}"
        return f"{text} ({self.note})" if self.note else text


def _split_text(entry: str, ctx: ModelContext) -> tuple[str, str] | None:
    """The namespace and role text the server splits out (for wording only: the model decides)."""
    regex = active_regex(ctx)
    if regex is not None:
        found = regex.submatches(entry)
        return (found[regex.groups["namespace"]], found[regex.groups["role"]]) if found else None
    pieces = entry.split(":", 1) if ctx.rules.split_n else entry.split(":")
    return (pieces[0], pieces[1]) if len(pieces) == 2 else None


def meaning(entry: Any, ctx: ModelContext, namespaces: Sequence[str] = ()) -> EntryMeaning:
    if not isinstance(entry, str):
        return EntryMeaning(entry, note=f"a JSON {_json_type(entry)}, not a string: skipped")
    claims = mapped({"sub": "-", ctx.claim_name: [entry]}, ctx)
    assert claims is not None  # a string `sub` is all claims_from_payload needs
    split = _split_text(entry, ctx)
    if split is None:
        if active_regex(ctx) is not None:
            return EntryMeaning(entry, note="it does not match permissionsRegex")
        return EntryMeaning(entry, note="not `namespace:role` (one `:` needed)")
    ns_text, role_text = split
    if claims.system != Role.UNDEFINED or (not claims.namespaces and ns_text):
        return EntryMeaning(entry, system=True, role=claims.system, note=_role_note(role_text, claims.system))
    namespace, role = next(iter(claims.namespaces.items()))
    return EntryMeaning(
        entry, namespace=namespace, role=role, note=_scope_note(namespace, role, role_text, ctx, namespaces)
    )


def _role_note(role_text: str, role: Role) -> str:
    if role == Role.WORKER:
        return "worker=1 is below reader=2"
    if role == Role.UNDEFINED:
        return f"`{role_text}` is not one of {', '.join(ROLE_NAMES)}"
    return ""


def _scope_note(
    namespace: str, role: Role, role_text: str, ctx: ModelContext, namespaces: Sequence[str]
) -> str:
    notes = [n for n in (_role_note(role_text, role),) if n]
    system = ctx.rules.system_scope
    if namespace.strip().lower() in ("system", system) and namespace != system:
        notes.append(
            f"a namespace named `{namespace}`, not the system scope: that is `{system}`, matched exactly"
        )
    elif namespace != namespace.strip():
        notes.append(f"no trimming: the namespace is `{namespace}`")
    elif namespace == "":
        notes.append("an empty namespace")
    else:
        twin = next((n for n in namespaces if n != namespace and n.lower() == namespace.lower()), None)
        if twin is not None and not ctx.rules.namespaces_case_insensitive:
            notes.append(f"namespaces are case-sensitive: `{namespace}` is not `{twin}`")
    return "; ".join(notes)


@dataclass(frozen=True)
class ClaimReading:
    """The token's permissions as the server reads them."""

    claim_name: str
    shape: str  # "array" | "absent" | the JSON type of a claim that is not an array
    entries: tuple[EntryMeaning, ...]
    claims: Claims | None  # the mapper's result (None: it refuses, e.g. `sub` missing)
    unread: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (path, values) never read

    def notes(self) -> list[str]:
        """What in the token does not do what it seems to: each a plain sentence."""
        lines = []
        if self.shape == "absent":
            lines.append(f"the token has no top-level `{self.claim_name}` claim")
        elif self.shape != "array":
            lines.append(
                f"`{self.claim_name}` is a {self.shape}, not an array: the server ignores it (no roles, no error)"
            )
        lines += [e.describe() for e in self.entries if not e.grants or e.note]
        lines += [self.unread_note(path, values) for path, values in self.unread]
        return lines

    def unread_note(self, path: str, values: Sequence[str], advice: bool = True) -> str:
        shown = ", ".join(f"`{v}`" for v in values[:3]) + (" ..." if len(values) > 3 else "")
        verb = "sits" if len(values) == 1 else "sit"
        if "." not in path:
            return (
                f"{shown} {verb} in `{path}`, but the server reads `{self.claim_name}` (permissionsClaimName)"
            )
        note = f"{shown} {verb} nested at `{path}`, which the server never reads (nested claims are out of scope)"
        return note + (f": map them to a top-level `{self.claim_name}` claim" if advice else "")


def read_claims(
    payload: Mapping[str, Any], ctx: ModelContext, namespaces: Sequence[str] = ()
) -> ClaimReading:
    value = payload.get(ctx.claim_name)
    shape = (
        "absent"
        if ctx.claim_name not in payload
        else "array"
        if isinstance(value, list)
        else _json_type(value)
    )
    entries = tuple(meaning(e, ctx, namespaces) for e in value) if isinstance(value, list) else ()
    read = set(value) if isinstance(value, list) else set()
    unread = tuple(
        (path, values)
        for path, values in _string_lists(payload)
        # values also in the claim the server reads are not lost: only the others are worth a line
        if path != ctx.claim_name
        and any(v not in read and meaning(v, ctx, namespaces).grants for v in values)
    )
    return ClaimReading(ctx.claim_name, shape, entries, mapped(payload, ctx), unread)


def _json_type(value: Any) -> str:
    return {str: "string", bool: "boolean", int: "number", float: "number", dict: "object"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _string_lists(value: Any, path: str = "") -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every list of strings in the payload (or a lone string), by dotted path."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _string_lists(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        yield path, tuple(value)
    elif isinstance(value, str) and path.count(".") >= 1:
        yield path, (value,)
