"""A real JWKS endpoint the harness controls: key sets per path, faults, and a log of every fetch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.keys import SigningKey

DEFAULT_PATH = "/jwks.json"


class FetchTimeout(AssertionError, TimeoutError):
    """The server did not fetch the key set when it should have: a finding about the server's refresh,
    so it fails the test (an AssertionError), not the harness."""


@dataclass(frozen=True)
class Fetch:
    """One request the server (or anyone) made to the fixture."""

    path: str
    at: float  # time.time()
    monotonic: float
    status: int
    kids: tuple[str, ...]  # kids served in this answer (empty for faults)
    fault: str = ""


@dataclass
class Fault:
    """How one path misbehaves. All fields optional; `body` replaces the key set as-is."""

    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    name: str = ""


@dataclass
class _KeySet:
    jwks: list[dict[str, Any]] = field(default_factory=list)
    keys: list[SigningKey] = field(default_factory=list)  # the signing keys behind `jwks`, for the model
    fault: Fault | None = None


class JwksServer:
    """Context manager: `with JwksServer() as jwks: jwks.publish(key); jwks.url`.

    Thread-safe; runs a ThreadingHTTPServer on 127.0.0.1 on an ephemeral port. `stop_listening()` and
    `resume_listening()` simulate an outage on the same port.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port  # 0: an ephemeral port; a fixed one when a cluster must be told the URL
        self._sets: dict[str, _KeySet] = {DEFAULT_PATH: _KeySet()}
        self._lock = threading.Lock()
        self._fetches: list[Fetch] = []
        self._fetched = threading.Condition(self._lock)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> JwksServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._listen()

    def _listen(self) -> None:
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fixture._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the fetch log is the record

        httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="jwks-fixture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stop_listening(self) -> None:
        """Outage: the port refuses connections until resume_listening()."""
        self.stop()

    def resume_listening(self) -> None:
        if self._httpd is None:
            self._listen()

    @property
    def listening(self) -> bool:
        return self._httpd is not None

    def url(self, path: str = DEFAULT_PATH) -> str:
        return f"http://{self.host}:{self.port}{path}"

    # -- key sets ----------------------------------------------------------------------------
    def _set(self, path: str) -> _KeySet:
        return self._sets.setdefault(path, _KeySet())

    def publish(self, *keys: SigningKey, path: str = DEFAULT_PATH) -> None:
        """Add keys (replacing any with the same kid and type)."""
        with self._lock:
            ks = self._set(path)
            for key in keys:
                ks.keys = [k for k in ks.keys if not (k.kid == key.kid and k.kty == key.kty)] + [key]
                ks.jwks = [j for j in ks.jwks if not (j.get("kid") == key.kid and j.get("kty") == key.kty)]
                ks.jwks.append(key.public_jwk())

    def retire(self, *keys: SigningKey, path: str = DEFAULT_PATH) -> None:
        with self._lock:
            ks = self._set(path)
            gone = {(k.kid, k.kty) for k in keys}
            ks.keys = [k for k in ks.keys if (k.kid, k.kty) not in gone]
            ks.jwks = [j for j in ks.jwks if (j.get("kid"), j.get("kty")) not in gone]

    def replace(
        self, keys: Sequence[SigningKey], path: str = DEFAULT_PATH, extra_jwks: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Serve exactly these keys (plus raw JWK entries, e.g. unsupported key types)."""
        with self._lock:
            ks = self._set(path)
            ks.keys = list(keys)
            ks.jwks = [k.public_jwk() for k in keys] + [dict(j) for j in extra_jwks]

    def published_keys(self, path: str = DEFAULT_PATH) -> list[SigningKey]:
        with self._lock:
            return list(self._set(path).keys)

    def document(self, path: str = DEFAULT_PATH) -> dict[str, Any]:
        with self._lock:
            return {"keys": [dict(j) for j in self._set(path).jwks]}

    def served_body(self, path: str = DEFAULT_PATH) -> bytes:
        """The bytes a fetch of `path` gets now (the fault's body if one is set): the model's input."""
        with self._lock:
            ks = self._sets.get(path)
            if ks is None:
                return b'{"error":"no such key set"}'
            if ks.fault is not None and ks.fault.body is not None:
                return ks.fault.body
            return json.dumps({"keys": ks.jwks}).encode()

    # -- faults ------------------------------------------------------------------------------
    def set_fault(self, fault: Fault | None, path: str = DEFAULT_PATH) -> None:
        with self._lock:
            self._set(path).fault = fault

    @contextlib.contextmanager
    def fault(self, fault: Fault, path: str = DEFAULT_PATH) -> Iterator[None]:
        self.set_fault(fault, path)
        try:
            yield
        finally:
            self.set_fault(None, path)

    # -- fetch log ---------------------------------------------------------------------------
    def fetches(self, path: str | None = None) -> list[Fetch]:
        with self._lock:
            return [f for f in self._fetches if path is None or f.path == path]

    def wait_for_fetches(
        self, count: int, *, after: float, deadline: float, path: str = DEFAULT_PATH
    ) -> list[Fetch]:
        """Block until `count` fetches of `path` happened after monotonic time `after`."""
        end = time.monotonic() + deadline
        with self._fetched:
            while True:
                seen = [f for f in self._fetches if f.path == path and f.monotonic > after]
                if len(seen) >= count:
                    return seen[:count]
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise FetchTimeout(
                        f"JWKS {path}: {len(seen)} of {count} fetches within {deadline:.1f}s: the server did "
                        f"not refresh its keys in time (is jwtKeyProvider.refreshInterval > 0 and short?)"
                    )
                self._fetched.wait(remaining)

    async def fetched(
        self, count: int, *, after: float, deadline: float, path: str = DEFAULT_PATH
    ) -> list[Fetch]:
        """wait_for_fetches without blocking the event loop (workers keep running meanwhile)."""
        return await asyncio.to_thread(
            self.wait_for_fetches, count, after=after, deadline=deadline, path=path
        )

    def log_lines(self) -> list[str]:
        """The fetch log as text for reports: paths, times, kids, never key material."""
        return [
            f"{time.strftime('%H:%M:%S', time.gmtime(f.at))}.{int(f.at % 1 * 1000):03d} GET {f.path} "
            f"-> {f.status} kids={','.join(f.kids) or '-'} {f.fault}".rstrip()
            for f in self.fetches()
        ]

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        body = self.served_body(path)
        with self._lock:
            ks = self._sets.get(path)
            fault = ks.fault if ks else None
            kids = tuple(str(j.get("kid", "")) for j in ks.jwks) if ks else ()
        status = 200 if ks else 404
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)  # simulated slowness of the endpoint, not synchronisation
            status = fault.status
            if fault.body is not None:
                kids = ()
        # Logged before the answer goes out, so a client that got the answer always finds it in the log.
        with self._fetched:
            self._fetches.append(
                Fetch(path, time.time(), time.monotonic(), status, kids, fault.name if fault else "")
            )
            self._fetched.notify_all()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
