"""The session's servers: the pool (in config.stash, for hooks), the default target, a server per config,
a JWKS of a test's own; servers a test module asked for are stopped after its last test."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from harness.errors import HarnessConfigError
from harness.jwks.fixture import JwksServer
from harness.model import rules_for
from harness.pytest_plugin.catalogue import NEEDS_OWN_SERVER
from harness.pytest_plugin.keys import POOL, RECORDER
from harness.pytest_plugin.logs import save_logs
from harness.pytest_plugin.options import run_options
from harness.pytest_plugin.progress import Progress
from harness.server.backend import ServerStartError
from harness.server.config import ServerSettings
from harness.server.leftovers import remove_created
from harness.server.pool import NotConfigurable, ServerPool
from harness.server.provision import ProvisionError
from harness.server.setup import AuthNotEnforced, KeysNotTrusted
from harness.server.target import Target


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """After a test module's last test (and its module fixtures): stop the servers of configs it asked
    for, all but the default one. Idle servers otherwise pile up until the session ends."""
    result = yield
    pool = item.config.stash.get(POOL, None)
    last_of_module = nextitem is None or nextitem.path != item.path
    if pool is not None and last_of_module and (stopped := pool.retire()):
        pool.progress(f"retire: {stopped} server(s) {item.path.name} asked for, stopped")
    return result


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server_pool(request: pytest.FixtureRequest) -> AsyncIterator[ServerPool]:
    recorder = request.config.stash[RECORDER]

    def on_metric(name: str, value: Any) -> None:
        if name == "server_start_to_ready_s":
            recorder.add_metric_sample(name, value)
        else:
            recorder.metric(name, value)

    options = run_options(request.config)
    try:
        warning = options.target.transport_check() if options.target is not None else ""
    except HarnessConfigError as exc:
        pytest.exit(f"temporal-authz: {exc}", returncode=4)
    if warning:
        Progress(request.config)(warning)
    pool = ServerPool(options, on_metric=on_metric, progress=Progress(request.config))
    request.config.stash[POOL] = pool
    try:
        await pool.open()
    except (ProvisionError, HarnessConfigError) as exc:
        await pool.close()
        pytest.exit(f"temporal-authz: {exc}", returncode=4)
    recorder.server.update(
        {
            "version": str(pool.binary.version if pool.binary else options.version),
            "backend": pool.backend_name,
            "backend_requested": request.config.getoption("--backend"),
            "binary_source": pool.binary.source if pool.binary else None,
            "era": rules_for(pool.binary.version).era if pool.binary else None,
            "mutations": dict(options.mutations),
        }
    )
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def target(server_pool: ServerPool, request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """The server under test with the default config: guarded, namespaces registered. On a cluster the
    harness does not own, what it created there is removed at the end where the server allows it, and
    reported (conformance.json server.created_on_target)."""
    recorder = request.config.stash[RECORDER]
    started = time.monotonic()
    tgt = await _pooled(server_pool, request.config, None)
    recorder.server.update(
        {
            "version": str(tgt.version),
            "era": tgt.rules.era,
            "address": tgt.address,
            "controls_jwks": tgt.controls_jwks,
            **server_pool.backend_details(),
        }
    )
    recorder.metric("default_server_ready_s", round(time.monotonic() - started, 3))
    yield tgt
    if not tgt.owned:
        recorder.server["created_on_target"] = await remove_created(tgt)


async def _pooled(pool: ServerPool, config: pytest.Config, settings: ServerSettings | None) -> Target:
    try:
        return await pool.target(settings)
    except NotConfigurable:
        pytest.skip(NEEDS_OWN_SERVER)
    except AuthNotEnforced as exc:
        save_logs(config, pool, reason="auth-not-enforced")
        pytest.exit(f"\n{'!' * 100}\nFATAL: {exc}\n{'!' * 100}", returncode=3)
    except (KeysNotTrusted, ServerStartError, HarnessConfigError) as exc:
        save_logs(config, pool, reason="start-failed")
        pytest.exit(f"temporal-authz: {exc}", returncode=4)


@pytest.fixture
def server_for(
    server_pool: ServerPool, target: Target, request: pytest.FixtureRequest
) -> Callable[[ServerSettings | None], Any]:
    """`await server_for(settings)`: the pooled server of that config (the default one for None)."""

    async def get(settings: ServerSettings | None) -> Target:
        if settings is None:
            return target
        return await _pooled(server_pool, request.config, settings)

    return get


@pytest.fixture
def own_jwks(server_pool: ServerPool) -> Iterator[JwksServer]:
    """A JWKS of the test's own, for a server of its own (rotation, faults, ...)."""
    if not server_pool.configurable:
        pytest.skip(NEEDS_OWN_SERVER)
    with JwksServer() as jwks:
        yield jwks
