"""Pick the backend: auto means a container where a Docker engine answers, else a local process."""

from __future__ import annotations

from harness.server.backend import Backend
from harness.settings import ENV

BACKENDS = ("auto", "container", "process", "external")


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
