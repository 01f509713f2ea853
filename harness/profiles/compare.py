"""Intent against server: each difference as one plain line, its cause from how the server reads the
token, and its fix from the model. Model-server disagreements are listed apart: they make a hint unsafe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.model.authorizer import required_role
from harness.profiles.formats import PermissionFormat
from harness.profiles.groups import GROUPS_BY_NAME, phrase
from harness.profiles.hints import Intended, allow_cause, allow_fix, denial_fix
from harness.profiles.intent import IntendedCall
from harness.profiles.oracle import ModelContext
from harness.profiles.profile import ExpectedDifference
from harness.profiles.reading import ClaimReading, role_name
from harness.safety import NOT_PROBED
from harness.types import Outcome

MAPPER_REFUSED = "claim mapper refused the token: "


@dataclass(frozen=True)
class Probed:
    """One call as intended, as the server answered it, and as the model expected it."""

    intended: IntendedCall
    observed: Outcome
    model: Outcome
    model_reason: str
    answer: str  # the server's status and message (or why it was not asked: "not probed: irreversible")
    probed: bool = True  # False: irreversible on a cluster not the harness's (`observed`: the model's)

    @property
    def differs(self) -> bool:
        wanted = Outcome.ALLOWED if self.intended.allowed else Outcome.DENIED
        return self.observed in (Outcome.ALLOWED, Outcome.DENIED) and self.observed is not wanted

    @property
    def disagrees(self) -> bool:
        return self.probed and self.observed is not self.model

    @property
    def name(self) -> str:
        """The method as a difference line names it: marked where the model's answer stands in."""
        return self.intended.call.name + ("" if self.probed else f" ({NOT_PROBED}: the model's answer)")

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.intended.call.short,
            "namespace": self.intended.namespace,
            "intended": "allow" if self.intended.allowed else "deny",
            "intents": list(self.intended.terms),
            "server": self.observed.value if self.probed else NOT_PROBED,
            "model": self.model.value,
            "model_reason": self.model_reason,
            "server_answer": self.answer,
        }


@dataclass
class Difference:
    principal: str
    intent: str  # the group or method of the rule
    namespace: str  # "" for cluster calls
    server: str  # "allows" | "denies"
    methods: list[str]
    cause: str
    fix: str
    expected: ExpectedDifference | None = None

    @property
    def line(self) -> str:
        wanted = "to" if self.server == "denies" else "NOT to"
        where = f" in {self.namespace}" if self.namespace else ""
        return (
            f"{self.principal}: intended {wanted} {phrase(self.intent)}{where}; the server "
            f"{self.server.upper()} {_methods(self.methods)}: {self.cause}; {self.fix}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "intent": self.intent,
            "namespace": self.namespace,
            "server": self.server,
            "methods": self.methods,
            "cause": self.cause,
            "fix": self.fix,
            "line": self.line,
            "expected": self.expected is not None,
            "because": self.expected.because if self.expected else None,
        }


def _methods(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass
class PrincipalCheck:
    """Everything one principal's check needs to explain itself."""

    name: str
    payload: Mapping[str, Any]
    reading: ClaimReading
    probed: list[Probed]
    ctx: ModelContext
    fmt: PermissionFormat
    differences: list[Difference] = field(default_factory=list)

    @property
    def refused(self) -> str | None:
        """The claim mapper's refusal, when the model says the server refuses the token itself."""
        reason = next(
            (p.model_reason for p in self.probed if p.model_reason.startswith(MAPPER_REFUSED)), None
        )
        return reason.removeprefix(MAPPER_REFUSED) if reason else None

    @property
    def disagreements(self) -> list[Probed]:
        return [p for p in self.probed if p.disagrees]

    def intents(self, allowed: bool) -> list[Intended]:
        return [
            Intended(p.intended.target, phrase_)
            for p in self.probed
            if p.intended.allowed is allowed
            for phrase_ in p.intended.phrases()
        ]

    def compare(self) -> list[Difference]:
        groups: dict[tuple[str, str, str], list[Probed]] = {}
        for p in self.probed:
            if p.differs:
                server = "allows" if p.observed is Outcome.ALLOWED else "denies"
                for term in p.intended.terms:
                    groups.setdefault((term, p.intended.namespace, server), []).append(p)
        self.differences = []
        for (term, namespace, server), members in groups.items():
            by_text: dict[tuple[str, str], list[str]] = {}
            hints: dict[tuple[Any, ...], tuple[str, str]] = {}
            for p in _probe_first(term, members):
                rule = p.intended.call.rule
                key = (rule.scope, rule.access, p.model_reason.startswith(MAPPER_REFUSED))
                if key not in hints:  # the hint depends on the call's class, not its name
                    hints[key] = self._hint(p, server)
                by_text.setdefault(hints[key], []).append(p.name)
            for (cause, fix), names in by_text.items():
                self.differences.append(Difference(self.name, term, namespace, server, names, cause, fix))
        return self.differences

    def _hint(self, p: Probed, server: str) -> tuple[str, str]:
        target, call = p.intended.target, p.intended.call
        if server == "allows":
            cause = allow_cause(self.payload, target, call.name, call.rule.access, self.ctx)
            return cause, allow_fix(self.payload, target, self.fmt, self.ctx, self.intents(allowed=True))
        if p.model_reason.startswith(MAPPER_REFUSED):
            reason = p.model_reason.removeprefix(MAPPER_REFUSED)
            return f"the server refuses the token itself ({reason})", token_fix(reason, self.ctx)
        cause = denial_cause(self.reading, p.intended, self.ctx)
        return cause, denial_fix(
            self.payload, self.reading, target, self.fmt, self.ctx, self.intents(allowed=False)
        )


def _probe_first(term: str, members: list[Probed]) -> list[Probed]:
    """The group's representative method first, then by name: the line names the call people know."""
    group = GROUPS_BY_NAME.get(term)
    probe = group.probe if group else ""
    return sorted(members, key=lambda p: (p.intended.call.name != probe, p.intended.call.name))


def denial_cause(reading: ClaimReading, intended: IntendedCall, ctx: ModelContext) -> str:
    if reading.shape != "array":
        unread = [reading.unread_note(p, v, advice=False) for p, v in reading.unread]
        return "; ".join(reading.notes()[:1] + unread[:2])
    namespace = intended.namespace
    need = f"{intended.call.name} needs {role_name(required_role(intended.call.rule.access))}"
    relevant = [e for e in reading.entries if e.system or (namespace and e.namespace == namespace)]
    if relevant:
        said = [e.describe() for e in relevant]
        return "; ".join(said) + ("" if all(not e.grants for e in relevant) else f"; {need}")
    scope = f"a role in `{namespace}`" if namespace else f"a system role (`{ctx.rules.system_scope}:...`)"
    misdirected = [e.describe() for e in reading.entries if e.note][:3]
    unread = [reading.unread_note(p, v, advice=False) for p, v in reading.unread][:1]
    return "; ".join([f"no entry grants {scope}", *misdirected, *unread])


def token_fix(reason: str, ctx: ModelContext) -> str:
    """What makes the server accept the token at all (no permission helps before that)."""
    if "audience" in reason:
        return (
            f"issue the token with `aud` containing `{ctx.config.audience}` (no permission helps before that)"
        )
    if '"sub"' in reason:
        return "issue the token with a string `sub` claim (no permission helps before that)"
    return "fix the token first: no permission helps while the token is refused"
