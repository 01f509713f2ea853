"""What an image is and whom its server runs as: its ID and registry digest, the user its USER names
(resolved to numbers in the image's own /etc/passwd and /etc/group), and the user a started container's
process really has (read from /proc on this host)."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.server.images.build import GROUP_ID, USER_ID
from harness.settings import ENV

ROOT_NAMES = ("", "0", "root")


@dataclass(frozen=True)
class RunUser:
    """The numeric user and group a server container runs as, and where they came from."""

    uid: int
    gid: int
    name: str  # in the image's /etc/passwd ("" where it has no entry)
    configured: str  # the image's USER as written ("" when it names none, i.e. root)

    @property
    def spec(self) -> str:
        return f"{self.uid}:{self.gid}"

    def describe(self) -> str:
        named = f" ({self.name})" if self.name else ""
        if "rootless" in self.configured:
            return f"{self.spec}: the image's USER {self.configured}"
        if self.configured.split(":")[0] in ROOT_NAMES:
            return f"{self.spec}{named}: the image's USER is root, so the official image's uid and gid"
        return f"{self.spec}{named}: the image's USER {self.configured}"


@dataclass(frozen=True)
class ImageFacts:
    image_id: str  # sha256:... of the image's config
    digest: str  # repository@sha256:... where it came from a registry, else ""
    user: RunUser


def _entries(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def resolve_user(configured: str, passwd: str, group: str) -> RunUser:
    """USER `name[:group]` or `uid[:gid]` in numbers, as the engine resolves it in the image's files. A
    root or empty USER becomes the official image's temporal (1000:1000): servers never run as root."""
    user, _, group_name = configured.partition(":")
    users = {e[0]: e for e in _entries(passwd) if len(e) >= 4}
    by_uid = {e[2]: e for e in users.values()}
    groups = {e[0]: e for e in _entries(group) if len(e) >= 3}
    if user in ROOT_NAMES or (user in users and users[user][2] == "0"):
        return RunUser(USER_ID, GROUP_ID, by_uid.get(str(USER_ID), [""])[0], configured)
    entry = users.get(user) or by_uid.get(user)
    if entry is None and not user.isdigit():
        raise ValueError(f"the image's USER {configured!r} names a user its /etc/passwd does not have")
    uid = int(entry[2]) if entry else int(user)
    gid = int(entry[3]) if entry else uid
    if group_name:
        gid = int(groups[group_name][2]) if group_name in groups else int(group_name)
    return RunUser(uid, gid, entry[0] if entry else "", configured)


def _read_file(client: Any, image: str, path: str) -> str:
    """A file of the image (never started: a container is created, read and removed)."""
    container = client.containers.create(image, entrypoint=["/nonexistent"], command=[], network_mode="none")
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member is not None else None
            return handle.read().decode(errors="replace") if handle is not None else ""
    except Exception as exc:
        if type(exc).__name__ == "NotFound":  # an image without that file (FROM scratch)
            return ""
        raise
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def _cache(image_id: str) -> Path:
    return ENV.cache_root / "images" / f"{image_id.replace(':', '-')}.json"


def image_facts(client: Any, image: str) -> ImageFacts:
    """The image's ID, digest and run user; the user is read from the image once and kept in the cache
    (by image ID: the same ID is the same files)."""
    attrs = client.images.get(image).attrs
    image_id = str(attrs["Id"])
    digests = [str(d) for d in attrs.get("RepoDigests") or []]
    configured = str((attrs.get("Config") or {}).get("User") or "")
    cached = _cache(image_id)
    user: RunUser | None = None
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        user = RunUser(**json.loads(cached.read_text()))
    if user is None:
        needs_files = configured.split(":")[0] not in ROOT_NAMES and not configured.replace(":", "").isdigit()
        passwd = _read_file(client, image, "/etc/passwd") if needs_files else ""
        group = _read_file(client, image, "/etc/group") if ":" in configured and needs_files else ""
        user = resolve_user(configured, passwd, group)
        with contextlib.suppress(OSError):
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(asdict(user)))
    return ImageFacts(image_id, digests[0] if digests else "", user)


def observed(pid: int | None) -> dict[str, Any]:
    """The server process's user, groups, effective capabilities and no_new_privs flag as the kernel
    says (/proc/PID/status; empty where the engine runs on another host)."""
    if not pid:
        return {}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    ids = fields.get("Uid", "").split()
    gids = fields.get("Gid", "").split()
    if not ids or not gids:
        return {}
    return {
        "uid": int(ids[1]),  # effective
        "gid": int(gids[1]),
        "groups": [int(g) for g in fields.get("Groups", "").split()],
        "capabilities_effective": fields.get("CapEff", "").strip(),
        "no_new_privs": fields.get("NoNewPrivs", "").strip() == "1",
    }
