"""Connections that may be refused at the TLS handshake (the frontend with requireClientAuth).

Each probe opens a fresh connection with the given certificate, so a refusal belongs to that
certificate alone; the suite makes a control probe with the harness's certificate around it, so a
server that stopped answering is told apart from a handshake that failed.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import grpc
import httpx
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest, GetSystemInfoResponse

from harness.probes.grpc import Observation
from harness.server.tls import SERVER_NAME
from harness.types import Outcome

GET_SYSTEM_INFO = (
    "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo"  # exempt from authorization
)
CALL_TIMEOUT = 15.0
# How a refused handshake reads: grpc-core's ("Unwrap failed (TSI_DATA_CORRUPTED)" when a TLS 1.3 server
# sends its alert after the client finished), OpenSSL's alerts, or a closed socket.
_HANDSHAKE_SIGNS = (
    "ssl", "tls", "tsi_", "unwrap failed", "handshake", "certificate", "socket closed", "connection reset", "eof",
)  # fmt: skip


def _refused_at_handshake(message: str) -> bool:
    text = message.lower()
    return any(sign in text for sign in _HANDSHAKE_SIGNS)


async def grpc_handshake(
    address: str, root_ca: bytes, domain: str, cert: bytes | None, key: bytes | None
) -> Observation:
    """GetSystemInfo over a new TLS channel: ALLOWED when the server answered (the call needs no token),
    REFUSED when the connection failed at the TLS layer, ERROR for anything else."""
    credentials = grpc.ssl_channel_credentials(root_ca, key, cert)
    options = [("grpc.ssl_target_name_override", domain)]
    started = time.monotonic()
    async with grpc.aio.secure_channel(address, credentials, options) as channel:
        call = channel.unary_unary(
            GET_SYSTEM_INFO,
            request_serializer=GetSystemInfoRequest.SerializeToString,
            response_deserializer=GetSystemInfoResponse.FromString,
        )
        try:
            await call(GetSystemInfoRequest(), timeout=CALL_TIMEOUT, wait_for_ready=False)
        except grpc.aio.AioRpcError as err:
            message = err.details() or ""
            outcome = Outcome.ALLOWED  # any other status is an answer: the connection was taken
            if err.code() == grpc.StatusCode.UNAVAILABLE:
                outcome = Outcome.REFUSED if _refused_at_handshake(message) else Outcome.ERROR
            return Observation(outcome, err.code().name, message[:300], started, time.monotonic())
    return Observation(Outcome.ALLOWED, "OK", "", started, time.monotonic())


async def http_handshake(
    base_url: str, context: ssl.SSLContext, path: str, headers: dict[str, str]
) -> tuple[Observation, httpx.Response | None]:
    """One HTTP API request over a new TLS connection: the response, or REFUSED when TLS failed."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, verify=context, timeout=CALL_TIMEOUT) as client:
        try:
            response = await client.get(path, headers=headers)
        except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ssl.SSLError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            if not _refused_at_handshake(message):
                # TLS 1.3 refuses after the client's side of the handshake is done: the client's
                # library may see only a closed connection. A bare TLS connection reads the alert.
                message += f"; a bare TLS connection: {await _tls_alert(base_url, context)}"
            outcome = Outcome.REFUSED if _refused_at_handshake(message) else Outcome.ERROR
            return Observation(
                outcome, type(exc).__name__, message[:300], started, time.monotonic(), "http"
            ), None
    return Observation(
        Outcome.ALLOWED, str(response.status_code), "", started, time.monotonic(), "http"
    ), response


async def _tls_alert(base_url: str, context: ssl.SSLContext) -> str:
    """Connect with TLS and read: a server refusing the certificate sends an alert (or closes)."""
    url = httpx.URL(base_url)
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            reader, writer = await asyncio.open_connection(
                url.host, url.port, ssl=context, server_hostname=SERVER_NAME
            )
            try:
                data = await reader.read(1)
            finally:
                writer.close()
    except ssl.SSLError as exc:
        return f"SSLError: {exc.reason or exc}"
    except (ConnectionError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "connection closed after the handshake" if not data else "the server sent data"
