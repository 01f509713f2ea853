"""Is anything listening that an anonymous caller can act through as admin? Probes one port with an
anonymous gRPC cluster/admin call (plaintext, and TLS without a client certificate) and an anonymous
HTTP API request. The answer names what it saw; it decides nothing about requirements."""

from __future__ import annotations

import asyncio
import contextlib
import os
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


@dataclass(frozen=True)
class DoorAnswer:
    verdict: str  # CLOSED, or "OPEN: <what answered>"
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


async def _grpc(channel: grpc.aio.Channel, method: str) -> str:
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        await call(b"", timeout=3)
    except grpc.aio.AioRpcError as err:
        return f"{err.code().name} {(err.details() or '')[:80]!r}"
    return "OK"


async def _grpc_mode(mode: str, channel: grpc.aio.Channel) -> list[tuple[str, bool]]:
    async with channel:
        answers = await asyncio.gather(*(_grpc(channel, method) for method in ADMIN_CALLS))
    return [
        (f"gRPC {mode} {method.rsplit('/', 1)[1]}: {answer}", answer == "OK")
        for method, answer in zip(ADMIN_CALLS, answers, strict=True)
    ]


async def _http(address: str) -> list[tuple[str, bool]]:
    results = []
    async with plain_http_client(timeout=3) as http:
        for path in HTTP_PATHS:
            try:
                response = await http.get(f"http://{address}{path}")
                results.append((f"HTTP GET {path}: {response.status_code}", response.status_code == 200))
            except httpx.HTTPError as exc:
                results.append((f"HTTP GET {path}: {type(exc).__name__}", False))
    return results


async def probe_door(host: str, port: int, ca: bytes | None = None) -> DoorAnswer:
    address = f"{host}:{port}"
    probes = [_grpc_mode("plaintext", grpc.aio.insecure_channel(address)), _http(address)]
    if ca is not None:
        credentials = grpc.ssl_channel_credentials(root_certificates=ca)
        options = [("grpc.ssl_target_name_override", "localhost")]
        probes.append(
            _grpc_mode("tls-no-client-cert", grpc.aio.secure_channel(address, credentials, options))
        )
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
