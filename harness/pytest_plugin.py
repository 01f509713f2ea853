"""The pytest plugin: options, markers, the session's servers, evidence, verdicts and reports.

With harness.xdist_plugin (a run in pytest-xdist workers), the only modules of harness/ that import pytest.
"""

from __future__ import annotations

import contextlib
import inspect
import shutil
import signal
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from _pytest import junitxml
from hypothesis import settings as hypothesis_settings
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

from harness.cases.evidence import Evidence, Mismatch
from harness.ceiling import CEILING_S, bounded
from harness.errors import HarnessConfigError, HarnessError
from harness.fuzz.classes import selected
from harness.fuzz.loop import BACKGROUND
from harness.fuzz.runner import Budget, FuzzRun
from harness.fuzz.servers import FuzzServers
from harness.jwks.fixture import JwksServer
from harness.model import rules_for
from harness.model.features import Feature
from harness.mutants import MUTANTS, activate
from harness.report.grades import MIN_PASSED_SHARE, passed_share, shows_evidence
from harness.report.html import write_html
from harness.report.mutants import replay
from harness.report.recorder import CaseRecord, Recorder
from harness.report.speed import COUNTED_BY_PROCESS, CpuClock, speed_block, speed_line, verified_decisions
from harness.report.verdict_lines import two_verdicts, verdict_properties
from harness.requirements import CatalogueError, load_catalogue
from harness.security.catalogue import path_of
from harness.security.checks import PropertyViolated
from harness.server.backend import ServerStartError
from harness.server.config import ServerSettings
from harness.server.external import ExternalTarget
from harness.server.leftovers import remove_created
from harness.server.pool import NotConfigurable, RunOptions, ServerPool
from harness.server.provision import ProvisionError, parse_requested
from harness.server.setup import AuthNotEnforced, KeysNotTrusted
from harness.server.target import Target
from harness.settings import ENV
from harness.tokens.redact import redact_tokens
from harness.types import Verdict
from harness.xdist_plugin import send_to_controller, worker_id, worker_progress

# A run in pytest-xdist workers (`-n N`): the controller's side and what each worker sends it.
pytest_plugins = ["harness.xdist_plugin"]

# Hypothesis profiles for @given tests that use them: "default" for every run (CI gets hypothesis's own
# derandomized "ci" profile when CI is set), "long" on request. The fuzz suites set their own budgets
# (harness.fuzz.runner: --fuzz-minutes).
hypothesis_settings.register_profile("default", max_examples=40)
hypothesis_settings.register_profile("long", max_examples=1000)

