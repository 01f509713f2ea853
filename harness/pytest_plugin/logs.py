"""A failed start's or failed run's evidence kept: every started server's log and config, and the JWKS
fetches, under the reports directory's logs/ (a worker's files named with its id: workers share it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.server.pool import ServerPool
from harness.xdist_plugin import worker_id


def save_logs(config: pytest.Config, pool: ServerPool, reason: str) -> None:
    reports = Path(config.getoption("--reports-dir")) / "logs"
    reports.mkdir(parents=True, exist_ok=True)
    worker = f"{worker_id(config)}-" if worker_id(config) else ""  # workers share the directory
    for i, server in enumerate(pool.started_servers()):
        server.save_logs(reports / f"{worker}server-{i}-{server.backend}-{reason}.log")
        if server.config is not None:
            shutil.copy(server.config.config_file, reports / f"{worker}server-{i}.yaml")
    if pool.jwks is not None:
        (reports / f"{worker}jwks-fetches.log").write_text("\n".join(pool.jwks.log_lines()) + "\n")
