"""Pick the backend, and what it runs.

auto means a container where a Docker engine answers, else a local process; `--backend container` where
none answers is one error naming the fix. A container runs an image that needs no binary wherever there
is one (the requested or official image present or pulled, or the harness's own build of an earlier run):
then nothing is provisioned and no Go is needed. Otherwise a binary is provisioned (cached, or built with
Go) and the container backend builds its official-shaped image around it, once, before any server starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from harness.ceiling import in_thread
from harness.errors import HarnessConfigError
from harness.server import provision as provisioning
from harness.server.backend import Backend
from harness.server.provision import NoGo, ProvisionedBinary, ProvisionError
from harness.settings import ENV
from harness.types import ServerVersion

BACKENDS = ("auto", "container", "process", "external")
Progress = Callable[[str], None]
PROVISION_DEADLINE_S = 1200.0  # a cold build takes 4-5 min here; a shard may first wait that long for a lock
IMAGE_DEADLINE_S = 600.0  # find or pull the server's image (about 100 MB), or build one (10-20 s here)


class NoEngine(HarnessConfigError):
    """--backend container where no Docker engine answers."""


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def resolve_backend_name(requested: str) -> str:
    requested = (requested or "auto").lower()
    if requested not in BACKENDS:
        raise ValueError(f"--backend {requested!r}: choose one of {', '.join(BACKENDS)}")
    if requested == "auto":
        return "container" if docker_answers() else "process"
    if requested == "container":
        from harness.server.container import engine_problem, unreachable

        problem = engine_problem()
        if problem is not None:
            raise NoEngine(f"--backend container: {unreachable(problem)}")
    return requested


def make_backend(name: str) -> Backend:
    # Imported on demand: the container backend needs docker and testcontainers only when it is chosen.
    if name == "process":
        from harness.server.process import ProcessBackend

        return ProcessBackend()
    if name == "container":
        from harness.server.container import ContainerBackend

        return ContainerBackend(image=ENV.image)
    raise ValueError(f"no local backend named {name!r}")


def explicit_binary(given: str | None) -> str | None:
    return given or ENV.temporal_binary


def image_only(
    backend: Backend, version: ServerVersion, binary: str | None, progress: Progress
) -> ProvisionedBinary | None:
    """For a container backend with no binary given: the image's own binary where an image will do
    (nothing is provisioned or built). None when a binary has to be had."""
    from harness.server.container import ContainerBackend

    if not isinstance(backend, ContainerBackend) or explicit_binary(binary):
        return None
    return backend.image_only(version, progress)


def no_image_no_go(version: ServerVersion, exc: NoGo) -> ProvisionError:
    """The container backend's two ways out when neither an image nor a binary can be had."""
    from harness.server.container import official_image

    image = ENV.image or official_image(str(version))
    pull = "pulls are off (AUTHZ_IMAGE_PULL=never)" if not ENV.image_pull else "it could not be pulled"
    return ProvisionError(
        f"no image and no Go for temporal-server {version}: {image} is not here and {pull}, and there is no "
        f"binary and no Go toolchain to build one. Either make the image available (`docker pull {image}`, "
        f"`docker load` it, or set TEMPORAL_IMAGE to one you have), or install Go 1.26+ "
        f"(https://go.dev/dl) so the harness builds the server and an image around it"
    )


@dataclass(frozen=True)
class Deadlines:
    """How long each step of having what a backend runs may take, in a thread of its own
    (harness.ceiling.in_thread): ceilings only a hang reaches."""

    provision_s: float = PROVISION_DEADLINE_S
    image_s: float = IMAGE_DEADLINE_S


async def have_what_it_runs(
    backend: Backend, version: ServerVersion, binary: str | None, progress: Progress, deadlines: Deadlines
) -> ProvisionedBinary:
    """What the backend will run, had once: an image where one will do, else a cached or built binary and,
    for a container, its image built around it (once, here: not raced by every server's start)."""
    if backend.name == "container" and not explicit_binary(binary):
        found = await in_thread(
            deadlines.image_s,
            lambda: image_only(backend, version, binary, progress),
            f"the Docker engine did not answer the image lookup or pull for temporal-server {version}",
        )
        if found is not None:
            return found
    try:
        provisioned = await in_thread(
            deadlines.provision_s,
            lambda: provisioning.provision(version, binary, progress),
            f"provisioning temporal-server {version} (a cached binary or a build) did not finish",
        )
    except NoGo as exc:
        if backend.name == "container":
            raise no_image_no_go(version, exc) from exc
        raise
    prepare = getattr(backend, "prepare", None)
    if prepare is not None:
        await in_thread(
            deadlines.image_s,
            lambda: prepare(provisioned, progress),
            f"the Docker engine did not answer the image build for temporal-server {version}",
        )
    return provisioned


def provision_for(
    backend: Backend,
    version: ServerVersion,
    binary: str | None = None,
    progress: Progress = print,
    deadlines: Deadlines = Deadlines(),
) -> ProvisionedBinary:
    """have_what_it_runs() for a caller with no event loop (harness.shards, before its runs)."""
    return asyncio.run(have_what_it_runs(backend, version, binary, progress, deadlines))


def prepare_run(
    version: ServerVersion, backend: str, binary: str | None, progress: Progress, *, provision: bool = True
) -> str | None:
    """Before concurrent runs (harness.xdist_plugin, before any worker starts): choose the backend and (with `provision`) have what it
    runs, once. Returns the one-line error of bad input (exit status 4), or None."""
    try:
        name = resolve_backend_name(backend)
        if name != "external" and provision:
            provision_for(make_backend(name), version, binary, progress)
    except (HarnessConfigError, ProvisionError, ValueError) as exc:
        return str(exc)
    return None
