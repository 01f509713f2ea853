"""HTTP API requests whose header lines are sent byte for byte (the http-headers fuzz class): surrounding
whitespace, tabs, control and non-ASCII bytes, repeated names.

http.client (the standard library's HTTP/1.1 client) is the sender: putheader writes a name and a value as
given, refusing only a CR or LF that would start a new line. h11 (0.16), the other well-kept choice,
refuses a value with whitespace around it before sending (b" Bearer x": LocalProtocolError "Illegal header
value"), and surrounding whitespace is what net/http trims here. Reports what happened; decides nothing.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import Sequence
from typing import Any

from harness.probes.grpc import Observation
from harness.probes.http import classify_http
from harness.types import Outcome

# grpc-gateway's refusals of the header block (runtime/context.go: annotateContext), before authorization.
GATEWAY_REFUSALS = ("invalid grpc-timeout", "invalid binary header")
TIMEOUT_S = 15.0


def classify_raw(status: int, body: bytes) -> tuple[Outcome, str]:
    """REFUSED where net/http (a 400 of its own, plain text) or grpc-gateway's header handling (400,
    InvalidArgument naming the header) refused the request before authorization; else as every HTTP API
    answer (harness.probes.http.classify_http)."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    message = payload.get("message", "") if isinstance(payload, dict) else body.decode("latin-1")[:200]
    if status == 400 and (payload is None or str(message).startswith(GATEWAY_REFUSALS)):
        return Outcome.REFUSED, str(message)
    return classify_http(status, payload if payload is not None else {"message": message}), str(message)


def _send(
    address: str, verb: str, path: str, pairs: Sequence[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes]:
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=TIMEOUT_S)
    try:
        # Host and Accept-Encoding first, as harness.fuzz.http_text.request_bytes writes them for the oracle.
        connection.putrequest(verb, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader(b"Host", address.encode())
        connection.putheader(b"Accept-Encoding", b"identity")
        for name, value in pairs:
            connection.putheader(name, value)
        if body:
            connection.putheader(b"Content-Length", str(len(body)).encode())
            connection.putheader(b"Content-Type", b"application/json")
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


async def probe_raw_http(
    address: str, verb: str, path: str, pairs: Sequence[tuple[bytes, bytes]], body: bytes = b""
) -> Observation:
    """One request to the HTTP API at `address` ("host:port", plaintext) with these header lines."""
    started = time.monotonic()
    try:
        status, answer = await asyncio.to_thread(_send, address, verb.upper(), path, pairs, body)
    except (OSError, http.client.HTTPException) as exc:
        return Observation(
            Outcome.ERROR, type(exc).__name__, str(exc)[:200], started, time.monotonic(), "http"
        )
    outcome, message = classify_raw(status, answer)
    return Observation(outcome, str(status), message, started, time.monotonic(), "http")
