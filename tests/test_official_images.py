"""The harness runs the official `temporalio/server` images as they are: user 1000, working directory
/etc/temporal, no shell from 1.30, nothing written into the image, internode TLS on. No registry is
reachable here, so each image is built in the official shape (harness/server/images/) around the
provisioned binary and tagged as the official one is (a real official image already present is used as it
is, never overwritten). The run then has no Go on its PATH and an empty cache: it must build nothing.

Needs a Docker engine (CI starts one); the binary comes from the cache or a Go build, as any run's does."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.server.choose import docker_answers
from harness.settings import DEFAULT_VERSION
from harness.types import ServerVersion
from tests.runs import ROOT, pytest_command

pytestmark = pytest.mark.skipif(
    not docker_answers(), reason="no Docker engine answers (CI starts one; start dockerd to run)"
)

# One release of each layout: 1.20-1.29 (docker-builds: a shell, an entrypoint script) and 1.30+ (none).
VERSIONS = ["v1.29.2", DEFAULT_VERSION]
TLS_CHECK = "suites/test_doors.py::test_no_port_answers_an_anonymous_admin_call"  # internode mTLS on
RUN_GUARD_S = 900  # a guard against a hang of the run, never a measurement
NO_CAPABILITIES = "0000000000000000"


@pytest.fixture(scope="module", params=VERSIONS)
def official(request: pytest.FixtureRequest) -> Iterator[tuple[ServerVersion, str]]:
    import docker

    from harness.server.container import official_image
    from harness.server.images.build import build_image, label_of
    from harness.server.provision import provision

    version = ServerVersion.parse(request.param)
    tag = official_image(str(version))
    client = docker.from_env(timeout=300)
    try:
        existing = client.images.get(tag).attrs if client.images.list(name=tag) else None
        if existing is not None and not label_of(existing, "layout"):
            yield version, tag  # the real official image: tested as it is, and left alone
            return
        binary = provision(version, progress=lambda line: print(line, flush=True))
        build_image(client, binary.path, version, tag)
        try:
            yield version, tag
        finally:
            client.images.remove(tag)  # no image named like the official one is left behind
    finally:
        client.close()


def _without_go(cache: Path) -> dict[str, str]:
    """This environment with no `go` on PATH, an empty cache and no pulls; no image or binary named."""
    dropped = {"TEMPORAL_IMAGE", "TEMPORAL_BINARY", "AUTHZ_BACKEND", "TEMPORAL_VERSION", "AUTHZ_TARGET"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "go").exists()]
    env.update(
        PATH=os.pathsep.join(path),
        TEMPORAL_AUTHZ_CACHE=str(cache),
        AUTHZ_IMAGE_PULL="never",
        AUTHZ_RUN_TAG=uuid.uuid4().hex[:10],
    )
    return env


def test_the_smoke_suite_passes_on_the_official_image_with_no_go_and_builds_nothing(
    official: tuple[ServerVersion, str], tmp_path: Path
) -> None:
    version, image = official
    cache, reports = tmp_path / "empty-cache", tmp_path / "reports"
    env = _without_go(cache)
    assert subprocess.run(["sh", "-c", "command -v go"], env=env, capture_output=True).returncode != 0
    done = subprocess.run(
        pytest_command(
            reports,
            "-q",
            "--backend",
            "container",
            "--temporal-version",
            str(version),
            "suites/test_smoke.py",
            TLS_CHECK,
        ),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_GUARD_S,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert f"image: {image} (present): nothing to build, no binary needed" in output
    assert "building temporal-server" not in output and "image: built" not in output
    assert not (cache / "bin").exists(), "a binary was provisioned"

    report = json.loads((reports / "conformance.json").read_text())
    server = report["server"]
    assert (server["image"], server["image_source"], server["binary_source"]) == (image, "present", "image")
    assert server["image_digest"].startswith(("sha256:", "temporalio/server@sha256:"))
    ran = server["container"]
    assert (ran["uid"], ran["gid"]) == (1000, 1000), ran
    assert ran["capabilities_effective"] == NO_CAPABILITIES and ran["no_new_privs"] is True
    assert ran["read_only_rootfs"] is True and ran["cap_drop"] == ["ALL"]
    verdicts = {t["nodeid"]: t["verdict"] for t in report["tests"]}
    assert verdicts and set(verdicts.values()) == {"PASS"}, verdicts
    assert any(TLS_CHECK in nodeid for nodeid in verdicts), "the internode TLS check did not run"


def test_the_image_has_the_official_shape(official: tuple[ServerVersion, str]) -> None:
    import docker

    version, image = official
    client = docker.from_env(timeout=60)
    try:
        config = client.images.get(image).attrs["Config"]
        assert config["User"] in ("temporal", "1000", "1000:1000")
        assert config["WorkingDir"] == "/etc/temporal"
        if version >= (1, 30, 0):
            assert not _starts_a_shell(client, image), "the 1.30+ image must offer no shell"
    finally:
        client.close()


def _starts_a_shell(client: Any, image: str) -> bool:
    """Whether `sh -c true` runs in the image (no network; the container is removed whatever happens)."""
    import docker

    container = client.containers.create(
        image, ["-c", "true"], entrypoint=["/bin/sh"], network_mode="none", user="1000:1000"
    )
    try:
        container.start()
        return int(container.wait(timeout=60)["StatusCode"]) == 0
    except docker.errors.DockerException:
        return False
    finally:
        container.remove(force=True)
