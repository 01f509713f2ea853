"""Run pytest in a subprocess, as a user would: its own run tag (to find what it started) and reports dir."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "AUTHZ_RUN_TAG": uuid.uuid4().hex[:10], **(extra or {})}


def pytest_command(reports: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--reports-dir", str(reports), *args]


def run_pytest(
    reports: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pytest_command(reports, *args),
        cwd=ROOT,
        env=run_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
