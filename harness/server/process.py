"""Run the server binary as a local process (the fallback when no Docker engine answers)."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import time
import weakref

from harness.server.backend import RunningServer, Started, ready_or_stopped
from harness.server.config import RenderedConfig, start_arguments
from harness.server.provision import ProvisionedBinary
from harness.settings import child_environment

_PR_SET_PDEATHSIG = 1
_live: weakref.WeakSet[subprocess.Popen[bytes]] = weakref.WeakSet()


def _die_with_parent() -> None:
    # Linux: the server gets SIGKILL if the harness itself is killed, so no orphan survives a kill -9.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@atexit.register
def _stop_all() -> None:
    for proc in list(_live):
        terminate(proc, grace=5)


class ProcessBackend:
    name = "process"

    def __init__(self, ready_deadline: float = 90.0) -> None:
        self.ready_deadline = ready_deadline

    async def start(self, binary: ProvisionedBinary, config: RenderedConfig) -> RunningServer:
        log_path = config.directory / "server.log"
        started = time.monotonic()
        args = [str(binary.path), *start_arguments(binary.version, config.config_file, config.services)]
        # Popen returns at once (the server starts in the background); readiness is awaited below.
        with open(log_path, "wb") as log:  # noqa: ASYNC230
            proc = subprocess.Popen(  # noqa: ASYNC220
                args,
                cwd=config.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: one signal stops everything it spawns
                preexec_fn=_die_with_parent,
                # The server calls user.Current() at start and needs $USER where /etc/passwd has no entry.
                env={"USER": "temporal", **child_environment()},
            )
        _live.add(proc)

        def logs() -> str:
            return log_path.read_text(errors="replace") if log_path.exists() else ""

        def stop() -> None:
            terminate(proc)
            _live.discard(proc)

        launched = Started(
            at=started,
            alive=lambda: proc.poll() is None,
            logs=logs,
            stop=stop,
            what=lambda: f"{binary.path}, exit code {proc.returncode}",
            pid=lambda: proc.pid if proc.poll() is None else None,
        )
        return await ready_or_stopped(self, binary.version, config, launched)
