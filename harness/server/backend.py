"""The small protocol every backend shares: start a rendered config, say where it listens, give logs, stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessConfigError
from harness.server.config import RenderedConfig
from harness.server.provision import ProvisionedBinary
from harness.server.readiness import wait_until_serving
from harness.types import ServerVersion


class EngineGone(HarnessConfigError):
    """The Docker engine stopped answering during the run: no server can be started on it any more.
    (Here, not in choose.py, which imports the container backend that raises it.)"""


class ServerStartError(RuntimeError):
    """The server did not become ready; the message carries the last log lines."""


# How many times a server start is tried with fresh ports when a port it was given was taken first.
PORT_RACE_ATTEMPTS = 3


def lost_a_port_race(error: ServerStartError) -> bool:
    """The server exited because a port picked free for it was bound by someone else before it bound it."""
    return "address already in use" in str(error)


@dataclass
class RunningServer:
    address: str  # host:port of the public frontend (JWT enforced)
    version: ServerVersion
    backend: str  # "process" | "container" | "external"
    start_seconds: float  # start-to-ready
    logs: Callable[[], str] = field(repr=False)
    stop: Callable[[], None] = field(repr=False)
    config: RenderedConfig | None = None
    pid: Callable[[], int | None] = field(default=lambda: None, repr=False)  # for its listening sockets
    started_at: float = 0.0  # monotonic, just before the process started
    ready_at: float = 0.0  # monotonic, when the health check first said SERVING
    http: str | None = None  # the HTTP API's host:port where no config says it (an external cluster)

    @property
    def http_address(self) -> str | None:
        return self.config.http_address if self.config is not None else self.http

    def save_logs(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.logs())
        return path


class Backend(Protocol):
    name: str

    async def start(self, binary: ProvisionedBinary, config: RenderedConfig) -> RunningServer: ...


def last_lines(text: str, count: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])


@dataclass(frozen=True)
class Started:
    """What a local backend started, before it is ready: how to watch it, read its log and stop it."""

    at: float  # monotonic, just before it started
    alive: Callable[[], bool]
    logs: Callable[[], str]
    stop: Callable[[], None]
    what: Callable[[], str]  # names it in a start error: the binary and its exit code, the container
    pid: Callable[[], int | None] = lambda: None


class LocalBackend(Protocol):
    name: str
    ready_deadline: float  # how long a started server may take to serve


async def ready_or_stopped(
    backend: LocalBackend, version: ServerVersion, config: RenderedConfig, started: Started
) -> RunningServer:
    """Wait for the frontend; on failure or Ctrl-C stop what was started, with the last log lines."""
    try:
        await wait_until_serving(
            config.frontend_address,
            deadline=backend.ready_deadline,
            alive=started.alive,
            tls=config.client_tls(),
        )
    except (TimeoutError, RuntimeError) as exc:
        text = started.logs()
        started.stop()
        raise ServerStartError(
            f"temporal-server {version} ({started.what()}) did not become ready: {exc}\n"
            f"config: {config.config_file}; last log lines:\n{last_lines(text)}"
        ) from exc
    except BaseException:  # Ctrl-C or cancellation while waiting
        started.stop()
        raise
    ready = time.monotonic()
    return RunningServer(
        address=config.frontend_address,
        version=version,
        backend=backend.name,
        start_seconds=ready - started.at,
        logs=started.logs,
        stop=started.stop,
        config=config,
        pid=started.pid,
        started_at=started.at,
        ready_at=ready,
    )
