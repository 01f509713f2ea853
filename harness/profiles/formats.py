"""The permission format a team writes: `ns:role`, or whatever its permissionsRegex reads.

A fix hint must be a string the team can paste into its IdP, so the format is taken from the profile:
declared (`permission_format`), learned from an entry the regex matches (the namespace and role spans
become placeholders), or read off a regex that is a literal around its two groups. Every string the format
writes is checked with the model before it is offered."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.model.re2 import Translated
from harness.profiles.oracle import ModelContext, mapped
from harness.profiles.reading import active_regex
from harness.types import Role

ROLE_WORDS = {Role.READER: "read", Role.WRITER: "write", Role.ADMIN: "admin", Role.WORKER: "worker"}
_GROUP = re.compile(r"\(\?P?<(namespace|role)>")
_META = set("[](){}*+?|^$.\\")


@dataclass(frozen=True)
class PermissionFormat:
    template: str  # "{namespace}:{role}", "Temporal.{namespace}.{role}"
    origin: str  # where it came from, for the report
    role_case: str = "lower"  # "lower" | "title" | "upper": as the team writes roles

    def write(self, namespace: str, role: Role) -> str:
        word = ROLE_WORDS[role]
        word = (
            word.title() if self.role_case == "title" else word.upper() if self.role_case == "upper" else word
        )
        return self.template.replace("{namespace}", namespace).replace("{role}", word)


SPLIT = PermissionFormat("{namespace}:{role}", "the server's `namespace:role` split")


def express(fmt: PermissionFormat, namespace: str, role: Role, ctx: ModelContext) -> str | None:
    """The string for (namespace, role), if the model maps it to exactly that; else None."""
    text = fmt.write(namespace, role)
    claims = mapped({"sub": "-", ctx.claim_name: [text]}, ctx)
    if claims is None:
        return None
    if namespace == ctx.rules.system_scope:
        return text if claims.system == role and not claims.namespaces else None
    return text if dict(claims.namespaces) == {namespace: role} and claims.system == Role.UNDEFINED else None


def _works(fmt: PermissionFormat, ctx: ModelContext) -> bool:
    return express(fmt, "payments", Role.WRITER, ctx) is not None


def _case_of(word: str) -> str:
    return "upper" if word.isupper() and len(word) > 1 else "title" if word[:1].isupper() else "lower"


def learned(regex: Translated, example: str) -> PermissionFormat | None:
    found = regex.spans(example)
    if found is None:
        return None
    namespace, role = found[regex.groups["namespace"]], found[regex.groups["role"]]
    role_text = example[role[0] : role[1]] if role[0] >= 0 else ""
    if role_text.lower() not in ("read", "write", "admin", "worker"):
        return None
    spans = sorted([(namespace, "{namespace}"), (role, "{role}")])
    (first, first_name), (second, second_name) = spans
    if first[1] > second[0]:
        return None
    text = example[found[0][0] : found[0][1]]
    offset = found[0][0]
    template = (
        text[: first[0] - offset]
        + first_name
        + text[first[1] - offset : second[0] - offset]
        + second_name
        + text[second[1] - offset :]
    )
    return PermissionFormat(template, f"learned from `{example}`", _case_of(role_text))


def from_regex_literal(pattern: str) -> PermissionFormat | None:
    """`^Temporal\\.(?P<namespace>...)\\.(?P<role>...)$` -> `Temporal.{namespace}.{role}`."""
    body = pattern.removeprefix("^").removesuffix("$")
    out, i = [], 0
    while i < len(body):
        group = _GROUP.match(body, i)
        if group:
            depth, j = 1, group.end()
            while j < len(body) and depth:
                depth += {"(": 1, ")": -1}.get(body[j], 0) if body[j - 1] != "\\" else 0
                j += 1
            out.append("{" + group.group(1) + "}")
            i = j
        elif body[i] == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            out.append(body[i + 1])
            i += 2
        elif body[i] in _META:
            return None
        else:
            out.append(body[i])
            i += 1
    template = "".join(out)
    if template.count("{namespace}") != 1 or template.count("{role}") != 1:
        return None
    return PermissionFormat(template, f"read off permissionsRegex {pattern!r}")


def permission_format(ctx: ModelContext, declared: str | None, examples: Iterable[str]) -> PermissionFormat:
    """The format hints are written in; SPLIT when the server splits `ns:role` (no regex in effect)."""
    regex = active_regex(ctx)
    if regex is None:
        return SPLIT
    candidates: list[PermissionFormat | None] = []
    if declared:
        candidates.append(PermissionFormat(declared, "declared in the profile (permission_format)"))
    candidates += [learned(regex, e) for e in examples if isinstance(e, str)]
    candidates.append(from_regex_literal(ctx.config.permissions_regex))
    for fmt in candidates:
        if fmt is not None and _works(fmt, ctx):
            return fmt
    return PermissionFormat(
        "", "none: permissionsRegex is in effect, but no format was declared, learned or readable"
    )
