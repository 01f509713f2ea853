"""One server per distinct config, reused across suites; dedicated servers for tests that break keys.

The pool owns the backend (process, container or external), the binary, the API table, the shared JWKS
fixture and every server it started; closing it stops them all.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.api_tables import ApiTableMissing
from harness.api_tables.generator import load_or_generate
from harness.ceiling import in_thread
from harness.errors import HarnessConfigError
from harness.jwks.fixture import DEFAULT_PATH, JwksServer
from harness.jwks.timeline import FetchedKeys, FixtureSource, Source, StaticKeys
from harness.model import ApiTable, rules_for
from harness.server.backend import (
    PORT_RACE_ATTEMPTS,
    Backend,
    EngineGone,
    RunningServer,
    ServerStartError,
    lost_a_port_race,
)
from harness.server.choose import (
    IMAGE_DEADLINE_S,
    PROVISION_DEADLINE_S,
    Deadlines,
    have_what_it_runs,
    make_backend,
    resolve_backend_name,
)
from harness.server.config import ServerSettings, render
from harness.server.external import ExternalBackend, ExternalTarget
from harness.server.provision import ProvisionedBinary
from harness.server.setup import ensure_namespaces, guard
from harness.server.target import SUITE_NAMESPACES, Target
from harness.settings import ENV
from harness.tokens.external_key import load_external_key
from harness.tokens.keys import SigningKey, ec_key, rsa_key
from harness.types import ServerVersion

Progress = Callable[[str], None]

# open()'s waits, in a thread each so a hang ends (harness.ceiling.in_thread): ceilings only a hang reaches
# (provisioning's and the image's: harness.server.choose.Deadlines).
API_TABLE_DEADLINE_S = 600.0  # a table not shipped is generated with go run: a minute or two, cold


class NotConfigurable(HarnessConfigError):
    """A test needs a server with a config of its own, which this backend cannot give."""


@dataclass(frozen=True)
class RunOptions:
    version: ServerVersion
    backend: str = "auto"
    binary: str | None = None
    target: ExternalTarget | None = None  # an external cluster
    external_key: Path | None = None  # PEM private key the external cluster's JWKS trusts
    external_kid: str = ""
    mutations: tuple[tuple[str, str], ...] = ()  # --mutate-server-config: sensitivity runs only
    jwks_port: int = 0  # fixed port for the harness JWKS (an external cluster configured to trust it)

    def default_settings(self) -> ServerSettings:
        return ServerSettings(unmodelled=dict(self.mutations))


def _quiet(message: str) -> None:
    pass


@dataclass(repr=False)  # short repr, as GridRun's
class ServerPool:
    options: RunOptions
    on_metric: Callable[[str, Any], None] = lambda name, value: None
    progress: Progress = _quiet
    backend_name: str = ""
    binary: ProvisionedBinary | None = None
    jwks: JwksServer | None = None
    rsa: SigningKey = field(default_factory=lambda: rsa_key(kid="harness-rsa"))
    ec: SigningKey = field(default_factory=lambda: ec_key(kid="harness-ec"))
    table: ApiTable | None = None
    _targets: dict[str, Target] = field(default_factory=dict)
    _unguarded: dict[str, Target] = field(default_factory=dict)
    _running: list[RunningServer] = field(default_factory=list)
    _history: list[RunningServer] = field(default_factory=list)  # every server started, for logs
    _directories: list[Path] = field(default_factory=list)  # every server directory made, even half-started
    _backend: Backend | ExternalBackend | None = None
    _count: int = 0
    _stopping: list[threading.Thread] = field(default_factory=list)
    _engine_gone: str = ""  # set once the Docker engine stopped answering: every later start fails at once

    @property
    def configurable(self) -> bool:
        return not isinstance(self._backend, ExternalBackend)

    @property
    def engine_gone(self) -> str:
        """Why no server can be started any more (the Docker engine stopped answering mid-run), or ""."""
        return self._engine_gone

    async def open(self) -> None:
        if self.options.target is not None:
            self.backend_name = "external"
            self._backend = ExternalBackend(self.options.target, self.options.version)
            return
        if self.options.backend == "external":
            raise HarnessConfigError("--backend external needs --target HOST:PORT of the cluster to test")
        self.backend_name = resolve_backend_name(self.options.backend)  # no engine: one error (NoEngine)
        self._backend = backend = make_backend(self.backend_name)
        started = time.monotonic()
        self.progress(f"provision: temporal-server {self.options.version} ({self.backend_name} backend)")
        self.binary = await have_what_it_runs(
            backend,
            self.options.version,
            self.options.binary,
            self.progress,
            Deadlines(
                provision_s=PROVISION_DEADLINE_S, image_s=IMAGE_DEADLINE_S
            ),  # read now: tests shorten them
        )
        took = f"{time.monotonic() - started:.1f}s"
        if self.binary.source == "image":
            self.progress(f"provision: nothing built: the image's own {self.binary.path} ({took})")
        else:
            self.progress(f"provision: {self.binary.source} binary {self.binary.path} ({took})")
        version = self.binary.version
        self.table = await in_thread(
            API_TABLE_DEADLINE_S,
            lambda: _table(version),
            f"loading the API table of {version} did not finish",
        )
        if self.binary.build_seconds is not None:
            self.on_metric("server_build_seconds", round(self.binary.build_seconds, 1))
        atexit.register(self.remove_directories, all_of_them=True)  # also after Ctrl-C
        self.jwks = JwksServer(port=self.options.jwks_port)
        self.jwks.start()
        self.jwks.publish(self.rsa, self.ec)

    async def close(self) -> None:
        for server in self._running:
            with contextlib.suppress(Exception):
                server.stop()
        self._running.clear()
        self._targets.clear()
        self._unguarded.clear()
        self.settle_stops()
        if self.backend_name == "container":
            from harness.server.container import remove_all

            remove_all()
        if self.jwks is not None:
            self.jwks.stop()

    def backend_details(self) -> dict[str, Any]:
        """The container backend's image (where from, its ID and digest) and the user its server ran as."""
        details = getattr(self._backend, "details", None)
        return dict(details()) if details is not None else {}

    def remove_directories(self, *, all_of_them: bool = False) -> None:
        """Delete the rendered configs and logs of stopped servers (after reports copied what they need)."""
        self.settle_stops()
        in_use = {s.config.directory for s in self._running if s.config is not None}
        for directory in self._directories:
            if all_of_them or directory not in in_use:
                shutil.rmtree(directory, ignore_errors=True)

    def started_servers(self) -> list[RunningServer]:
        """Every server this session started (stopped or not): their logs stay readable."""
        return list(self._history)

    def running_servers(self) -> list[RunningServer]:
        return list(self._running)

    # -- targets ----------------------------------------------------------------------------
    async def target(self, settings: ServerSettings | None = None) -> Target:
        """The pooled server for these settings (started on first use, then reused)."""
        settings = settings or self.options.default_settings()
        key = settings.key()
        if key not in self._targets:
            if not self.configurable:
                if settings != self.options.default_settings():
                    raise NotConfigurable(
                        "this test needs a server with a config of its own, which an external target "
                        "cannot give"
                    )
                self._targets[key] = await self._external_target()
            else:
                assert self.jwks is not None
                self._targets[key] = await self._start(settings, [self.jwks], guard_it=True)
        return self._targets[key]

    async def unguarded(self, settings: ServerSettings) -> Target:
        """A pooled server of this config that is NOT guarded: for configs that let anonymous callers in
        on purpose (the guard would stop the run). Kept apart from the guarded pool."""
        if not self.configurable:
            raise NotConfigurable("servers of a config of their own need a local backend, not --target")
        key = settings.key()
        if key not in self._unguarded:
            assert self.jwks is not None
            self._unguarded[key] = await self._start(settings, [self.jwks], guard_it=False)
        return self._unguarded[key]

    def stop_unguarded(self) -> None:
        """Stop every unguarded server: a deliberate door stays open only while its cases run."""
        for target in self._unguarded.values():
            target.running.stop()
            if target.running in self._running:
                self._running.remove(target.running)
        self._unguarded.clear()

    def retire(self) -> int:
        """Stop every pooled server but the default config's (between test modules): an idle server still
        costs about 3% of a core (membership, timers, key refreshes), and a run used to end with 30-odd of
        them. A config asked for again later gets a fresh server. Returns how many were stopped."""
        default = self.options.default_settings().key()
        retired = [self._targets.pop(k) for k in list(self._targets) if k != default]
        retired += self._unguarded.values()
        self._unguarded.clear()
        for target in retired:
            self._stop_in_background(target.running)
        return len(retired)

    def _stop_in_background(self, server: RunningServer) -> None:
        """Stop without holding the run (a server takes about a second to exit on SIGTERM); close() and
        remove_directories() wait for every such stop."""
        if server in self._running:
            self._running.remove(server)
        thread = threading.Thread(target=server.stop, name=f"stop {server.address}", daemon=True)
        thread.start()
        self._stopping.append(thread)

    def settle_stops(self) -> None:
        """Wait for every background stop (each is bounded: SIGTERM, then SIGKILL after a grace)."""
        while self._stopping:
            self._stopping.pop().join()

    @contextlib.asynccontextmanager
    async def dedicated(
        self,
        settings: ServerSettings,
        sources: JwksServer | Sequence[Source],
        *,
        guarded: bool = True,
        namespaces: Sequence[str] = SUITE_NAMESPACES,
    ) -> AsyncIterator[Target]:
        """A server of its own (for tests that rotate, retire or break the keys it trusts)."""
        if not self.configurable:
            raise NotConfigurable("dedicated servers need a local backend, not --target")
        target = await self._start(
            settings, [sources] if isinstance(sources, JwksServer) else sources, guarded, namespaces
        )
        try:
            yield target
        finally:
            self._stop_in_background(target.running)

    async def _start(
        self,
        settings: ServerSettings,
        sources: Sequence[JwksServer | Source],
        guard_it: bool = True,
        namespaces: Sequence[str] = SUITE_NAMESPACES,
    ) -> Target:
        backend = self._backend
        assert backend is not None and not isinstance(backend, ExternalBackend)
        assert self.binary is not None and self.table is not None
        if self.options.mutations and not settings.unmodelled:
            settings = dataclasses.replace(settings, unmodelled=dict(self.options.mutations))
        if self._engine_gone:
            raise EngineGone(self._engine_gone)
        self._count += 1
        name = f"s{self._count}"
        resolved: list[Source] = [
            FixtureSource(s, DEFAULT_PATH, name) if isinstance(s, JwksServer) else s for s in sources
        ]
        self.progress(f"start: server {name} ({self.backend_name}) {_describe(settings)}")
        for attempt in range(1, PORT_RACE_ATTEMPTS + 1):
            directory = Path(tempfile.mkdtemp(prefix=f"authz-server-{ENV.run_tag}-"))
            self._directories.append(directory)
            config = render(directory, [s.url for s in resolved], settings, self.binary.version)
            try:
                running = await backend.start(self.binary, config)
                break
            except EngineGone as exc:
                raise self._engine_stopped(name, settings, exc) from exc
            except ServerStartError as exc:
                # Ports are picked free, then bound by the server: another shard's process can take one
                # in between (seen in CI: a worker service's "bind: address already in use").
                if not lost_a_port_race(exc) or attempt == PORT_RACE_ATTEMPTS:
                    raise
                self.progress(f"start: server {name} lost a port to another process; new ports")
        timeline = FetchedKeys(
            resolved,
            started=running.started_at,
            ready_at=running.ready_at,
            file_uris=rules_for(self.binary.version).file_key_sources,
            jose=rules_for(self.binary.version).jose,
        )
        self._running.append(running)
        self._history.append(running)
        self.on_metric("server_start_to_ready_s", running.start_seconds)
        self.progress(f"ready: server {name} at {running.address} in {running.start_seconds:.2f}s")
        published = [
            k for s in resolved if isinstance(s, FixtureSource) for k in s.fixture.published_keys(s.path)
        ]
        signing = self.rsa if self.rsa in published or not published else published[0]
        target = Target(
            running=running,
            settings=settings,
            table=self.table,
            keys=timeline,
            signing_key=signing,
            extra_keys=tuple(k for k in (*published, self.ec) if k is not signing),
            tls=running.config.client_tls() if running.config is not None else False,
            name=name,
            namespaces=set(),
        )
        if guard_it and not await guard(target):
            self.progress(
                f"guard: server {name} refuses anonymous calls; by the model no token can pass its config"
            )
        elif guard_it:
            self.progress(f"guard: server {name} refuses anonymous calls and trusts the harness's keys")
            await ensure_namespaces(target, namespaces)
            self.progress(f"namespaces: {', '.join(namespaces)} usable on {name}")
        return target

    def _engine_stopped(self, name: str, settings: ServerSettings, exc: EngineGone) -> EngineGone:
        """One line for the whole run: the server that could not start, the ones that ran on the engine,
        and the fix. Every later start fails with it at once (no test waits on a dead engine)."""
        lost = ", ".join(s.address for s in self._running)
        ran = f"; the servers still running on it ({lost}) are lost with it" if lost else ""
        self._engine_gone = (
            f"{exc}: server {name} {_describe(settings)} could not start{ran}. Start the engine again and "
            f"rerun, or run with --backend process"
        )
        return EngineGone(self._engine_gone)

    async def _external_target(self) -> Target:
        backend = self._backend
        assert isinstance(backend, ExternalBackend)
        running = await backend.attach()
        self._running.append(running)
        self._history.append(running)
        if self.options.external_key is not None:
            if not self.options.external_kid:
                raise HarnessConfigError(
                    "--external-signing-key needs --external-kid (the kid the cluster's JWKS has)"
                )
            signing = _load_signing_key(self.options.external_key, self.options.external_kid)
            keys: StaticKeys | FetchedKeys = StaticKeys((signing.published(),))
            extra: tuple[SigningKey, ...] = ()
        else:
            # The cluster was configured to trust our JWKS URL: serve it on the fixed port it was given.
            jwks = self.jwks = self.jwks or JwksServer(port=self.options.jwks_port)
            if not jwks.listening:
                jwks.start()
            jwks.publish(self.rsa, self.ec)
            signing = self.rsa
            keys = FetchedKeys([FixtureSource(jwks, DEFAULT_PATH, "")], started=0.0, ready_at=0.0)
            extra = (self.ec,)
        target = Target(
            running=running,
            settings=ServerSettings(),
            table=_table(running.version),
            keys=keys,
            signing_key=signing,
            extra_keys=extra,
            tls=backend.target.tls_config(),
            name="external",
        )
        # A cluster told to trust the harness JWKS fetches it at its own next refresh: wait for that.
        await guard(target, trust_deadline=60.0 if isinstance(keys, FetchedKeys) else 0.0)
        await ensure_namespaces(target, SUITE_NAMESPACES)
        return target


def _describe(settings: ServerSettings) -> str:
    parts = [f"{k}={v}" for k, v in settings.authorization.items()]
    parts += [f"{k}={v}" for k, v in settings.dynamic_config.items()]
    parts += [f"unmodelled {k}={v}" for k, v in settings.unmodelled.items()]
    if settings.metrics:
        parts.append("Prometheus metrics")
    if settings.frontend_mtls:
        parts.append("frontend mTLS")
    if settings.purpose:
        parts.append(settings.purpose)
    if settings.refresh_interval != "2s":
        parts.append(f"refresh {settings.refresh_interval}")
    if not settings.system_workers:
        parts.append("no worker service")
    return "(" + ", ".join(parts) + ")" if parts else "(default config)"


def _table(version: ServerVersion) -> ApiTable:
    try:
        return load_or_generate(str(version))
    except ApiTableMissing as exc:
        raise HarnessConfigError(str(exc)) from exc


def _load_signing_key(path: Path, kid: str) -> SigningKey:
    return load_external_key(path, kid)  # one HarnessConfigError for a key the server cannot verify
