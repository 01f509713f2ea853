"""What is wrong with a token itself, every problem at once (the server stops at the first: the model
names that one). Each check mirrors one step of the claim mapper (harness.model.claims)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.explain.keys import KeyAssumption
from harness.explain.token import DecodedToken
from harness.model.claims import ACCEPTED_ALGS
from harness.profiles.oracle import ModelContext
from harness.profiles.reading import ClaimReading

OK, FAIL, WARN, INFO = "ok", "FAIL", "warn", "info"
_RAW_B64 = re.compile(r"^[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Check:
    status: str  # ok | FAIL (the server refuses) | warn (accepted, but probably not meant) | info
    name: str
    detail: str


def _when(seconds: float, now: int) -> str:
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    delta = int(seconds - now)
    span = abs(delta)
    if span >= 86400:
        amount = f"{span // 86400}d{span % 86400 // 3600}h"
    elif span >= 3600:
        amount = f"{span // 3600}h{span % 3600 // 60:02d}m"
    elif span >= 60:
        amount = f"{span // 60}m{span % 60:02d}s"
    else:
        amount = f"{span}s"
    return f"{stamp} ({'in ' + amount if delta > 0 else amount + ' ago'})"


def structure(decoded: DecodedToken) -> list[Check]:
    if decoded.from_claims:
        return [
            Check(
                INFO,
                "token",
                "claims only (--claims): header, kid, alg and signature are not part of the explanation",
            )
        ]
    checks = []
    bad = [i for i, p in enumerate(decoded.raw.split(".")) if not _RAW_B64.match(p) or len(p) % 4 == 1]
    if bad:
        checks.append(
            Check(
                FAIL,
                "encoding",
                "a segment is not raw base64url (padding `=` or other characters): the server refuses it",
            )
        )
    if decoded.header is None or decoded.claims is None:
        checks.append(Check(FAIL, "encoding", "the header or the claims are not a JSON object"))
    header = decoded.header or {}
    alg = header.get("alg")
    if alg in ACCEPTED_ALGS:
        checks.append(Check(OK, "alg", f"{alg} is accepted (only {', '.join(ACCEPTED_ALGS)} are)"))
    else:
        checks.append(Check(FAIL, "alg", f"{alg!r} is not accepted: only {', '.join(ACCEPTED_ALGS)}"))
    kid = header.get("kid")
    if isinstance(kid, str):
        checks.append(Check(OK, "kid", f"{kid!r}"))
    else:
        checks.append(
            Check(FAIL, "kid", "missing (or not a string): the server's key provider selects keys by kid")
        )
    return checks


def signature(keys: KeyAssumption) -> Check:
    return Check({True: OK, False: FAIL, None: INFO}[keys.ok], "signature", keys.line)


def times(claims: Mapping[str, Any], now: int) -> list[Check]:
    checks = []
    for name, label in (("exp", "expires"), ("nbf", "not before"), ("iat", "issued")):
        if name not in claims or claims[name] == 0:
            if name == "exp":
                checks.append(Check(WARN, "exp", "absent: the token never expires (there is no revocation)"))
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            checks.append(Check(FAIL, name, f"{value!r} is not a number: the server refuses it"))
            continue
        seconds = math.trunc(value)
        if name == "exp":
            good = now < seconds
            bad = f"expired {_when(seconds, now)}: refused (now >= exp, no leeway)"
        elif name == "nbf":
            good = now >= seconds
            bad = f"not valid yet: {_when(seconds, now)} (no leeway for clock skew)"
        else:
            good = now >= seconds
            bad = f"issued in the future: {_when(seconds, now)} (no leeway for clock skew)"
        checks.append(Check(OK, name, f"{label} {_when(seconds, now)}") if good else Check(FAIL, name, bad))
    return checks


def subject(claims: Mapping[str, Any]) -> Check:
    sub = claims.get("sub")
    if isinstance(sub, str):
        return Check(OK, "sub", repr(sub))
    what = "missing" if "sub" not in claims else f"{sub!r} is not a string"
    return Check(
        FAIL,
        "sub",
        f"{what}: the server refuses the token (client-credentials tokens without `sub` fail here)",
    )


def audience(claims: Mapping[str, Any], ctx: ModelContext) -> Check:
    wanted = ctx.config.audience.strip()
    aud = claims.get("aud")
    shown = "absent" if "aud" not in claims else repr(aud)
    if not wanted:
        return Check(
            INFO,
            "aud",
            f"{shown}: not checked (no audience configured: tokens for other apps are accepted too)",
        )
    if not ctx.rules.audience_supported:
        return Check(
            WARN, "aud", f"audience {wanted!r} is configured, but {ctx.rules.version} ignores it (1.29.0+)"
        )
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if wanted in values:
        return Check(OK, "aud", f"{aud!r} contains {wanted!r}")
    return Check(
        FAIL, "aud", f"{shown} does not contain {wanted!r} (exact, case-sensitive): audience mismatch"
    )


def permissions(reading: ClaimReading) -> list[Check]:
    checks = []
    if reading.shape == "array":
        checks.append(Check(OK, reading.claim_name, f"an array of {len(reading.entries)} entries"))
    else:
        checks.append(Check(WARN, reading.claim_name, reading.notes()[0]))
    for entry in reading.entries:
        checks.append(Check(OK if entry.grants and not entry.note else WARN, "entry", entry.describe()))
    for path, values in reading.unread:
        checks.append(Check(WARN, "unread", reading.unread_note(path, values)))
    return checks


def token_checks(
    decoded: DecodedToken, keys: KeyAssumption, reading: ClaimReading, ctx: ModelContext, now: int
) -> list[Check]:
    claims = decoded.claims or {}
    found = structure(decoded)
    if not decoded.from_claims:
        found.append(signature(keys))
    return [*found, *times(claims, now), subject(claims), audience(claims, ctx), *permissions(reading)]
