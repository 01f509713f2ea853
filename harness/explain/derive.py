"""What the server derives from a token, asked of the model: is the token accepted (and if not, the
check that refuses it), the roles, and for each API group whether its calls are allowed and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.explain.keys import KeyAssumption
from harness.explain.token import DecodedToken
from harness.model.claims import Claims
from harness.model.decide import Credential, Expectation, expect
from harness.profiles.groups import GROUPS, ApiCall, Group
from harness.profiles.oracle import ModelContext
from harness.tokens.presentation import DEFAULT
from harness.types import CallTarget, Decision

EXEMPT = CallTarget("/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo")


@dataclass
class GroupVerdict:
    group: Group
    namespace: str  # "" for the group's cluster calls
    allowed: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # the model's reason -> methods

    @property
    def total(self) -> int:
        return len(self.allowed) + len(self.denied)

    @property
    def verdict(self) -> str:
        if not self.denied:
            return "ALLOWED"
        return "DENIED" if not self.allowed else "PARTLY"


@dataclass(frozen=True)
class Derivation:
    accepted: Expectation  # the exempt call: refused only when the mapper refuses the token
    claims: Claims | None
    groups: list[GroupVerdict]


def credential(decoded: DecodedToken, keys: KeyAssumption, ctx: ModelContext) -> Credential:
    header = ctx.config.effective_header_name(ctx.rules).lower()
    return Credential(DEFAULT.metadata(decoded.raw, header), keys.signed_by)


def ask(
    decoded: DecodedToken, keys: KeyAssumption, ctx: ModelContext, target: CallTarget, now: int
) -> Expectation:
    return expect(
        credential(decoded, keys, ctx),
        target,
        rules=ctx.rules,
        table=ctx.table,
        keyring=keys.ring,
        config=ctx.config,
        now=now,
    )


def derive(
    decoded: DecodedToken, keys: KeyAssumption, ctx: ModelContext, namespaces: Sequence[str], now: int
) -> Derivation:
    accepted = ask(decoded, keys, ctx, EXEMPT, now)
    verdicts = []
    for group in (g for g in GROUPS if g.name != "all"):
        calls = group.calls(ctx.table)
        for namespace in [*namespaces, ""]:
            chosen = [c for c in calls if c.cluster == (namespace == "")]
            if chosen:
                verdicts.append(_verdict(group, namespace, chosen, decoded, keys, ctx, now))
    return Derivation(accepted, accepted.claims, verdicts)


def _verdict(
    group: Group,
    namespace: str,
    calls: Sequence[ApiCall],
    decoded: DecodedToken,
    keys: KeyAssumption,
    ctx: ModelContext,
    now: int,
) -> GroupVerdict:
    verdict = GroupVerdict(group, namespace)
    for call in calls:
        answer = ask(decoded, keys, ctx, CallTarget(call.full_method, namespace), now)
        (verdict.allowed if answer.decision is Decision.ALLOW else verdict.denied).append(call.name)
        verdict.reasons.setdefault(answer.reason, []).append(call.name)
    return verdict


def namespaces_of(claims: Claims | None, given: Sequence[str]) -> list[str]:
    """The namespaces to explain: the ones asked for, else those the token names, else `default`."""
    if given:
        return list(dict.fromkeys(given))
    named = sorted(n for n in (claims.namespaces if claims else {}) if n)
    return named or ["default"]
