"""Tokens out of free text: a failure's traceback can print the gRPC metadata it was called with (pytest
shows a frame's arguments), and reports keep a token's header and claims only, never its signature."""

from __future__ import annotations

import re

# A JWT-looking run: header, then claims (pytest may have cut it with "..."), then whatever follows.
# Possessive, and never a run already redacted, so redacting twice changes nothing.
_JWT = re.compile(
    r"(?<![A-Za-z0-9_.\-])(eyJ[A-Za-z0-9_-]++)\.([A-Za-z0-9_-]*+)(?!\.<signature redacted>)(?:\.[A-Za-z0-9_.\-]*)?"
)
# Whatever else follows a Bearer scheme that is not a JWT (forged or garbled tokens), up to a delimiter.
_BEARER = re.compile(r"(?i)(bearer\s+)(?!eyJ)([^\s'\",}\]]{12,})")


def redact_tokens(text: str) -> str:
    """`text` with every token's signature (and anything after its claims) replaced by a marker."""
    text = _JWT.sub(lambda m: f"{m.group(1)}.{m.group(2)}.<signature redacted>", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}<redacted>", text)
