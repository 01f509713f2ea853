"""Every environment variable the harness reads, read here and nowhere else."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

RELEASES_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "releases.yaml"


def _pinned_default(path: Path = RELEASES_FILE) -> str:
    """The release run when none is asked for: `default:` in fixtures/releases.yaml, the one release list."""
    import yaml  # here, not at the top: settings is imported by everything, and only this needs yaml

    return str(yaml.safe_load(path.read_text())["default"])


DEFAULT_VERSION = _pinned_default()


@dataclass(frozen=True)
class Environment:
    temporal_version: str  # TEMPORAL_VERSION
    backend: str  # AUTHZ_BACKEND
    temporal_binary: str | None  # TEMPORAL_BINARY
    target: str | None  # AUTHZ_TARGET
    jwks_port: int  # AUTHZ_JWKS_PORT
    image: str | None  # TEMPORAL_IMAGE
    image_pull: bool  # AUTHZ_IMAGE_PULL=never turns pulling off
    run_tag: str  # AUTHZ_RUN_TAG: names every server directory and container of one run (+ xdist worker id)
    cache_root: Path  # TEMPORAL_AUTHZ_CACHE: binaries, API tables, fuzz database (outside the repo)
    ci: bool  # CI: hypothesis's derandomized profile, quieter progress
    fuzz_minutes: float | None  # AUTHZ_FUZZ_MINUTES: a long fuzz run of N minutes (unset: the CI profile)
    fuzz_class: str  # AUTHZ_FUZZ_CLASS: fuzz only these classes (comma-separated; empty: all)
    workers: int  # AUTHZ_WORKERS (or AUTHZ_SHARDS): pytest-xdist workers of a suite run (harness.run_suites)
    request_audit: Path | None  # AUTHZ_REQUEST_AUDIT: a line per request to a cluster not the harness's
    token_audit: Path | None  # AUTHZ_TOKEN_AUDIT: a line per token signed (kid, iat, exp; no token)


def _read() -> Environment:
    env = os.environ
    cache = env.get("TEMPORAL_AUTHZ_CACHE")
    return Environment(
        temporal_version=env.get("TEMPORAL_VERSION") or DEFAULT_VERSION,
        backend=env.get("AUTHZ_BACKEND") or "auto",
        temporal_binary=env.get("TEMPORAL_BINARY") or None,
        target=env.get("AUTHZ_TARGET") or None,
        jwks_port=int(env.get("AUTHZ_JWKS_PORT") or 0),
        image=env.get("TEMPORAL_IMAGE") or None,
        image_pull=(env.get("AUTHZ_IMAGE_PULL") or "auto") != "never",
        # An xdist worker's (PYTEST_XDIST_WORKER, set before its plugins load) is the run's with its id: its
        # servers and containers are its own, and it removes only those.
        run_tag=(env.get("AUTHZ_RUN_TAG") or uuid.uuid4().hex[:10]) + env.get("PYTEST_XDIST_WORKER", ""),
        cache_root=Path(cache) if cache else Path.home() / ".cache" / "temporal-authz-conformance",
        ci=bool(env.get("CI")),
        fuzz_minutes=float(env["AUTHZ_FUZZ_MINUTES"]) if env.get("AUTHZ_FUZZ_MINUTES") else None,
        fuzz_class=env.get("AUTHZ_FUZZ_CLASS") or "",
        workers=int(env.get("AUTHZ_WORKERS") or env.get("AUTHZ_SHARDS") or 4),
        request_audit=Path(env["AUTHZ_REQUEST_AUDIT"]) if env.get("AUTHZ_REQUEST_AUDIT") else None,
        token_audit=Path(env["AUTHZ_TOKEN_AUDIT"]) if env.get("AUTHZ_TOKEN_AUDIT") else None,
    )


ENV = _read()


def child_environment(**overrides: str) -> dict[str, str]:
    """The environment for a child process (go, the server): this one, with `overrides` on top."""
    return {**os.environ, **overrides}
