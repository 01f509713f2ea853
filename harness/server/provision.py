"""Obtain a `temporal-server` binary for a version: explicit path, per-version cache, or a Go build."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.settings import DEFAULT_VERSION, ENV, child_environment
from harness.types import ServerVersion, VersionError

MODULE = "go.temporal.io/server"
Progress = Callable[[str], None]

__all__ = ["DEFAULT_VERSION", "ProvisionError", "ProvisionedBinary", "provision"]


class ProvisionError(RuntimeError):
    """One clear message that names the fix."""


@dataclass(frozen=True)
class ProvisionedBinary:
    version: ServerVersion
    path: Path
    source: str  # "explicit" | "cache" | "built"
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


def published_versions(go: str) -> list[str]:
    out = subprocess.run(
        [go, "list", "-m", "-versions", MODULE],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_environment(GOTOOLCHAIN="auto"),
    )
    if out.returncode != 0:
        raise ProvisionError(
            f"could not list {MODULE} versions from the Go module proxy: {out.stderr.strip()}"
        )
    return out.stdout.split()[1:]


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
    go = shutil.which("go")
    if go is None:
        raise ProvisionError(
            f"no temporal-server binary for {version} and no Go toolchain to build one: install Go 1.26+ "
            f"(https://go.dev/dl or `apt-get install golang`), or pass --temporal-binary PATH, "
            f"or run against a cluster with --backend external --target HOST:PORT"
        )
    # The proxy's version list can omit releases it still serves, so ask for the version itself.
    check = subprocess.run(
        [go, "list", "-m", "-json", f"{MODULE}@{version}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_environment(GOTOOLCHAIN="auto"),
    )
    if check.returncode != 0:
        stable = [v for v in published_versions(go) if "-" not in v]
        reason = check.stderr.strip().splitlines()[-1] if check.stderr.strip() else "not found"
        raise ProvisionError(
            f"unknown server version {version}: the Go module proxy does not serve {MODULE}@{version} "
            f"({reason}). Listed releases: {', '.join(stable[-12:])} (newest last)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # GOTOOLCHAIN=auto: the server's go.mod may need a newer patch toolchain than the local one.
    env = child_environment(CGO_ENABLED="0", GOBIN=str(target.parent), GOTOOLCHAIN="auto", GOFLAGS="")
    started = time.monotonic()
    done = threading.Event()

    def ticker() -> None:
        # Keep a long build visible: a line every 10 s.
        while not done.wait(10):
            progress(f"building temporal-server {version} with Go ... {time.monotonic() - started:.0f}s")

    progress(f"building temporal-server {version} (go install {MODULE}/cmd/server@{version}; a cold build "
             f"takes several minutes)")  # fmt: skip
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
        raise ProvisionError(f"go install of {MODULE}@{version} failed:\n{tail}")
    progress(f"built temporal-server {version} in {elapsed:.0f}s -> {target}")
    return ProvisionedBinary(version, target, "built", build_seconds=elapsed)
