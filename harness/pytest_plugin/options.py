"""The plugin's command-line options, the run configured from them, and the RunOptions the server pool is
made from."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from harness.fuzz.classes import selected
from harness.mutants import MUTANTS, activate
from harness.pytest_plugin.catalogue import add_markers
from harness.pytest_plugin.keys import RECORDER, STARTED
from harness.report.recorder import Recorder
from harness.report.speed import CpuClock
from harness.requirements import CatalogueError, load_catalogue
from harness.server.external import ExternalTarget
from harness.server.pool import RunOptions
from harness.server.provision import ProvisionError, parse_requested
from harness.settings import ENV


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
    add_markers(config)


def run_options(config: pytest.Config) -> RunOptions:
    """What the session's server pool is made from: the version, backend, target and mutations asked for."""
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