RECORDER = pytest.StashKey[Recorder]()
STARTED = pytest.StashKey[tuple[float, CpuClock]]()  # monotonic and CPU at configure: metrics.speed
EVIDENCE = pytest.StashKey[Evidence]()
# The session's pool, for hooks that run outside fixtures: in the session's own stash, not a module global
# (an in-process run after another, pytester's, would read the earlier session's pool: seen in CI).
POOL = pytest.StashKey[ServerPool]()
NEEDS_OWN_SERVER = (
    "needs servers of the harness's own (a config of their own, or a JWKS the harness controls): an "
    "external cluster cannot be reconfigured, and its key source is not ours to rotate, retire or break"
)
# Exceptions that show the server did not do what a requirement says, however they surface.
SERVER_DEVIATIONS: tuple[type[BaseException], ...] = (
    AssertionError,
    TimeoutError,
    RPCError,
    grpc.aio.AioRpcError,
    TemporalError,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("temporal-authz", "Temporal authorization conformance")
    add = group.addoption
    add("--temporal-version", default=ENV.temporal_version, help="server version (env TEMPORAL_VERSION)")
    add(
        "--backend",
        default=ENV.backend,
        choices=["auto", "container", "process", "external"],
        help="how to run the server: auto (container if a Docker engine answers, else process)",
    )
    add("--temporal-binary", default=None, help="use this temporal-server binary (env TEMPORAL_BINARY)")
    add("--target", default=ENV.target, help="external cluster HOST:PORT (env AUTHZ_TARGET)")
    add("--external-signing-key", default=None, help="PEM private key the external cluster trusts")
    add("--external-kid", default="", help="kid of --external-signing-key in the cluster's JWKS")
    add("--target-tls", action="store_true", help="the --target frontend speaks TLS (system roots)")
    add("--target-ca", default=None, help="PEM CA certificate for the --target frontend's TLS")
    add("--target-server-name", default="", help="TLS server name of the --target frontend")
    add(
        "--target-plaintext",
        action="store_true",
        help="send tokens to a --target that is not on this machine without TLS (prints a warning)",
    )
    add(
        "--target-http",
        default=None,
        help="the --target frontend's HTTP API HOST:PORT (HTTP and Nexus suites)",
    )
    add(
        "--check-doors",
        default="",
        metavar="HOST:PORT,...",
        help="with --target: ports to check for anonymous admin access (default: the chart's ports on its host)",
    )
    add(
        "--jwks-port",
        type=int,
        default=ENV.jwks_port,
        help="serve the harness JWKS on this loopback port (for a --target cluster configured to trust "
        "http://127.0.0.1:PORT/jwks.json); default: an ephemeral port",
    )
    add("--reports-dir", default="reports", help="where conformance.json and report.html go")
    add("--probe-concurrency", type=int, default=32, help="concurrent probe calls (bounded)")
    add(
        "--mutate-server-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sensitivity runs: set global.authorization.KEY on every server without telling the model "
        "(an empty VALUE removes the key); the suite is expected to fail",
    )
    add(
        "--model-mutant",
        default="",
        metavar="NAME",
        help=f"run with one deliberate mistake in the model (test-only); one of: {', '.join(MUTANTS)}",
    )
    add(
        "--mutants",
        action="store_true",
        help="after the run, replay its model questions under every mutant; a survivor fails the run",
    )
    add(
        "--fuzz-minutes",
        type=float,
        default=ENV.fuzz_minutes,
        metavar="N",
        help="fuzz suites: a long run of N minutes shared among the classes, with a persistent example "
        "database (env AUTHZ_FUZZ_MINUTES); default: the CI profile (derandomized, a fixed count)",
    )
    add(
        "--fuzz-class",
        default=ENV.fuzz_class,
        metavar="NAME[,NAME]",
        help="fuzz suites: only these input classes (env AUTHZ_FUZZ_CLASS; see harness/fuzz/classes.py)",
    )
    add(
        "--fuzz-case",
        action="append",
        default=[],
        metavar="FILE",
        help="suites/test_fuzz_regressions.py: replay this fuzz case file too (a failure's report names it)",
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class Progress:
    """One line per phase on the terminal, even while pytest captures output (fixture setup)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        text = f"[authz {time.monotonic() - self.started:6.1f}s] {line}"
        if worker_id(self.config):  # a worker's terminal is nowhere: its stderr is the controller's
            worker_progress(self.config, text)
            return
        suspend = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
        with suspend:
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_line(text)
            else:
                print(text, flush=True)


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (CI cancelling a job) takes the same path as Ctrl-C, so fixture teardown stops every server
    # and container; without this Python would die without running any cleanup.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        raise pytest.UsageError(f"fixtures/requirements.yaml: {exc}") from exc
    config.stash[RECORDER] = Recorder(catalogue=catalogue, run_tag=ENV.run_tag)
    config.stash[STARTED] = (time.monotonic(), CpuClock.now())
    try:
        selected(config.getoption("--fuzz-class", default="") or "")
    except ValueError as exc:
        raise pytest.UsageError(f"--fuzz-class: {exc}") from exc
    mutant = config.getoption("--model-mutant", default="")
    if mutant:
        if mutant not in MUTANTS:
            raise pytest.UsageError(f"--model-mutant {mutant!r}: choose one of {', '.join(MUTANTS)}")
        config.add_cleanup(activate(mutant))
        config.stash[RECORDER].server["model_mutant"] = mutant
    config.addinivalue_line(
        "markers",
        "own_server_only(reason): run only on servers the harness started (skipped on --target, saying why)",
    )


def _options(config: pytest.Config) -> RunOptions:
    key = config.getoption("--external-signing-key")
    target = config.getoption("--target")
    ca = config.getoption("--target-ca")
    try:
        version = parse_requested(config.getoption("--temporal-version"))
    except ProvisionError as exc:
        pytest.exit(f"temporal-authz: {exc}", returncode=4)
    return RunOptions(
        version=version,
        backend=config.getoption("--backend"),
        binary=config.getoption("--temporal-binary"),
        target=ExternalTarget(
            target,
            http=config.getoption("--target-http"),
            tls=config.getoption("--target-tls"),
            ca=Path(ca) if ca else None,
            server_name=config.getoption("--target-server-name"),
            plaintext=config.getoption("--target-plaintext"),
        )
        if target
        else None,
        external_key=Path(key) if key else None,
        external_kid=config.getoption("--external-kid"),
        mutations=tuple(_mutation(m) for m in config.getoption("--mutate-server-config")),
        jwks_port=config.getoption("--jwks-port"),
    )


def _mutation(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise pytest.UsageError(f"--mutate-server-config {text!r}: use KEY=VALUE")
    return key, value


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Every conformance test names one known requirement: an unknown or missing ID is a collection error."""
    catalogue = config.stash[RECORDER].catalogue
    problems = []
    for item in items:
        marks = list(item.iter_markers("req"))
        in_suites = "suites" in Path(str(item.path)).parts
        prop = item.get_closest_marker("prop")
        if prop is not None:
            problems.extend(_property_problems(item.nodeid, prop.args, bool(marks)))
            continue
        if not marks:
            if in_suites:
                problems.append(f"{item.nodeid}: no @pytest.mark.req(ID) or @pytest.mark.prop(ID, path)")
            continue
        rid = marks[0].args[0] if marks[0].args else ""
        if rid not in catalogue:
            problems.append(
                f"{item.nodeid}: unknown requirement {rid!r} (add it to fixtures/requirements.yaml)"
            )
        elif catalogue[rid].status != "active":
            problems.append(f"{item.nodeid}: requirement {rid} is retired")
    if problems:
        raise pytest.UsageError("requirement IDs:\n  " + "\n  ".join(problems))
    # A fuzz run's budget is its own: the ceiling comes on top of it.
    ceiling = CEILING_S + 60 * float(config.getoption("--fuzz-minutes") or 0)
    for item in items:
        function = getattr(item, "obj", None)
        if "suites" in Path(str(item.path)).parts and inspect.iscoroutinefunction(function):
            item.obj = bounded(function, ceiling)  # type: ignore[attr-defined]


def _property_problems(nodeid: str, args: tuple[Any, ...], has_req: bool) -> list[str]:
    """A security test names one property and one of its paths, and no requirement: its verdict is the
    property's, never conformance's."""
    if has_req:
        return [f"{nodeid}: a security test (prop) carries no requirement (req): two verdicts, never mixed"]
    if len(args) != 2:
        return [f"{nodeid}: use @pytest.mark.prop(PROPERTY_ID, PATH)"]
    try:
        path_of(f"{args[0]}/{args[1]}")
    except CatalogueError as exc:
        return [f"{nodeid}: {exc}"]
    return []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Each test file's wall time (setup, call and teardown, its fixtures' included) in the metric
    file_wall_s: how harness.xdist_schedule deals files to workers next time."""
    started = time.monotonic()
    try:
        return (yield)
    finally:
        recorder = item.config.stash.get(RECORDER, None)
        if recorder is not None:
            walls = recorder.metrics.setdefault("file_wall_s", {})
            walls[item.path.name] = round(walls.get(item.path.name, 0.0) + time.monotonic() - started, 3)


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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`needs_own_server`: skipped, with one reason, where servers of the harness's own cannot be had.
    `since(feature)`: skipped on a server without that Feature (harness.model.features)."""
    pool = item.config.stash.get(POOL, None)
    if pool is not None and pool.engine_gone:
        # The Docker engine stopped answering: every later server start would fail the same way.
        pytest.exit(f"temporal-authz: {pool.engine_gone}", returncode=4)
    if item.get_closest_marker("needs_own_server") and item.config.getoption("--target"):
        pytest.skip(NEEDS_OWN_SERVER)
    own_only = item.get_closest_marker("own_server_only")
    if own_only is not None and item.config.getoption("--target"):
        pytest.skip(str(own_only.args[0]))
    since = item.get_closest_marker("since")
    if since is not None:
        feature = since.args[0] if len(since.args) == 1 else since.args
        if not isinstance(feature, Feature):
            raise TypeError(
                f"{item.nodeid}: since() takes a Feature (harness.model.features), not {feature!r}"
            )
        version = _session_version(item.config)
        if version is not None and not feature.available(version):
            pytest.skip(f"not applicable: {feature.missing_on(version)}")


def _session_version(config: pytest.Config) -> Any:
    pool = config.stash.get(POOL, None)
    if pool is not None and pool.binary is not None:
        return pool.binary.version
    try:
        return parse_requested(config.getoption("--temporal-version"))
    except ProvisionError:
        return None


# -- fixtures --------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server_pool(request: pytest.FixtureRequest) -> AsyncIterator[ServerPool]:
    recorder = request.config.stash[RECORDER]

    def on_metric(name: str, value: Any) -> None:
        if name == "server_start_to_ready_s":
            recorder.add_metric_sample(name, value)
        else:
            recorder.metric(name, value)

    options = _options(request.config)
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
        _save_logs(config, pool, reason="auth-not-enforced")
        pytest.exit(f"\n{'!' * 100}\nFATAL: {exc}\n{'!' * 100}", returncode=3)
    except (KeysNotTrusted, ServerStartError, HarnessConfigError) as exc:
        _save_logs(config, pool, reason="start-failed")
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
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Fill it in a test: it is printed on failure and lands in the JSON report."""
    req = request.node.get_closest_marker("req")
    ev = Evidence(requirement=req.args[0] if req is not None and req.args else "")  # check() reads it
    request.node.stash[EVIDENCE] = ev
    return ev


@pytest.fixture(scope="session")
def recorder(request: pytest.FixtureRequest) -> Recorder:
    return request.config.stash[RECORDER]


@pytest.fixture
def own_jwks(server_pool: ServerPool) -> Iterator[JwksServer]:
    """A JWKS of the test's own, for a server of its own (rotation, faults, ...)."""
    if not server_pool.configurable:
        pytest.skip(NEEDS_OWN_SERVER)
    with JwksServer() as jwks:
        yield jwks


@pytest.fixture(scope="session")
def fuzz_run(request: pytest.FixtureRequest, recorder: Recorder) -> FuzzRun:
    """The session's fuzzing budget (CI profile, or --fuzz-minutes), progress and per-class figures."""
    config = request.config
    classes = tuple(c.name for c in selected(config.getoption("--fuzz-class") or ""))
    return FuzzRun(
        Budget(config.getoption("--fuzz-minutes"), classes),
        Path(config.getoption("--reports-dir")),
        progress=Progress(config),
        on_metric=recorder.metric,
    )


@pytest.fixture(scope="module")
def fuzz_servers(server_pool: ServerPool, target: Target) -> Iterator[FuzzServers]:
    """The servers the fuzz classes drive from the fuzzer's own event loop (started on first use, stopped
    after the module: each fuzz module drives classes of its own)."""
    servers = FuzzServers(server_pool, target)
    yield servers
    BACKGROUND.run(servers.close())


# -- verdicts and reports --------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _redact(report)
    marks = list(item.iter_markers("req"))
    prop = item.get_closest_marker("prop")
    if not marks and prop is None:
        return report
    # What the test checks, as junit.xml <property> entries (CI tools group by them).
    labels = [("property", f"{prop.args[0]}/{prop.args[1]}")] if prop else [("requirement", marks[0].args[0])]
    if report.when == "setup" and labels[0] not in item.user_properties:
        item.user_properties.extend(labels)
    verdict = verdict_of(report, call)
    if verdict is None:
        return report
    ev = item.stash.get(EVIDENCE, None)
    message = ""
    if report.failed or report.skipped:
        message = _short(report)
    if prop is not None and verdict is Verdict.FAIL and not _violated(call):
        # A property is violated only by what the test shows (PropertyViolated): a server error on the
        # way (a setup step refused, a wait past its deadline) shows nothing about the property.
        verdict = Verdict.HARNESS_ERROR
        report.sections.append(("verdict", "not shown: the case did not get as far as the property"))
    if verdict is Verdict.HARNESS_ERROR and report.when == "call":
        report.sections.append(("verdict", "HARNESS_ERROR: the harness itself broke (not the server)"))
    mismatch = call.excinfo is not None and call.excinfo.errisinstance(Mismatch)
    if verdict is Verdict.FAIL and ev is not None and ev.expected is not None and not mismatch:
        report.sections.append(("conformance evidence", ev.render()))
    item.config.stash[RECORDER].add(
        CaseRecord(
            nodeid=item.nodeid,
            requirement=prop.args[0] if prop else marks[0].args[0],
            verdict=verdict,
            duration_s=report.duration,
            evidence=ev.as_dict() if ev is not None else {},
            message=message,
            cell=ev.cell if ev is not None and ev.cell else None,
            asked=list(ev.asked) if ev is not None else [],
            prop=prop.args[0] if prop else "",
            path=prop.args[1] if prop else "",
        )
    )
    return report


def _violated(call: pytest.CallInfo[None]) -> bool:
    return call.excinfo is not None and call.excinfo.errisinstance(PropertyViolated)


def is_server_deviation(exc: BaseException) -> bool:
    """FAIL for anything that shows the server not doing what the requirement says (an assertion, a
    wait that passed its deadline, an RPC error, a failed workflow), however deep in a chain; else the
    harness broke."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, HarnessError):
            return False
        if isinstance(current, SERVER_DEVIATIONS):
            return True
        if isinstance(current, RuntimeError) and str(current).startswith("Failed client connect"):
            return True  # the SDK could not reach the server at all: the server's failure, not ours
        if isinstance(current, BaseExceptionGroup):
            return any(is_server_deviation(e) for e in current.exceptions)
        current = current.__cause__ or current.__context__
    return False


def verdict_of(report: pytest.TestReport, call: pytest.CallInfo[None]) -> Verdict | None:
    if report.when == "setup":
        if report.skipped:
            return Verdict.SKIP
        if report.failed:
            return Verdict.HARNESS_ERROR  # a fixture failed: the harness could not set up the case
        return None
    if report.when != "call":
        return None
    if hasattr(report, "wasxfail"):
        return Verdict.KNOWN
    if report.skipped:
        return Verdict.SKIP
    if report.passed:
        return Verdict.PASS
    if call.excinfo is not None and is_server_deviation(call.excinfo.value):
        return Verdict.FAIL
    return Verdict.HARNESS_ERROR


def _redact(report: pytest.TestReport) -> None:
    """No token's signature in what pytest prints or junit.xml keeps: a traceback shows the metadata a
    failed call was given."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longreprtext)
        redacted = redact_tokens(text)
        if redacted != text:
            report.longrepr = redacted
    report.sections = [(title, redact_tokens(body)) for title, body in report.sections]


def _short(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longreprtext)[-2000:]


def _save_logs(config: pytest.Config, pool: ServerPool, reason: str) -> None:
    reports = Path(config.getoption("--reports-dir")) / "logs"
    reports.mkdir(parents=True, exist_ok=True)
    worker = f"{worker_id(config)}-" if worker_id(config) else ""  # workers share the directory
    for i, server in enumerate(pool.started_servers()):
        server.save_logs(reports / f"{worker}server-{i}-{server.backend}-{reason}.log")
        if server.config is not None:
            shutil.copy(server.config.config_file, reports / f"{worker}server-{i}.yaml")
    if pool.jwks is not None:
        (reports / f"{worker}jwks-fetches.log").write_text("\n".join(pool.jwks.log_lines()) + "\n")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pool = session.config.stash.get(POOL, None)
    _junit_verdicts(session)
    try:
        _write_reports(session, exitstatus, pool)
    finally:
        if pool is not None:
            pool.remove_directories()  # what a failure needed from them is in reports/logs by now


def _junit_verdicts(session: pytest.Session) -> None:
    """Both verdicts as junit.xml <testsuite> properties (written by pytest's junitxml after this hook)."""
    recorder = session.config.stash.get(RECORDER, None)
    xml = session.config.stash.get(junitxml.xml_key, None)
    if recorder is None or xml is None or not recorder.records:
        return
    for name, value in verdict_properties(recorder.summary(), recorder.security()).items():
        xml.add_global_property(name, value)


def _write_reports(session: pytest.Session, exitstatus: int, pool: ServerPool | None) -> None:
    recorder = session.config.stash.get(RECORDER, None)
    if recorder is None or not recorder.records:
        return
    worker = worker_id(session.config)
    if session.config.getoption("--mutants"):
        progress = Progress(session.config)
        progress("mutants: replaying this run's model questions under every mutant")
        recorder.mutants = replay(recorder.records, progress=progress)
        progress(f"mutants: {recorder.mutants['killed']}/{recorder.mutants['total']} killed")
        # In a worker the merge decides: another worker may kill what this one did not.
        if recorder.mutants["survived"] and session.exitstatus == 0 and not worker:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # A run that showed too little is not called conformant, and does not exit 0 (a worker's share is
    # judged by the merge: one worker may hold only skips).
    if session.exitstatus == 0 and not worker and not shows_evidence(recorder.summary()):
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
    reports = Path(session.config.getoption("--reports-dir"))
    failed = any(r.verdict in (Verdict.FAIL, Verdict.HARNESS_ERROR) for r in recorder.records)
    if failed and pool is not None:
        _save_logs(session.config, pool, reason="failed-run")
    _record_speed(session.config, recorder)
    if worker:  # the controller merges the workers' reports and writes the run's, once
        send_to_controller(session.config, recorder.to_json(exit_status=int(session.exitstatus)))
        return
    data = recorder.write(reports / "conformance.json", exit_status=int(session.exitstatus))
    write_html(data, reports / "report.html")


def _record_speed(config: pytest.Config, recorder: Recorder) -> None:
    """metrics.speed (harness.report.speed) from configure to now: every test and fixture, the servers
    this process started and stopped (the process backend), and a mutant replay."""
    started = config.stash.get(STARTED, None)
    if started is None:
        return
    began, cpu = started
    recorder.metric(
        "speed",
        speed_block(
            wall_s=time.monotonic() - began,
            file_wall_s=recorder.metrics.get("file_wall_s"),
            cpu_s=CpuClock.now().since(cpu),
            cpu_counted=COUNTED_BY_PROCESS,
            decisions=verified_decisions(recorder.records),
        ),
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    recorder = config.stash.get(RECORDER, None)
    if recorder is None or not recorder.records:
        return
    summary = recorder.summary()
    reports = config.getoption("--reports-dir")
    terminalreporter.write_sep("=", "temporal-authz conformance")
    server = recorder.server
    terminalreporter.write_line(
        f"server {server.get('version')} on {server.get('backend')} backend (era {server.get('era')}); "
        f"verdicts: " + ", ".join(f"{v.value}={summary[v.value]}" for v in Verdict)
    )
    for line in two_verdicts(summary, recorder.security(), str(server.get("version"))):
        terminalreporter.write_line(line, red=line.startswith(("VULNERABLE", "Security: 1", "Security: 2")))
    for name, figures in (recorder.metrics.get("fuzz") or {}).items():
        terminalreporter.write_line(
            f"fuzz {name}: {figures['examples']} examples in {figures['seconds']:.0f}s, "
            f"{figures['examples_per_s']:.1f} examples/s, {figures['disagreements']} disagreement(s)"
        )
    for finding in recorder.findings():
        if finding["status"] == "confirmed":
            terminalreporter.write_line(f"FINDING {finding['requirement']}: {finding['finding']}")
        elif finding["status"] == "not confirmed":
            terminalreporter.write_line(
                f"finding {finding['requirement']} not confirmed: {'; '.join(finding['why'][:3])}"
            )
    for record in recorder.records:
        for door, verdict in (record.evidence.get("extra", {}).get("open_doors") or {}).items():
            terminalreporter.write_sep("!", f"OPEN DOOR {door}: {verdict}", red=True, bold=True)
    if not shows_evidence(summary):
        terminalreporter.write_sep(
            "!",
            f"NOTHING SHOWN: {passed_share(summary):.0%} of {summary['total']} tests passed; a run is called "
            f"conformant when at least {MIN_PASSED_SHARE:.0%} pass (exit status 5)",
            red=True,
        )
    if speed := recorder.metrics.get("speed"):
        terminalreporter.write_line(speed_line(speed))
    if recorder.mutants:
        m = recorder.mutants
        line = f"model mutants: {m['killed']}/{m['total']} killed"
        if m["survived"]:
            line += f"; SURVIVED (a hole in the suite): {', '.join(m['survived'])}"
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"reports: {reports}/conformance.json, {reports}/report.html")


def rows(cases: Any) -> list[Any]:
    """Parametrize a suite over Case rows: each row carries its requirement ID, and rows that need a
    server of their own config are marked so (skipped with one reason on an external target)."""
    params = []
    for case in cases:
        marks = [pytest.mark.req(case.req)]
        if getattr(case, "settings", None) is not None:
            marks.append(pytest.mark.needs_own_server)
        if getattr(case, "since", None) is not None:
            marks.append(pytest.mark.since(case.since))
        params.append(pytest.param(case, marks=marks, id=case.id))
    return params
