"""Audit trails a test (or a person) can read after a run: one JSON line per event, appended.

- AUTHZ_REQUEST_AUDIT=FILE: every request the harness sends to, or refuses to send to, a cluster it does
  not own: the address, the method, the namespaces and ids the request names, whether it is on the list
  of destructive calls (harness.safety) and whether it was sent. Never a token or a header.
- AUTHZ_TOKEN_AUDIT=FILE: every token signed with a real key: kid, key fingerprint, whether the key is
  restricted (a cluster the harness does not own trusts it), iat, exp and the lifetime from the signing
  moment. Never the token, never a signature.

Lines are written whole with one append each, so concurrent writers (xdist workers, threads) do not interleave."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from harness.settings import ENV


def _append(path: Path | None, record: dict[str, Any]) -> None:
    if path is None:
        return
    line = (json.dumps({"at": round(time.time(), 3), **record}, default=str) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def request(
    address: str, method: str, aim: dict[str, list[str]], destructive: bool, sent: bool, why: str = ""
) -> None:
    record: dict[str, Any] = {
        "target": address,
        "method": method,
        **aim,
        "destructive": destructive,
        "sent": sent,
    }
    if why:
        record["refused"] = why
    _append(ENV.request_audit, record)


def token(kid: Any, fingerprint: str, restricted: bool, iat: Any, exp: Any, signed_at: float) -> None:
    lifetime: float | None = None
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        try:
            lifetime = round(exp - signed_at, 3)
        except OverflowError:  # an exp no float holds (10**400): no lifetime to state, still audited
            lifetime = None
    _append(
        ENV.token_audit,
        {
            "kid": kid,
            "key": fingerprint,
            "restricted": restricted,
            "iat": iat,
            "exp": exp,
            "lifetime_s": lifetime,
        },
    )
