"""Is anything listening that an anonymous caller can act through as admin? Probes one port with
anonymous gRPC cluster/admin calls and anonymous HTTP API requests, each over plaintext and over TLS
without a client certificate (system roots, the CA given, and no verification at all: an attacker need
not trust a door's certificate to walk through it). The answer names what it saw and over which
transport; it decides nothing about requirements."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx

from harness.probes.http import plain_http_client
from harness.server.backend import RunningServer

# Anonymous calls that only an administrator (or a cluster reader) may make.
ADMIN_CALLS = (
    "/temporal.api.workflowservice.v1.WorkflowService/ListNamespaces",
    "/temporal.api.operatorservice.v1.OperatorService/ListClusters",
    "/temporal.server.api.adminservice.v1.AdminService/DescribeCluster",
)
HTTP_PATHS = ("/api/v1/namespaces", "/cluster/namespaces")
OPEN = "OPEN"
CLOSED = "closed to anonymous admin calls"
CALL_TIMEOUT_S = 3.0  # one anonymous call or TLS handshake: a door on loopback or a LAN answers at once
PLAINTEXT = "plaintext"
TLS_SYSTEM_ROOTS = "TLS/system-roots"
TLS_GIVEN_CA = "TLS/given-CA"  # the CA given (--target-ca, a server's internode CA); any host name
TLS_NO_VERIFY = "TLS/no-verify"


@dataclass(frozen=True)
class DoorAnswer:
    verdict: str  # CLOSED, or "OPEN: <what answered, over which transport>"
    detail: list[str]


def _listen_inodes() -> dict[int, int]:
    """inode -> port of every listening TCP socket on this host (/proc/net/tcp and tcp6)."""
    found: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A":  # TCP_LISTEN
                    found[int(fields[9])] = int(fields[1].rsplit(":", 1)[1], 16)
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def listening_ports(server: RunningServer) -> dict[str, int]:
    """Every TCP port the server's process listens on, named by its config where the config names it."""
    named = {}
    if server.config is not None:
        named = {port: f"{service} {name}" for service, name, port in server.config.listening_ports()}
    pid = server.pid()
    ports: set[int] = set()
    if pid is not None:
        inodes = _listen_inodes()
        ports = {inodes[i] for i in _socket_inodes(pid) if i in inodes}
    if not ports:
        ports = set(named)  # no /proc view of the process: the ports its config opens
    label = server.config.directory.name if server.config is not None else server.address
    return {f"{named.get(p, 'unnamed port')} :{p} ({label})": p for p in sorted(ports)}


# -- TLS without a client certificate ----------------------------------------------------------------


@functools.cache
def tls_context(transport: str, ca: bytes | None, alpn: str) -> ssl.SSLContext:
    """A client context per transport and ALPN protocol (cached: loading the system roots costs about
    40 ms of CPU). gRPC and HTTP get contexts of their own: httpx sets its ALPN on the context it is given."""
    if transport == TLS_SYSTEM_ROOTS:
        context = ssl.create_default_context()
    elif transport == TLS_GIVEN_CA:
        context = ssl.create_default_context(cadata=(ca or b"").decode())
        context.check_hostname = False  # a door is named by its address; its certificate by other names
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols([alpn])
    return context


def tls_transports(ca: bytes | None) -> list[str]:
    return [TLS_SYSTEM_ROOTS, *([TLS_GIVEN_CA] if ca else []), TLS_NO_VERIFY]


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"SSLError {exc.reason or exc}"
    return f"{type(exc).__name__} {str(exc)[:80]}".rstrip()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, failures: list[str]) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError) as exc:
        failures.append(_why(exc))  # a server refusing after the handshake (TLS 1.3): its alert
    finally:
        writer.close()  # the other direction then reads the end too


@contextlib.asynccontextmanager
async def tls_tunnel(
    host: str, port: int, context: ssl.SSLContext, failures: list[str]
) -> AsyncIterator[str]:
    """A plaintext listener on loopback that carries each connection to host:port over TLS with this
    context: grpcio cannot be told to skip verifying a server's certificate, so it speaks through this.
    Yields the listener's address; what failed on the way (a handshake, an alert) goes to `failures`."""
    handlers: set[asyncio.Task[None]] = set()

    async def carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                upstream = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            failures.append(f"handshake: {_why(exc)}")
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer, failures), _pipe(up_reader, writer, failures))

    listener = await asyncio.start_server(carry, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    finally:
        listener.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


# -- the probes --------------------------------------------------------------------------------------


async def _grpc(channel: grpc.aio.Channel, method: str) -> str:
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        await call(b"", timeout=CALL_TIMEOUT_S)
    except grpc.aio.AioRpcError as err:
        return f"{err.code().name} {(err.details() or '')[:80]!r}"
    return "OK"


async def _grpc_calls(address: str, transport: str, failures: Sequence[str] = ()) -> list[tuple[str, bool]]:
    async with grpc.aio.insecure_channel(address) as channel:
        answers = await asyncio.gather(*(_grpc(channel, method) for method in ADMIN_CALLS))
    lines = [
        (f"gRPC over {transport} {method.rsplit('/', 1)[1]}: {answer}", answer == "OK")
        for method, answer in zip(ADMIN_CALLS, answers, strict=True)
    ]
    if failures:
        lines.append((f"gRPC over {transport}: TLS {failures[0]}", False))
    return lines


async def _grpc_tls(host: str, port: int, transport: str, ca: bytes | None) -> list[tuple[str, bool]]:
    failures: list[str] = []
    async with tls_tunnel(host, port, tls_context(transport, ca, "h2"), failures) as tunnel:
        return await _grpc_calls(tunnel, transport, failures)


async def _http(base_url: str, transport: str, client: httpx.AsyncClient) -> list[tuple[str, bool]]:
    results = []
    async with client as http:
        for path in HTTP_PATHS:
            try:
                response = await http.get(f"{base_url}{path}")
                answered = response.status_code == 200
                results.append((f"HTTP over {transport} GET {path}: {response.status_code}", answered))
            except (httpx.HTTPError, ssl.SSLError) as exc:
                results.append((f"HTTP over {transport} GET {path}: {_why(exc)}", False))
    return results


async def probe_door(host: str, port: int, ca: bytes | None = None) -> DoorAnswer:
    """Every anonymous admin call over every transport: OPEN where any of them answered."""
    address = f"{host}:{port}"
    probes = [
        _grpc_calls(address, PLAINTEXT),
        _http(f"http://{address}", PLAINTEXT, plain_http_client(timeout=CALL_TIMEOUT_S)),
    ]
    for transport in tls_transports(ca):
        probes.append(_grpc_tls(host, port, transport, ca))
        context = tls_context(transport, ca, "http/1.1")
        client = httpx.AsyncClient(verify=context, timeout=CALL_TIMEOUT_S)
        probes.append(_http(f"https://{address}", transport, client))
    lines = [line for group in await asyncio.gather(*probes) for line in group]
    opened = [text for text, answered in lines if answered]
    verdict = f"{OPEN}: {'; '.join(opened)}" if opened else CLOSED
    return DoorAnswer(verdict, [text for text, _ in lines])


async def probe_doors(
    doors: dict[str, tuple[str, int, bytes | None]], concurrency: int = 16
) -> dict[str, DoorAnswer]:
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str, host: str, port: int, ca: bytes | None) -> tuple[str, DoorAnswer]:
        async with gate:
            return name, await probe_door(host, port, ca)

    return dict(await asyncio.gather(*(one(name, *door) for name, door in doors.items())))
