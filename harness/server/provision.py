"""Obtain a `temporal-server` binary for a version: explicit path, per-version cache, or a Go build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness.model.rules import parse_version

DEFAULT_VERSION = "v1.32.2"  # newest stable go.temporal.io/server on the module proxy (2026-11-23)
MODULE = "go.temporal.io/server"


class ProvisionError(RuntimeError):
    """One clear message that names the fix."""


@dataclass(frozen=True)
class ProvisionedBinary:
    version: str
    path: Path
    source: str  # "explicit" | "cache" | "built"
    build_seconds: float | None = None


def cache_root() -> Path:
    configured = os.environ.get("TEMPORAL_AUTHZ_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "temporal-authz-conformance"


def cached_binary(version: str) -> Path:
    return cache_root() / "bin" / version / "server"


def normalise_version(version: str) -> str:
    version = version.strip()
    if not version.startswith("v"):
        version = "v" + version
    try:
        parse_version(version)
    except ValueError as exc:
        raise ProvisionError(f"{exc}; pass --temporal-version like v1.32.2") from exc
    return version


def published_versions(go: str) -> list[str]:
    out = subprocess.run(
        [go, "list", "-m", "-versions", MODULE],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GOTOOLCHAIN": "auto"},
    )
    if out.returncode != 0:
        raise ProvisionError(
            f"could not list {MODULE} versions from the Go module proxy: {out.stderr.strip()}"
        )
    return out.stdout.split()[1:]


def provision(version: str, explicit: str | os.PathLike[str] | None = None) -> ProvisionedBinary:
    version = normalise_version(version)
    explicit = explicit or os.environ.get("TEMPORAL_BINARY") or None
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ProvisionError(f"--temporal-binary {path} is not an executable file")
        return ProvisionedBinary(version, path, "explicit")
    cached = cached_binary(version)
    if cached.is_file() and os.access(cached, os.X_OK):
        return ProvisionedBinary(version, cached, "cache")
    return build(version, cached)


def build(version: str, target: Path) -> ProvisionedBinary:
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
        env={**os.environ, "GOTOOLCHAIN": "auto"},
    )
    if check.returncode != 0:
        stable = [v for v in published_versions(go) if "-" not in v]
        reason = check.stderr.strip().splitlines()[-1] if check.stderr.strip() else "not found"
        raise ProvisionError(
            f"unknown server version {version}: the Go module proxy does not serve {MODULE}@{version} "
            f"({reason}). Listed releases: {', '.join(stable[-12:])} (newest last)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOBIN": str(target.parent),
        "GOTOOLCHAIN": "auto",  # the server's go.mod may need a newer patch toolchain than the local one
        "GOFLAGS": "",
    }
    started = time.monotonic()
    done = threading.Event()

    def progress() -> None:
        # Keep a long build visible: one progress line, rewritten.
        while not done.wait(5):
            elapsed = time.monotonic() - started
            sys.stderr.write(f"\rbuilding temporal-server {version} with Go ... {elapsed:5.0f}s")
            sys.stderr.flush()

    sys.stderr.write(f"building temporal-server {version} (go install {MODULE}/cmd/server@{version})\n")
    ticker = threading.Thread(target=progress, daemon=True)
    ticker.start()
    try:
        result = subprocess.run(
            [go, "install", f"{MODULE}/cmd/server@{version}"],
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        done.set()
        ticker.join()
    elapsed = time.monotonic() - started
    sys.stderr.write(f"\rbuilt temporal-server {version} in {elapsed:.0f}s -> {target}\n")
    if result.returncode != 0 or not target.exists():
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise ProvisionError(f"go install of {MODULE}@{version} failed:\n{tail}")
    return ProvisionedBinary(version, target, "built", build_seconds=elapsed)
