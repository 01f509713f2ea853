"""Run the server in a container started by testcontainers (the default where a Docker engine answers).

The official `temporalio/server:<version>` image is used where it can be pulled; where no registry is
reachable, a local image is built FROM scratch around the provisioned binary, tagged by version and
reused. Host networking: the server reaches the JWKS fixture, and the suites reach the server, on loopback.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage

from harness.ceiling import in_thread
from harness.server.backend import RunningServer, ready_or_stopped
from harness.server.config import RenderedConfig, start_arguments
from harness.server.provision import ProvisionedBinary
from harness.settings import ENV

BINARY_IN_IMAGE = "/usr/local/bin/temporal-server"  # where the official image keeps it
LOCAL_IMAGE = "temporal-authz-conformance/server"
RUN_LABEL = "temporal-authz-conformance.run"
_DOCKERFILE = f"""FROM scratch
COPY temporal-server {BINARY_IN_IMAGE}
COPY tmp /tmp
# The server calls user.Current() at start; a scratch image has no /etc/passwd, so it needs $USER.
ENV USER=temporal HOME=/tmp
ENTRYPOINT ["{BINARY_IN_IMAGE}"]
"""
_started: dict[str, DockerContainer] = {}

# Every call to the Docker engine has a deadline: a hung engine ends the run's starts with a HarnessError
# ("the Docker engine did not answer <call> within N s") instead of holding the run forever.
DOCKER_CLIENT_TIMEOUT_S = 60  # docker-py's per-request socket timeout (its default, made explicit)
DOCKER_CLIENT = {"timeout": DOCKER_CLIENT_TIMEOUT_S}
IMAGE_DEADLINE_S = 600.0  # find, pull (about 100 MB) or build (7 s here, once) the server's image
START_DEADLINE_S = 120.0  # create and start take about a second here; the Ryuk reaper's first start, a minute


def _engine(call: str) -> str:
    return f"the Docker engine did not answer {call}"


def official_image(version: str) -> str:
    return f"temporalio/server:{version.lstrip('v')}"


def _image_present(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def _try_pull(client: docker.DockerClient, name: str) -> bool:
    if not ENV.image_pull:
        return False
    try:
        client.images.pull(name)
        return True
    except docker.errors.DockerException:
        return False


def build_local_image(binary: ProvisionedBinary) -> str:
    """FROM scratch + the binary (static: CGO_ENABLED=0), tagged by version; reused once built."""
    tag = f"{LOCAL_IMAGE}:{binary.version}"
    client = docker.from_env(**DOCKER_CLIENT)
    try:
        if _image_present(client, tag):
            return tag
    finally:
        client.close()
    with tempfile.TemporaryDirectory(prefix="authz-image-") as context:
        ctx = Path(context)
        (ctx / "Dockerfile").write_text(_DOCKERFILE)
        shutil.copy2(binary.path, ctx / "temporal-server")
        (ctx / "tmp").mkdir()
        (ctx / "tmp").chmod(0o1777)
        DockerImage(path=str(ctx), tag=tag, clean_up=False, docker_client_kw=DOCKER_CLIENT).build()
    return tag


def resolve_image(binary: ProvisionedBinary, requested: str | None) -> tuple[str, str]:
    """Returns (image, how): an explicit or official image if present or pullable, else a local build."""
    client = docker.from_env(**DOCKER_CLIENT)
    try:
        candidate = requested or official_image(str(binary.version))
        if _image_present(client, candidate):
            return candidate, "present"
        if _try_pull(client, candidate):
            return candidate, "pulled"
        if not _image_present(client, testcontainers_config.ryuk_image) and not _try_pull(
            client, testcontainers_config.ryuk_image
        ):
            # The reaper cannot be had either: the harness removes what it starts itself (stop, atexit).
            testcontainers_config.ryuk_disabled = True
    finally:
        client.close()
    return build_local_image(binary), "built-locally"


def _readable(config: RenderedConfig) -> None:
    # The official image runs as an unprivileged user; mkdtemp made the directory 0700.
    config.directory.chmod(0o755)
    for path in config.directory.iterdir():
        path.chmod(0o644)


@atexit.register
def remove_all() -> None:
    """Remove every container this run started, including one whose start a Ctrl-C interrupted
    before the harness knew its id (found by the run label)."""
    for name, container in list(_started.items()):
        with contextlib.suppress(Exception):
            container.stop()
        _started.pop(name, None)
    with contextlib.suppress(Exception):
        for leftover in leftover_containers(ENV.run_tag):
            leftover.remove(force=True)


class ContainerBackend:
    name = "container"

    def __init__(
        self,
        image: str | None = None,
        ready_deadline: float = 120.0,
        image_deadline: float = IMAGE_DEADLINE_S,
        start_deadline: float = START_DEADLINE_S,
    ) -> None:
        self.requested_image = image
        self.ready_deadline = ready_deadline
        self.image_deadline, self.start_deadline = image_deadline, start_deadline
        self.image: str | None = None
        self.image_source = ""

    async def start(self, binary: ProvisionedBinary, config: RenderedConfig) -> RunningServer:
        if self.image is None:
            self.image, self.image_source = await in_thread(
                self.image_deadline,
                lambda: resolve_image(binary, self.requested_image),
                _engine(f"the image lookup, pull or build for {self.requested_image or binary.version}"),
            )
        assert self.image is not None
        _readable(config)
        image = self.image

        def create_and_start() -> DockerContainer:
            # Its client asks the engine for its API version as it is made: that call is bounded too.
            container = (
                DockerContainer(image, docker_client_kw=DOCKER_CLIENT)
                .with_command(start_arguments(binary.version, config.config_file, config.services))
                # Same absolute path inside: the rendered config's dynamic-config path stays valid.
                .with_volume_mapping(str(config.directory), str(config.directory), "ro")
                .with_kwargs(
                    network_mode="host",
                    entrypoint=[BINARY_IN_IMAGE],
                    labels={RUN_LABEL: ENV.run_tag},
                    working_dir="/tmp",
                )
            )
            for mount in config.mounts:
                container = container.with_volume_mapping(mount, mount, "ro")
            return container.start()

        started = time.monotonic()
        # A start given up on may still finish: the run label finds that container (remove_all, at exit).
        container = await in_thread(
            self.start_deadline, create_and_start, _engine(f"the container start ({image})")
        )
        name = container.get_container_id()
        _started[name] = container
        log_file = config.directory / "server.log"

        def logs() -> str:
            if name in _started:
                with contextlib.suppress(Exception):
                    out, err = container.get_logs()
                    log_file.write_text((out + err).decode(errors="replace"))
            return log_file.read_text(errors="replace") if log_file.exists() else ""

        def stop() -> None:
            if name not in _started:
                return
            logs()  # keep the log: the container is removed
            with contextlib.suppress(Exception):
                container.get_wrapped_container().stop(timeout=10)
            with contextlib.suppress(Exception):
                container.stop()
            _started.pop(name, None)

        def pid() -> int | None:
            with contextlib.suppress(Exception):
                container.get_wrapped_container().reload()
                value = container.get_wrapped_container().attrs["State"]["Pid"]
                return int(value) if value else None
            return None

        def alive() -> bool:
            with contextlib.suppress(Exception):
                container.get_wrapped_container().reload()
                return bool(container.get_wrapped_container().status in ("created", "running"))
            return False

        return await ready_or_stopped(
            backend=self.name,
            version=binary.version,
            config=config,
            started=started,
            deadline=self.ready_deadline,
            alive=alive,
            logs=logs,
            stop=stop,
            what=lambda: f"container {self.image}",
            pid=pid,
        )


def leftover_containers(run_tag: str) -> list[Any]:
    """Containers a run with this tag started and did not remove (for tests and cleanup)."""
    client = docker.from_env(**DOCKER_CLIENT)
    try:
        return list(client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_tag}"}))
    finally:
        client.close()
