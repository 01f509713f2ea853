"""The pytest plugin: options, markers, the session's servers, evidence, verdicts and reports.

The only module of harness/ that imports pytest.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import settings

from harness.jwks import JwksServer
from harness.report.html import write_html
from harness.report.recorder import CaseRecord, Recorder
from harness.requirements import CatalogueError, load_catalogue
from harness.server.backend import ServerStartError
from harness.server.provision import DEFAULT_VERSION, ProvisionError
from harness.session import HarnessConfigError, RunOptions, ServerPool
from harness.target import AuthNotEnforced, KeysNotTrusted, Target
from harness.types import Verdict
from harness.verdict import Evidence, Mismatch

# Hypothesis profiles: "default" for every run (CI gets hypothesis's own derandomized "ci" profile when
# CI is set), "long" for `nox -s fuzz`.
settings.register_profile("default", max_examples=40)
settings.register_profile("long", max_examples=1000)

RECORDER = pytest.StashKey[Recorder]()
EVIDENCE = pytest.StashKey[Evidence]()
POOL: dict[str, ServerPool] = {}  # the session's pool, for hooks that run outside fixtures


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("temporal-authz", "Temporal authorization conformance")
    group.addoption(
        "--temporal-version",
        default=os.environ.get("TEMPORAL_VERSION", DEFAULT_VERSION),
        help=f"server version to test (default {DEFAULT_VERSION}, env TEMPORAL_VERSION)",
    )
    group.addoption(
        "--backend",
        default=os.environ.get("AUTHZ_BACKEND", "auto"),
        choices=["auto", "container", "process", "external"],
        help="how to run the server: auto (container if a Docker engine answers, else process)",
    )
    group.addoption(
        "--temporal-binary", default=None, help="use this temporal-server binary (env TEMPORAL_BINARY)"
    )
    group.addoption("--target", default=os.environ.get("AUTHZ_TARGET"), help="external cluster HOST:PORT")
    group.addoption(
        "--external-signing-key", default=None, help="PEM private key the external cluster trusts"
    )
    group.addoption("--external-kid", default="", help="kid of --external-signing-key in the cluster's JWKS")
    group.addoption(
        "--target-tls", action="store_true", help="the --target frontend speaks TLS (system roots)"
    )
    group.addoption("--target-ca", default=None, help="PEM CA certificate for the --target frontend's TLS")
    group.addoption("--target-server-name", default="", help="TLS server name of the --target frontend")
    group.addoption(
        "--jwks-port",
        type=int,
        default=int(os.environ.get("AUTHZ_JWKS_PORT", "0")),
        help="serve the harness JWKS on this loopback port (for a --target cluster configured to trust "
        "http://127.0.0.1:PORT/jwks.json); default: an ephemeral port",
    )
    group.addoption("--reports-dir", default="reports", help="where conformance.json and report.html go")
    group.addoption("--probe-concurrency", type=int, default=32, help="concurrent probe calls (bounded)")
    group.addoption(
        "--mutate-server-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sensitivity runs: set global.authorization.KEY on every server without telling the model "
        "(an empty VALUE removes the key); the suite is expected to fail",
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (CI cancelling a job) takes the same path as Ctrl-C, so fixture teardown stops every server
    # and container; without this Python would die without running any cleanup.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        raise pytest.UsageError(f"fixtures/requirements.yaml: {exc}") from exc
    config.stash[RECORDER] = Recorder(catalogue=catalogue)


def _options(config: pytest.Config) -> RunOptions:
    key = config.getoption("--external-signing-key")
    return RunOptions(
        version=config.getoption("--temporal-version"),
        backend=config.getoption("--backend"),
        binary=config.getoption("--temporal-binary"),
        target=config.getoption("--target"),
        external_key=Path(key) if key else None,
        external_kid=config.getoption("--external-kid"),
        mutations=tuple(_mutation(m) for m in config.getoption("--mutate-server-config")),
        jwks_port=config.getoption("--jwks-port"),
        target_tls=config.getoption("--target-tls"),
        target_ca=Path(config.getoption("--target-ca")) if config.getoption("--target-ca") else None,
        target_server_name=config.getoption("--target-server-name"),
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
        if not marks:
            if in_suites:
                problems.append(f"{item.nodeid}: no @pytest.mark.req(ID)")
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


# -- fixtures --------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server_pool(request: pytest.FixtureRequest) -> AsyncIterator[ServerPool]:
    recorder = request.config.stash[RECORDER]

    def on_metric(name: str, value: Any) -> None:
        if name == "server_start_to_ready_s":
            recorder.add_metric_sample(name, value)
        else:
            recorder.metric(name, value)

    pool = ServerPool(_options(request.config), on_metric=on_metric)
    POOL["pool"] = pool
    try:
        await pool.open()
    except (ProvisionError, HarnessConfigError, ValueError) as exc:
        await pool.close()
        pytest.exit(f"temporal-authz: {exc}", returncode=4)
    recorder.server.update(
        {
            "version": pool.binary.version if pool.binary else request.config.getoption("--temporal-version"),
            "backend": pool.backend_name,
            "backend_requested": request.config.getoption("--backend"),
            "binary_source": pool.binary.source if pool.binary else None,
            "mutations": dict(pool.options.mutations),
        }
    )
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def target(server_pool: ServerPool, request: pytest.FixtureRequest) -> Target:
    """The server under test with the default config: guarded, namespaces registered."""
    recorder = request.config.stash[RECORDER]
    try:
        started = time.monotonic()
        tgt = await server_pool.target()
    except AuthNotEnforced as exc:
        _save_logs(request.config, server_pool, reason="auth-not-enforced")
        pytest.exit(f"\n{'!' * 100}\nFATAL: {exc}\n{'!' * 100}", returncode=3)
    except (KeysNotTrusted, ServerStartError, HarnessConfigError) as exc:
        _save_logs(request.config, server_pool, reason="start-failed")
        pytest.exit(f"temporal-authz: {exc}", returncode=4)
    recorder.server.update(
        {
            "version": tgt.version,
            "era": tgt.rules.era,
            "address": tgt.address,
            "controls_jwks": tgt.controls_jwks,
            **server_pool.backend_details(),
        }
    )
    recorder.metric("default_server_ready_s", round(time.monotonic() - started, 3))
    return tgt


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Fill it in a test: it is printed on failure and lands in the JSON report."""
    ev = Evidence()
    request.node.stash[EVIDENCE] = ev
    return ev


