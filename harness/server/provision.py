"""Obtain a `temporal-server` binary for a version: explicit path, per-version cache, or a Go build with
the toolchain fixtures/releases.yaml records for the release's line. (The container backend needs none
where an image will do: harness/server/choose.py.)"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.server.gomodule import (
    MODULE,
    ProvisionError,
    check_buildable,
    check_served,
    checksum_hint,
    go_environment,
    verify_pin,
)
from harness.server.releases import Releases, load_releases
from harness.settings import DEFAULT_VERSION, ENV
from harness.types import ServerVersion, VersionError

Progress = Callable[[str], None]

__all__ = ["DEFAULT_VERSION", "NoGo", "ProvisionError", "ProvisionedBinary", "provision"]


class NoGo(ProvisionError):
    """No binary for the release and no Go toolchain to build one."""


@dataclass(frozen=True)
class ProvisionedBinary:
    version: ServerVersion
    path: Path  # for source "image": where the binary is inside the container image
    source: str  # "explicit" | "cache" | "built" | "image" (the container image's own; nothing built)
    build_seconds: float | None = None


def cached_binary(version: ServerVersion) -> Path:
    return ENV.cache_root / "bin" / str(version) / "server"


def parse_requested(version: str) -> ServerVersion:
    try:
        return ServerVersion.parse(version if version.strip().startswith("v") else "v" + version.strip())
    except VersionError as exc:
        raise ProvisionError(f"{exc}; pass --temporal-version like {DEFAULT_VERSION}") from exc


def _quiet(message: str) -> None:
    pass


def provision(
    version: ServerVersion, explicit: str | os.PathLike[str] | None = None, progress: Progress = _quiet
) -> ProvisionedBinary:
    explicit = explicit or ENV.temporal_binary
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ProvisionError(f"--temporal-binary {path} is not an executable file")
        return ProvisionedBinary(version, path, "explicit")
    cached = cached_binary(version)
    if cached.is_file() and os.access(cached, os.X_OK):
        return ProvisionedBinary(version, cached, "cache")
    return build(version, cached, progress)


def build(version: ServerVersion, target: Path, progress: Progress = _quiet) -> ProvisionedBinary:
    # Everything that can refuse runs before the cache is touched: a refused release leaves nothing.
    go, releases = _checked_go(version)
    # xdist workers and parallel CI jobs start together: one builds, the others wait for it.
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file() and os.access(target, os.X_OK):
            return ProvisionedBinary(version, target, "cache")
        return _go_install(go, releases, version, target, progress)


def _checked_go(version: ServerVersion) -> tuple[str, Releases]:
    go = shutil.which("go")
    if go is None:
        raise NoGo(
            f"no temporal-server binary for {version} and no Go toolchain to build one: install Go 1.26+ "
            f"(https://go.dev/dl or `apt-get install golang`), or pass --temporal-binary PATH, "
            f"or run against a cluster with --backend external --target HOST:PORT"
        )
    releases = load_releases()
    check_buildable(version, releases)
    # The proxy's version list can omit releases it still serves, so ask for the version itself.
    check_served(go, version, releases)
    verify_pin(go, version, releases)
    return go, releases


def _go_install(
    go: str, releases: Releases, version: ServerVersion, target: Path, progress: Progress
) -> ProvisionedBinary:
    toolchain = releases.toolchain(version)
    env = go_environment(version, releases, CGO_ENABLED="0", GOBIN=str(target.parent))
    started = time.monotonic()
    done = threading.Event()

    def ticker() -> None:
        # Keep a long build visible: a line every 10 s.
        while not done.wait(10):
            progress(
                f"building temporal-server {version} with {toolchain} ... {time.monotonic() - started:.0f}s"
            )

    progress(f"building temporal-server {version} (GOTOOLCHAIN={toolchain} go install "
             f"{MODULE}/cmd/server@{version}; a cold build takes several minutes)")  # fmt: skip
    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            [go, "install", f"{MODULE}/cmd/server@{version}"],
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        done.set()
        thread.join()
    elapsed = time.monotonic() - started
    if result.returncode != 0 or not target.exists():
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise ProvisionError(
            f"go install of {MODULE}@{version} with GOTOOLCHAIN={toolchain} failed:\n{tail}"
            + checksum_hint(result.stderr)
        )
    progress(f"built temporal-server {version} in {elapsed:.0f}s -> {target}")
    return ProvisionedBinary(version, target, "built", build_seconds=elapsed)
