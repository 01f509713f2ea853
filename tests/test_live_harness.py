"""The harness against a real server, run as a user would run it (a pytest subprocess per case):
the guard stops a server without authorization, a model/server difference fails with readable diffs,
logs land in reports/, and no server process outlives a run: passed, failed or interrupted."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from harness.server.choose import docker_answers
from tests.runs import ROOT, pytest_command, run_env, run_pytest

BACKENDS = [
    "process",
    pytest.param(
        "container",
        marks=pytest.mark.skipif(
            not docker_answers(), reason="no Docker engine answers (start dockerd to run)"
        ),
    ),
]


def tagged_servers(tag: str) -> list[str]:
    """Server processes and containers a run with this tag started and left behind."""
    out = subprocess.run(["pgrep", "-af", f"authz-server-{tag}-"], capture_output=True, text=True)
    found = [line for line in out.stdout.splitlines() if "pgrep" not in line]
    if docker_answers():
        from harness.server.container import leftover_containers

        found += [f"container {c.short_id}" for c in leftover_containers(tag)]
    return found


def run_suite(
    tmp_path: Path, *args: str, tag: str, backend: str = "process"
) -> subprocess.CompletedProcess[str]:
    return run_pytest(
        tmp_path / "reports", *args, env={"AUTHZ_RUN_TAG": tag, "AUTHZ_BACKEND": backend}, timeout=300
    )


def assert_no_orphans(tag: str, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while tagged_servers(tag) and time.monotonic() < end:
        time.sleep(0.1)  # poll
    assert tagged_servers(tag) == [], "a temporal-server process outlived its run"


@pytest.mark.parametrize(
    "mutation", ["authorizer=", "claimMapper="], ids=["no-authorizer", "no-claim-mapper"]
)
def test_guard_fails_the_run_loudly_when_authorization_is_off(tmp_path: Path, mutation: str) -> None:
    tag = uuid.uuid4().hex[:10]
    result = run_suite(tmp_path, "suites/test_smoke.py", "--mutate-server-config", mutation, tag=tag)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output[-3000:]
    assert "FATAL: this server does not enforce authorization" in output
    assert "passed" not in output.splitlines()[-1]
    assert_no_orphans(tag)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_passing_run_leaves_no_server(tmp_path: Path, backend: str) -> None:
    tag = uuid.uuid4().hex[:10]
    result = run_suite(tmp_path, "suites/test_smoke.py", "-k", "GUARD or health", tag=tag, backend=backend)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert_no_orphans(tag)


@pytest.mark.parametrize("backend", BACKENDS)
def test_model_server_difference_fails_with_readable_diffs_and_saves_logs(
    tmp_path: Path, backend: str
) -> None:
    """Sensitivity: the server reads `roles`, the model assumes `permissions`: the grid must fail."""
    tag = uuid.uuid4().hex[:10]
    result = run_suite(
        tmp_path,
        "suites/test_matrix.py",
        "--mutate-server-config",
        "permissionsClaimName=roles",
        "-k",
        "test_cell and (NamespaceReaderOnDescribeNamespace or SystemAdminOnListNamespaces or AnonymousOnGetSystemInfo)",
        tag=tag,
        backend=backend,
    )
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    assert "FAILED suites/test_matrix.py::test_cell[NamespaceReaderOnDescribeNamespace-Own]" in output
    assert "FAILED suites/test_matrix.py::test_cell[SystemAdminOnListNamespaces-Own]" in output
    assert "AnonymousOnGetSystemInfo" not in output.split("short test summary")[-1]
    for line in (
        "expected : ALLOWED",
        "observed : DENIED",
        "api      : /temporal.api.workflowservice.v1",
        "namespace: 'authz-matrix'",
        'token    : {"claims"',
    ):
        assert line in output
    logs = tmp_path / "reports" / "logs"
    assert any(logs.glob("server-*-failed-run.log")) and (logs / "jwks-fetches.log").exists()
    assert_no_orphans(tag)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_no_server(tmp_path: Path, sig: signal.Signals, backend: str) -> None:
    tag = uuid.uuid4().hex[:10]
    proc = subprocess.Popen(
        pytest_command(tmp_path / "r", "suites/test_smoke.py"),
        cwd=ROOT,
        env=run_env({"AUTHZ_RUN_TAG": tag, "AUTHZ_BACKEND": backend}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 120
        while not tagged_servers(tag):
            assert proc.poll() is None, "the run ended before its server started"
            if time.monotonic() >= end:
                pytest.fail("no server started within 120 s")
            time.sleep(0.05)  # poll
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_no_orphans(tag)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "127.0.0.1:1"], "cannot reach the external target 127.0.0.1:1"),
        (["--temporal-version", "v1.99.0"], "unknown server version v1.99.0"),
        (["--temporal-version", "latest"], "pass --temporal-version like v1.32.2"),
        (["--temporal-binary", "/nonexistent/server"], "is not an executable file"),
        (["--backend", "external"], "--backend external needs --target"),
    ],
    ids=["unreachable-target", "unknown-version", "bad-version", "missing-binary", "external-without-target"],
)
def test_bad_input_gets_one_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_suite(tmp_path, "suites/test_smoke.py", *args, tag=uuid.uuid4().hex[:10])
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-2000:]
    assert message in output
    assert "Traceback" not in output
