"""The linters tests/test_ci_examples.py runs on the workflows in examples/ci/: zizmor (the `dev` extra
installs it beside this interpreter) and actionlint, built from its Go module once into the harness's cache
(<cache root>/tools/actionlint-<version>/actionlint), never into the repository."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.settings import ENV

ACTIONLINT_VERSION = "v1.7.12"
ACTIONLINT_MODULE = "github.com/rhysd/actionlint/cmd/actionlint"


class ToolMissing(Exception):
    """A linter cannot be had here; the message says how to get it."""


def zizmor() -> Path:
    """The zizmor installed beside this interpreter (the `dev` extra), else the one on PATH."""
    beside = Path(sys.executable).parent / "zizmor"
    found = beside if beside.exists() else (Path(p) if (p := shutil.which("zizmor")) else None)
    if found is None:
        raise ToolMissing("zizmor is not installed: `pip install -e '.[dev]'` (or `pip install zizmor`)")
    return found


def actionlint_path(version: str = ACTIONLINT_VERSION) -> Path:
    return ENV.cache_root / "tools" / f"actionlint-{version}" / "actionlint"


def actionlint(version: str = ACTIONLINT_VERSION) -> Path:
    """actionlint `version`, built with `go install` the first time; concurrent callers (pytest-xdist, two
    checkouts) wait on a lock for the one build."""
    target = actionlint_path(version)
    if _executable(target):
        return target
    go = shutil.which("go")
    if go is None:
        raise ToolMissing(
            f"actionlint {version} is not built yet ({target}) and there is no Go toolchain to build it: "
            f"install Go (https://go.dev/dl or `apt-get install golang`), or build it yourself with "
            f"`GOBIN={target.parent} go install {ACTIONLINT_MODULE}@{version}`"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _executable(target):
            return target
        # Into a directory of its own first: an interrupted build leaves no half-written binary behind.
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as staging:
            env = {**os.environ, "GOBIN": staging, "CGO_ENABLED": "0"}
            result = subprocess.run(
                [go, "install", f"{ACTIONLINT_MODULE}@{version}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            built = Path(staging) / "actionlint"
            if result.returncode != 0 or not built.exists():
                tail = "\n".join(result.stderr.strip().splitlines()[-15:])
                raise ToolMissing(f"go install {ACTIONLINT_MODULE}@{version} failed:\n{tail}")
            os.replace(built, target)
    return target


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
