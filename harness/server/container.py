"""Run the server in a container started by testcontainers (the default where a Docker engine answers).

The image: the one asked for (TEMPORAL_IMAGE) or the official `temporalio/server:<version>` where it is
present or can be pulled: then nothing is built and no binary is needed. Else
`temporal-authz-conformance/server:<version>`, built once around the provisioned binary in the official
image's shape (harness/server/images/: user 1000, working directory /etc/temporal) and reused.

Containers run as production runs them: as the image's own user (never root: a root USER gets the
official image's uid and gid 1000), every capability dropped, no-new-privileges, the image's files
read-only (a tmpfs /tmp), the rendered config and TLS material mounted read-only and readable by that user
and by nobody else. Host networking: the server reaches the JWKS fixture, and the suites reach the server,
on loopback (CI's engine runs without a bridge).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Any

import docker
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer

from harness.ceiling import WaitExceeded, in_thread
from harness.errors import HarnessConfigError
from harness.server.backend import EngineGone, RunningServer, ServerStartError, Started, ready_or_stopped
from harness.server.config import RenderedConfig, start_arguments
from harness.server.images.build import BINARY_IN_IMAGE, binary_digest, build_image, label_of, layout_of
from harness.server.images.identity import ImageFacts, RunUser, image_facts, observed
from harness.server.provision import ProvisionedBinary
from harness.settings import ENV
from harness.types import ServerVersion

__all__ = ["BINARY_IN_IMAGE", "ContainerBackend", "EngineGone", "official_image"]

LOCAL_IMAGE = "temporal-authz-conformance/server"
RUN_LABEL = "temporal-authz-conformance.run"
_started: dict[str, DockerContainer] = {}
Progress = Any  # Callable[[str], None]

# Every call to the Docker engine has a deadline: a hung engine ends the run's starts with a HarnessError
# ("the Docker engine did not answer <call> within N s") instead of holding the run forever.
DOCKER_CLIENT_TIMEOUT_S = 60  # docker-py's per-request socket timeout (its default, made explicit)
DOCKER_CLIENT = {"timeout": DOCKER_CLIENT_TIMEOUT_S}
IMAGE_DEADLINE_S = 600.0  # find, pull (about 100 MB) or build (10-20 s here, once) the server's image
START_DEADLINE_S = 120.0  # create and start take about a second here; the Ryuk reaper's first start, a minute
PING_TIMEOUT_S = 3  # is the engine still there (after a call failed)
# The server writes nothing but its log (stdout) and SQLite in memory: /tmp is for what a library may want.
TMPFS = {"/tmp": "rw,nosuid,nodev,noexec,size=64m"}


def _engine(call: str) -> str:
    return f"the Docker engine did not answer {call}"


def engine_problem() -> str | None:
    """Why no Docker engine answers (None when one does), in a few seconds at most."""
    try:
        client = docker.from_env(timeout=PING_TIMEOUT_S)
        try:
            return None if client.ping() else "it did not answer a ping"
        finally:
            client.close()
    except Exception as exc:
        return " ".join(str(exc).split())[:300] or type(exc).__name__


def official_image(version: str) -> str:
    return f"temporalio/server:{version.lstrip('v')}"


def local_image(version: ServerVersion) -> str:
    return f"{LOCAL_IMAGE}:{version}"


def _attrs(client: docker.DockerClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.images.get(name).attrs)
    except docker.errors.ImageNotFound:
        return None


def _image_present(client: docker.DockerClient, name: str) -> bool:
    return _attrs(client, name) is not None


def _try_pull(client: docker.DockerClient, name: str) -> bool:
    if not ENV.image_pull:
        return False
    try:
        client.images.pull(name)
        return True
    except docker.errors.DockerException:
        return False


def _reaper(client: docker.DockerClient) -> None:
    """Testcontainers' Ryuk reaper where it can be had; else the harness removes what it starts itself
    (stop, atexit, the run label)."""
    ryuk = testcontainers_config.ryuk_image
    if not _image_present(client, ryuk) and not _try_pull(client, ryuk):
        testcontainers_config.ryuk_disabled = True


def find_image(
    version: ServerVersion, requested: str | None, official: bool = True
) -> tuple[str, str] | None:
    """An image that needs no binary, as (image, how): the requested one, else (with `official`) the
    official one, present or pulled; else the harness's own official-shaped build of an earlier run. None
    when a binary has to be provisioned and an image built around it."""
    client = docker.from_env(**DOCKER_CLIENT)
    try:
        _reaper(client)
        candidate = requested or (official_image(str(version)) if official else None)
        if candidate is not None:
            if _image_present(client, candidate):
                return candidate, "present"
            if _try_pull(client, candidate):
                return candidate, "pulled"
        local = _attrs(client, local_image(version))
        # Not one of the old FROM-scratch shape, nor one around a binary given by path (maybe not the
        # release's own): those are rebuilt around the release's binary.
        if (
            official
            and local is not None
            and label_of(local, "layout") == layout_of(version).name
            and label_of(local, "binary-source") != "explicit"
        ):
            return local_image(version), "built earlier"
        return None
    finally:
        client.close()


def build_local_image(binary: ProvisionedBinary) -> str:
    """The official-shaped image around this binary, tagged by version; reused while it holds the same
    binary (by its SHA-256, a label of the image)."""
    tag = local_image(binary.version)
    digest = binary_digest(binary.path)
    locks = ENV.cache_root / "images"
    locks.mkdir(parents=True, exist_ok=True)
    # Shards given one binary by path each make sure of its image: one builds, the others then reuse it.
    with open(locks / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = docker.from_env(**DOCKER_CLIENT)
        try:
            existing = _attrs(client, tag)
            source = "explicit" if binary.source == "explicit" else "release"
            held = (
                (label_of(existing, "binary-sha256"), label_of(existing, "binary-source"))
                if existing
                else None
            )
            if held != (digest, source):
                build_image(client, binary.path, binary.version, tag, source=source)
        finally:
            client.close()
    return tag


def resolve_image(binary: ProvisionedBinary, requested: str | None) -> tuple[str, str]:
    """Returns (image, how): one that needs no binary where there is one (an explicit binary passes over
    the official image: it is what the run was asked to test), else a local build around the binary."""
    found = find_image(binary.version, requested, official=binary.source != "explicit")
    if found is not None:
        return found
    if binary.source == "image":
        raise HarnessConfigError(
            f"no image for temporal-server {binary.version} any more ({requested or official_image(str(binary.version))})"
        )
    return build_local_image(binary), "built-locally"


def unreachable(reason: str) -> str:
    return (
        f"no Docker engine answers ({reason}): start one (`sudo systemctl start docker`, or `dockerd &`), "
        f"or run with --backend process"
    )


def _grant(directory: Path, user: RunUser, host_uid: int | None = None) -> list[str]:
    """The server's directory (config, dynamic config, TLS keys) readable by the container's user and by
    nobody else: given to that user where the harness may give files away (as root), kept where the
    harness is that user on the host, else shared through the harness's own group, which the container is
    then given. `host_uid`: who the container's user is on the host (a rootless engine maps its root to
    the harness's user). Returns the groups to add to the container."""
    euid = os.geteuid()
    host_uid = user.uid if host_uid is None else host_uid
    owner, group, modes, groups = -1, -1, (0o700, 0o600), []
    if euid == 0:
        owner, group = host_uid, user.gid
    elif euid != host_uid:
        group, modes, groups = os.getegid(), (0o750, 0o640), [str(os.getegid())]
    for path in [directory, *directory.rglob("*")]:
        if path.is_symlink():
            continue
        if owner != -1 or group != -1:
            os.chown(path, owner, group)
        path.chmod(modes[0] if path.is_dir() else modes[1])
    return groups


