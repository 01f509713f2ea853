"""Every wait of the harness has a deadline, outside a test's ceiling too: a Docker engine that never
answers, a fixture that never finishes and a provisioning step that never returns each end in a HarnessError
naming what hung and how long it was waited for (HARNESS_ERROR), never in a run held forever.

The deadlines here are made short; the tests assert the error and its text, never a duration (a generous
asyncio timeout only guards against a hang of the test itself)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import docker
import pytest
from testcontainers.core.config import testcontainers_config

from harness.ceiling import WaitExceeded, in_thread, within
from harness.errors import HarnessError
from harness.server import pool
from harness.server import provision as provisioning
from harness.server.config import ServerSettings, render
from harness.server.container import DOCKER_CLIENT_TIMEOUT_S, ContainerBackend
from harness.server.pool import RunOptions, ServerPool
from harness.server.provision import ProvisionedBinary
from harness.settings import DEFAULT_VERSION
from harness.types import ServerVersion

T = TypeVar("T")
VERSION = ServerVersion.parse(DEFAULT_VERSION)
SHORT_S = 0.2  # the deadline under test, made short
GUARD_S = 60.0  # the test's own guard against a hang, never a measurement


def run(awaitable: Awaitable[T]) -> T:
    async def guarded() -> T:
        async with asyncio.timeout(GUARD_S):
            return await awaitable

    return asyncio.run(guarded())


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set when the test ends: what hung returns then, and its abandoned thread ends."""
    event = threading.Event()
    yield event
    event.set()


class Hung:
    """Any call to the engine (client.images.get(...), client.networks.list(...)): it hangs until the test
    ends, then fails."""

    def __init__(self, released: threading.Event, name: str = "client") -> None:
        self._released, self._name = released, name

    def __getattr__(self, name: str) -> Hung:
        return Hung(self._released, f"{self._name}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._released.wait()
        raise docker.errors.DockerException(f"{self._name}: the test ended")


class HungEngine(Hung):
    """A docker-py client whose every call to the engine hangs until the test ends."""

    def __init__(self, released: threading.Event) -> None:
        super().__init__(released)
        # testcontainers sets its headers and reads where the engine is, without asking it
        self.api = SimpleNamespace(headers={}, base_url="http+docker://localhost")

    def close(self) -> None:
        pass


@pytest.fixture
def hung_engine(monkeypatch: pytest.MonkeyPatch, released: threading.Event) -> list[dict[str, Any]]:
    """docker.from_env (the harness's and testcontainers') gives a HungEngine; returns the options each
    client was made with."""
    made: list[dict[str, Any]] = []

    def from_env(**kwargs: Any) -> HungEngine:
        made.append(kwargs)
        return HungEngine(released)

    monkeypatch.setattr(docker, "from_env", from_env)
    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)  # no reaper to start first
    return made


def _start(backend: ContainerBackend, tmp_path: Path) -> None:
    config = render(tmp_path / "server", ["http://127.0.0.1:1/jwks.json"], ServerSettings(), VERSION)
    run(backend.start(ProvisionedBinary(VERSION, tmp_path / "server-binary", "explicit"), config))


def test_a_docker_engine_that_never_answers_the_image_lookup_is_a_named_harness_error(
    tmp_path: Path, hung_engine: list[dict[str, Any]]
) -> None:
    backend = ContainerBackend(image_deadline=SHORT_S)
    with pytest.raises(HarnessError) as raised:
        _start(backend, tmp_path)
    assert str(raised.value) == (
        f"the Docker engine did not answer the image lookup, pull or build for {VERSION} within {SHORT_S:g} s"
    )
    assert hung_engine and all(kw == {"timeout": DOCKER_CLIENT_TIMEOUT_S} for kw in hung_engine)


def test_a_docker_engine_that_never_starts_the_container_is_a_named_harness_error(
    tmp_path: Path, hung_engine: list[dict[str, Any]]
) -> None:
    backend = ContainerBackend(start_deadline=SHORT_S)
    backend.image, backend.image_source = "temporalio/server:1.32.2", "present"
    with pytest.raises(HarnessError) as raised:
        _start(backend, tmp_path)
    assert str(raised.value) == (
        f"the Docker engine did not answer the container start (temporalio/server:1.32.2) within {SHORT_S:g} s"
    )
    assert hung_engine and all(kw.get("timeout") == DOCKER_CLIENT_TIMEOUT_S for kw in hung_engine)


def test_a_fixture_wait_that_never_finishes_is_a_named_harness_error() -> None:
    async def never() -> None:
        await asyncio.Event().wait()

    with pytest.raises(WaitExceeded) as raised:
        run(within(SHORT_S, never(), "the gRPC grid did not finish"))
    assert isinstance(raised.value, HarnessError)  # HARNESS_ERROR, never counted against the server
    assert str(raised.value) == f"the gRPC grid did not finish within {SHORT_S:g} s"


def test_a_wait_that_finishes_in_time_gives_its_answer_and_its_own_timeout_passes_through() -> None:
    async def answer() -> str:
        return "answered"

    async def own_timeout() -> None:
        raise TimeoutError("the call's own deadline")

    assert run(within(GUARD_S, answer(), "an answer")) == "answered"
    with pytest.raises(TimeoutError, match="the call's own deadline") as raised:
        run(within(GUARD_S, own_timeout(), "a call"))
    assert not isinstance(raised.value, WaitExceeded)


def test_a_blocking_call_that_never_returns_is_a_named_harness_error(released: threading.Event) -> None:
    with pytest.raises(WaitExceeded) as raised:
        run(in_thread(SHORT_S, released.wait, "the blocking call did not return"))
    assert str(raised.value) == f"the blocking call did not return within {SHORT_S:g} s"
    assert run(in_thread(GUARD_S, lambda: 42, "a quick call")) == 42
    with pytest.raises(ValueError, match="its own error"):
        run(in_thread(GUARD_S, lambda: int("its own error"), "a failing call"))


def test_a_provisioning_that_never_returns_is_a_named_harness_error(
    monkeypatch: pytest.MonkeyPatch, released: threading.Event
) -> None:
    def provision(*args: Any) -> ProvisionedBinary:
        released.wait()
        raise RuntimeError("the test ended")

    monkeypatch.setattr(provisioning, "provision", provision)
    monkeypatch.setattr(pool, "PROVISION_DEADLINE_S", SHORT_S)
    server_pool = ServerPool(RunOptions(version=VERSION, backend="process"))
    with pytest.raises(HarnessError) as raised:
        run(server_pool.open())
    assert str(raised.value) == (
        f"provisioning temporal-server {VERSION} (a cached binary or a build) did not finish within "
        f"{SHORT_S:g} s"
    )
