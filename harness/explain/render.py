"""An explanation as plain lines: the token (header and claims, never the token itself), its checks, the
model's verdict, roles, groups, and (with --target) where model and server differ."""

from __future__ import annotations

import json
from collections.abc import Sequence

from harness.explain.checks import FAIL, Check
from harness.explain.derive import Derivation, GroupVerdict
from harness.explain.live import LiveProbe
from harness.explain.token import DecodedToken
from harness.profiles.oracle import ModelContext
from harness.profiles.reading import ClaimReading, regex_note, role_name

MAPPER_REFUSED = "claim mapper refused the token: "


def _config(ctx: ModelContext) -> str:
    c = ctx.config
    return (
        f"permissionsClaimName={c.permissions_claim_name!r}, permissionsRegex={c.permissions_regex or '(none)'!r}, "
        f"audience={c.audience or '(none)'!r}, header={c.effective_header_name(ctx.rules)!r}"
    )


def _json(value: object) -> list[str]:
    return ["    " + line for line in json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()]


def token_lines(decoded: DecodedToken) -> list[str]:
    out = ["token (header and claims; the token itself and its signature are never printed):"]
    for name, value in decoded.shown().items():
        out += [f"  {name}:", *_json(value)]
    return out


def check_lines(checks: Sequence[Check]) -> list[str]:
    return ["token checks:"] + [f"  {c.status:<4}  {c.name:<12} {c.detail}" for c in checks]


# The model's refusal, by the token check above that names it (the server stops at its first failure).
REFUSING_CHECK = (
    ("signing method", "alg"),
    ('"kid"', "kid"),
    ("key not found", "kid"),
    ("exp claim", "exp"),
    ("nbf claim", "nbf"),
    ("iat claim", "iat"),
    ("signature", "signature"),
    ("ES256", "signature"),
    ("audience", "aud"),
    ('"sub"', "sub"),
    ("authorization token", "header"),
)


def refusing_check(reason: str) -> str:
    return next((check for text, check in REFUSING_CHECK if text in reason), "encoding")


def verdict_lines(derivation: Derivation, reading: ClaimReading) -> list[str]:
    accepted = derivation.accepted
    if accepted.reason.startswith(MAPPER_REFUSED):
        reason = accepted.reason.removeprefix(MAPPER_REFUSED)
        return [
            f"verdict: the server REFUSES this token at its `{refusing_check(reason)}` check ({reason}): every "
            'call, even GetSystemInfo, gets PERMISSION_DENIED "Request unauthorized." (the cause is only in '
            "the server's log)"
        ]
    claims = derivation.claims
    lines = ["verdict: the server accepts this token; it derives:"]
    lines.append(f"  system role: {role_name(claims.system) if claims and claims.system else 'none'}")
    for namespace, role in sorted((claims.namespaces if claims else {}).items()):
        lines.append(f"  namespace `{namespace}`: {role_name(role)} ({int(role)})")
    if claims and not claims.namespaces and not claims.system:
        lines.append("  no roles at all: only the exempt calls (health check, GetSystemInfo) are allowed")
    return lines


def _group_line(v: GroupVerdict) -> str:
    counts = f"{len(v.allowed)}/{v.total}"
    if v.verdict == "PARTLY":
        denied = ", ".join(v.denied[:3]) + (f" +{len(v.denied) - 3}" if len(v.denied) > 3 else "")
        why = next(reason for reason, names in v.reasons.items() if v.denied[0] in names)
        return f"  {v.group.name:<18} {v.verdict:<8} {counts:>6}  denied: {denied}: {why}"
    reason = max(v.reasons.items(), key=lambda kv: len(kv[1]))[0]
    return f"  {v.group.name:<18} {v.verdict:<8} {counts:>6}  {reason}"


def group_lines(derivation: Derivation) -> list[str]:
    if derivation.accepted.reason.startswith(MAPPER_REFUSED):
        return ["", "API groups: every call is DENIED (the token itself is refused)"]
    claims = derivation.claims
    if claims is None or (not claims.system and not any(claims.namespaces.values())):
        return ["", "API groups: every group is DENIED in every namespace (the token carries no role)"]
    out: list[str] = []
    for namespace in dict.fromkeys(v.namespace for v in derivation.groups):
        title = f"API groups in namespace `{namespace}`" if namespace else "cluster calls (no namespace)"
        out += ["", f"{title} (allowed/total, the model's reason):"]
        out += [_group_line(v) for v in derivation.groups if v.namespace == namespace]
    return out


def live_lines(address: str, probes: Sequence[LiveProbe]) -> list[str]:
    out = ["", f"live server {address} (one harmless probe per group, sent with this token):"]
    for p in probes:
        where = f" in `{p.namespace}`" if p.namespace else ""
        if p.server is None:  # irreversible on a cluster the harness does not own: the model alone
            out.append(
                f"  {'model':<6} {p.group:<18} {p.method}{where}: model {p.model.outcome.value}, {p.answer}"
            )
            continue
        mark = "agree" if p.agrees else "DIFFER"
        out.append(
            f"  {mark:<6} {p.group:<18} {p.method}{where}: model {p.model.outcome.value}, server {p.server.value} ({p.answer})"
        )
    differ = [p for p in probes if not p.agrees]
    unsent = [p for p in probes if not p.probed]
    if unsent:
        out.append(
            f"  {len(unsent)} not probed (irreversible on a cluster the harness does not own): the model's "
            f"answer stands alone"
        )
    if differ and differ[0].group == "(exempt)":
        out.append(
            "  the server refuses the token itself (even GetSystemInfo): it does not trust the signing key, or "
            "a check above fails on its clock; its log names the cause"
        )
    out.append(
        f"  {len(differ)} of {len(probes)} probes differ from the model"
        if differ
        else "  model and server agree"
    )
    return out


def explain_lines(
    decoded: DecodedToken,
    ctx: ModelContext,
    checks: Sequence[Check],
    reading: ClaimReading,
    derivation: Derivation,
    live: tuple[str, Sequence[LiveProbe]] | None = None,
) -> list[str]:
    out = token_lines(decoded)
    out += [
        "",
        f"server: {ctx.rules.version} (era {ctx.rules.era}); {_config(ctx)}",
        f"  {regex_note(ctx)}",
        "",
    ]
    out += check_lines(checks)
    failing = [c for c in checks if c.status == FAIL]
    if failing:
        out.append(f"  {len(failing)} check(s) fail; the server stops at the first in its own order (below)")
    out += ["", *verdict_lines(derivation, reading)]
    out += group_lines(derivation)
    if live is not None:
        out += live_lines(*live)
    return out