def _rootless(client: docker.DockerClient) -> bool:
    """A rootless engine maps the container's root to the user that runs the engine (not root on the
    host), and the image's uid 1000 to a subordinate uid nothing of the harness's can be given to."""
    options = client.info().get("SecurityOptions") or []
    return any("name=rootless" in str(option) for option in options)


def _hardening(container: DockerContainer) -> dict[str, Any]:
    """How the engine says it runs the container (its inspect data), for the report."""
    with contextlib.suppress(Exception):
        host = container.get_wrapped_container().attrs["HostConfig"]
        return {
            "read_only_rootfs": bool(host.get("ReadonlyRootfs")),
            "cap_drop": list(host.get("CapDrop") or []),
            "security_opt": list(host.get("SecurityOpt") or []),
            "network_mode": str(host.get("NetworkMode") or ""),
        }
    return {}


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
        self.facts: ImageFacts | None = None
        self.rootless = False
        self.ran_as: dict[str, Any] = {}  # the first server's process, as the kernel saw it

    # -- the image, before any server starts (pool.open, xdist_plugin.provision_first) -------------------------
    def image_only(self, version: ServerVersion, progress: Progress = print) -> ProvisionedBinary | None:
        """Use an image that needs no binary, if there is one: then nothing is provisioned or built."""
        wanted = self.requested_image or official_image(str(version))
        found = find_image(version, self.requested_image)
        if found is None:
            why = "pulls are off: AUTHZ_IMAGE_PULL=never" if not ENV.image_pull else "it could not be pulled"
            progress(f"image: no {wanted} here ({why}); a binary is needed to build "
                     f"{local_image(version)} in its shape")  # fmt: skip
            return None
        self.image, self.image_source = found
        progress(f"image: {self.image} ({self.image_source}): nothing to build, no binary needed")
        return ProvisionedBinary(version, Path(BINARY_IN_IMAGE), "image")

    def prepare(self, binary: ProvisionedBinary, progress: Progress = print) -> None:
        """The image for this binary, found or built (once, before the xdist workers start)."""
        if self.image is not None:
            return
        started = time.monotonic()
        self.image, self.image_source = resolve_image(binary, self.requested_image)
        if self.image_source == "built-locally":
            progress(f"image: built {self.image} (the official {layout_of(binary.version).name} layout) around "
                     f"{binary.path} in {time.monotonic() - started:.0f}s")  # fmt: skip
        else:
            progress(f"image: {self.image} ({self.image_source})")

    def _facts(self) -> ImageFacts:
        if self.facts is None:
            assert self.image is not None
            client = docker.from_env(**DOCKER_CLIENT)
            try:
                self.facts = image_facts(client, self.image)
                self.rootless = _rootless(client)
            except ValueError as exc:
                raise HarnessConfigError(f"image {self.image}: {exc}") from exc
            finally:
                client.close()
        return self.facts

    def _run_user(self) -> tuple[RunUser, int]:
        """The user the container runs as, and who that is on the host."""
        user = self._facts().user
        if self.rootless:  # its root is the (unprivileged) user running the engine and the harness
            return RunUser(
                0, 0, "root", f"{user.configured} (rootless engine: root is {os.geteuid()})"
            ), os.geteuid()
        return user, user.uid

    # -- a server --------------------------------------------------------------------------------------
    async def start(self, binary: ProvisionedBinary, config: RenderedConfig) -> RunningServer:
        what = self.requested_image or binary.version
        try:
            if self.image is None:
                self.image, self.image_source = await in_thread(
                    self.image_deadline,
                    lambda: resolve_image(binary, self.requested_image),
                    _engine(f"the image lookup, pull or build for {what}"),
                )
        except WaitExceeded:
            raise
        except docker.errors.DockerException as exc:
            raise self._gone_or(exc) from exc
        assert self.image is not None
        image = self.image
        users: list[RunUser] = []

        def create_and_start() -> DockerContainer:
            user, host_uid = self._run_user()  # read from the image once (cached by image ID)
            users.append(user)
            groups = _grant(config.directory, user, host_uid)
            # Its client asks the engine for its API version as it is made: that call is bounded too.
            container = (
                DockerContainer(image, docker_client_kw=DOCKER_CLIENT)
                .with_command(start_arguments(binary.version, config.config_file, config.services))
                # Same absolute path inside: the rendered config's dynamic-config path stays valid.
                .with_volume_mapping(str(config.directory), str(config.directory), "ro")
                .with_kwargs(
                    network_mode="host",
                    entrypoint=[BINARY_IN_IMAGE],  # the image's own command would render a config of its own
                    labels={RUN_LABEL: ENV.run_tag},
                    user=user.spec,
                    group_add=groups,
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges:true"],
                    read_only=True,
                )
            )
            for path, options in TMPFS.items():
                container = container.with_tmpfs_mount(path, options)
            if not user.name:  # no passwd entry: the server's user.Current() reads $USER instead
                container = container.with_env("USER", "temporal").with_env("HOME", "/tmp")
            for mount in config.mounts:
                container = container.with_volume_mapping(mount, mount, "ro")
            return container.start()

        started = time.monotonic()
        # A start given up on may still finish: the run label finds that container (remove_all, at exit).
        try:
            container = await in_thread(
                self.start_deadline, create_and_start, _engine(f"the container start ({image})")
            )
        except (WaitExceeded, HarnessConfigError):
            raise
        except Exception as exc:
            raise self._gone_or(exc) from exc
        user = users[0]
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

        if not self.ran_as:
            self.ran_as = {"user": user.describe(), **observed(pid()), **_hardening(container)}
        try:
            what = f"container {image} as {user.spec}"
            launched = Started(started, alive, logs, stop, lambda: what, pid)
            return await ready_or_stopped(self, binary.version, config, launched)
        except ServerStartError as exc:
            raise self._gone_or(exc) from exc

    def _gone_or(self, exc: BaseException) -> BaseException:
        """EngineGone where the engine no longer answers, else the error itself."""
        problem = engine_problem()
        if problem is None:
            return exc
        return EngineGone(f"the Docker engine stopped answering during the run ({problem})")

    def details(self) -> dict[str, Any]:
        """For the report's server section: the image, where it came from, its ID and digest, the user."""
        out: dict[str, Any] = {}
        if self.image:
            out.update(image=self.image, image_source=self.image_source)
        if self.facts is not None:
            # A registry's digest where the image came from one; else its ID (the digest of its config).
            out.update(image_id=self.facts.image_id, image_digest=self.facts.digest or self.facts.image_id)
        if self.ran_as:
            out["container"] = dict(self.ran_as)
        return out


def leftover_containers(run_tag: str) -> list[Any]:
    """Containers a run with this tag started and did not remove (for tests and cleanup)."""
    client = docker.from_env(**DOCKER_CLIENT)
    try:
        return list(client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_tag}"}))
    finally:
        client.close()