@pytest.fixture(scope="session")
def recorder(request: pytest.FixtureRequest) -> Recorder:
    return request.config.stash[RECORDER]


@pytest.fixture
def own_jwks(server_pool: ServerPool, target: Target) -> Iterator[JwksServer]:
    """A JWKS of the test's own, for a server of its own (rotation, faults, ...)."""
    if server_pool.options.target:
        pytest.skip(
            "needs servers of the harness's own with a JWKS it controls: the external cluster's key source "
            "is not ours to rotate, retire or break"
        )
    with JwksServer() as jwks:
        yield jwks


# -- verdicts and reports --------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    marks = list(item.iter_markers("req"))
    if not marks:
        return report
    verdict = _verdict(report, call)
    if verdict is None:
        return report
    ev = item.stash.get(EVIDENCE, None)
    message = ""
    if report.failed or report.skipped:
        message = _short(report)
    mismatch = call.excinfo is not None and call.excinfo.errisinstance(Mismatch)
    if verdict is Verdict.FAIL and ev is not None and ev.expected is not None and not mismatch:
        report.sections.append(("conformance evidence", ev.render()))
    item.config.stash[RECORDER].add(
        CaseRecord(
            nodeid=item.nodeid,
            requirement=marks[0].args[0],
            verdict=verdict,
            duration_s=report.duration,
            evidence=ev.as_dict() if ev is not None else {},
            message=message,
            cell=ev.cell if ev is not None and ev.cell else None,
        )
    )
    return report


def _verdict(report: pytest.TestReport, call: pytest.CallInfo[None]) -> Verdict | None:
    if report.when == "setup":
        if report.skipped:
            return Verdict.SKIP
        if report.failed:
            return Verdict.HARNESS_ERROR  # a fixture failed: our fault, never the server's
        return None
    if report.when != "call":
        return None
    if hasattr(report, "wasxfail"):
        return Verdict.KNOWN
    if report.skipped:
        return Verdict.SKIP
    if report.passed:
        return Verdict.PASS
    if call.excinfo is not None and not call.excinfo.errisinstance((AssertionError, Mismatch)):
        return Verdict.HARNESS_ERROR
    return Verdict.FAIL


def _short(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longreprtext)[-2000:]


def _save_logs(config: pytest.Config, pool: ServerPool, reason: str) -> None:
    reports = Path(config.getoption("--reports-dir")) / "logs"
    reports.mkdir(parents=True, exist_ok=True)
    for i, server in enumerate(pool.started_servers()):
        server.save_logs(reports / f"server-{i}-{server.backend}-{reason}.log")
        if server.config is not None:
            shutil.copy(server.config.config_file, reports / f"server-{i}.yaml")
    if pool.jwks is not None:
        (reports / "jwks-fetches.log").write_text("\n".join(pool.jwks.log_lines()) + "\n")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pool = POOL.get("pool")
    try:
        _write_reports(session, exitstatus, pool)
    finally:
        if pool is not None:
            pool.remove_directories()  # what a failure needed from them is in reports/logs by now


def _write_reports(session: pytest.Session, exitstatus: int, pool: ServerPool | None) -> None:
    recorder = session.config.stash.get(RECORDER, None)
    if recorder is None or not recorder.records:
        return
    reports = Path(session.config.getoption("--reports-dir"))
    failed = any(r.verdict in (Verdict.FAIL, Verdict.HARNESS_ERROR) for r in recorder.records)
    if failed and pool is not None:
        _save_logs(session.config, pool, reason="failed-run")
    data = recorder.write(reports / "conformance.json", exit_status=int(exitstatus))
    write_html(data, reports / "report.html")


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
    for finding in recorder.findings():
        if finding["status"] == "confirmed":
            terminalreporter.write_line(f"FINDING {finding['requirement']}: {finding['title']}")
    terminalreporter.write_line(f"reports: {reports}/conformance.json, {reports}/report.html")
