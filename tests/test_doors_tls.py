"""--check-doors sees a door whatever it speaks: a real local HTTP server answering the anonymous admin
request, over TLS (a self-signed certificate) and over plaintext, is reported open, and the report line
names the transport that answered; one that refuses is closed though the probe reached it. A gRPC server
over TLS answering an admin call is open too (grpcio reaches it through the probe's TLS tunnel)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.probes.doors import (
    ADMIN_CALLS,
    CLOSED,
    HTTP_PATHS,
    OPEN,
    PLAINTEXT,
    TLS_GIVEN_CA,
    TLS_NO_VERIFY,
    DoorAnswer,
    probe_door,
)
from harness.server.config import ServerSettings
from tests.test_external import _doors_run as doors_run

T = TypeVar("T")
GUARD_S = 60.0  # a guard against a hang only, never a measurement


@dataclass(frozen=True)
class SelfSigned:
    cert: Path
    key: Path

    @property
    def pem(self) -> bytes:
        return self.cert.read_bytes()


def self_signed(directory: Path) -> SelfSigned:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "door.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("door.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    files = SelfSigned(directory / "door.pem", directory / "door.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


def _handler(status: int) -> type[BaseHTTPRequestHandler]:
    class Door(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = status if self.path in HTTP_PATHS else 404
            body = b'{"namespaces": []}' if code == 200 else b'{"message": "Request unauthorized."}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Door


@contextmanager
def http_door(status: int, tls: SelfSigned | None = None) -> Iterator[int]:
    """A real HTTP server on loopback answering GET /api/v1/namespaces with `status` to anyone; over TLS
    with `tls`'s certificate. Yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(status))
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert, tls.key)
        # The handshake in the connection's own thread: a client that never finishes it holds only that.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run(awaitable: Awaitable[T]) -> T:
    async def guarded() -> T:
        async with asyncio.timeout(GUARD_S):
            return await awaitable

    return asyncio.run(guarded())


def test_an_anonymous_http_door_over_tls_is_open_and_named_so(tmp_path: Path) -> None:
    cert = self_signed(tmp_path)
    with http_door(200, tls=cert) as port:
        unverified = run(probe_door("127.0.0.1", port))
        with_ca = run(probe_door("127.0.0.1", port, cert.pem))
    assert unverified.verdict.startswith(f"{OPEN}: "), unverified
    assert f"HTTP over {TLS_NO_VERIFY} GET /api/v1/namespaces: 200" in unverified.verdict
    assert f"over {PLAINTEXT}" not in unverified.verdict  # it speaks TLS only
    assert f"HTTP over {TLS_GIVEN_CA} GET /api/v1/namespaces: 200" in with_ca.verdict


def test_an_anonymous_http_door_over_plaintext_is_open(tmp_path: Path) -> None:
    with http_door(200) as port:
        answer = run(probe_door("127.0.0.1", port))
    assert answer.verdict.startswith(f"{OPEN}: "), answer
    assert f"HTTP over {PLAINTEXT} GET /api/v1/namespaces: 200" in answer.verdict
    assert "over TLS" not in answer.verdict


def test_a_door_that_refuses_anonymous_callers_is_closed(tmp_path: Path) -> None:
    """Closed although every transport was tried and TLS reached the server: not closed for want of a
    connection."""
    with http_door(401, tls=self_signed(tmp_path)) as port:
        answer = run(probe_door("127.0.0.1", port))
    assert answer.verdict == CLOSED, answer
    assert f"HTTP over {TLS_NO_VERIFY} GET /api/v1/namespaces: 401" in answer.detail


async def _answer(request: bytes, context: Any) -> bytes:
    return b""  # an empty answer: the call succeeded, no authorization asked


async def _grpc_door_over_tls(cert: SelfSigned) -> DoorAnswer:
    """A gRPC server over TLS (no client certificate asked) that answers every admin call to anyone."""
    methods: dict[str, dict[str, Any]] = {}
    for full_method in ADMIN_CALLS:
        service, method = full_method.lstrip("/").rsplit("/", 1)
        methods.setdefault(service, {})[method] = grpc.unary_unary_rpc_method_handler(_answer)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(s, m) for s, m in methods.items()])
    credentials = grpc.ssl_server_credentials([(cert.key.read_bytes(), cert.pem)])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        return await probe_door("127.0.0.1", port)
    finally:
        await server.stop(grace=None)


def test_an_anonymous_grpc_door_over_tls_is_open(tmp_path: Path) -> None:
    answer = run(_grpc_door_over_tls(self_signed(tmp_path)))
    assert f"gRPC over {TLS_NO_VERIFY} ListNamespaces: OK" in answer.verdict, answer
    assert f"gRPC over {PLAINTEXT}" not in answer.verdict


def test_check_doors_names_the_transport_of_an_internode_mtls_servers_open_door(tmp_path: Path) -> None:
    """Live: a server with internode mTLS and internal-frontend's HTTP API on (AUTHZ-DOOR-003), checked as a
    cluster with --check-doors on internal-frontend's two ports. Its gRPC port refuses a caller without the
    run's certificate over every transport; its HTTP port answers anyone, over plaintext."""
    settings = ServerSettings(internode_tls=True, internal_http=True, refresh_interval="1h")
    code, output = doors_run(tmp_path, settings, "mtls")
    opened = [line for line in output.splitlines() if "OPEN DOOR" in line]
    assert code == 1, output[-3000:]
    assert len(opened) == 1, opened  # the HTTP port, not the gRPC one
    assert f"HTTP over {PLAINTEXT} GET /api/v1/namespaces: 200" in opened[0]
