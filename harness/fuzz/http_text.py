"""The http-headers class's inputs as bytes: the header lines (harness.fuzz.strategies.http_headers) with
the tokens' text filled in, the request as it goes on the wire, and a value the interceptor read named so
that both sides of a comparison name it alike ("<a>" for a token's text)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from harness.server.target import SUITE_NAMESPACE

# The tokens an input's values carry: "a" grants write on the suite's namespace, "b" read only, so the
# calls tell which of the two the interceptor read (and a refused or absent one grants nothing).
TOKEN_GRANTS = {"a": [f"{SUITE_NAMESPACE}:write"], "b": [f"{SUITE_NAMESPACE}:read"]}
Pair = tuple[bytes, bytes]


def latin1(text: str) -> bytes:
    return text.encode("latin-1")


def header_pairs(spec: Mapping[str, Any], tokens: Mapping[str, bytes]) -> list[Pair]:
    """(name, value) per header line, as sent."""
    pairs = []
    for entry in spec["headers"]:
        token = tokens[entry["token"]] if entry["token"] else b""
        value = latin1(entry["before"]) + token + latin1(entry["after"])
        encoding = entry.get("base64", "")
        if encoding == "std":
            value = base64.b64encode(value)
        elif encoding == "raw":
            value = base64.b64encode(value).rstrip(b"=")
        elif encoding == "url":
            value = base64.urlsafe_b64encode(value).rstrip(b"=")
        pairs.append((latin1(entry["name"]), value))
    return pairs


def signed_text(value: bytes | None, tokens: Mapping[str, bytes]) -> str | None:
    """Which token's exact text the claim mapper gets from a value (what follows its first space:
    default_jwt_claim_mapper.go:86), the only text whose signature the harness knows to be good; None
    where bytes around it change the text (an appended byte changes the signature segment)."""
    parts = (value or b"").split(b" ", 1)
    return next((name for name, text in tokens.items() if len(parts) == 2 and parts[1] == text), None)


def read_label(value: bytes | None, tokens: Mapping[str, bytes]) -> str:
    """A value the interceptor read, named alike whoever read it: none, or its bytes with each token's
    text as <name> (Latin-1, escaped), shortened with a digest past 80 characters."""
    if value is None or value == b"":
        return "none"
    for name, text in tokens.items():
        value = value.replace(text, f"<{name}>".encode())
    shown = value.decode("latin-1").encode("unicode_escape").decode("ascii")
    if len(shown) > 80:
        shown = shown[:60] + "..." + hashlib.sha256(value).hexdigest()[:12]
    return shown


def request_bytes(verb: str, path: str, host: str, pairs: Sequence[Pair], body: bytes = b"") -> bytes:
    """The request as http.client puts it on the wire (harness.probes.http_raw): request line, Host,
    Accept-Encoding, the header lines as given, then Content-Length and Content-Type with a body."""
    lines = [f"{verb} {path} HTTP/1.1".encode(), b"Host: " + host.encode(), b"Accept-Encoding: identity"]
    lines += [name + b": " + value for name, value in pairs]
    if body:
        lines += [b"Content-Length: " + str(len(body)).encode(), b"Content-Type: application/json"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
