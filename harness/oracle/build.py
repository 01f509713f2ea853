"""The oracle program of one release: fixtures/oracle/ (Go sources of ours) built as a module of its own
that requires go.temporal.io/server at that exact release, into the cache
(~/.cache/temporal-authz-conformance/oracle/<version>/oracle), never into the repo.

The go command runs as fixtures/releases.yaml says for the release's line (harness.server.gomodule: the
line's GOTOOLCHAIN, GONOSUMDB and the pinned h1: hashes checked for a release the checksum database does
not know). A file lock makes one process build while the others (xdist workers) wait; the binary is rebuilt
when the sources change (their digest is kept beside it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.model.rules import rules_for
from harness.server.gomodule import MODULE, ProvisionError, check_buildable, go_environment, verify_pin
from harness.server.releases import load_releases
from harness.settings import ENV
from harness.types import ServerVersion

SOURCES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "oracle"
COMMON = ("main.go", "keysource.go", "linkname.go", "decide.go")
HTTP_FILES = ("hosts_129.go", "gateway_129.go", "header_129.go")
BEFORE_HTTP = ("stubs_before_129.go",)
BUILD_TIMEOUT_S = 1800.0

Progress = Callable[[str], None]


class OracleUnavailable(RuntimeError):
    """No oracle program for this release here (no Go, a release that cannot be built): one clear reason."""


def source_files(version: ServerVersion) -> list[Path]:
    # The *_129.go files call 1.29's httpAllowedHosts converter and header lookup (both ServerRules fields).
    release = rules_for(version)
    extra = HTTP_FILES if release.allowed_hosts_converted and release.oracle_header_lookup else BEFORE_HTTP
    return [SOURCES / name for name in (*COMMON, *extra)]


def source_digest(version: ServerVersion) -> str:
    digest = hashlib.sha256(str(version).encode())
    for path in source_files(version):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cached_oracle(version: ServerVersion) -> Path:
    return ENV.cache_root / "oracle" / str(version) / "oracle"


def _stamp(binary: Path) -> Path:
    return binary.with_name("sources.sha256")


def _current(binary: Path, digest: str) -> bool:
    stamp = _stamp(binary)
    return binary.is_file() and os.access(binary, os.X_OK) and stamp.is_file() and stamp.read_text() == digest


def _quiet(message: str) -> None:
    pass


def is_cached(version: ServerVersion) -> bool:
    """Whether the cache holds the release's program built from the current sources."""
    return _current(cached_oracle(version), source_digest(version))


def oracle_binary(version: ServerVersion, progress: Progress = _quiet) -> Path:
    """The release's oracle program: from the cache, or built now (OracleUnavailable when it cannot be)."""
    binary = cached_oracle(version)
    digest = source_digest(version)
    if _current(binary, digest):
        return binary
    go = shutil.which("go")
    if go is None:
        raise OracleUnavailable(
            f"no Go toolchain to build the oracle program for {version}: install Go 1.26+"
        )
    try:
        check_buildable(version)
        verify_pin(go, version)
    except ProvisionError as exc:
        raise OracleUnavailable(str(exc)) from exc
    binary.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _current(binary, digest):
            return binary
        _build(go, version, binary, progress)
        _stamp(binary).write_text(digest)
    return binary


def _build(go: str, version: ServerVersion, binary: Path, progress: Progress) -> None:
    toolchain = load_releases().toolchain(version)
    env = go_environment(version, CGO_ENABLED="0", GOFLAGS="-mod=mod")
    started = time.monotonic()
    progress(f"building the oracle program for {version} (GOTOOLCHAIN={toolchain}, {MODULE}@{version})")
    with tempfile.TemporaryDirectory(prefix="authz-oracle-") as tmp:
        for path in source_files(version):
            shutil.copy(path, Path(tmp) / path.name)
        partial = binary.with_name("oracle.partial")
        for command in (
            [go, "mod", "init", "authzoracle"],
            [go, "get", f"{MODULE}@{version}"],
            [go, "mod", "tidy"],
            ["nice", "-n", "10", go, "build", "-o", str(partial), "."],
        ):
            out = subprocess.run(
                command, cwd=tmp, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
            )
            if out.returncode != 0:
                shown = " ".join(command[command.index(go) + 1 :])
                raise OracleUnavailable(
                    f"building the oracle program for {version}: `go {shown}` failed: {out.stderr.strip()[-800:]}"
                )
        partial.replace(binary)
    progress(f"built the oracle program for {version} in {time.monotonic() - started:.0f}s -> {binary}")


def main(argv: list[str]) -> int:
    """`python -m harness.oracle.build v1.32.2 [...]`: build (or find) each release's oracle program."""
    if not argv:
        print("usage: python -m harness.oracle.build vX.Y.Z [vX.Y.Z ...]", file=sys.stderr)
        return 2
    status = 0
    for version in argv:
        try:
            print(oracle_binary(ServerVersion.parse(version), print))
        except OracleUnavailable as exc:
            print(f"{version}: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
