"""Where the Docker engine is not there, one error naming the fix, never one error per test: `--backend
container` with no engine answering stops before any test (exit status 4), through the shard runner as
through pytest; an engine that stops answering mid-run ends every later start at once with one line that
names the server it could not start and the servers lost with it; and where neither an image nor a
binary nor Go can be had, one error names the two ways out. No Docker engine needed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest

from harness.server import choose, pool, provision
from harness.server.backend import EngineGone
from harness.server.choose import NoEngine, provision_for, resolve_backend_name
from harness.server.config import RenderedConfig, ServerSettings, render
from harness.server.container import ContainerBackend
from harness.server.pool import RunOptions, ServerPool
from harness.server.provision import NoGo, ProvisionedBinary, ProvisionError
from tests.fake_servers import VERSION, idle_server, pool_on
from tests.runs import ROOT, run_env

GUARD_S = 300  # a guard against a hang of the command, never a measurement
FIX = "start one (`sudo systemctl start docker`, or `dockerd &`), or run with --backend process"


def _no_engine(tmp_path: Path) -> dict[str, str]:
    return run_env({"DOCKER_HOST": f"unix://{tmp_path}/no-engine-{uuid.uuid4().hex[:6]}.sock"})


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_no_engine_stops_the_suite_run_before_any_worker_with_one_line(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.run_suites",
            "--reports-dir",
            str(reports),
            "--",
            "--backend",
            "container",
            "suites/test_smoke.py",
        ],
        cwd=ROOT,
        env=_no_engine(tmp_path),
        capture_output=True,
        text=True,
        timeout=GUARD_S,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    (line,) = _lines(done.stderr)  # pytest's usage error: "ERROR: " and the harness's one line
    assert line.startswith("ERROR: temporal-authz: --backend container: no Docker engine answers (")
    assert line.endswith(FIX)
    assert "[gw" not in done.stdout and "bringing up nodes" not in done.stdout and not reports.exists()


def test_no_engine_stops_pytest_before_any_test_with_one_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "suites/test_smoke.py",
            "--backend",
            "container",
            "--reports-dir",
            str(tmp_path / "reports"),
        ],
        cwd=ROOT,
        env=_no_engine(tmp_path),
        capture_output=True,
        text=True,
        timeout=GUARD_S,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    named = [line for line in _lines(output) if "no Docker engine answers" in line]
    assert len(named) == 1 and FIX in named[0], output
    assert "DockerException" not in output and "ERROR suites/" not in output
    assert not [line for line in _lines(output) if line.startswith(("PASSED", "FAILED"))]


def test_auto_without_an_engine_is_the_process_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choose, "docker_answers", lambda: False)
    assert resolve_backend_name("auto") == "process"
    from harness.server import container

    monkeypatch.setattr(container, "engine_problem", lambda: "Error while fetching server API version")
    with pytest.raises(NoEngine, match=r"^--backend container: no Docker engine answers"):
        resolve_backend_name("container")


# -- an engine that stops answering mid-run ---------------------------------------------------------------


class EngineStops:
    """Starts `answers` servers, then the engine is gone."""

    name = "container"

    def __init__(self, answers: int) -> None:
        self.answers, self.calls = answers, 0

    async def start(self, binary: ProvisionedBinary, config: RenderedConfig) -> Any:
        self.calls += 1
        if self.calls > self.answers:
            raise EngineGone("the Docker engine stopped answering during the run (connection refused)")
        return idle_server(config, self.name)


def test_an_engine_gone_mid_run_is_one_line_and_every_later_start_fails_at_once(tmp_path: Path) -> None:
    backend = EngineStops(answers=1)
    server_pool = pool_on(backend, tmp_path)

    async def run() -> tuple[str, str, str]:
        first = await server_pool._start(server_pool.options.default_settings(), [], guard_it=False)
        with pytest.raises(EngineGone) as gone:
            await server_pool._start(ServerSettings(refresh_interval="7s"), [], guard_it=False)
        with pytest.raises(EngineGone) as again:
            await server_pool._start(ServerSettings(refresh_interval="9s"), [], guard_it=False)
        return first.address, str(gone.value), str(again.value)

    address, message, later = asyncio.run(run())
    assert "\n" not in message and message == later
    assert message.startswith("the Docker engine stopped answering during the run (connection refused): ")
    assert "server s2 (refresh 7s) could not start" in message
    assert f"the servers still running on it ({address}) are lost with it" in message
    assert message.endswith("Start the engine again and rerun, or run with --backend process")
    assert backend.calls == 2  # the third start never asked the engine
    assert server_pool.engine_gone == message  # for the plugin: stop the session before the next test
    server_pool.remove_directories(all_of_them=True)


def test_the_container_backend_tells_an_engine_gone_from_its_other_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(**kwargs: Any) -> Any:
        raise docker.errors.DockerException("Error while fetching server API version: Connection refused")

    monkeypatch.setattr(docker, "from_env", gone)
    config = render(tmp_path / "server", ["http://127.0.0.1:1/jwks.json"], ServerSettings(), VERSION)
    for prepared in (None, "temporalio/server:1.32.2"):
        backend = ContainerBackend()
        backend.image = prepared
        with pytest.raises(EngineGone, match=r"^the Docker engine stopped answering during the run \("):
            asyncio.run(backend.start(ProvisionedBinary(VERSION, tmp_path / "bin", "image"), config))


# -- neither an image nor a binary nor Go -----------------------------------------------------------------


def _no_go(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(provision.shutil, "which", lambda name: None)
    monkeypatch.setattr(provision, "cached_binary", lambda version: tmp_path / "no-binary" / "server")


def test_no_image_no_binary_no_go_is_one_error_naming_the_two_ways_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_go(monkeypatch, tmp_path)
    backend = ContainerBackend()
    monkeypatch.setattr(backend, "image_only", lambda version, progress: None)
    with pytest.raises(ProvisionError) as raised:
        provision_for(backend, VERSION, None, progress=lambda line: None)
    message = str(raised.value)
    assert "\n" not in message and not isinstance(raised.value, NoGo)
    assert message.startswith(f"no image and no Go for temporal-server {VERSION}: temporalio/server:1.32.2 ")
    assert "`docker pull temporalio/server:1.32.2`" in message and "install Go 1.26+" in message


def test_the_pool_names_the_same_two_ways_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_go(monkeypatch, tmp_path)
    monkeypatch.setattr(pool, "resolve_backend_name", lambda requested: "container")
    monkeypatch.setattr(ContainerBackend, "image_only", lambda self, version, progress: None)
    server_pool = ServerPool(RunOptions(version=VERSION, backend="container"))
    with pytest.raises(
        ProvisionError, match=r"^no image and no Go for temporal-server .* install Go 1\.26\+"
    ):
        asyncio.run(server_pool.open())
    # The process backend has only one way out: its own message, as before.
    monkeypatch.setattr(pool, "resolve_backend_name", lambda requested: "process")
    with pytest.raises(NoGo, match="no Go toolchain to build one"):
        asyncio.run(ServerPool(RunOptions(version=VERSION, backend="process")).open())
