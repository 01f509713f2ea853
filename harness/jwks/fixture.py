"""A real JWKS endpoint the harness controls: key sets per path, faults, outages, and a log of every fetch.

The log is what the key-provider model is fed: for each fetch, when it was asked and answered, the
status and the exact bytes served. Several servers may share one fixture; each is told its own URL
(`?server=<id>`), so each server's fetches can be told apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlsplit

from harness.errors import HarnessConfigError, ServerDidNotComply
from harness.tokens.keys import SigningKey

DEFAULT_PATH = "/jwks.json"


_Args = ParamSpec("_Args")
_Result = TypeVar("_Result")


def _off_the_loop(blocking: Callable[_Args, _Result]) -> Callable[_Args, Awaitable[_Result]]:
    """An async twin of a blocking wait: the same call in a worker thread (asyncio.to_thread)."""

    @functools.wraps(blocking)
    async def twin(*args: _Args.args, **kwargs: _Args.kwargs) -> _Result:
        return await asyncio.to_thread(blocking, *args, **kwargs)

    return twin


class FetchTimeout(ServerDidNotComply, TimeoutError):
    """The server did not fetch the key set when it should have: a finding about its refresh."""


@dataclass(frozen=True)
class Fetch:
    """One request the server (or anyone) made to the fixture."""

    path: str
    client: str  # the `server` query parameter: which server fetched ("" when none was given)
    asked: float  # monotonic, when the request arrived
    answered: float  # monotonic, when the answer was written (after any delay)
    at: float  # time.time() of the answer, for people reading the log
    status: int
    body: bytes = field(repr=False)
    kids: tuple[str, ...] = ()  # kids in the served set (empty when a fault replaced the body)
    fault: str = ""


class Request(NamedTuple):
    """A request that arrived, answered or not (a hanging fault never answers it)."""

    path: str
    client: str
    asked: float  # monotonic


_Logged = TypeVar("_Logged", Fetch, Request)


@dataclass
class Fault:
    """How one path misbehaves. `body` replaces the key set as-is; `hang` never answers (until the
    fixture stops or the fault is cleared)."""

    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    hang: bool = False
    name: str = ""


@dataclass
class _KeySet:
    jwks: list[dict[str, Any]] = field(default_factory=list)
    keys: list[SigningKey] = field(default_factory=list)  # the signing keys behind `jwks`
    fault: Fault | None = None


class JwksServer:
    """Context manager: `with JwksServer() as jwks: jwks.publish(key); jwks.url()`.

    Thread-safe; a ThreadingHTTPServer on 127.0.0.1. `stop_listening()` and `resume_listening()` make an
    outage on the same port, and the fixture remembers when it was down (a fetch then fails)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port  # 0: an ephemeral port; a fixed one when a cluster must be told the URL
        self._sets: dict[str, _KeySet] = {DEFAULT_PATH: _KeySet()}
        self._lock = threading.Lock()
        self._fetches: list[Fetch] = []
        self._requests: list[Request] = []  # answered or not
        self._fetched = threading.Condition(self._lock)
        self._down: list[tuple[float, float | None]] = []  # monotonic (from, until) outages
        self._released = threading.Event()  # ends every hanging request
        self.revision = 0  # bumped on every fetch and outage change: lets readers cache what they derive
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> JwksServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen. A fixed port (--jwks-port: the URL an external cluster was told to trust) that is taken
        is bad input, one HarnessConfigError naming the fix; an ephemeral one cannot be taken."""
        try:
            self._listen()
        except OSError as exc:
            if not self.port or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            if exc.errno == errno.EACCES:
                raise HarnessConfigError(
                    f"--jwks-port {self.port} cannot be bound here (permission denied): pick a port above "
                    f"1023 (the cluster must trust {self.url()})"
                ) from None
            raise HarnessConfigError(
                f"--jwks-port {self.port} is taken by another process: free it or pick another port "
                f"(the cluster must trust {self.url()})"
            ) from None

    def _listen(self) -> None:
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fixture._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the fetch log is the record

        self._released = threading.Event()
        httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._httpd = httpd
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, on every fixture a test stops.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="jwks-fixture", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stop_listening(self) -> None:
        """Outage: the port refuses connections until resume_listening()."""
        with self._lock:
            self._down.append((time.monotonic(), None))
            self.revision += 1
        self.stop()

    def resume_listening(self) -> None:
        if self._httpd is None:
            self._listen()
            with self._lock:
                if self._down and self._down[-1][1] is None:
                    self._down[-1] = (self._down[-1][0], time.monotonic())
                self.revision += 1

    def down_between(self, start: float, end: float) -> bool:
        """Whether the fixture was down at any moment of [start, end] (monotonic)."""
        with self._lock:
            for since, until in self._down:
                if since <= end and (until is None or until >= start):
                    return True
        return False

    @property
    def listening(self) -> bool:
        return self._httpd is not None

    def url(self, path: str = DEFAULT_PATH, client: str = "") -> str:
        query = f"?server={client}" if client else ""
        return f"http://{self.host}:{self.port}{path}{query}"

    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- key sets ----------------------------------------------------------------------------
    def answer_to(self, path: str) -> tuple[int, bytes]:
        """The status and body a GET of `path` (its query cut off, as the handler does) gets now."""
        status, body, _, _ = self._answer(path)
        return status, body

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

    @staticmethod
    def document_of(keys: Sequence[SigningKey]) -> bytes:
        """A key set document with these keys, as the fixture serves one (for a file:// key source)."""
        return json.dumps({"keys": [k.public_jwk() for k in keys]}).encode()

    def published_keys(self, path: str = DEFAULT_PATH) -> list[SigningKey]:
        with self._lock:
            return list(self._set(path).keys)

    def document(self, path: str = DEFAULT_PATH) -> dict[str, Any]:
        with self._lock:
            return {"keys": [dict(j) for j in self._set(path).jwks]}

    def _answer(self, path: str) -> tuple[int, bytes, tuple[str, ...], Fault | None]:
        with self._lock:
            ks = self._sets.get(path)
            if ks is None:
                return 404, b'{"error":"no such key set"}', (), None
            kids = tuple(str(j.get("kid", "")) for j in ks.jwks)
            body = json.dumps({"keys": ks.jwks}).encode()
            fault = ks.fault
        if fault is None:
            return 200, body, kids, None
        if fault.body is not None:
            return fault.status, fault.body, (), fault
        return fault.status, body, kids, fault

    # -- faults ------------------------------------------------------------------------------
    def set_fault(self, fault: Fault | None, path: str = DEFAULT_PATH) -> None:
        with self._lock:
            self._set(path).fault = fault
        if fault is None or not fault.hang:
            held, self._released = self._released, threading.Event()
            held.set()  # let go of anything still hanging

    @contextlib.contextmanager
    def fault(self, fault: Fault, path: str = DEFAULT_PATH) -> Iterator[None]:
        self.set_fault(fault, path)
        try:
            yield
        finally:
            self.set_fault(None, path)

    # -- fetch log ---------------------------------------------------------------------------
    def fetches(self, path: str | None = None, client: str | None = None) -> list[Fetch]:
        with self._lock:
            return [
                f
                for f in self._fetches
                if (path is None or f.path == path) and (client is None or f.client == client)
            ]

    def _wait_for(
        self, log: Sequence[_Logged], count: int, after: float, deadline: float, path: str, client: str | None
    ) -> list[_Logged]:
        """Block until `log` (read under the lock, again on every fetch or request) has `count` entries for
        `path` (and `client`) asked after `after`, or `deadline` seconds passed: what it had then."""

        def matching() -> list[_Logged]:
            return [e for e in log if e.path == path and e.asked > after and client in (None, e.client)]

        end = time.monotonic() + deadline
        with self._fetched:
            while len(seen := matching()) < count and (remaining := end - time.monotonic()) > 0:
                self._fetched.wait(remaining)
            return seen

    def wait_for_fetches(
        self,
        count: int,
        *,
        after: float,
        deadline: float,
        path: str = DEFAULT_PATH,
        client: str | None = None,
    ) -> list[Fetch]:
        """Block until `count` fetches of `path` were answered after monotonic time `after`."""
        seen = self._wait_for(self._fetches, count, after, deadline, path, client)
        if len(seen) < count:
            raise FetchTimeout(
                f"JWKS {path}: {len(seen)} of {count} fetches within {deadline:.1f}s: the server did "
                f"not refresh its keys (is jwtKeyProvider.refreshInterval > 0 and short?)"
            )
        return seen[:count]

    def wait_for_requests(
        self,
        count: int,
        *,
        after: float,
        deadline: float,
        path: str = DEFAULT_PATH,
        client: str | None = None,
    ) -> int:
        """Block until `count` requests for `path` arrived after `after` (answered or still pending)."""
        seen = self._wait_for(self._requests, count, after, deadline, path, client)
        if len(seen) < count:
            raise FetchTimeout(
                f"JWKS {path}: {len(seen)} of {count} requests within {deadline:.1f}s: the server did "
                f"not ask for its keys"
            )
        return len(seen)

    # The waits without blocking the event loop (workers keep running meanwhile).
    fetched = _off_the_loop(wait_for_fetches)
    requested = _off_the_loop(wait_for_requests)

    def log_lines(self) -> list[str]:
        """The fetch log as text for reports: paths, times, kids, never key material."""
        return [
            f"{time.strftime('%H:%M:%S', time.gmtime(f.at))}.{int(f.at % 1 * 1000):03d} GET {f.path}"
            f"{'?server=' + f.client if f.client else ''} -> {f.status} kids={','.join(f.kids) or '-'} "
            f"{f.fault}".rstrip()
            for f in self.fetches()
        ]

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        asked = time.monotonic()
        parts = urlsplit(request.path)
        client = (parse_qs(parts.query).get("server") or [""])[0]
        with self._fetched:
            self._requests.append(Request(parts.path, client, asked))
            self._fetched.notify_all()
        status, body, kids, fault = self._answer(parts.path)
        released = self._released
        if fault is not None and fault.hang:
            released.wait()  # accept and never answer, until the fault is cleared or the fixture stops
            return
        if fault is not None and fault.delay:
            time.sleep(fault.delay)  # simulated slowness of the endpoint, not synchronisation
        # Logged before the answer goes out, so a client that got the answer always finds it in the log.
        with self._fetched:
            self._fetches.append(
                Fetch(
                    parts.path,
                    client,
                    asked,
                    time.monotonic(),
                    time.time(),
                    status,
                    body,
                    kids,
                    fault.name if fault else "",
                )
            )
            self.revision += 1
            self._fetched.notify_all()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
